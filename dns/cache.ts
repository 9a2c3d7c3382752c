/**
 * The DNS client's cache: answers by question, kept for their TTL, with a
 * size limit (least recently used out first), and negative answers (NXDOMAIN
 * and NODATA) kept per RFC 2308 for min(SOA TTL, SOA minimum).
 *
 * @example
 * ```ts
 * import { DnsCache } from "./cache.ts";
 * const cache = new DnsCache({ maxSize: 1000 });
 * cache.set({ name: "a.test", type: 1 }, { rcode: 0, records: [] }, 60);
 * console.log(cache.get({ name: "A.test", type: 1 })?.rcode); // 0
 * ```
 *
 * @module
 */
import type { DnsQuestion, DnsRecord } from "./message.ts";

/**
 * A cached outcome: the answer records (with CNAMEs) for a positive answer,
 * or an empty list and the rcode (NXDOMAIN = 3, NODATA = 0) for a negative one.
 *
 * @example
 * ```ts
 * import type { CachedAnswer } from "./cache.ts";
 * const nx: CachedAnswer = { rcode: 3, records: [], negative: true };
 * ```
 */
export interface CachedAnswer {
  /** The response code. */
  rcode: number;
  /** Answer-section records. */
  records: DnsRecord[];
  /** True for NXDOMAIN/NODATA entries. */
  negative?: boolean;
}

/**
 * Options of {@linkcode DnsCache}.
 *
 * @example
 * ```ts
 * import type { DnsCacheOptions } from "./cache.ts";
 * const o: DnsCacheOptions = { maxSize: 10_000, maxTtl: 3600 };
 * ```
 */
export interface DnsCacheOptions {
  /** Entries kept at most (default 10,000). */
  maxSize?: number;
  /** TTLs are capped at this many seconds (default 86,400). */
  maxTtl?: number;
  /** A clock in milliseconds (default `performance.now`), for tests. */
  now?: () => number;
}

/**
 * Cache counters.
 *
 * @example
 * ```ts
 * import type { DnsCacheStats } from "./cache.ts";
 * const s: Partial<DnsCacheStats> = { hits: 0 };
 * ```
 */
export interface DnsCacheStats {
  /** Entries held now (some may have expired and not yet been dropped). */
  totalEntries: number;
  /** Lookups that found a live entry. */
  hits: number;
  /** Lookups that found none. */
  misses: number;
  /** hits / (hits + misses), 0 when none. */
  hitRatio: number;
  /** Negative entries stored. */
  negativeStored: number;
  /** Entries pushed out by the size limit. */
  evictions: number;
  /** Entries found expired. */
  expirations: number;
}

interface Entry {
  answer: CachedAnswer;
  expires: number;
  name: string;
  /** When it was inserted or last moved to the young end (a counter, not a time). */
  seq: number;
}

/**
 * The key of a question: lower-case name without the trailing dot, and type.
 *
 * @example
 * ```ts
 * import { cacheKey } from "./cache.ts";
 * console.log(cacheKey({ name: "Example.COM.", type: 1 })); // "1 example.com"
 * ```
 */
export function cacheKey(q: DnsQuestion): string {
  let n = q.name;
  if (n.endsWith(".")) n = n.slice(0, -1);
  return `${q.type}${q.class && q.class !== 1 ? "/" + q.class : ""} ${n.toLowerCase()}`;
}

/**
 * TTL- and size-bounded cache of answers; see the module documentation.
 *
 * @example
 * ```ts
 * import { DnsCache } from "./cache.ts";
 * const c = new DnsCache();
 * c.set({ name: "x.test", type: 28 }, { rcode: 3, records: [], negative: true }, 30);
 * console.log(c.size); // 1
 * ```
 */
export class DnsCache {
  #map = new Map<string, Entry>();
  #maxSize: number;
  #maxTtl: number;
  #now: () => number;
  #hits = 0;
  #misses = 0;
  #negative = 0;
  #evictions = 0;
  #expirations = 0;
  #seq = 0;

  /**
   * Creates an empty cache.
   *
   * @param options size limit, TTL cap and clock
   */
  constructor(options: DnsCacheOptions = {}) {
    this.#maxSize = Math.max(1, options.maxSize ?? 10_000);
    this.#maxTtl = options.maxTtl ?? 86_400;
    this.#now = options.now ?? (() => performance.now());
  }

  /**
   * Entries held (expired ones go on their next lookup or eviction).
   *
   * @example
   * ```ts
   * import { DnsCache } from "./cache.ts";
   * console.log(new DnsCache().size); // 0
   * ```
   */
  get size(): number {
    return this.#map.size;
  }

  /**
   * The live entry for `q`, or undefined; a hit moves it to the young end.
   *
   * @example
   * ```ts
   * import { DnsCache } from "./cache.ts";
   * console.log(new DnsCache().get({ name: "a.test", type: 1 })); // undefined
   * ```
   */
  get(q: DnsQuestion): CachedAnswer | undefined {
    return this.getByKey(cacheKey(q));
  }

  /**
   * {@linkcode DnsCache.get} by a key from {@linkcode cacheKey}.
   *
   * @example
   * ```ts
   * import { cacheKey, DnsCache } from "./cache.ts";
   * new DnsCache().getByKey(cacheKey({ name: "a.test", type: 1 }));
   * ```
   */
  getByKey(key: string): CachedAnswer | undefined {
    const e = this.#map.get(key);
    if (e === undefined) {
      this.#misses++;
      return undefined;
    }
    if (e.expires <= this.#now()) {
      this.#map.delete(key);
      this.#expirations++;
      this.#misses++;
      return undefined;
    }
    this.#touch(key, e);
    this.#hits++;
    return e.answer;
  }

  /**
   * Re-inserting keeps Map order = recency order, so the first key is the
   * least recently used. An entry among the youngest quarter stays put: hot
   * entries are hit without a delete and a set each time, and such an entry
   * is three quarters of the cache away from eviction (exact LRU below 4 entries).
   */
  #touch(key: string, e: Entry): void {
    if (this.#seq - e.seq < this.#map.size >> 2) return;
    this.#map.delete(key);
    e.seq = ++this.#seq;
    this.#map.set(key, e);
  }

  /**
   * The live positive entry of a key, counted as a hit; undefined, and
   * counted as nothing, for a missing, expired or negative one (the caller
   * then takes its full path, which counts).
   *
   * @example
   * ```ts
   * import { cacheKey, DnsCache } from "./cache.ts";
   * new DnsCache().getPositiveByKey(cacheKey({ name: "a.test", type: 1 })); // undefined
   * ```
   */
  getPositiveByKey(key: string): CachedAnswer | undefined {
    const e = this.#map.get(key);
    if (e === undefined || e.answer.negative || e.expires <= this.#now()) return undefined;
    this.#touch(key, e);
    this.#hits++;
    return e.answer;
  }

  /**
   * The live entry of a key, without counting a hit or a miss and without
   * refreshing its recency.
   *
   * @example
   * ```ts
   * import { cacheKey, DnsCache } from "./cache.ts";
   * new DnsCache().peekByKey(cacheKey({ name: "a.test", type: 1 })); // undefined
   * ```
   */
  peekByKey(key: string): CachedAnswer | undefined {
    const e = this.#map.get(key);
    return e !== undefined && e.expires > this.#now() ? e.answer : undefined;
  }

  /**
   * The remaining TTL of `q`'s entry, in whole seconds (0 when none).
   *
   * @example
   * ```ts
   * import { DnsCache } from "./cache.ts";
   * console.log(new DnsCache().ttlOf({ name: "a.test", type: 1 })); // 0
   * ```
   */
  ttlOf(q: DnsQuestion): number {
    const e = this.#map.get(cacheKey(q));
    return e ? Math.max(0, Math.floor((e.expires - this.#now()) / 1000)) : 0;
  }

  /**
   * Stores `answer` for `ttlSeconds` (capped by `maxTtl`); a TTL of 0 stores nothing.
   *
   * @example
   * ```ts
   * import { DnsCache } from "./cache.ts";
   * new DnsCache().set({ name: "a.test", type: 1 }, { rcode: 0, records: [] }, 300);
   * ```
   */
  set(q: DnsQuestion, answer: CachedAnswer, ttlSeconds: number): void {
    const ttl = Math.min(ttlSeconds, this.#maxTtl);
    if (!(ttl > 0)) return;
    const key = cacheKey(q);
    this.#map.delete(key);
    while (this.#map.size >= this.#maxSize) {
      const oldest = this.#map.keys().next().value as string;
      this.#map.delete(oldest);
      this.#evictions++;
    }
    if (answer.negative) this.#negative++;
    this.#map.set(key, {
      answer,
      expires: this.#now() + ttl * 1000,
      name: key.slice(key.indexOf(" ") + 1),
      seq: ++this.#seq,
    });
  }

  /**
   * Removes the entry of one question; true when there was one.
   *
   * @example
   * ```ts
   * import { DnsCache } from "./cache.ts";
   * new DnsCache().remove({ name: "a.test", type: 1 }); // false
   * ```
   */
  remove(q: DnsQuestion): boolean {
    return this.#map.delete(cacheKey(q));
  }

  /**
   * Removes every entry, or, given a name, every entry of that name (all types).
   *
   * @example
   * ```ts
   * import { DnsCache } from "./cache.ts";
   * const c = new DnsCache();
   * c.clear("a.test");
   * c.clear();
   * ```
   */
  clear(name?: string): void {
    if (name === undefined) {
      this.#map.clear();
      return;
    }
    let n = name.toLowerCase();
    if (n.endsWith(".")) n = n.slice(0, -1);
    for (const [key, e] of this.#map) if (e.name === n) this.#map.delete(key);
  }

  /**
   * A copy of the counters.
   *
   * @example
   * ```ts
   * import { DnsCache } from "./cache.ts";
   * console.log(new DnsCache().getStats().hitRatio); // 0
   * ```
   */
  getStats(): DnsCacheStats {
    const total = this.#hits + this.#misses;
    return {
      totalEntries: this.#map.size,
      hits: this.#hits,
      misses: this.#misses,
      hitRatio: total === 0 ? 0 : this.#hits / total,
      negativeStored: this.#negative,
      evictions: this.#evictions,
      expirations: this.#expirations,
    };
  }

  /**
   * Zeroes the counters (entries stay).
   *
   * @example
   * ```ts
   * import { DnsCache } from "./cache.ts";
   * new DnsCache().resetStats();
   * ```
   */
  resetStats(): void {
    this.#hits =
      this.#misses =
      this.#negative =
      this.#evictions =
      this.#expirations =
        0;
  }
}
