/**
 * {@linkcode RedisStateStore}: the {@linkcode StateStore} API (synchronous
 * reads) shared by every instance through Redis.
 *
 * Each instance keeps a replica of its namespace in memory: loaded at open,
 * kept fresh by a pub/sub channel on which every write is announced, and
 * reloaded after a reconnect. A write is applied to the local replica at
 * once and sent to Redis, where a Lua script stores it and announces it in
 * one step; `flush()` waits for every write sent so far.
 *
 * Consistency, as documented for users:
 * - read-your-writes on the instance that wrote;
 * - another instance sees a write once its announcement arrives (normally
 *   well under a millisecond on a LAN; at most until the next reload after a
 *   lost connection);
 * - every replica applies writes in Redis's order, so concurrent writers of
 *   one key converge on the value Redis kept (the last one it ran): a
 *   replica holds its own unannounced writes over others' announcements that
 *   Redis ran earlier;
 * - a write is durable (as durable as Redis) once `flush()` resolves; a write
 *   that failed is reported to `onWriteError` and by the next `flush()`, and
 *   the replica is reloaded from Redis so it does not keep a value Redis
 *   never got;
 * - a TTL is counted by Redis's clock; replicas drop the entry at the same
 *   moment give or take the announcement's delay.
 *
 * Layout in Redis (namespace `ns`, prefix `iora:`): the hash `iora:state:ns`
 * (field: the folded key; value: JSON `[key as set, value]`), the hash
 * `iora:state:ns:ttl` (field: folded key; value: expiry in ms of Redis's
 * clock) and the channel `iora:state:ns:changes`. The whole namespace is
 * loaded by every instance: keep it to what fits in memory.
 *
 * @example
 * ```ts ignore
 * import { RedisStateStore } from "./state_store.ts";
 * await using store = await RedisStateStore.open({ url: "redis://127.0.0.1:6379", namespace: "orders" });
 * store.set("Order.42", "paid");
 * store.set("session:ada", "token", { ttlMs: 60_000 });
 * await store.flush(); // both writes are in Redis now
 * console.log(store.get("order.42")); // "paid" (on every instance, once announced)
 * ```
 *
 * @module
 */
import { foldKey, StateStore } from "../../core/state_store.ts";
import { platform } from "../../core/platform/mod.ts";
import { defaultLogger } from "../../core/logger.ts";
import { ClusterError } from "./errors.ts";
import type { RedisConnection, RedisConnectionChoice, RedisReply } from "./connection.ts";
import { ownedConnection, randomId } from "./_shared.ts";

/** Options of {@linkcode RedisStateStore.open}. */
export interface RedisStateStoreOptions extends RedisConnectionChoice {
  /**
   * The namespace: instances with the same namespace (and prefix) share their keys.
   * @default {"default"}
   */
  namespace?: string;
  /**
   * Prefix of every Redis key and channel.
   * @default {"iora:"}
   */
  prefix?: string;
  /**
   * The most writes waiting for Redis; beyond it `set`/`remove`/`clear` throw
   * {@linkcode ClusterError} `QueueFull` before changing anything.
   * @default {10000}
   */
  maxPendingWrites?: number;
  /**
   * How often expired entries are removed from Redis (replicas drop them on their own).
   * @default {60000}
   */
  sweepIntervalMs?: number;
  /** Called when a write failed to reach Redis (default: logged). */
  onWriteError?: (error: ClusterError) => void;
}

/** Options of {@linkcode RedisStateStore.set}. */
export interface RedisStateSetOptions {
  /** Time to live in milliseconds, counted by Redis's clock; none by default. */
  ttlMs?: number;
}

/** Counters of a {@linkcode RedisStateStore}. */
export interface RedisStateStoreStats {
  /** Writes sent to Redis. */
  writes: number;
  /** Writes that failed. */
  writeErrors: number;
  /** Changes of other instances applied to the replica. */
  remoteUpdates: number;
  /** Announcements that could not be read (ignored). */
  badMessages: number;
  /** Times the replica was reloaded from Redis (after a reconnect or a failed write). */
  reloads: number;
  /** Writes waiting for Redis now. */
  pendingWrites: number;
}

const SET = {
  source: `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local ttl = tonumber(ARGV[3])
if ttl > 0 then
  local t = redis.call('TIME')
  local at = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + ttl
  redis.call('HSET', KEYS[2], ARGV[1], string.format('%d', at))
else
  redis.call('HDEL', KEYS[2], ARGV[1])
end
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1`,
};

const REMOVE = {
  source: `
local n = redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return n`,
};

const CLEAR = {
  source: `
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('PUBLISH', ARGV[1], ARGV[2])
return 1`,
};

// Removes expired entries; with ARGV[1] == '1' also returns the content and,
// for keys with a TTL, the milliseconds they have left.
const LOAD = {
  source: `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local exp = redis.call('HGETALL', KEYS[2])
local left = {}
for i = 1, #exp, 2 do
  local at = tonumber(exp[i + 1])
  if at == nil or at <= now then
    redis.call('HDEL', KEYS[1], exp[i])
    redis.call('HDEL', KEYS[2], exp[i])
  else
    left[#left + 1] = exp[i]
    left[#left + 1] = string.format('%d', at - now)
  end
end
if ARGV[1] ~= '1' then return 0 end
return {redis.call('HGETALL', KEYS[1]), left}`,
};

interface Change {
  /** source instance */
  s: string;
  /** its sequence number */
  n: number;
  /** set, delete, clear */
  o: "s" | "d" | "c";
  /** folded key */
  f?: string;
  k?: string;
  v?: string;
  /** ttl in ms, 0 for none */
  t?: number;
}

/**
 * A {@linkcode StateStore} shared through Redis, with a local replica for
 * synchronous reads (see the module documentation for the consistency it gives).
 *
 * @example
 * ```ts ignore
 * import { RedisStateStore } from "./state_store.ts";
 * const a = await RedisStateStore.open({ url: "redis://127.0.0.1:6379", namespace: "app" });
 * const b = await RedisStateStore.open({ url: "redis://127.0.0.1:6379", namespace: "app" });
 * a.set("leader", "node-a");
 * await a.flush();
 * // b has it as soon as the announcement arrives
 * await a.close();
 * await b.close();
 * ```
 */
export class RedisStateStore extends StateStore implements AsyncDisposable {
  /** The namespace. */
  readonly namespace: string;
  readonly #redis: RedisConnection;
  readonly #ownsConnection: boolean;
  readonly #hash: string;
  readonly #ttlHash: string;
  readonly #channel: string;
  readonly #id = randomId();
  readonly #maxPending: number;
  readonly #onWriteError: (error: ClusterError) => void;
  #seq = 0;
  // folded key -> sequence number of our last write whose announcement has not come back
  #own = new Map<string, number>();
  #ownClear = 0;
  // folded key -> local expiry time (ms of platform().now())
  #expiry = new Map<string, number>();
  #inflight = new Set<Promise<void>>();
  #failure: ClusterError | undefined;
  #buffer: Change[] | undefined = [];
  #closed = false;
  // True while the replica itself is changed (announcements, reloads, expiry): not a write.
  #internal = false;
  #reloading: Promise<void> | undefined;
  #reloadAgain = false;
  #unsubscribe: (() => Promise<void>) | undefined;
  #offStatus: (() => void) | undefined;
  #sweep: ReturnType<typeof setInterval> | undefined;
  #stats = { writes: 0, writeErrors: 0, remoteUpdates: 0, badMessages: 0, reloads: 0 };

  private constructor(
    redis: RedisConnection,
    owns: boolean,
    options: RedisStateStoreOptions,
  ) {
    super();
    this.#redis = redis;
    this.#ownsConnection = owns;
    this.namespace = options.namespace ?? "default";
    const prefix = options.prefix ?? "iora:";
    this.#hash = `${prefix}state:${this.namespace}`;
    this.#ttlHash = `${this.#hash}:ttl`;
    this.#channel = `${this.#hash}:changes`;
    this.#maxPending = options.maxPendingWrites ?? 10_000;
    this.#onWriteError = options.onWriteError ??
      ((error) =>
        defaultLogger().error("redis state write failed", {
          namespace: this.namespace,
          error: error.message,
        }));
  }

  /**
   * Connects (unless given a connection), subscribes to the namespace's announcements and
   * loads the namespace. Fails with {@linkcode ClusterError} `Unavailable` naming the URL
   * when Redis cannot be reached.
   *
   * @example
   * ```ts ignore
   * import { RedisStateStore } from "./state_store.ts";
   * const store = await RedisStateStore.open({ url: "redis://127.0.0.1:6379" });
   * console.log(store.keys());
   * await store.close();
   * ```
   */
  static async open(options: RedisStateStoreOptions): Promise<RedisStateStore> {
    checkOptions(options);
    const { connection, owned } = await ownedConnection(options, "iora-state");
    const store = new RedisStateStore(connection, owned, options);
    try {
      store.#unsubscribe = await connection.subscribe(store.#channel, (m) => store.#message(m));
      store.#offStatus = connection.onStatus((status, role) => {
        if (status === "ready" && role === "subscriber") store.#reload();
      });
      await store.#load();
      const sweep = options.sweepIntervalMs ?? 60_000;
      store.#sweep = setInterval(() => {
        connection.script(LOAD, [store.#hash, store.#ttlHash], ["0"]).catch(() => {});
      }, sweep);
      platform().unrefTimer(store.#sweep);
    } catch (error) {
      await store.#shutdown();
      throw error;
    }
    return store;
  }

  // --- reads: the replica, with expired entries dropped -------------------------------

  #expired(folded: string): boolean {
    const at = this.#expiry.get(folded);
    if (at === undefined || at > platform().now()) return false;
    this.#expiry.delete(folded);
    this.#localRemove(folded);
    return true;
  }

  #localSet(key: string, value: string): void {
    this.#internal = true;
    try {
      super.set(key, value);
    } finally {
      this.#internal = false;
    }
  }

  #localRemove(key: string): boolean {
    this.#internal = true;
    try {
      return super.remove(key);
    } finally {
      this.#internal = false;
    }
  }

  #purge(): void {
    if (this.#expiry.size === 0) return;
    for (const folded of [...this.#expiry.keys()]) this.#expired(folded);
  }

  /** The value for `key` (any case) in the replica, or undefined. */
  override get(key: string): string | undefined {
    if (this.#expiry.size !== 0 && this.#expired(foldKey(key))) return undefined;
    return super.get(key);
  }

  /** True when `key` (any case) is in the replica. */
  override has(key: string): boolean {
    if (this.#expiry.size !== 0 && this.#expired(foldKey(key))) return false;
    return super.has(key);
  }

  /** All keys of the replica, as last set. */
  override keys(): string[] {
    this.#purge();
    return super.keys();
  }

  /** Keys of the replica starting with `prefix`, compared case-insensitively. */
  override findKeysWithPrefix(prefix: string): string[] {
    this.#purge();
    return super.findKeysWithPrefix(prefix);
  }

  /** The number of keys in the replica. */
  override get size(): number {
    this.#purge();
    return super.size;
  }

  /** A plain object copy of the replica. */
  override toObject(): Record<string, string> {
    this.#purge();
    return super.toObject();
  }

  // --- writes ---------------------------------------------------------------------------

  /** Refuses changes after `close()` and while `maxPendingWrites` wait for Redis. */
  protected override checkWritable(): void {
    if (this.#internal) return;
    if (this.#closed) {
      throw new ClusterError("Closed", `state store ${this.#hash} is closed`, this.#redis.url);
    }
    if (this.#inflight.size >= this.#maxPending) {
      throw new ClusterError(
        "QueueFull",
        `${this.#inflight.size} state writes wait for Redis at ${this.#redis.url} (maxPendingWrites)`,
        this.#redis.url,
      );
    }
  }

  /**
   * Sets `key` to `value` in the replica at once and in Redis in the background
   * (`flush()` waits for it); the key keeps this spelling.
   *
   * @throws {ClusterError} `Closed`, `QueueFull`, or `InvalidArgument` for a bad `ttlMs`
   */
  override set(key: string, value: string, options?: RedisStateSetOptions): void {
    const ttl = options?.ttlMs ?? 0;
    if (options?.ttlMs !== undefined && !(Number.isFinite(ttl) && ttl >= 1)) {
      throw new ClusterError("InvalidArgument", `ttlMs must be a number >= 1, got ${ttl}`);
    }
    super.set(key, value); // validates, checks writable, applies locally
    const folded = foldKey(key);
    const ms = Math.ceil(ttl);
    if (ms > 0) this.#expiry.set(folded, platform().now() + ms);
    else this.#expiry.delete(folded);
    const n = this.#own1(folded);
    const change: Change = { s: this.#id, n, o: "s", f: folded, k: key, v: value, t: ms };
    this.#send(
      SET,
      [this.#hash, this.#ttlHash],
      [folded, JSON.stringify([key, value]), ms, this.#channel, JSON.stringify(change)],
      folded,
      n,
    );
  }

  /** Removes `key` from the replica and from Redis; true when the replica had it. */
  override remove(key: string): boolean {
    this.checkWritable();
    const folded = foldKey(key);
    this.#expired(folded);
    const had = super.remove(key);
    this.#expiry.delete(folded);
    const n = this.#own1(folded);
    const change: Change = { s: this.#id, n, o: "d", f: folded };
    this.#send(
      REMOVE,
      [this.#hash, this.#ttlHash],
      [folded, this.#channel, JSON.stringify(change)],
      folded,
      n,
    );
    return had;
  }

  /** Removes every key of the namespace, here and in Redis. */
  override clear(): void {
    this.checkWritable();
    super.clear();
    this.#expiry.clear();
    this.#own.clear();
    const n = ++this.#seq;
    this.#ownClear = n;
    const change: Change = { s: this.#id, n, o: "c" };
    this.#send(CLEAR, [this.#hash, this.#ttlHash], [this.#channel, JSON.stringify(change)], "", n);
  }

  #own1(folded: string): number {
    const n = ++this.#seq;
    this.#own.set(folded, n);
    return n;
  }

  #send(
    script: { source: string },
    keys: string[],
    args: (string | number)[],
    folded: string,
    n: number,
  ): void {
    this.#stats.writes++;
    const p: Promise<void> = this.#redis.script(script, keys, args).then(
      () => {
        this.#inflight.delete(p);
      },
      (error) => {
        this.#inflight.delete(p);
        this.#stats.writeErrors++;
        // No announcement will come back for it.
        if (folded === "" ? this.#ownClear === n : this.#own.get(folded) === n) {
          if (folded === "") this.#ownClear = 0;
          else this.#own.delete(folded);
        }
        const failure = new ClusterError(
          "WriteFailed",
          `a state write to ${this.#hash} did not reach Redis at ${this.#redis.url}: ${
            (error as Error).message
          }`,
          this.#redis.url,
          { cause: error },
        );
        this.#failure ??= failure;
        try {
          this.#onWriteError(failure);
        } catch { /* the handler's failure is its own */ }
        // The replica holds a value Redis does not: reload it once Redis answers again.
        if (!this.#closed && this.#redis.status === "ready") this.#reload();
      },
    );
    this.#inflight.add(p);
  }

  /**
   * Resolves once every write made so far has reached Redis; rejects with
   * {@linkcode ClusterError} `WriteFailed` (the first failure since the last flush) when
   * one did not.
   */
  async flush(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
    const failure = this.#failure;
    this.#failure = undefined;
    if (failure) throw failure;
  }

  // --- announcements and reloads -------------------------------------------------------

  #message(text: string): void {
    let change: Change;
    try {
      change = JSON.parse(text);
      if (typeof change !== "object" || change === null || typeof change.s !== "string") {
        throw new Error("not a change");
      }
    } catch {
      this.#stats.badMessages++;
      return;
    }
    if (this.#buffer) {
      this.#buffer.push(change);
      return;
    }
    this.#apply(change);
  }

  #apply(c: Change): void {
    if (this.#closed) return;
    if (c.s === this.#id) {
      // Our own announcement: Redis has run our write, later than every announcement before it.
      if (c.o === "c") {
        if (this.#ownClear === c.n) this.#ownClear = 0;
      } else if (c.f !== undefined && this.#own.get(c.f) === c.n) this.#own.delete(c.f);
      return;
    }
    // Redis ran this before our own pending clear or write of the key: ours wins.
    if (this.#ownClear !== 0) return;
    if (c.o === "c") {
      const keep = new Set(this.#own.keys());
      for (const key of super.keys()) {
        const folded = foldKey(key);
        if (!keep.has(folded)) {
          this.#localRemove(key);
          this.#expiry.delete(folded);
        }
      }
      this.#stats.remoteUpdates++;
      return;
    }
    if (typeof c.f !== "string" || this.#own.has(c.f)) return;
    if (c.o === "s" && typeof c.k === "string" && typeof c.v === "string") {
      this.#localSet(c.k, c.v);
      if (typeof c.t === "number" && c.t > 0) this.#expiry.set(c.f, platform().now() + c.t);
      else this.#expiry.delete(c.f);
    } else if (c.o === "d") {
      this.#localRemove(c.f);
      this.#expiry.delete(c.f);
    } else {
      this.#stats.badMessages++;
      return;
    }
    this.#stats.remoteUpdates++;
  }

  /** Loads the namespace into the replica, then applies the announcements that came meanwhile. */
  async #load(): Promise<void> {
    this.#buffer ??= [];
    let reply: RedisReply;
    try {
      reply = await this.#redis.script(LOAD, [this.#hash, this.#ttlHash], ["1"]);
    } catch (error) {
      this.#buffer = undefined;
      throw error;
    }
    if (this.#closed) return;
    const [entries, left] = Array.isArray(reply) ? reply : [];
    if (!Array.isArray(entries) || !Array.isArray(left)) {
      this.#buffer = undefined;
      throw new ClusterError("Protocol", `unexpected reply loading ${this.#hash}`, this.#redis.url);
    }
    const now = platform().now();
    const fresh = new Map<string, [string, string]>();
    for (let i = 0; i + 1 < entries.length; i += 2) {
      try {
        const pair = JSON.parse(String(entries[i + 1]));
        if (Array.isArray(pair) && typeof pair[0] === "string" && typeof pair[1] === "string") {
          fresh.set(String(entries[i]), [pair[0], pair[1]]);
          continue;
        }
      } catch { /* counted below */ }
      this.#stats.badMessages++;
    }
    // Our writes still on their way win over the snapshot (Redis will run them after it).
    for (const key of super.keys()) {
      const folded = foldKey(key);
      if (!fresh.has(folded) && !this.#own.has(folded) && this.#ownClear === 0) {
        this.#localRemove(key);
        this.#expiry.delete(folded);
      }
    }
    if (this.#ownClear === 0) {
      for (const [folded, [key, value]] of fresh) {
        if (this.#own.has(folded)) continue;
        this.#localSet(key, value);
        this.#expiry.delete(folded);
      }
      for (let i = 0; i + 1 < left.length; i += 2) {
        const folded = String(left[i]);
        if (!this.#own.has(folded)) this.#expiry.set(folded, now + Number(left[i + 1]));
      }
    }
    const buffered = this.#buffer ?? [];
    this.#buffer = undefined;
    for (const change of buffered) this.#apply(change);
  }

  /** Reloads after a reconnect (announcements were missed) or a failed write. */
  #reload(): void {
    if (this.#closed) return;
    if (this.#reloading) {
      this.#reloadAgain = true;
      return;
    }
    this.#reloading = (async () => {
      do {
        this.#reloadAgain = false;
        this.#buffer ??= [];
        // Writes sent before now are in Redis (or failed) once settled: their announcements
        // may have been lost with the old subscription, so stop waiting for them.
        const upTo = this.#seq;
        await Promise.allSettled([...this.#inflight]);
        for (const [folded, n] of this.#own) if (n <= upTo) this.#own.delete(folded);
        if (this.#ownClear !== 0 && this.#ownClear <= upTo) this.#ownClear = 0;
        try {
          await this.#load();
          this.#stats.reloads++;
        } catch {
          // Redis went away again: the next "ready" brings another reload.
          this.#buffer = undefined;
        }
      } while (this.#reloadAgain && !this.#closed);
    })().finally(() => (this.#reloading = undefined));
  }

  // --- life cycle -----------------------------------------------------------------------

  /** Counters since open or the last `resetStats()`. */
  getStats(): RedisStateStoreStats {
    return { ...this.#stats, pendingWrites: this.#inflight.size };
  }

  /** Zeroes the counters. */
  resetStats(): void {
    this.#stats = { writes: 0, writeErrors: 0, remoteUpdates: 0, badMessages: 0, reloads: 0 };
  }

  async #shutdown(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sweep);
    this.#offStatus?.();
    await this.#unsubscribe?.().catch(() => {});
    if (this.#ownsConnection) await this.#redis.close();
  }

  /**
   * Waits for pending writes (as `flush()`), then unsubscribes and closes the store's own
   * connection; rejects with the flush's failure after closing. Closing twice is harmless.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    let failure: unknown;
    try {
      await this.flush();
    } catch (error) {
      failure = error;
    }
    await this.#reloading;
    await this.#shutdown();
    if (failure) throw failure;
  }

  /** Same as {@linkcode close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function checkOptions(options: RedisStateStoreOptions): void {
  if (!options || typeof options !== "object") {
    throw new ClusterError("InvalidArgument", "RedisStateStore.open needs options");
  }
  const ns = options.namespace ?? "default";
  if (typeof ns !== "string" || ns === "" || /[\s{}]/.test(ns)) {
    throw new ClusterError(
      "InvalidArgument",
      `namespace must be a non-empty string without spaces or braces, got ${JSON.stringify(ns)}`,
    );
  }
  const max = options.maxPendingWrites ?? 10_000;
  if (!Number.isInteger(max) || max < 1) {
    throw new ClusterError("InvalidArgument", `maxPendingWrites must be an integer >= 1`);
  }
  const sweep = options.sweepIntervalMs ?? 60_000;
  if (!(Number.isFinite(sweep) && sweep >= 10)) {
    throw new ClusterError("InvalidArgument", `sweepIntervalMs must be >= 10`);
  }
}
