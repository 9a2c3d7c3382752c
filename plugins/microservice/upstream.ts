/**
 * {@linkcode SummaryUpstream}: the sample microservice's calls to an
 * OpenAI-compatible chat-completions endpoint, through the service's
 * {@linkcode HttpClient} and behind a {@linkcode CircuitBreaker}: after
 * `failureThreshold` failures in a row (an error, a timeout, a 5xx or 429
 * answer, a reply without a summary) the circuit opens and no request is
 * sent for `timeoutMs`; then one trial request decides.
 *
 * @example
 * ```ts ignore
 * import { SummaryUpstream } from "./upstream.ts";
 * const upstream = new SummaryUpstream(service.httpClient, {
 *   url: "http://127.0.0.1:8080/v1/chat/completions",
 *   model: "gpt-4o-mini",
 *   apiKey: "",
 *   timeoutMs: 10_000,
 *   breaker: { failureThreshold: 3, timeoutMs: 30_000 },
 * });
 * console.log(await upstream.summarize("A long text.", 2));
 * ```
 *
 * @module
 */
import { IoraError } from "../../core/errors.ts";
import type { HttpClient } from "../../http/client.ts";
import {
  CircuitBreaker,
  type CircuitBreakerConfig,
  type CircuitBreakerState,
} from "../../network/circuit_breaker.ts";

/** A summary the upstream could not give (`code`: `UpstreamFailed` or `CircuitOpen`). */
export class UpstreamError extends IoraError {
  /** With `CircuitOpen`: milliseconds until the circuit lets a trial request through. */
  readonly retryAfterMs: number;

  /**
   * @param code `UpstreamFailed` or `CircuitOpen`
   * @param message what happened
   * @param retryAfterMs with `CircuitOpen`, when to try again
   * @param options the cause
   */
  constructor(
    code: "UpstreamFailed" | "CircuitOpen",
    message: string,
    retryAfterMs = 0,
    options?: ErrorOptions,
  ) {
    super(code, message, options);
    this.retryAfterMs = retryAfterMs;
  }
}

/** Settings of a {@linkcode SummaryUpstream}. */
export interface SummaryUpstreamOptions {
  /** The chat-completions URL. */
  url: string;
  /** The model asked for. */
  model: string;
  /** The bearer token (empty: none sent). */
  apiKey: string;
  /** The most one request may take, in milliseconds. */
  timeoutMs: number;
  /** The circuit breaker's settings. */
  breaker: CircuitBreakerConfig;
}

/** Counters of a {@linkcode SummaryUpstream}. */
export interface SummaryUpstreamStats {
  /** Requests answered with a summary. */
  ok: number;
  /** Requests that failed. */
  failed: number;
  /** Summaries not asked for because the circuit was open. */
  shortCircuited: number;
}

/**
 * The upstream model (see the module documentation).
 *
 * @example
 * ```ts ignore
 * import { SummaryUpstream } from "./upstream.ts";
 * const upstream = new SummaryUpstream(client, options);
 * if (upstream.state() === "open") console.log("degraded for", upstream.retryAfterMs(), "ms");
 * ```
 */
export class SummaryUpstream {
  readonly #client: HttpClient;
  readonly #options: SummaryUpstreamOptions;
  readonly #breaker: CircuitBreaker;
  readonly #stats: SummaryUpstreamStats = { ok: 0, failed: 0, shortCircuited: 0 };
  #openedAt = 0;

  /**
   * @param client the HTTP client requests go through
   * @param options where and how
   */
  constructor(client: HttpClient, options: SummaryUpstreamOptions) {
    this.#client = client;
    this.#options = options;
    this.#breaker = new CircuitBreaker(options.breaker, "microservice-upstream");
  }

  /** The circuit's state. */
  state(): CircuitBreakerState {
    return this.#breaker.getState();
  }

  /** While the circuit is open: milliseconds until a trial request may go; else 0. */
  retryAfterMs(): number {
    if (this.#breaker.getState() !== "open") return 0;
    const wait = this.#options.breaker.timeoutMs ?? 60_000;
    return Math.max(0, this.#openedAt + wait - Date.now());
  }

  /** Counters since creation. */
  getStats(): SummaryUpstreamStats {
    return { ...this.#stats };
  }

  /**
   * Asks the model for a summary of `text` in at most `maxSentences` sentences.
   *
   * @throws {UpstreamError} `CircuitOpen` without sending anything, or `UpstreamFailed`
   */
  async summarize(text: string, maxSentences: number): Promise<string> {
    if (!this.#breaker.allowRequest()) {
      this.#stats.shortCircuited++;
      throw new UpstreamError(
        "CircuitOpen",
        `the upstream ${this.#options.url} is failing: circuit open`,
        this.retryAfterMs(),
      );
    }
    try {
      const response = await this.#client.postJson(this.#options.url, {
        model: this.#options.model,
        messages: [
          { role: "system", content: `Summarize in at most ${maxSentences} sentences.` },
          { role: "user", content: text },
        ],
      }, {
        headers: this.#options.apiKey ? { authorization: `Bearer ${this.#options.apiKey}` } : {},
        timeouts: { total: this.#options.timeoutMs },
        retries: 0,
      });
      if (!response.success()) {
        throw new Error(`answered ${response.statusCode}`);
      }
      const reply = response.json<{ choices?: { message?: { content?: unknown } }[] }>();
      const content = reply.choices?.[0]?.message?.content;
      if (typeof content !== "string" || content.trim() === "") {
        throw new Error("the reply has no summary");
      }
      this.#breaker.recordSuccess();
      this.#stats.ok++;
      return content.trim();
    } catch (error) {
      const wasOpen = this.#breaker.getState() === "open";
      this.#breaker.recordFailure();
      if (!wasOpen && this.#breaker.getState() === "open") this.#openedAt = Date.now();
      this.#stats.failed++;
      throw new UpstreamError(
        "UpstreamFailed",
        `the upstream ${this.#options.url} failed: ${(error as Error).message}`,
        0,
        { cause: error },
      );
    }
  }
}
