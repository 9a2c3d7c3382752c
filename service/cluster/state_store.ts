/**
 * {@linkcode RedisStateStore}: the {@linkcode StateStore} API (synchronous
 * reads) shared by every instance through Redis.
 *
 * Each instance keeps a replica of its namespace in memory: loaded at open,
 * kept fresh by a pub/sub channel on which every write is announced, and
 * reloaded after a reconnect. A write is applied to the local replica at
 * once and sent to Redis, where a Lua script stores it and announces it in
 * one step; the writes of one tick go together (one script call, one
 * announcement), which is how concurrent writes are pipelined. `flush()`
 * sends what is queued and waits for every write made so far.
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
import { parseJsonAs } from "./_json.ts";
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

/**
 * The Lua script of every {@linkcode RedisStateStore} write: runs a batch of writes and
 * announces them in one step (atomic, so announcements follow Redis's order of writes).
 * KEYS: the namespace's hash and its TTL hash. ARGV[1]: channel, ARGV[2]: announcement, then
 * per write four arguments: op (`s` set, `d` delete, `c` clear), field, stored entry, TTL in
 * ms (0: none). Runs of sets become one HSET (and one HDEL of their TTLs). Exported for the
 * benchmark's floor (the same script sent raw); not part of the module's surface.
 *
 * @example
 * ```ts ignore
 * import { STATE_WRITE_SCRIPT } from "./state_store.ts";
 * console.log(STATE_WRITE_SCRIPT.source.includes("PUBLISH")); // true
 * ```
 */
export const STATE_WRITE_SCRIPT: { readonly source: string } = {
  source: `
local now = nil
local hset = {}
local untimed = {}
local function flush()
  if #hset > 0 then
    redis.call('HSET', KEYS[1], unpack(hset))
    hset = {}
  end
  if #untimed > 0 then
    redis.call('HDEL', KEYS[2], unpack(untimed))
    untimed = {}
  end
end
for i = 3, #ARGV, 4 do
  local op = ARGV[i]
  if op == 's' then
    hset[#hset + 1] = ARGV[i + 1]
    hset[#hset + 1] = ARGV[i + 2]
    local ttl = tonumber(ARGV[i + 3])
    if ttl > 0 then
      flush()
      if now == nil then
        local t = redis.call('TIME')
        now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
      end
      redis.call('HSET', KEYS[2], ARGV[i + 1], string.format('%d', now + ttl))
    else
      untimed[#untimed + 1] = ARGV[i + 1]
    end
  else
    flush()
    if op == 'd' then
      redis.call('HDEL', KEYS[1], ARGV[i + 1])
      redis.call('HDEL', KEYS[2], ARGV[i + 1])
    else
      redis.call('DEL', KEYS[1], KEYS[2])
    end
  end
end
flush()
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

/** One write: [sequence number, op, folded key, key, value, ttl ms]. */
type Change = [number, "s" | "d" | "c", string, string, string, number];

/** An announcement: the writing instance and its writes, in the order Redis ran them. */
interface Announcement {
  s: string;
  c: Change[];
}

/** Writes sent in one script call at most (larger batches are split). */
const BATCH_LIMIT = 500;

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
  // Writes made in the current tick, sent together (one script call, one announcement).
  #batch: Change[] = [];
  #batchScheduled = false;
  #pendingWrites = 0;
  #failure: ClusterError | undefined;
  #buffer: [string, Change][] | undefined = [];
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
    if (this.#pendingWrites >= this.#maxPending) {
      throw new ClusterError(
        "QueueFull",
        `${this.#pendingWrites} state writes wait for Redis at ${this.#redis.url} (maxPendingWrites)`,
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
    this.#queue([this.#own1(folded), "s", folded, key, value, ms]);
  }

  /** Removes `key` from the replica and from Redis; true when the replica had it. */
  override remove(key: string): boolean {
    this.checkWritable();
    const folded = foldKey(key);
    this.#expired(folded);
    const had = super.remove(key);
    this.#expiry.delete(folded);
    this.#queue([this.#own1(folded), "d", folded, "", "", 0]);
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
    this.#queue([n, "c", "", "", "", 0]);
  }

  #own1(folded: string): number {
    const n = ++this.#seq;
    this.#own.set(folded, n);
    return n;
  }

  /** Adds a write to the current tick's batch, sent at the end of the tick (or by `flush()`). */
  #queue(change: Change): void {
    this.#stats.writes++;
    this.#pendingWrites++;
    this.#batch.push(change);
    if (this.#batch.length >= BATCH_LIMIT) this.#sendBatch();
    else if (!this.#batchScheduled) {
      this.#batchScheduled = true;
      queueMicrotask(() => this.#sendBatch());
    }
  }

  #sendBatch(): void {
    this.#batchScheduled = false;
    const batch = this.#batch;
    if (batch.length === 0) return;
    this.#batch = [];
    const args: (string | number)[] = [this.#channel, JSON.stringify({ s: this.#id, c: batch })];
    for (const [, op, folded, key, value, ttl] of batch) {
      args.push(op, folded, op === "s" ? JSON.stringify([key, value]) : "", ttl);
    }
    const p: Promise<void> = this.#redis.script(
      STATE_WRITE_SCRIPT,
      [this.#hash, this.#ttlHash],
      args,
    ).then(
      () => {
        this.#inflight.delete(p);
        this.#pendingWrites -= batch.length;
      },
      (error) => {
        this.#inflight.delete(p);
        this.#pendingWrites -= batch.length;
        this.#stats.writeErrors += batch.length;
        // No announcement will come back for these.
        for (const [n, op, folded] of batch) {
          if (op === "c") {
            if (this.#ownClear === n) this.#ownClear = 0;
          } else if (this.#own.get(folded) === n) this.#own.delete(folded);
        }
        const failure = new ClusterError(
          "WriteFailed",
          `${batch.length} state write(s) to ${this.#hash} did not reach Redis at ${this.#redis.url}: ${
            (error as Error).message
          }`,
          this.#redis.url,
          { cause: error },
        );
        this.#failure ??= failure;
        try {
          this.#onWriteError(failure);
        } catch { /* the handler's failure is its own */ }
        // The replica holds values Redis does not: reload it once Redis answers again.
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
    this.#sendBatch();
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
    const failure = this.#failure;
    this.#failure = undefined;
    if (failure) throw failure;
  }

  // --- announcements and reloads -------------------------------------------------------

  #message(text: string): void {
    let announcement: Announcement;
    try {
      announcement = parseJsonAs(text);
      if (typeof announcement?.s !== "string" || !Array.isArray(announcement.c)) {
        throw new Error("not an announcement");
      }
    } catch {
      this.#stats.badMessages++;
      return;
    }
    for (const change of announcement.c) {
      if (!Array.isArray(change) || typeof change[0] !== "number") {
        this.#stats.badMessages++;
        continue;
      }
      if (this.#buffer) this.#buffer.push([announcement.s, change]);
      else this.#apply(announcement.s, change);
    }
  }

  #apply(source: string, [n, op, folded, key, value, ttl]: Change): void {
    if (this.#closed) return;
    if (source === this.#id) {
      // Our own announcement: Redis has run our write, later than every announcement before it.
      if (op === "c") {
        if (this.#ownClear === n) this.#ownClear = 0;
      } else if (this.#own.get(folded) === n) this.#own.delete(folded);
      return;
    }
    // Redis ran this before our own pending clear or write of the key: ours wins.
    if (this.#ownClear !== 0) return;
    if (op === "c") {
      const keep = new Set(this.#own.keys());
      for (const k of super.keys()) {
        const f = foldKey(k);
        if (!keep.has(f)) {
          this.#localRemove(k);
          this.#expiry.delete(f);
        }
      }
      this.#stats.remoteUpdates++;
      return;
    }
    if (typeof folded !== "string" || this.#own.has(folded)) return;
    if (op === "s" && typeof key === "string" && typeof value === "string") {
      this.#localSet(key, value);
      if (typeof ttl === "number" && ttl > 0) this.#expiry.set(folded, platform().now() + ttl);
      else this.#expiry.delete(folded);
    } else if (op === "d") {
      this.#localRemove(folded);
      this.#expiry.delete(folded);
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
        const pair = parseJsonAs(String(entries[i + 1]));
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
    for (const [source, change] of buffered) this.#apply(source, change);
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
        this.#sendBatch();
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

  /** True while writes have not reached Redis yet (as `JsonFileStore.dirty`). */
  get dirty(): boolean {
    return this.#pendingWrites > 0;
  }

  /** Counters since open or the last `resetStats()`. */
  getStats(): RedisStateStoreStats {
    return { ...this.#stats, pendingWrites: this.#pendingWrites };
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
