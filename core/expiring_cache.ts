/**
 * A TTL cache with LRU eviction (the seed's `util::ExpiringCache`).
 *
 * Entries expire lazily (an expired entry is never returned, and is removed
 * when touched) and through a periodic sweep on an unref'd timer, so idle
 * caches free their memory without keeping the process alive. At
 * `maxSize`, setting a new key evicts the least recently used entry.
 * Time comes from `Date.now()` by default (so `mock.timers` can drive it in
 * tests); pass `now` for another clock.
 *
 * @example
 * ```ts
 * import { ExpiringCache } from "./expiring_cache.ts";
 * using cache = new ExpiringCache<string, number>({ ttlMs: 60_000, maxSize: 1000 });
 * cache.set("answer", 42);
 * cache.set("short", 1, 500); // this entry lives 500 ms
 * console.log(cache.get("answer"), cache.getStats().hits);
 * ```
 *
 * @module
 */
import { asRangeError, IoraError } from "./errors.ts";
import { platform } from "./platform/mod.ts";
import { timerDelay } from "./_timer_delay.ts";

/** Why an entry left the cache. */
export type EvictionReason = "expired" | "capacity" | "deleted" | "cleared";

/** Options of {@linkcode ExpiringCache}. */
export interface ExpiringCacheOptions<K, V> {
  /** Default time to live of an entry, in milliseconds (`Infinity` for none). */
  ttlMs: number;
  /** The most entries kept; the least recently used goes first. Default 10 000. */
  maxSize?: number;
  /** How often the sweep removes expired entries; default `min(ttlMs, 60 000)`, at least 1 s. `0` disables it. */
  sweepIntervalMs?: number;
  /** Called for every entry that leaves the cache, except by being overwritten with `set`. */
  onEvict?: (key: K, value: V, reason: EvictionReason) => void;
  /** The clock, in milliseconds; default `Date.now`. */
  now?: () => number;
  /**
   * How long a clock reading is reused, in milliseconds: reading the clock
   * costs more than a cache hit, so by default (`Date.now` clock) one
   * reading serves every operation within 1 ms, and an entry may outlive
   * its TTL by at most that much. `0` reads the clock on every operation
   * (the default when a custom `now` is given). Tests driving the cache with
   * `mock.timers` should mock `setTimeout` along with `Date`, or set `0`.
   */
  clockResolutionMs?: number;
}

/** Counters of an {@linkcode ExpiringCache}. */
export interface ExpiringCacheStats {
  /** `get` calls that found a live entry. */
  hits: number;
  /** `get` calls that found nothing (or an expired entry). */
  misses: number;
  /** Entries evicted because the cache was full. */
  evictions: number;
  /** Entries removed because they expired. */
  expirations: number;
}

/** Thrown for bad cache options or a bad per-entry TTL. */
export class ExpiringCacheError extends IoraError {
  /**
   * Creates a cache configuration error.
   *
   * @param message what is wrong
   */
  constructor(message: string) {
    super("InvalidOption", message);
  }
}

interface Node<K, V> {
  key: K;
  value: V;
  expiresAt: number;
  // Doubly linked LRU list: `newer` towards the head (most recent), `older` towards the tail.
  newer: Node<K, V> | null;
  older: Node<K, V> | null;
}

/**
 * A TTL + LRU cache. Every operation is O(1) (a Map plus a linked list);
 * the sweep is O(n) per interval.
 *
 * @example
 * ```ts
 * import { ExpiringCache } from "./expiring_cache.ts";
 * const cache = new ExpiringCache<string, string>({
 *   ttlMs: 30_000,
 *   maxSize: 2,
 *   onEvict: (key, _value, reason) => console.log("evicted", key, reason),
 * });
 * cache.set("a", "1");
 * cache.set("b", "2");
 * cache.get("a"); // a is now the most recent
 * cache.set("c", "3"); // evicts b ("capacity")
 * cache.close();
 * ```
 */
export class ExpiringCache<K, V> implements Disposable {
  #map = new Map<K, Node<K, V>>();
  #head: Node<K, V> | null = null;
  #tail: Node<K, V> | null = null;
  #ttl: number;
  #max: number;
  #onEvict: ((key: K, value: V, reason: EvictionReason) => void) | undefined;
  #now: () => number;
  #resolution: number;
  #cachedNow = -1;
  #clockTimer: ReturnType<typeof setTimeout> | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #hits = 0;
  #misses = 0;
  #evictions = 0;
  #expirations = 0;

  /**
   * Creates a cache and starts its (unref'd) sweep.
   *
   * @param options default TTL, size bound, sweep interval, eviction callback and clock
   */
  constructor(options: ExpiringCacheOptions<K, V>) {
    if (!options || !(options.ttlMs > 0)) {
      throw asRangeError(new ExpiringCacheError("ttlMs must be a positive number of milliseconds"));
    }
    const max = options.maxSize ?? 10_000;
    if (!Number.isInteger(max) || max < 1) {
      throw asRangeError(new ExpiringCacheError("maxSize must be an integer >= 1"));
    }
    this.#ttl = options.ttlMs;
    this.#max = max;
    this.#onEvict = options.onEvict;
    this.#now = options.now ?? Date.now;
    this.#resolution = options.clockResolutionMs ?? (options.now ? 0 : 1);
    if (!(this.#resolution >= 0)) {
      throw asRangeError(new ExpiringCacheError("clockResolutionMs must be >= 0"));
    }
    const sweep = options.sweepIntervalMs ??
      Math.max(1000, Math.min(this.#ttl, 60_000));
    if (!(sweep >= 0)) throw asRangeError(new ExpiringCacheError("sweepIntervalMs must be >= 0"));
    if (sweep > 0 && Number.isFinite(sweep)) {
      this.#timer = setInterval(() => this.purgeExpired(), timerDelay(sweep));
      try {
        platform().unrefTimer(this.#timer);
      } catch { /* a fake timer (mock.timers) has nothing to unref */ }
    }
  }

  /** The number of entries (expired ones not yet removed included). */
  get size(): number {
    return this.#map.size;
  }

  /** The size bound. */
  get maxSize(): number {
    return this.#max;
  }

  /** The live value for `key` (now the most recently used), or undefined. */
  get(key: K): V | undefined {
    const node = this.#live(key);
    if (node === undefined) {
      this.#misses++;
      return undefined;
    }
    this.#hits++;
    this.#touch(node);
    return node.value;
  }

  /** The live value for `key` without touching recency or counters, or undefined. */
  peek(key: K): V | undefined {
    const node = this.#map.get(key);
    return node !== undefined && node.expiresAt > this.#time() ? node.value : undefined;
  }

  /** True when `key` has a live entry (does not touch recency or counters). */
  has(key: K): boolean {
    return this.#live(key) !== undefined;
  }

  /** Stores `value` under `key` for `ttlMs` (default: the cache's), evicting the LRU entry when full. */
  set(key: K, value: V, ttlMs?: number): this {
    let ttl = this.#ttl;
    if (ttlMs !== undefined) {
      if (!(ttlMs > 0)) {
        throw asRangeError(new ExpiringCacheError("a per-entry ttlMs must be positive"));
      }
      ttl = ttlMs;
    }
    const now = this.#time();
    const expiresAt = now + ttl;
    const existing = this.#map.get(key);
    if (existing !== undefined) {
      existing.value = value;
      existing.expiresAt = expiresAt;
      this.#touch(existing);
      return this;
    }
    if (this.#map.size >= this.#max) {
      const lru = this.#tail!;
      // A stale entry at the tail is an expiration, not a capacity eviction.
      if (lru.expiresAt <= now) {
        this.#expirations++;
        this.#remove(lru, "expired");
      } else {
        this.#evictions++;
        this.#remove(lru, "capacity");
      }
    }
    const node: Node<K, V> = { key, value, expiresAt, newer: null, older: null };
    this.#map.set(key, node);
    this.#pushHead(node);
    return this;
  }

  /** Removes `key`; true when a live entry was there. */
  delete(key: K): boolean {
    const node = this.#map.get(key);
    if (node === undefined) return false;
    const live = node.expiresAt > this.#time();
    this.#remove(node, live ? "deleted" : "expired");
    if (!live) this.#expirations++;
    return live;
  }

  /** Removes every entry (each reported to `onEvict` with reason `"cleared"`). */
  clear(): void {
    const onEvict = this.#onEvict;
    const nodes = onEvict ? [...this.#map.values()] : [];
    this.#map.clear();
    this.#head = this.#tail = null;
    for (const node of nodes) this.#notify(node, "cleared");
  }

  /** Removes every expired entry now; returns how many. (The sweep calls this.) */
  purgeExpired(): number {
    const now = this.#time();
    let removed = 0;
    for (const node of this.#map.values()) {
      if (node.expiresAt <= now) {
        this.#remove(node, "expired");
        removed++;
      }
    }
    this.#expirations += removed;
    return removed;
  }

  /** Live keys, most recently used first. */
  keys(): K[] {
    const now = this.#time();
    const out: K[] = [];
    for (let n = this.#head; n !== null; n = n.older) if (n.expiresAt > now) out.push(n.key);
    return out;
  }

  /** Counters since creation or the last `resetStats()`. */
  getStats(): ExpiringCacheStats {
    return {
      hits: this.#hits,
      misses: this.#misses,
      evictions: this.#evictions,
      expirations: this.#expirations,
    };
  }

  /** Zeroes the counters. */
  resetStats(): void {
    this.#hits =
      this.#misses =
      this.#evictions =
      this.#expirations =
        0;
  }

  /** Stops the sweep. The cache still works (with lazy expiry only). */
  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#clockTimer !== undefined) clearTimeout(this.#clockTimer);
    this.#expireReading();
  }

  /** Same as {@linkcode ExpiringCache.close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  #time(): number {
    if (this.#resolution === 0) return this.#now();
    let t = this.#cachedNow;
    if (t < 0) {
      t = this.#cachedNow = this.#now();
      this.#clockTimer = setTimeout(this.#expireReading, this.#resolution);
      try {
        platform().unrefTimer(this.#clockTimer);
      } catch { /* a fake timer (mock.timers) has nothing to unref */ }
    }
    return t;
  }

  #expireReading = (): void => {
    this.#cachedNow = -1;
    this.#clockTimer = undefined;
  };

  // The entry under `key` if it has not expired; an expired one is removed on the way.
  #live(key: K): Node<K, V> | undefined {
    const node = this.#map.get(key);
    if (node === undefined) return undefined;
    if (node.expiresAt <= this.#time()) {
      this.#expirations++;
      this.#remove(node, "expired");
      return undefined;
    }
    return node;
  }

  // Marks `node` most recently used.
  #touch(node: Node<K, V>): void {
    if (node !== this.#head) {
      this.#unlink(node);
      this.#pushHead(node);
    }
  }

  #pushHead(node: Node<K, V>): void {
    node.newer = null;
    node.older = this.#head;
    if (this.#head !== null) this.#head.newer = node;
    this.#head = node;
    if (this.#tail === null) this.#tail = node;
  }

  #unlink(node: Node<K, V>): void {
    if (node.newer !== null) node.newer.older = node.older;
    else this.#head = node.older;
    if (node.older !== null) node.older.newer = node.newer;
    else this.#tail = node.newer;
    node.newer = node.older = null;
  }

  #remove(node: Node<K, V>, reason: EvictionReason): void {
    this.#map.delete(node.key);
    this.#unlink(node);
    this.#notify(node, reason);
  }

  #notify(node: Node<K, V>, reason: EvictionReason): void {
    const onEvict = this.#onEvict;
    if (onEvict === undefined) return;
    try {
      onEvict(node.key, node.value, reason);
    } catch { /* a failing callback must not corrupt the cache or the caller */ }
  }
}
