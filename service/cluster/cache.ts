/**
 * {@linkcode ClusterCache}: a two-level cache, the in-process
 * {@linkcode ExpiringCache} in front of Redis, kept coherent between
 * instances by invalidation messages.
 *
 * `get` answers from the local level when it can, else from Redis (and
 * keeps the value locally); `set` and `delete` write Redis and announce the
 * key on the namespace's invalidation channel in one Lua script, and every
 * other instance evicts its local copy when the announcement arrives
 * (normally within a millisecond or two). Bounds on staleness, as
 * documented: an instance that lost its subscription clears its whole local
 * level when it is back, and no local entry outlives `localTtlMs`, so a
 * missed invalidation is stale for at most that long. A read racing with an
 * invalidation does not put the old value back (reads are discarded when an
 * invalidation arrived while they were on their way).
 *
 * @example
 * ```ts ignore
 * import { ClusterCache } from "./cache.ts";
 * await using cache = await ClusterCache.open<{ name: string }>({
 *   url: "redis://127.0.0.1:6379",
 *   namespace: "users",
 *   ttlMs: 60_000,
 * });
 * const user = await cache.getOrLoad("42", async () => ({ name: "Ada" }));
 * await cache.delete("42"); // evicted on every instance
 * ```
 *
 * @module
 */
import { parseJsonAs } from "./_json.ts";
import { ExpiringCache, type ExpiringCacheStats } from "../../core/expiring_cache.ts";
import { ClusterError } from "./errors.ts";
import type { RedisConnection, RedisConnectionChoice } from "./connection.ts";
import { checkName, checkPositive } from "./_option_checks.ts";
import { ownedConnection, randomId } from "./_shared.ts";

/** Options of {@linkcode ClusterCache.open}. */
export interface ClusterCacheOptions extends RedisConnectionChoice {
  /**
   * Prefix of every Redis key and channel.
   * @default {"iora:"}
   */
  prefix?: string;
  /**
   * The namespace: instances with the same one share entries and invalidations.
   * @default {"default"}
   */
  namespace?: string;
  /**
   * Default time to live of an entry (in Redis and locally).
   * @default {60000}
   */
  ttlMs?: number;
  /**
   * The longest a local copy lives: the bound on staleness should an invalidation be lost.
   * @default {min(ttlMs, 30000)}
   */
  localTtlMs?: number;
  /**
   * The most entries of the local level (least recently used go first).
   * @default {10000}
   */
  maxLocalEntries?: number;
}

/** Counters of a {@linkcode ClusterCache}. */
export interface ClusterCacheStats {
  /** `get` calls answered by the local level. */
  localHits: number;
  /** `get` calls answered by Redis. */
  remoteHits: number;
  /** `get` calls that found nothing. */
  misses: number;
  /** Writes (`set`, `delete`) sent. */
  writes: number;
  /** Invalidations received from other instances. */
  invalidations: number;
  /** Times the local level was cleared because invalidations may have been missed. */
  localClears: number;
  /** The local level's own counters. */
  local: ExpiringCacheStats;
  /** Entries in the local level now. */
  localSize: number;
}

const SET = {
  source: `
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1`,
};

const DELETE = {
  source: `
local n = redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[1], ARGV[2])
return n`,
};

function zeroStats() {
  return { localHits: 0, remoteHits: 0, misses: 0, writes: 0, invalidations: 0, localClears: 0 };
}

/**
 * The two-level cache (see the module documentation). Values are stored in Redis as JSON.
 *
 * @example
 * ```ts ignore
 * import { ClusterCache } from "./cache.ts";
 * const cache = await ClusterCache.open<number>({ url: "redis://127.0.0.1:6379" });
 * await cache.set("answer", 42, 5_000);
 * console.log(await cache.get("answer")); // 42, from the local level
 * await cache.close();
 * ```
 */
export class ClusterCache<V = unknown> implements AsyncDisposable {
  /** The namespace. */
  readonly namespace: string;
  readonly #redis: RedisConnection;
  readonly #owns: boolean;
  readonly #keyPrefix: string;
  readonly #channel: string;
  readonly #id = randomId();
  readonly #ttl: number;
  readonly #localTtl: number;
  readonly #local: ExpiringCache<string, V>;
  readonly #loading = new Map<string, Promise<V>>();
  // Bumped by every invalidation: a read that started before one does not fill the local level.
  #epoch = 0;
  #closed = false;
  #unsubscribe: (() => Promise<void>) | undefined;
  #offStatus: (() => void) | undefined;
  #stats = zeroStats();

  private constructor(redis: RedisConnection, owns: boolean, options: ClusterCacheOptions) {
    this.#redis = redis;
    this.#owns = owns;
    this.namespace = checkName("namespace", options.namespace ?? "default");
    const prefix = options.prefix ?? "iora:";
    this.#keyPrefix = `${prefix}cache:${this.namespace}:`;
    this.#channel = `${prefix}cache:${this.namespace}:invalidate`;
    this.#ttl = Math.ceil(checkPositive("ttlMs", options.ttlMs, 60_000));
    this.#localTtl = checkPositive("localTtlMs", options.localTtlMs, Math.min(this.#ttl, 30_000));
    const max = options.maxLocalEntries ?? 10_000;
    if (!Number.isInteger(max) || max < 1) {
      throw new ClusterError("InvalidArgument", "maxLocalEntries must be an integer >= 1");
    }
    this.#local = new ExpiringCache<string, V>({ ttlMs: this.#localTtl, maxSize: max });
  }

  /**
   * Connects (unless given a connection) and subscribes to the namespace's invalidations.
   * Fails with {@linkcode ClusterError} `Unavailable` naming the URL when Redis is down.
   *
   * @example
   * ```ts ignore
   * import { ClusterCache } from "./cache.ts";
   * const cache = await ClusterCache.open({ url: "redis://127.0.0.1:6379", namespace: "pages" });
   * await cache.close();
   * ```
   */
  static async open<V = unknown>(options: ClusterCacheOptions): Promise<ClusterCache<V>> {
    if (!options || typeof options !== "object") {
      throw new ClusterError("InvalidArgument", "ClusterCache.open needs options");
    }
    const { connection, owned } = await ownedConnection(options, "iora-cache");
    let cache: ClusterCache<V>;
    try {
      cache = new ClusterCache<V>(connection, owned, options);
    } catch (error) {
      if (owned) await connection.close();
      throw error;
    }
    try {
      cache.#unsubscribe = await connection.subscribe(cache.#channel, (m) => cache.#invalidate(m));
      cache.#offStatus = connection.onStatus((status, role) => {
        if (role === "subscriber" && status !== "ready") {
          // Invalidations may be missed from now until the subscription is back.
          cache.#epoch++;
        } else if (role === "subscriber" && status === "ready") {
          cache.#epoch++;
          cache.#local.clear();
          cache.#stats.localClears++;
        }
      });
    } catch (error) {
      await cache.close();
      throw error;
    }
    return cache;
  }

  #key(key: string): string {
    if (typeof key !== "string" || key === "" || key.length > 1024) {
      throw new ClusterError(
        "InvalidArgument",
        `a cache key must be a non-empty string of at most 1024 characters`,
      );
    }
    return this.#keyPrefix + key;
  }

  #checkOpen(): void {
    if (this.#closed) throw new ClusterError("Closed", `cache ${this.namespace} is closed`);
  }

  #invalidate(text: string): void {
    let message: { s?: string; k?: string };
    try {
      message = parseJsonAs(text);
    } catch {
      return;
    }
    this.#epoch++;
    if (message.s === this.#id || typeof message.k !== "string") return;
    this.#local.delete(message.k);
    this.#stats.invalidations++;
  }

  /**
   * The value for `key`: from the local level, else from Redis (then kept locally).
   *
   * @throws {ClusterError} the connection's failures when Redis must be asked
   */
  async get(key: string): Promise<V | undefined> {
    this.#checkOpen();
    const redisKey = this.#key(key);
    const local = this.#local.get(key);
    if (local !== undefined) {
      this.#stats.localHits++;
      return local;
    }
    const epoch = this.#epoch;
    const [text, pttl] = await Promise.all([
      this.#redis.command(["GET", redisKey]),
      this.#redis.command(["PTTL", redisKey]),
    ]);
    if (typeof text !== "string") {
      this.#stats.misses++;
      return undefined;
    }
    let value: V;
    try {
      value = parseJsonAs(text);
    } catch (error) {
      throw new ClusterError("Protocol", `cache entry ${redisKey} is not JSON`, this.#redis.url, {
        cause: error,
      });
    }
    this.#stats.remoteHits++;
    // PTTL -1: no expiry; above 0: what is left. 0 (under a millisecond left) or -2 (expired
    // between the GET and the PTTL): the entry must not live on locally.
    const left = Number(pttl);
    if (epoch === this.#epoch && !this.#closed && (left > 0 || left === -1)) {
      this.#local.set(key, value, left > 0 ? Math.min(left, this.#localTtl) : this.#localTtl);
    }
    return value;
  }

  /**
   * Stores `value` (JSON-serialisable, not undefined) under `key` for `ttlMs` (default: the
   * cache's), here and in Redis, and evicts it from every other instance's local level.
   */
  async set(key: string, value: V, ttlMs?: number): Promise<void> {
    this.#checkOpen();
    const redisKey = this.#key(key);
    const ttl = Math.ceil(checkPositive("ttlMs", ttlMs, this.#ttl));
    let text: string | undefined;
    try {
      text = JSON.stringify(value);
    } catch (error) {
      throw new ClusterError(
        "InvalidArgument",
        `the value of ${key} is not JSON-serialisable`,
        undefined,
        {
          cause: error,
        },
      );
    }
    if (text === undefined) {
      throw new ClusterError("InvalidArgument", `the value of ${key} is not JSON-serialisable`);
    }
    this.#local.delete(key);
    this.#stats.writes++;
    await this.#redis.script(SET, [redisKey], [
      text,
      ttl,
      this.#channel,
      JSON.stringify({ s: this.#id, k: key }),
    ]);
    if (!this.#closed) this.#local.set(key, value, Math.min(ttl, this.#localTtl));
  }

  /** Removes `key` here, in Redis and from every other instance's local level; true when Redis had it. */
  async delete(key: string): Promise<boolean> {
    this.#checkOpen();
    const redisKey = this.#key(key);
    this.#local.delete(key);
    this.#stats.writes++;
    const n = await this.#redis.script(DELETE, [redisKey], [
      this.#channel,
      JSON.stringify({ s: this.#id, k: key }),
    ]);
    return Number(n) > 0;
  }

  /**
   * The value for `key`, or the one `load` produces (stored with `ttlMs`); concurrent calls
   * for one key on this instance share one `load`.
   */
  getOrLoad(key: string, load: () => V | Promise<V>, ttlMs?: number): Promise<V> {
    const running = this.#loading.get(key);
    if (running) return running;
    const p = (async () => {
      const found = await this.get(key);
      if (found !== undefined) return found;
      const value = await load();
      await this.set(key, value, ttlMs);
      return value;
    })().finally(() => this.#loading.delete(key));
    this.#loading.set(key, p);
    return p;
  }

  /** Counters since open or the last `resetStats()`. */
  getStats(): ClusterCacheStats {
    return { ...this.#stats, local: this.#local.getStats(), localSize: this.#local.size };
  }

  /** Zeroes the counters. */
  resetStats(): void {
    this.#stats = zeroStats();
    this.#local.resetStats();
  }

  /** Unsubscribes, empties the local level and closes the own connection. Closing twice is harmless. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#offStatus?.();
    await this.#unsubscribe?.().catch(() => {});
    this.#local.close();
    if (this.#owns) await this.#redis.close();
  }

  /** Same as {@linkcode close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
