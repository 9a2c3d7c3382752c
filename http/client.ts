/**
 * `HttpClient`: HTTP/1.1 requests on Iora's transport and codec, with a
 * keep-alive pool per origin, retries that never send a POST twice,
 * redirects that keep credentials on their origin, separate connect,
 * head, body and total timeouts, TLS with client certificates, names
 * resolved by Iora's DNS client, and streaming bodies both ways.
 *
 * @example
 * ```ts ignore
 * import { HttpClient } from "./client.ts";
 * const client = new HttpClient({ connectTimeout: 2000, userAgent: "MyApp/1.0" });
 * const response = await client.get("http://127.0.0.1:8080/health");
 * if (response.success()) console.log(response.statusCode, response.body);
 * const created = await client.postJson("http://127.0.0.1:8080/users", { name: "Ada" });
 * console.log(created.parseJsonOrThrow());
 * await client.close();
 * ```
 *
 * @module
 */
import { DnsClient } from "../dns/client.ts";
import type { JsonValue } from "../parsers/json.ts";
import { CircuitBreakerManager, type CircuitBreakerStats } from "../network/circuit_breaker.ts";
import { Tracing } from "../core/tracing.ts";
import { HttpClientError } from "./client_error.ts";
import { HttpClientResponse } from "./client_response.ts";
import { HttpHeaders } from "./message.ts";
import { discard, type ExchangeResult, StaleConnectionError } from "./_client_connection.ts";
import { ConnectionPool, type HostResolver, type Origin } from "./_connection_pool.ts";
import { statusClass } from "./status_class.ts";
import { type ClientSettings, clientSettings, requestOptions } from "./_client_options.ts";
import { parseUrl, redacted } from "./_client_url.ts";
import { originOf, serviceTargets } from "./_client_origin.ts";
import { jsonBody, prepareBody, type PreparedBody } from "./_client_body.ts";
import { abortable, backoffMs, resendable, retryAfterMs } from "./_client_retry.ts";
import { redirectHop } from "./_client_redirect.ts";
import { countFailure, statsSnapshot, zeroPoolStats, zeroStats } from "./_client_stats.ts";

export type { HostResolver };
export type {
  HttpClientConfig,
  HttpClientStats,
  HttpClientTlsConfig,
  HttpRequestOptions,
  HttpRetryConfig,
  HttpStreamResponse,
} from "./client_types.ts";
import type {
  HttpClientConfig,
  HttpClientStats,
  HttpRequestOptions,
  HttpStreamResponse,
} from "./client_types.ts";

/**
 * An HTTP/1.1 client (the seed's `HttpClient`). Safe to share: requests
 * from anywhere run concurrently over its connection pool.
 *
 * @example
 * ```ts ignore
 * import { HttpClient } from "./client.ts";
 * await using client = new HttpClient({ requestTimeout: 5000 });
 * const users = await client.getJson<{ id: number }[]>("http://127.0.0.1:8080/users");
 * const response = await client.get("http://127.0.0.1:8080/flaky", { "x-api-version": "1" }, 3);
 * console.log(users.length, response.statusCode, response.statusText);
 * ```
 */
export class HttpClient implements AsyncDisposable {
  readonly #pool: ConnectionPool;
  readonly #settings: ClientSettings;
  readonly #breakers: CircuitBreakerManager | undefined;
  readonly #tracing: Tracing | null;
  #dns: HostResolver | undefined;
  #ownDns: DnsClient | undefined;
  #stats = zeroStats();
  #closed = false;

  /**
   * Creates a client; no connection is made until the first request.
   *
   * @param config timeouts, pooling, redirects, retries, TLS and DNS
   */
  constructor(config: HttpClientConfig = {}) {
    this.#settings = clientSettings(config);
    this.#dns = config.dns;
    this.#tracing = config.tracing ?? null;
    this.#breakers = config.circuitBreaker === undefined
      ? undefined
      : new CircuitBreakerManager(config.circuitBreaker);
    this.#pool = new ConnectionPool({
      ...this.#settings.pool,
      resolver: () => this.#dns ??= this.#ownDns = new DnsClient(),
    });
  }

  /**
   * GET `url`. The seed's positional form `get(url, headers, retries)` works too.
   *
   * @param url an absolute `http:` or `https:` URL
   * @param options request options, or the headers
   * @param retries tries after the first (the seed's third argument)
   * @returns the response, whatever its status
   */
  get(
    url: string | URL,
    options?: HttpRequestOptions | Record<string, string>,
    retries?: number,
  ): Promise<HttpClientResponse> {
    return this.request("GET", url, requestOptions(options, retries));
  }

  /**
   * POST `body` to `url`.
   *
   * @param url the URL
   * @param body bytes, text or a stream
   * @param options request options, or the headers
   * @param retries tries after the first (only connection failures: a POST is never sent twice)
   * @returns the response
   */
  post(
    url: string | URL,
    body?: HttpRequestOptions["body"],
    options?: HttpRequestOptions | Record<string, string>,
    retries?: number,
  ): Promise<HttpClientResponse> {
    return this.request("POST", url, { ...requestOptions(options, retries), body });
  }

  /**
   * PUT `body` to `url`.
   *
   * @param url the URL
   * @param body bytes, text or a stream
   * @param options request options, or the headers
   * @returns the response
   */
  put(
    url: string | URL,
    body?: HttpRequestOptions["body"],
    options?: HttpRequestOptions | Record<string, string>,
  ): Promise<HttpClientResponse> {
    return this.request("PUT", url, { ...requestOptions(options), body });
  }

  /**
   * PATCH `url` with `body`.
   *
   * @param url the URL
   * @param body bytes, text or a stream
   * @param options request options, or the headers
   * @returns the response
   */
  patch(
    url: string | URL,
    body?: HttpRequestOptions["body"],
    options?: HttpRequestOptions | Record<string, string>,
  ): Promise<HttpClientResponse> {
    return this.request("PATCH", url, { ...requestOptions(options), body });
  }

  /**
   * DELETE `url`.
   *
   * @param url the URL
   * @param options request options, or the headers
   * @returns the response
   */
  delete(
    url: string | URL,
    options?: HttpRequestOptions | Record<string, string>,
  ): Promise<HttpClientResponse> {
    return this.request("DELETE", url, requestOptions(options));
  }

  /**
   * POST `value` as JSON (`content-type: application/json`).
   *
   * @param url the URL
   * @param value any JSON value
   * @param options request options, or the headers
   * @param retries tries after the first (connection failures only)
   * @returns the response
   */
  postJson(
    url: string | URL,
    value: unknown,
    options?: HttpRequestOptions | Record<string, string>,
    retries?: number,
  ): Promise<HttpClientResponse> {
    const base = requestOptions(options, retries);
    const headers = new HttpHeaders(base.headers as Record<string, string> | undefined);
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
    if (!headers.has("accept")) headers.set("accept", "application/json");
    return this.request("POST", url, {
      ...base,
      headers,
      body: jsonBody(value),
    });
  }

  /**
   * GETs `url` and parses its JSON; throws `HttpStatus` for a non-2xx status.
   *
   * @param url the URL
   * @param options request options, or the headers
   * @returns the parsed body
   */
  async getJson<T = JsonValue>(
    url: string | URL,
    options?: HttpRequestOptions | Record<string, string>,
  ): Promise<T> {
    const base = requestOptions(options);
    const headers = new HttpHeaders(base.headers as Record<string, string> | undefined);
    if (!headers.has("accept")) headers.set("accept", "application/json");
    return (await this.request("GET", url, { ...base, headers })).parseJsonOrThrow<T>();
  }

  /**
   * Sends a request and reads the whole response body (up to `maxResponseBytes`).
   *
   * @param method the method, such as `"GET"`
   * @param url an absolute `http:` or `https:` URL
   * @param options headers, body, signal, retries and timeouts
   * @returns the response, whatever its status
   */
  async request(
    method: string,
    url: string | URL,
    options: HttpRequestOptions = {},
  ): Promise<HttpClientResponse> {
    const { result, url: final, redirects } = await this.#run(method, url, options, false);
    return new HttpClientResponse(
      final,
      result.status,
      result.reason,
      result.headers,
      result.body as Uint8Array,
      redirects,
      this.#settings.json,
    );
  }

  /**
   * Sends a request and answers once the response head is in; the body is
   * a stream (read it to the end or cancel it).
   *
   * @param method the method
   * @param url the URL
   * @param options headers, body, signal, retries and timeouts
   * @returns the head and the body stream
   */
  async stream(
    method: string,
    url: string | URL,
    options: HttpRequestOptions = {},
  ): Promise<HttpStreamResponse> {
    const { result, url: final } = await this.#run(method, url, options, true);
    return {
      url: final,
      statusCode: result.status,
      statusText: result.reason,
      headers: result.headers,
      body: result.body as ReadableStream<Uint8Array>,
    };
  }

  /**
   * Counters since creation or the last reset.
   *
   * @returns a snapshot
   */
  getStats(): HttpClientStats {
    return statsSnapshot(this.#stats, this.#pool.stats);
  }

  /**
   * The circuit breaker of every origin the client has called, by origin (empty without
   * `circuitBreaker` in the config).
   *
   * @returns each breaker's state and counters
   */
  getBreakerStats(): Map<string, CircuitBreakerStats> {
    return this.#breakers?.getStats() ?? new Map();
  }

  /** Zeroes the counters. */
  resetStats(): void {
    this.#stats = zeroStats();
    this.#pool.stats = zeroPoolStats(this.#pool.stats);
  }

  /** Closes the idle connections (after a network change, say). */
  purgeIdle(): void {
    this.#pool.purgeIdle();
  }

  /** Closes every connection; requests after this fail with `Closed`. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.close();
    this.#ownDns?.[Symbol.dispose]();
  }

  /** Same as {@linkcode HttpClient.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #run(
    method: string,
    input: string | URL,
    options: HttpRequestOptions,
    stream: boolean,
  ): Promise<{ result: ExchangeResult; url: string; redirects: number }> {
    this.#stats.requests++;
    const total = options.timeouts?.total ?? this.#settings.requestTimeout;
    const controller = new AbortController();
    const timer = Number.isFinite(total)
      ? setTimeout(
        () =>
          controller.abort(
            new HttpClientError("RequestTimeout", `${String(input)}: no answer within ${total} ms`),
          ),
        total,
      )
      : undefined;
    const outer = options.signal;
    const onAbort = () =>
      controller.abort(
        new HttpClientError("Aborted", `${String(input)}: aborted`, { cause: outer?.reason }),
      );
    if (outer?.aborted) onAbort();
    else outer?.addEventListener("abort", onAbort, { once: true });
    const tracing = this.#tracing;
    const span = tracing === null ? null : tracing.start(method, "client", {
      "http.request.method": method,
      "url.full": redacted(input),
    });
    try {
      const out = await this.#follow(
        method,
        input,
        options,
        stream,
        controller.signal,
        span === null ? null : tracing!.traceparent(span),
      );
      if (span !== null) {
        span.setAttribute("http.response.status_code", out.result.status);
        if (out.result.status >= 500) span.setStatus({ code: 2 });
        span.end();
      }
      return out;
    } catch (error) {
      const failure = error instanceof HttpClientError ? error : new HttpClientError(
        "InvalidRequest",
        `${String(input)}: ${(error as Error).message}`,
        { cause: error },
      );
      countFailure(this.#stats, failure);
      if (span !== null) Tracing.fail(span, failure);
      throw failure;
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener("abort", onAbort);
    }
  }

  async #follow(
    method: string,
    input: string | URL,
    options: HttpRequestOptions,
    stream: boolean,
    signal: AbortSignal,
    traceparent: string | null,
  ): Promise<{ result: ExchangeResult; url: string; redirects: number }> {
    if (this.#closed) throw new HttpClientError("Closed", "the HTTP client is closed");
    let url = parseUrl(input);
    const headers = new HttpHeaders(this.#settings.defaultHeaders);
    for (const [name, value] of new HttpHeaders(options.headers)) headers.set(name, value);
    if (traceparent !== null && !headers.has("traceparent")) {
      headers.set("traceparent", traceparent);
    }
    let body = prepareBody(options.body, headers);
    for (let redirects = 0;; redirects++) {
      const result = await this.#attempt(method, url, headers, body, options, stream, signal);
      const { followRedirects, maxRedirects } = this.#settings;
      const hop = followRedirects
        ? await redirectHop(result, { method, url, body }, headers, redirects, maxRedirects)
        : undefined;
      if (hop === undefined) return { result, url: url.href, redirects };
      this.#stats.redirects++;
      ({ method, url, body } = hop);
    }
  }

  // One request to one URL, tried again when that is safe: connection failures, a stale
  // keep-alive socket (idempotent methods), and retryable statuses (idempotent methods).
  async #attempt(
    method: string,
    url: URL,
    headers: HttpHeaders,
    body: PreparedBody,
    options: HttpRequestOptions,
    stream: boolean,
    signal: AbortSignal,
  ): Promise<ExchangeResult> {
    const retry = this.#settings.retry;
    const limit = options.retries ?? retry.limit;
    const idempotent = resendable(method, body);
    for (let attempt = 0;; attempt++) {
      let result: ExchangeResult;
      try {
        result = await this.#send(method, url, headers, body, options, stream, signal);
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        const retryable = error instanceof HttpClientError &&
          (error.retryable || (idempotent && error.code === "ConnectionClosed"));
        if (!retryable || attempt >= limit) throw error;
        this.#stats.retries++;
        await abortable(backoffMs(retry, attempt), signal);
        continue;
      }
      this.#stats.responses[statusClass(result.status)]++;
      if (!idempotent || attempt >= limit || !retry.statusCodes.includes(result.status)) {
        return result;
      }
      const asked = retryAfterMs(result.headers.get("retry-after"));
      const wait = asked ?? backoffMs(retry, attempt);
      if (wait > retry.maxDelayMs) return result;
      await discard(result);
      this.#stats.retries++;
      await abortable(wait, signal);
    }
  }

  // One origin, or the targets of a service (srv+http:, srv+https:) in their order, moving on
  // when a target cannot be reached; each origin behind its circuit breaker when configured.
  async #send(
    method: string,
    url: URL,
    headers: HttpHeaders,
    body: PreparedBody,
    options: HttpRequestOptions,
    stream: boolean,
    signal: AbortSignal,
  ): Promise<ExchangeResult> {
    if (!url.protocol.startsWith("srv+")) {
      return await this.#guarded(
        originOf(url),
        url.host,
        method,
        url,
        headers,
        body,
        options,
        stream,
        signal,
      );
    }
    const targets = await serviceTargets(url, this.#pool.resolver(), signal);
    let last: unknown = new HttpClientError("DnsFailed", `${url.href}: the service has no target`);
    for (const { origin, authority } of targets) {
      try {
        return await this.#guarded(
          origin,
          authority,
          method,
          url,
          headers,
          body,
          options,
          stream,
          signal,
        );
      } catch (error) {
        if (
          !(error instanceof HttpClientError && (error.retryable || error.code === "CircuitOpen"))
        ) {
          throw error;
        }
        last = error;
      }
    }
    throw last;
  }

  async #guarded(
    origin: Origin,
    authority: string,
    method: string,
    url: URL,
    headers: HttpHeaders,
    body: PreparedBody,
    options: HttpRequestOptions,
    stream: boolean,
    signal: AbortSignal,
  ): Promise<ExchangeResult> {
    const breaker = this.#breakers?.getBreaker(origin.key);
    if (breaker !== undefined && !breaker.allowRequest()) {
      throw new HttpClientError(
        "CircuitOpen",
        `${origin.key}: circuit open after repeated failures`,
      );
    }
    let result: ExchangeResult;
    try {
      result = await this.#exchange(
        origin,
        authority,
        method,
        url,
        headers,
        body,
        options,
        stream,
        signal,
      );
    } catch (error) {
      if (!signal.aborted) breaker?.recordFailure();
      throw error;
    }
    if (result.status >= 500) breaker?.recordFailure();
    else breaker?.recordSuccess();
    return result;
  }

  // Sends on a pooled connection; a reused one that turns out stale before any byte of the
  // response is replaced by a fresh one, once, and only for idempotent requests.
  async #exchange(
    origin: Origin,
    authority: string,
    method: string,
    url: URL,
    headers: HttpHeaders,
    body: PreparedBody,
    options: HttpRequestOptions,
    stream: boolean,
    signal: AbortSignal,
  ): Promise<ExchangeResult> {
    const fields: [string, string][] = [["host", authority]];
    for (const entry of headers) if (entry[0] !== "host") fields.push(entry);
    const exchange = {
      method,
      target: `${url.pathname}${url.search}`,
      headers: fields,
      body,
      url: url.href,
      headersTimeoutMs: options.timeouts?.headers ?? this.#settings.headersTimeout,
      bodyTimeoutMs: options.timeouts?.body ?? this.#settings.bodyTimeout,
      stream,
    };
    for (let fresh = false;; fresh = true) {
      const connection = await this.#pool.acquire(origin, signal);
      const reused = connection.uses > 0;
      const onAbort = () => connection.cancel(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      try {
        return await connection.send(exchange);
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        const replay = error instanceof StaleConnectionError && reused && !fresh &&
          resendable(method, body);
        if (!replay) throw error;
      } finally {
        signal.removeEventListener("abort", onAbort);
      }
    }
  }
}
