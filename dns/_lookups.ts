// One exact question (no search list, no CNAME chasing): answered from the cache, joined to an
// identical question in flight, or asked of the servers. Each caller's AbortSignal lets go of a
// shared question for that caller alone; when the last caller lets go, the question is
// abandoned. Private to dns/.
import { type CachedAnswer, cacheKey, type DnsCache } from "./cache.ts";
import { DnsResolverError } from "./errors.ts";
import { cancelledError } from "./_stackless.ts";
import type { ServerAttempts } from "./_attempts.ts";
import type { ClientCounters } from "./_client_counters.ts";
import { Flight, onAbort } from "./_flight.ts";
import { type DnsQuestion, type DnsRecord, sameName } from "./message.ts";

/** The lookups of one client: its cache, its questions in flight and its counters. */
export class Lookups {
  #cache: DnsCache;
  #cacheEnabled: boolean;
  #attempts: ServerAttempts;
  #s: ClientCounters;
  #flights = new Map<string, Flight>();
  #closed = false;

  /**
   * @param cache the client's cache
   * @param cacheEnabled false: the cache is never read
   * @param attempts asks the servers
   * @param counters counts queries, cache hits and misses, and shared questions
   */
  constructor(
    cache: DnsCache,
    cacheEnabled: boolean,
    attempts: ServerAttempts,
    counters: ClientCounters,
  ) {
    this.#cache = cache;
    this.#cacheEnabled = cacheEnabled;
    this.#attempts = attempts;
    this.#s = counters;
  }

  /**
   * The outcome for one exact question (no search list, no CNAME chasing):
   * cached, shared with an identical question in flight, or queried.
   */
  lookup(q: DnsQuestion, signal: AbortSignal | undefined): Promise<CachedAnswer> {
    this.#s.totalQueries++;
    if (this.#closed) {
      return Promise.reject(new DnsResolverError("Closed", "the DNS client is closed", q));
    }
    if (signal?.aborted) return Promise.reject(cancelledError(q));
    const key = cacheKey(q);
    if (this.#cacheEnabled) {
      const hit = this.#cache.getByKey(key);
      if (hit !== undefined) {
        this.#s.cacheHits++;
        return Promise.resolve(hit);
      }
    }
    this.#s.cacheMisses++;
    let flight = this.#flights.get(key);
    if (flight) this.#s.deduplicated++;
    else {
      const f = new Flight(key, q);
      flight = f;
      this.#flights.set(key, f);
      f.promise = this.#attempts.ask(f).finally(() => {
        if (this.#flights.get(key) === f) this.#flights.delete(key);
      });
    }
    const f = flight;
    if (!signal) {
      f.refs = Infinity;
      return f.promise;
    }
    f.refs++;
    return new Promise<CachedAnswer>((resolve, reject) => {
      const unsubscribe = onAbort(signal, () => {
        if (--f.refs === 0) {
          if (this.#flights.get(key) === f) this.#flights.delete(key);
          f.abandon();
        }
        reject(cancelledError(q));
      });
      f.promise.then(
        (v) => {
          unsubscribe();
          resolve(v);
        },
        (e) => {
          unsubscribe();
          reject(e);
        },
      );
    });
  }

  /**
   * The cached records of one exact question without any I/O, or undefined
   * (counts as a query, hit or miss).
   */
  cachedRecords(q: DnsQuestion): DnsRecord[] | undefined {
    this.#s.totalQueries++;
    const hit = this.#cacheEnabled ? this.#cache.getByKey(cacheKey(q)) : undefined;
    if (hit === undefined) {
      this.#s.cacheMisses++;
      return undefined;
    }
    this.#s.cacheHits++;
    return hit.records;
  }

  /** True when the cache may answer: it is on and the client is open. */
  get cacheOpen(): boolean {
    return this.#cacheEnabled && !this.#closed;
  }

  /**
   * The records of `type` owned by `name` itself from a live positive cache
   * entry with no CNAME to follow, counted as a query and a hit; otherwise
   * null (nothing counted: the full path counts). For when `cacheOpen`.
   */
  cachedOwnRecords(name: string, type: number): DnsRecord[] | null {
    const hit = this.#cache.getPositiveByKey(cacheKey({ name, type }));
    if (hit === undefined) return null;
    const records = hit.records;
    for (let i = 0; i < records.length; i++) {
      // A CNAME (or a stray owner) takes the full path; the hit is counted there again.
      if (records[i].type !== type || !sameName(records[i].name, name)) return null;
    }
    this.#s.totalQueries++;
    this.#s.cacheHits++;
    return records;
  }

  /** Cancels every question in flight; later lookups fail with `Closed`. */
  close(): void {
    this.#closed = true;
    for (const f of this.#flights.values()) f.cancel();
  }
}
