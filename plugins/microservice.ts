/**
 * The sample microservice plugin (the seed's text-summarization sample), as
 * a team would deploy it: routes on the WebhookServer, jobs kept in the
 * StateStore (with an expiry, resumed after a restart or a reload), an
 * OpenAI-compatible upstream called through the service's HttpClient behind
 * a circuit breaker, result webhooks restricted by an address policy,
 * summaries in the ExpiringCache, events on the EventQueue, its own metrics
 * in `service.metrics` (served by `GET /metrics`), structured logs and
 * exported APIs. With `[cluster]` events and state configured, jobs go
 * through the cluster's work queue: a job queued on one instance may run on
 * any, its status is readable on every one, and the job of an instance that
 * died is claimed and finished by another (after `[cluster] claimIdleMs`).
 *
 * Routes (prefix configurable, default `/summarize`):
 * - `POST /summarize` `{ "text": "...", "callbackUrl"?: "..." }` → 202 `{ id, status: "queued" }`;
 *   400 for bad input or a refused `callbackUrl`; 503 with `Retry-After` when
 *   `maxPendingJobs` are waiting, or while the upstream's circuit is open and
 *   `rejectWhenOpen` is set.
 * - `GET /summarize/{id}` → `{ id, status, summary?, degraded?, error?, createdAt, expiresAt }`,
 *   404 once the job expired.
 *
 * APIs: `microservice.summarize(text)` → `Promise<string>`, `microservice.status(id)`.
 *
 * Options: `prefix`; `upstreamUrl`, an OpenAI-compatible chat-completions
 * endpoint (without it, while its circuit is open, or when it fails, a local
 * extractive summary is used and the job is marked `degraded`); `apiKeyEnv`
 * (default `OPENAI_API_KEY`); `model` (default `gpt-4o-mini`); `maxSentences`
 * (default 2); `timeoutMs` for upstream and callback requests (default
 * 10000); `breakerFailures` (failures in a row that open the circuit, default
 * 5) and `breakerResetMs` (how long it stays open, default 30000);
 * `rejectWhenOpen` (default false: degrade instead of refusing);
 * `callbackAllowlist` (host names, addresses and CIDR ranges a callback may
 * reach although internal; default none: loopback, private and link-local
 * addresses are refused, see {@linkcode CallbackPolicy}); `jobTtlMs` (how
 * long a job record is kept, default 3600000); `maxPendingJobs` (jobs
 * waiting or running on this instance, default 1000; in a cluster the work queue holds them,
 * each instance running one at a time: keep `[cluster] claimIdleMs` above `timeoutMs`, or a slow
 * job is claimed by another instance while it still runs).
 *
 * Metrics (`iora_microservice_*`): jobs accepted, rejected by reason,
 * completed by outcome, running; job duration; upstream requests by result
 * and whether its circuit is open; callbacks by result.
 *
 * @example
 * ```toml
 * [[modules.modules]]
 * url = "microservice.ts"
 * options = { upstreamUrl = "https://api.openai.com/v1/chat/completions", rejectWhenOpen = true }
 * ```
 *
 * @module
 */
import { platform } from "../core/platform/mod.ts";
import { IoraError } from "../core/errors.ts";
import type { Counter, Histogram } from "../core/metrics.ts";
import type { TimerId } from "../core/timer.ts";
import type { WebhookResponse } from "../http/response.ts";
import { Plugin } from "../service/plugin.ts";
import type { IoraService } from "../service/iora_service.ts";
import { CallbackPolicy, CallbackRefusedError } from "./microservice/callback_policy.ts";
import { SummaryUpstream, UpstreamError } from "./microservice/upstream.ts";

export { CallbackPolicy, CallbackRefusedError } from "./microservice/callback_policy.ts";
export {
  SummaryUpstream,
  type SummaryUpstreamOptions,
  type SummaryUpstreamStats,
  UpstreamError,
} from "./microservice/upstream.ts";

/** The state of one summarization job, as `GET /summarize/{id}` shows it. */
export interface SummaryJob {
  /** The job id. */
  id: string;
  /** Where the job is. */
  status: "queued" | "running" | "done" | "failed";
  /** The summary, once done. */
  summary?: string;
  /** True when the upstream model was unavailable and the local summary was used. */
  degraded?: boolean;
  /** Why the job failed. */
  error?: string;
  /** The cluster instance (work-queue consumer) that ran it, in a cluster. */
  instance?: string;
  /** When it was accepted, in ms since the epoch. */
  createdAt: number;
  /** When its record goes, in ms since the epoch. */
  expiresAt: number;
}

/** What a job needs to run: also the work-queue payload in a cluster. */
interface JobWork {
  id: string;
  text: string;
  callbackUrl?: string;
  createdAt: number;
}

/** A stored job: what is shown, and what it needs to run again after a restart. */
type JobRecord = SummaryJob & { work?: JobWork };

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

/** The plugin's options, checked. */
interface Settings {
  prefix: string;
  upstreamUrl?: string;
  apiKeyEnv: string;
  model: string;
  maxSentences: number;
  timeoutMs: number;
  breakerFailures: number;
  breakerResetMs: number;
  rejectWhenOpen: boolean;
  callbackAllowlist: unknown[];
  jobTtlMs: number;
  maxPendingJobs: number;
}

function settings(options: Readonly<Record<string, unknown>>): Settings {
  const bad = (name: string, what: string) =>
    new IoraError("InvalidOption", `microservice option ${name} must be ${what}`);
  const str = (name: string, fallback?: string) => {
    const v = options[name] ?? fallback;
    if (v !== undefined && (typeof v !== "string" || v === "")) throw bad(name, "a string");
    return v as string | undefined;
  };
  const num = (name: string, fallback: number, min: number) => {
    const v = options[name] ?? fallback;
    if (typeof v !== "number" || !Number.isFinite(v) || v < min) {
      throw bad(name, `a number >= ${min}`);
    }
    return v;
  };
  const allow = options.callbackAllowlist ?? [];
  if (!Array.isArray(allow)) throw bad("callbackAllowlist", "an array of strings");
  if (options.rejectWhenOpen !== undefined && typeof options.rejectWhenOpen !== "boolean") {
    throw bad("rejectWhenOpen", "true or false");
  }
  return {
    prefix: str("prefix", "/summarize")!,
    upstreamUrl: str("upstreamUrl"),
    apiKeyEnv: str("apiKeyEnv", "OPENAI_API_KEY")!,
    model: str("model", "gpt-4o-mini")!,
    maxSentences: num("maxSentences", 2, 1),
    timeoutMs: num("timeoutMs", 10_000, 1),
    breakerFailures: num("breakerFailures", 5, 1),
    breakerResetMs: num("breakerResetMs", 30_000, 1),
    rejectWhenOpen: options.rejectWhenOpen === true,
    callbackAllowlist: allow,
    jobTtlMs: num("jobTtlMs", 3_600_000, 1),
    maxPendingJobs: num("maxPendingJobs", 1000, 1),
  };
}

/** The plugin's own metrics (removed again when it unloads). */
interface Metrics {
  accepted: Counter;
  rejected: Counter;
  completed: Counter;
  callbacks: Counter;
  duration: Histogram;
  names: string[];
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
  #settings!: Settings;
  #upstream: SummaryUpstream | undefined;
  #policy!: CallbackPolicy;
  #metrics!: Metrics;
  #timers = new Set<TimerId>();
  #running = new Set<string>();
  #stopConsumer: (() => Promise<void>) | undefined;
  #next = 0;

  /**
   * Checks the options, registers routes, APIs and metrics, then resumes the jobs a previous
   * run left queued (alone) or starts consuming the cluster's work queue.
   *
   * @param service the service
   */
  override async onLoad(service: IoraService): Promise<void> {
    const s = this.#settings = settings(this.options);
    this.#policy = new CallbackPolicy(s.callbackAllowlist);
    this.#upstream = s.upstreamUrl === undefined ? undefined : new SummaryUpstream(
      service.httpClient,
      {
        url: s.upstreamUrl,
        model: s.model,
        apiKey: platform().getEnv(s.apiKeyEnv) ?? "",
        timeoutMs: s.timeoutMs,
        breaker: { failureThreshold: s.breakerFailures, timeoutMs: s.breakerResetMs },
      },
    );
    this.#metrics = this.#registerMetrics(service);
    this.#active = true;

    service.webhookServer.onPost(s.prefix, (req, res) => this.#accept(req.body, res));
    service.webhookServer.onGet(`${s.prefix}/{id}`, (req, res) => {
      const job = this.#active ? this.#load(req.params.id) : undefined;
      if (job) res.json(job);
      else res.json({ error: "no such job" }, 404);
    });

    this.exportApi(
      "microservice.summarize",
      async (text: string) => (await this.#summarize(text)).summary,
    );
    this.exportApi("microservice.status", (id: string) => this.#load(id));

    const sweep = service.timerService.schedulePeriodic(
      Math.min(s.jobTtlMs, 60_000),
      () => this.#sweep(),
    );
    this.#timers.add(sweep);

    const bus = this.#clusterBus();
    if (bus) {
      this.#stopConsumer = await bus.consume<JobWork>(
        this.#topic(),
        (work) => this.#run(work),
      );
    } else {
      for (const key of service.stateStore.findKeysWithPrefix(this.#keyPrefix())) {
        const job = this.#record(key);
        if (job?.work && (job.status === "queued" || job.status === "running")) {
          service.logger.info("resuming a job", { plugin: this.name, id: job.id });
          this.#schedule(job.work);
        }
      }
    }
  }

  /** Stops taking work: cancels local timers, stops the work-queue consumer, drops the metrics. */
  override async onUnload(): Promise<void> {
    this.#active = false;
    for (const timer of this.#timers) this.service.timerService.cancel(timer);
    this.#timers.clear();
    await this.#stopConsumer?.();
    this.#stopConsumer = undefined;
    for (const name of this.#metrics.names) this.service.metrics.remove(name);
  }

  // --- jobs ---------------------------------------------------------------------------

  async #accept(raw: Uint8Array, res: WebhookResponse): Promise<void> {
    const s = this.#settings;
    const refuse = (reason: string, status: number, error: string, retryAfterMs?: number) => {
      this.#metrics.rejected.inc({ reason });
      if (retryAfterMs !== undefined) {
        res.setHeader("retry-after", String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
      }
      res.json({ error }, status);
    };
    if (!this.#active) return refuse("unloaded", 503, "the microservice is not loaded", 1000);
    let body: unknown = null;
    try {
      body = raw.length > 0 ? JSON.parse(new TextDecoder().decode(raw)) : null;
    } catch {
      return refuse("invalid", 400, "the body must be JSON");
    }
    const { text, callbackUrl } = (typeof body === "object" && body !== null ? body : {}) as {
      text?: unknown;
      callbackUrl?: unknown;
    };
    if (typeof text !== "string" || text.trim() === "" || text.length > MAX_TEXT_LENGTH) {
      return refuse(
        "invalid",
        400,
        `"text" must be a non-empty string of at most ${MAX_TEXT_LENGTH} characters`,
      );
    }
    if (s.rejectWhenOpen && this.#upstream?.state() === "open") {
      return refuse(
        "circuit_open",
        503,
        "the upstream model is failing; try again later",
        this.#upstream.retryAfterMs(),
      );
    }
    if (!this.#clusterBus() && this.#running.size >= s.maxPendingJobs) {
      return refuse("busy", 503, `${this.#running.size} jobs are pending (maxPendingJobs)`, 1000);
    }
    if (callbackUrl !== undefined) {
      try {
        await this.#policy.check(callbackUrl, (name) => this.service.dnsClient.resolveHost(name));
      } catch (error) {
        if (!(error instanceof CallbackRefusedError)) throw error;
        return refuse("callback", 400, error.message);
      }
    }
    const createdAt = Date.now();
    const id = `${createdAt.toString(36)}-${(this.#next++).toString(36)}-${
      Math.random().toString(36).slice(2, 8)
    }`;
    const work: JobWork = {
      id,
      text,
      ...(typeof callbackUrl === "string" ? { callbackUrl } : {}),
      createdAt,
    };
    this.#save({ id, status: "queued", createdAt, expiresAt: createdAt + s.jobTtlMs, work });
    const bus = this.#clusterBus();
    if (bus) {
      try {
        await this.service.stateStore.flush();
        await bus.enqueue(this.#topic(), work);
      } catch (error) {
        this.#save({ ...this.#load(id)!, status: "failed", error: (error as Error).message });
        return refuse(
          "cluster",
          503,
          `the cluster cannot take the job: ${(error as Error).message}`,
        );
      }
    } else {
      this.#schedule(work);
    }
    this.#metrics.accepted.inc();
    this.service.logger.info("job queued", { plugin: this.name, id, chars: text.length });
    res.json({ id, status: "queued" }, 202);
  }

  // Runs a job here, after this response (alone: no cluster work queue).
  #schedule(work: JobWork): void {
    this.#running.add(work.id);
    const timer = this.service.timerService.scheduleAfter(0, async () => {
      this.#timers.delete(timer);
      try {
        await this.#run(work);
      } finally {
        this.#running.delete(work.id);
      }
    });
    this.#timers.add(timer);
  }

  // Runs one job to its end; a job already finished (a claimed duplicate) is skipped.
  async #run(work: JobWork): Promise<void> {
    const before = this.#load(work.id);
    if (before && (before.status === "done" || before.status === "failed")) return;
    const instance = this.#clusterBus()?.consumer;
    const base: JobRecord = {
      id: work.id,
      status: "running",
      createdAt: work.createdAt,
      expiresAt: work.createdAt + this.#settings.jobTtlMs,
      ...(instance ? { instance } : {}),
      work,
    };
    if (!this.#active) return this.#interrupted();
    this.#save(base);
    const started = platform().now();
    let job: JobRecord;
    try {
      const { summary, degraded } = await this.#summarize(work.text);
      job = { ...base, status: "done", summary, ...(degraded ? { degraded } : {}) };
    } catch (error) {
      job = { ...base, status: "failed", error: (error as Error).message };
    }
    if (!this.#active) return this.#interrupted();
    delete job.work;
    this.#save(job);
    await this.service.stateStore.flush();
    this.#metrics.duration.observe((platform().now() - started) / 1000);
    this.#metrics.completed.inc({
      outcome: job.status === "failed" ? "failed" : job.degraded ? "degraded" : "done",
    });
    const shown = this.#public(job);
    this.service.logger.info("job finished", {
      plugin: this.name,
      id: job.id,
      status: job.status,
      degraded: job.degraded ?? false,
    });
    this.service.eventQueue.tryPublish("microservice.completed", shown);
    if (work.callbackUrl) await this.#callback(work.callbackUrl, shown);
  }

  // Unloaded while a job ran: alone, the next load resumes it (its record is still queued or
  // running); in a cluster, failing the handler leaves the event unacknowledged for a peer.
  #interrupted(): void {
    if (this.#clusterBus()) {
      throw new IoraError("Unloaded", `${this.name} unloaded while running a job`);
    }
  }

  async #callback(url: string, job: SummaryJob): Promise<void> {
    const log = this.service.logger.child({ plugin: this.name, id: job.id });
    try {
      // Checked again: what the name resolves to may have changed since the job was queued.
      await this.#policy.check(url, (name) => this.service.dnsClient.resolveHost(name));
      const response = await this.service.httpClient.postJson(url, job, {
        timeouts: { total: this.#settings.timeoutMs },
      });
      if (response.success()) this.#metrics.callbacks.inc({ result: "sent" });
      else {
        this.#metrics.callbacks.inc({ result: "refused" });
        log.warn("callback refused", { status: response.statusCode });
      }
    } catch (error) {
      this.#metrics.callbacks.inc({ result: "failed" });
      log.warn("callback failed", { error: (error as Error).message });
    }
  }

  // Summaries are cached in the service's ExpiringCache: the same text is
  // not sent upstream twice while its entry lives. Degraded ones are not kept.
  async #summarize(text: string): Promise<{ summary: string; degraded: boolean }> {
    const cache = this.service.cache;
    const key = `${this.name}:summary:${fnv1a(text)}:${text.length}`;
    const hit = cache.get(key) as { text: string; summary: string } | undefined;
    if (hit && hit.text === text) return { summary: hit.summary, degraded: false };
    const local = () => ({
      summary: localSummary(text, this.#settings.maxSentences),
      degraded: true,
    });
    if (!this.#upstream) return local();
    try {
      const summary = await this.#upstream.summarize(text, this.#settings.maxSentences);
      cache.set(key, { text, summary });
      return { summary, degraded: false };
    } catch (error) {
      if (!(error instanceof UpstreamError)) throw error;
      this.service.logger.warn("upstream unavailable; using the local summary", {
        plugin: this.name,
        error: error.message,
      });
      return local();
    }
  }

  // --- records ------------------------------------------------------------------------

  #keyPrefix(): string {
    return `${this.name}:job:`;
  }

  #topic(): string {
    return `${this.name}.jobs`;
  }

  // The cluster's event bus when jobs are shared (events and state both in Redis).
  #clusterBus() {
    const cluster = this.service.cluster;
    return cluster?.events && cluster.state ? cluster.events : undefined;
  }

  #save(job: JobRecord): void {
    this.service.stateStore.set(`${this.#keyPrefix()}${job.id}`, JSON.stringify(job));
  }

  #record(key: string): JobRecord | undefined {
    const raw = this.service.stateStore.get(key);
    if (raw === undefined) return undefined;
    try {
      return JSON.parse(raw) as JobRecord;
    } catch {
      return undefined;
    }
  }

  #public(job: JobRecord): SummaryJob {
    const { work: _work, ...shown } = job;
    return shown;
  }

  #load(id: unknown): SummaryJob | undefined {
    if (typeof id !== "string") return undefined;
    const job = this.#record(`${this.#keyPrefix()}${id}`);
    if (!job || job.expiresAt <= Date.now()) return undefined;
    return this.#public(job);
  }

  // Removes expired job records (on every instance of a cluster: removing twice is harmless).
  #sweep(): void {
    const now = Date.now();
    for (const key of this.service.stateStore.findKeysWithPrefix(this.#keyPrefix())) {
      const job = this.#record(key);
      if (!job || job.expiresAt <= now) this.service.stateStore.remove(key);
    }
  }

  // --- metrics ------------------------------------------------------------------------

  #registerMetrics(service: IoraService): Metrics {
    const m = service.metrics;
    const p = `iora_${this.name.replace(/[^a-zA-Z0-9_]/g, "_")}_`;
    const names: string[] = [];
    const name = (n: string) => {
      names.push(p + n);
      return p + n;
    };
    const metrics: Metrics = {
      accepted: m.counter(name("jobs_accepted_total"), "Summarization jobs accepted."),
      rejected: m.counter(name("jobs_rejected_total"), "Jobs refused, by reason.", ["reason"]),
      completed: m.counter(
        name("jobs_completed_total"),
        "Jobs finished here, by outcome (done, degraded: the local summary, failed).",
        ["outcome"],
      ),
      callbacks: m.counter(
        name("callbacks_total"),
        "Result webhooks, by result (sent, refused: a non-2xx answer, failed).",
        ["result"],
      ),
      duration: m.histogram(name("job_duration_seconds"), "Time to run a job, in seconds."),
      names,
    };
    m.collect(name("jobs_running"), "Jobs waiting or running here.", "gauge", () => [
      { value: this.#running.size },
    ]);
    m.collect(
      name("upstream_requests_total"),
      "Upstream model requests, by result (ok, failed, short_circuited: circuit open).",
      "counter",
      () => {
        const stats = this.#upstream?.getStats() ?? { ok: 0, failed: 0, shortCircuited: 0 };
        return [
          { labels: { result: "ok" }, value: stats.ok },
          { labels: { result: "failed" }, value: stats.failed },
          { labels: { result: "short_circuited" }, value: stats.shortCircuited },
        ];
      },
    );
    m.collect(
      name("upstream_circuit_open"),
      "1 while the upstream's circuit breaker is open, else 0.",
      "gauge",
      () => [{ value: this.#upstream?.state() === "open" ? 1 : 0 }],
    );
    return metrics;
  }
}
