/**
 * The sample microservice plugin (the seed's text-summarization sample),
 * showing how a plugin uses the service: routes on the WebhookServer,
 * asynchronous work on the TimerService, status in the StateStore, events
 * on the EventQueue, summaries in the ExpiringCache, structured logs,
 * exported APIs and result webhooks.
 *
 * Routes (prefix configurable, default `/summarize`):
 * - `POST /summarize` `{ "text": "...", "callbackUrl"?: "..." }` → 202 `{ id, status: "queued" }`
 * - `GET /summarize/{id}` → `{ id, status, summary?, degraded?, error? }`
 *
 * APIs: `microservice.summarize(text)` → `Promise<string>`,
 * `microservice.status(id)`.
 *
 * Options: `prefix`; `upstreamUrl`, an OpenAI-compatible chat-completions
 * endpoint (without it, or when it fails, a local extractive summary is
 * used and the job is marked `degraded`); `apiKeyEnv` (default
 * `OPENAI_API_KEY`); `model` (default `gpt-4o-mini`); `maxSentences`
 * (default 2); `timeoutMs` for upstream and callback requests (default 10000).
 *
 * @example
 * ```toml
 * [modules]
 * modules = [{ url = "microservice.ts", options = { upstreamUrl = "https://api.openai.com/v1/chat/completions" } }]
 * ```
 *
 * @module
 */
import { platform } from "../core/platform/mod.ts";
import type { TimerId } from "../core/timer.ts";
import { Plugin } from "../service/plugin.ts";
import type { IoraService } from "../service/iora_service.ts";

/** The state of one summarization job. */
export interface SummaryJob {
  /** The job id. */
  id: string;
  /** Where the job is. */
  status: "queued" | "done" | "failed";
  /** The summary, once done. */
  summary?: string;
  /** True when the upstream model was unavailable and the local summary was used. */
  degraded?: boolean;
  /** Why the job failed. */
  error?: string;
}

/** The most text a job accepts, in characters. */
export const MAX_TEXT_LENGTH = 100_000;

/**
 * A local extractive summary: the first `maxSentences` sentences.
 *
 * @example
 * ```ts
 * import { localSummary } from "./microservice.ts";
 * console.log(localSummary("One. Two. Three.", 2)); // "One. Two."
 * ```
 *
 * @param text the text
 * @param maxSentences how many sentences to keep
 * @returns the summary
 */
export function localSummary(text: string, maxSentences: number): string {
  const sentences = text.replace(/\s+/g, " ").trim().match(/[^.!?]+[.!?]*/g) ?? [];
  return sentences.slice(0, maxSentences).map((s) => s.trim()).join(" ");
}

function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16);
}

/**
 * The sample microservice plugin.
 *
 * @example
 * ```ts ignore
 * const summarize = service.getExportedApiSafe<(t: string) => Promise<string>>("microservice.summarize");
 * console.log(await summarize.call("Iora hosts plugins. It is fast. It is small."));
 * ```
 */
export default class MicroservicePlugin extends Plugin {
  #active = false;
  #timers = new Set<TimerId>();
  #next = 0;

  /**
   * Registers the routes and APIs.
   *
   * @param service the service
   */
  override onLoad(service: IoraService): void {
    const prefix = typeof this.options.prefix === "string" ? this.options.prefix : "/summarize";
    const log = service.logger.child({ plugin: this.name });
    this.#active = true;

    service.webhookServer.onPost(prefix, (req, res) => {
      if (!this.#active) {
        res.json({ error: "the microservice is not loaded" }, 503);
        return;
      }
      const body = req.body.length > 0 ? req.json() : null;
      const { text, callbackUrl } = (typeof body === "object" && body !== null ? body : {}) as {
        text?: unknown;
        callbackUrl?: unknown;
      };
      if (typeof text !== "string" || text.trim() === "" || text.length > MAX_TEXT_LENGTH) {
        res.json({
          error: `"text" must be a non-empty string of at most ${MAX_TEXT_LENGTH} characters`,
        }, 400);
        return;
      }
      const id = `${Date.now().toString(36)}-${(this.#next++).toString(36)}`;
      this.#save({ id, status: "queued" });
      // The work runs after the response: the caller polls or gets a callback.
      const timer = service.timerService.scheduleAfter(0, async () => {
        this.#timers.delete(timer);
        const callback = typeof callbackUrl === "string" ? callbackUrl : undefined;
        await this.#process(id, text, callback);
      });
      this.#timers.add(timer);
      log.info("job queued", { id, chars: text.length });
      res.json({ id, status: "queued" }, 202);
    });

    service.webhookServer.onGet(`${prefix}/{id}`, (req, res) => {
      const job = this.#active ? this.#load(req.params.id) : undefined;
      if (job) res.json(job);
      else res.json({ error: "no such job" }, 404);
    });

    this.exportApi(
      "microservice.summarize",
      async (text: string) => (await this.#summarize(text)).summary,
    );
    this.exportApi("microservice.status", (id: string) => this.#load(id));
  }

  /** Cancels queued work. */
  override onUnload(): void {
    this.#active = false;
    for (const timer of this.#timers) this.service.timerService.cancel(timer);
    this.#timers.clear();
  }

  async #process(id: string, text: string, callbackUrl?: string): Promise<void> {
    const log = this.service.logger.child({ plugin: this.name, id });
    let job: SummaryJob;
    try {
      const { summary, degraded } = await this.#summarize(text);
      job = { id, status: "done", summary, ...(degraded ? { degraded } : {}) };
    } catch (error) {
      job = { id, status: "failed", error: (error as Error).message };
    }
    if (!this.#active) return;
    this.#save(job);
    log.info("job finished", { status: job.status, degraded: job.degraded ?? false });
    this.service.eventQueue.tryPublish("microservice.completed", job);
    if (callbackUrl) {
      try {
        const response = await this.service.httpClient.postJson(callbackUrl, job, {
          timeouts: { total: this.#timeoutMs() },
        });
        if (!response.success()) log.warn("callback refused", { status: response.statusCode });
      } catch (error) {
        log.warn("callback failed", { error: (error as Error).message });
      }
    }
  }

  // Summaries are cached in the service's ExpiringCache: the same text is
  // not sent upstream twice while its entry lives. Degraded ones are not kept.
  async #summarize(text: string): Promise<{ summary: string; degraded: boolean }> {
    const cache = this.service.cache;
    const key = `${this.name}:summary:${fnv1a(text)}:${text.length}`;
    const hit = cache.get(key) as { text: string; summary: string } | undefined;
    if (hit && hit.text === text) return { summary: hit.summary, degraded: false };
    const result = await this.#summarizeUncached(text);
    if (!result.degraded) cache.set(key, { text, summary: result.summary });
    return result;
  }

  async #summarizeUncached(text: string): Promise<{ summary: string; degraded: boolean }> {
    const maxSentences = typeof this.options.maxSentences === "number"
      ? this.options.maxSentences
      : 2;
    const upstream = this.options.upstreamUrl;
    if (typeof upstream !== "string") {
      return { summary: localSummary(text, maxSentences), degraded: true };
    }
    const keyName = typeof this.options.apiKeyEnv === "string"
      ? this.options.apiKeyEnv
      : "OPENAI_API_KEY";
    try {
      const response = await this.service.httpClient.postJson(upstream, {
        model: typeof this.options.model === "string" ? this.options.model : "gpt-4o-mini",
        messages: [
          { role: "system", content: `Summarize in at most ${maxSentences} sentences.` },
          { role: "user", content: text },
        ],
      }, {
        headers: { authorization: `Bearer ${platform().getEnv(keyName) ?? ""}` },
        timeouts: { total: this.#timeoutMs() },
      });
      if (!response.success()) throw new Error(`upstream answered ${response.statusCode}`);
      const reply = response.json<{ choices?: { message?: { content?: unknown } }[] }>();
      const content = reply.choices?.[0]?.message?.content;
      if (typeof content !== "string") throw new Error("upstream reply has no summary");
      return { summary: content.trim(), degraded: false };
    } catch (error) {
      this.service.logger.warn("upstream failed; using the local summary", {
        plugin: this.name,
        error: (error as Error).message,
      });
      return { summary: localSummary(text, maxSentences), degraded: true };
    }
  }

  #timeoutMs(): number {
    return typeof this.options.timeoutMs === "number" ? this.options.timeoutMs : 10_000;
  }

  #save(job: SummaryJob): void {
    this.service.stateStore.set(`microservice:${job.id}`, JSON.stringify(job));
  }

  #load(id: string): SummaryJob | undefined {
    const raw = typeof id === "string"
      ? this.service.stateStore.get(`microservice:${id}`)
      : undefined;
    return raw === undefined ? undefined : JSON.parse(raw) as SummaryJob;
  }
}
