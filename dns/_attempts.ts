// Asking the servers one question until an answer comes: attempts go to the live servers in
// turn (rotating with `rotate`), retries wait with exponential backoff and jitter, a server that
// times out is marked down, and the whole stays within `maxResolutionTime`. A timeout, a network
// error or an error rcode moves on to the next attempt; an answer is cached and returned.
// Private to dns/.
import type { CachedAnswer, DnsCache } from "./cache.ts";
import type { DnsConfig } from "./client_types.ts";
import { DnsResolverError } from "./errors.ts";
import { cancelledError } from "./_stackless.ts";
import { answerOf, answerTtl } from "./_answer.ts";
import type { ClientCounters } from "./_client_counters.ts";
import type { Flight } from "./_flight.ts";
import { ServerHealth } from "./_server_health.ts";
import type { ResolverSettingsSource } from "./_settings.ts";
import type { DnsMessage } from "./message.ts";
import type { DnsTransport } from "./transport.ts";

/** The attempts of one client. */
export class ServerAttempts {
  #config: DnsConfig;
  #settings: ResolverSettingsSource;
  #transport: DnsTransport;
  #cache: DnsCache | null;
  #s: ClientCounters;
  #health: ServerHealth | null = null;

  /**
   * @param config retry, backoff, down-time, deadline and transport-mode fields
   * @param settings the servers, timeout and retry count
   * @param transport sends the queries
   * @param cache where answers go (null: caching off)
   * @param counters counts timeouts, errors and retries
   */
  constructor(
    config: DnsConfig,
    settings: ResolverSettingsSource,
    transport: DnsTransport,
    cache: DnsCache | null,
    counters: ClientCounters,
  ) {
    this.#config = config;
    this.#settings = settings;
    this.#transport = transport;
    this.#cache = cache;
    this.#s = counters;
  }

  /** The outcome of the flight's question: an answer, or the last attempt's error. */
  async ask(f: Flight): Promise<CachedAnswer> {
    const s = this.#settings.get();
    const settings = s instanceof Promise ? await s : s;
    const health = this.#health ??= new ServerHealth(settings.servers.length);
    const c = this.#config;
    const q = f.question;
    const maxTime = c.maxResolutionTime ?? 10_000;
    const deadline = maxTime > 0 ? performance.now() + maxTime : Infinity;
    const mode = c.transportMode ?? "Both";
    let delay = c.initialRetryDelay ?? 50;
    let last: DnsResolverError | null = null;
    const order = health.order(settings.servers.length, settings.rotate);
    for (let attempt = 0; attempt <= settings.retryCount; attempt++) {
      if (f.cancelled) throw cancelledError(q);
      if (attempt > 0) {
        this.#s.retries++;
        const jitter = 1 + (c.jitterFactor ?? 0.1) * (Math.random() * 2 - 1);
        const wait = Math.min(delay, c.maxRetryDelay ?? 1000) * jitter;
        delay *= c.retryMultiplier ?? 2;
        if (performance.now() + wait >= deadline) break;
        if (wait > 0) await f.sleep(wait);
        if (f.cancelled) throw cancelledError(q);
      }
      const remaining = deadline - performance.now();
      if (remaining <= 0) break;
      const index = order[attempt % order.length];
      const server = settings.servers[index];
      const ex = this.#transport.exchange(server, q, {
        timeoutMs: Math.max(1, Math.min(settings.timeout, remaining)),
        tcp: mode === "TCP",
        noTcpFallback: mode === "UDP",
      });
      f.current = ex;
      let msg: DnsMessage;
      try {
        msg = await ex.promise;
      } catch (error) {
        f.current = null;
        if (!(error instanceof DnsResolverError)) throw error;
        if (error.code === "Timeout") {
          this.#s.timeouts++;
          health.markDown(index, c.serverDownTime ?? 30_000);
          last = error;
          continue;
        }
        if (error.code === "NetworkError") {
          last = error;
          continue;
        }
        if (error.code !== "Cancelled") this.#s.errors++;
        throw error;
      }
      f.current = null;
      health.markUp(index);
      const outcome = answerOf(q, msg);
      if (outcome instanceof DnsResolverError) {
        last = outcome;
        continue;
      }
      this.#cache?.set(q, outcome, answerTtl(outcome, msg));
      return outcome;
    }
    this.#s.errors++;
    throw last ?? new DnsResolverError(
      "Timeout",
      `no answer for ${q.name} within maxResolutionTime`,
      q,
    );
  }
}
