/**
 * {@linkcode RedisStateStore}: the {@linkcode StateStore} API (synchronous
 * reads) shared by every instance through Redis.
 *
 * Each instance keeps a replica of its namespace in memory: loaded at open
 * (`SCAN` of the namespace's keys, then their values read in batches), kept
 * fresh by Redis's server-assisted client-side caching, and reloaded after a
 * reconnect. Every entry is a Redis key of its own and a write is a plain
 * `SET` (`PX` for a TTL), `DEL` for a removal: it costs Redis what any `SET`
 * costs. Redis tells every other instance which keys changed
 * (`CLIENT TRACKING ON ... BCAST PREFIX <namespace> NOLOOP`, Redis 6 or later:
 * see {@linkcode RedisConnection.track}); an instance re-reads the changed keys
 * (one batched read per tick) and applies what Redis holds. The writer is not
 * told about its own writes (`NOLOOP`), so a write costs it nothing more. A
 * write is applied to the local replica at once; it is sent to Redis at once
 * when no other write is on its way, otherwise at the end of the tick, behind
 * the writes sent before it: the writes of one tick are written to the socket
 * together (pipelined), runs of plain sets as one `MSET`. `flush()` sends what
 * is queued and waits for every write made so far (not for those made while
 * it waits).
 *
 * Consistency, as documented for users:
 * - read-your-writes on the instance that wrote;
 * - another instance sees a write once Redis's invalidation has arrived and
 *   its re-read has come back (two short hops: normally well under a
 *   millisecond each on a LAN; at most until the next reload after a lost
 *   connection);
 * - every replica converges on the value Redis holds: a re-read is sent on
 *   the same socket as the instance's own writes, after them, so it sees
 *   Redis's value after them; a replica keeps its own writes that Redis has
 *   not run yet over a re-read that Redis ran before them. Intermediate values
 *   of a key written many times quickly may be skipped (a re-read sees the
 *   latest);
 * - a write is durable (as durable as Redis) once `flush()` resolves; a write
 *   that failed is reported to `onWriteError` and by the next `flush()`, and
 *   the replica is reloaded from Redis so it does not keep a value Redis
 *   never got;
 * - a TTL is counted by Redis's clock: Redis expires the key and reports the
 *   expiry as a change; replicas also drop the entry on their own when its
 *   time (the TTL left when they read it) has passed, so a read does not
 *   return it late. No TTL hash and no sweep are needed any more.
 * - `clear()` deletes the namespace's keys in one Lua script (`SCAN` +
 *   `UNLINK`, atomic, O(keys in the namespace)); other instances drop them as
 *   the invalidations arrive, key by key.
 *
 * Layout in Redis (namespace `ns`, prefix `iora:`): one string key per entry,
 * `iora:state:{ns}:<folded key>`, holding JSON `[key as set, value]`, with
 * Redis's own expiry for a TTL. The braces end the namespace unambiguously (a
 * namespace cannot hold them) and keep a namespace in one slot of a Redis
 * Cluster. A value under the namespace that is not such JSON (planted, or
 * corrupt) is skipped, counted (`badEntries`) and logged, never applied. The
 * whole namespace is loaded by every instance: keep it to what fits in memory.
 * Stores of the same namespace need connections of their own (a shared
 * connection refuses a second tracker of one prefix: `NOLOOP` would hide
 * their writes from each other).
 *
 * This layout replaced a hash per namespace with a Lua write script and a
 * pub/sub announcement per write (which cost Redis about twice a `SET`);
 * entries stored in the old layout (`iora:state:ns` hashes) are not read.
 *
 * @example
 * ```ts ignore
 * import { RedisStateStore } from "./state_store.ts";
 * await using store = await RedisStateStore.open({ url: "redis://127.0.0.1:6379", namespace: "orders" });
 * store.set("Order.42", "paid");
 * store.set("session:ada", "token", { ttlMs: 60_000 });
 * await store.flush(); // both writes are in Redis now
 * console.log(store.get("order.42")); // "paid" (on every instance, once re-read)
 * ```
 *
 * @module
 */
import { parseJsonAs } from "./_json.ts";
import { quoteJsonString } from "../../parsers/json_stringify.ts";
import { foldKey, StateStore } from "../../core/state_store.ts";
import { platform } from "../../core/platform/mod.ts";
import { defaultLogger } from "../../core/logger.ts";
import { ClusterError } from "./errors.ts";
import type { RedisConnection, RedisConnectionChoice, RedisReply } from "./connection.ts";
import { ownedConnection } from "./_shared.ts";
import { WritesInFlight } from "./_writes_in_flight.ts";

/** Options of {@linkcode RedisStateStore.open}. */
export interface RedisStateStoreOptions extends RedisConnectionChoice {
  /**
   * The namespace: instances with the same namespace (and prefix) share their keys.
   * @default {"default"}
   */
  namespace?: string;
  /**
   * Prefix of every Redis key.
   * @default {"iora:"}
   */
  prefix?: string;
  /**
   * The most writes waiting for Redis; beyond it `set`/`remove`/`clear` throw
   * {@linkcode ClusterError} `QueueFull` before changing anything.
   * @default {10000}
   */
  maxPendingWrites?: number;
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
  /** Entries re-read from Redis after another instance changed them (or they expired). */
  remoteUpdates: number;
  /**
   * Values under the namespace that are not entries of this store (not JSON `[key, value]`
   * of that key, or not a string): skipped, logged, dropped from the replica.
   */
  badEntries: number;
  /** Times the replica was reloaded from Redis (after a reconnect or a failed write). */
  reloads: number;
  /** Writes waiting for Redis now. */
  pendingWrites: number;
}

/**
 * Reads keys for a replica: per key its value (nil when absent, 0 when it is not a string)
 * and the milliseconds it has left (`PTTL`: -1 without a TTL, -2 when absent).
 */
const READ = `
local r = {}
for i = 1, #KEYS do
  local v = redis.pcall('GET', KEYS[i])
  if type(v) == 'table' then v = 0 end
  r[#r + 1] = v
  r[#r + 1] = redis.call('PTTL', KEYS[i])
end
return r`;

/** `clear()`: deletes every key matching ARGV[1], atomically; returns how many. */
const CLEAR = `
if redis.replicate_commands then pcall(redis.replicate_commands) end
local cursor = '0'
local n = 0
repeat
  local r = redis.call('SCAN', cursor, 'MATCH', ARGV[1], 'COUNT', 1000)
  cursor = r[1]
  if #r[2] > 0 then
    redis.call('UNLINK', unpack(r[2]))
    n = n + #r[2]
  end
until cursor == '0'
return n`;

/** One write: [op (set, delete, clear), folded key, stored JSON, ttl ms]. */
type Change = ["s" | "d" | "c", string, string, number];

/** Writes in one command at most (a larger tick is split), and keys read in one call. */
const BATCH_LIMIT = 500;

/** `text` with the glob characters of `SCAN MATCH` escaped. */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
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
 * // b has it as soon as Redis's invalidation arrives and b has re-read the key
 * await a.close();
 * await b.close();
 * ```
 */
export class RedisStateStore extends StateStore implements AsyncDisposable {
  /** The namespace. */
  readonly namespace: string;
  readonly #redis: RedisConnection;
  readonly #ownsConnection: boolean;
  // Every key of the namespace starts with it: `<prefix>state:{<namespace>}:`.
  readonly #keyPrefix: string;
  readonly #maxPending: number;
  readonly #onWriteError: (error: ClusterError) => void;
  #seq = 0;
  // Re-reads waiting for Redis, and while any is out: folded key -> sequence number of our
  // last write to it, and of our last clear (0: none). A re-read's reply must not undo a
  // write Redis runs after it; it sees every write sent before it, so nothing is kept while
  // no re-read is out (a lone write touches neither).
  #reads = 0;
  #own = new Map<string, number>();
  #ownClear = 0;
  // folded key -> local expiry time (ms of platform().now())
  #expiry = new Map<string, number>();
  // Write commands sent and not answered yet, and the flushes (and reloads) waiting for them.
  #inflight = new WritesInFlight();
  // Writes made in the current tick, sent together at its end.
  #batch: Change[] = [];
  #batchScheduled = false;
  #pendingWrites = 0;
  // Keys Redis reported changed, re-read at the end of the tick (after a load, during one).
  #stale = new Set<string>();
  #rereadScheduled = false;
  // While a load runs: keys written here since it started (their local value wins).
  #loading: Set<string> | undefined;
  #clearedWhileLoading = false;
  #closed = false;
  // True while the replica itself is changed (re-reads, reloads, expiry): not a write.
  #internal = false;
  #reloading: Promise<void> | undefined;
  #reloadAgain = false;
  #untrack: (() => Promise<void>) | undefined;
  #stats = { writes: 0, writeErrors: 0, remoteUpdates: 0, badEntries: 0, reloads: 0 };

  private constructor(
    redis: RedisConnection,
    owns: boolean,
    options: RedisStateStoreOptions,
  ) {
    super();
    this.#redis = redis;
    this.#ownsConnection = owns;
    this.namespace = options.namespace ?? "default";
    this.#keyPrefix = `${options.prefix ?? "iora:"}state:{${this.namespace}}:`;
    this.#maxPending = options.maxPendingWrites ?? 10_000;
    this.#onWriteError = options.onWriteError ??
      ((error) =>
        defaultLogger().error("redis state write failed", {
          namespace: this.namespace,
          error: error.message,
        }));
  }

  /**
   * Connects (unless given a connection), asks Redis to report the namespace's changes and
   * loads the namespace. Fails with {@linkcode ClusterError} `Unavailable` naming the URL
   * when Redis cannot be reached, `Protocol` when it refuses tracking (Redis before 6.0),
   * and `InvalidArgument` when the given connection already tracks this namespace (open
   * a second store of one namespace on a connection of its own).
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
      store.#untrack = await connection.track(store.#keyPrefix, {
        invalidated: (key) => store.#invalidated(key),
        resync: () => store.#reload(),
      });
      await store.#load();
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
      throw new ClusterError(
        "Closed",
        `state store ${this.#keyPrefix}* is closed`,
        this.#redis.url,
      );
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
    else if (this.#expiry.size !== 0) this.#expiry.delete(folded);
    // JSON.stringify([key, value]), without the engine's call for text that needs no escaping
    const stored = "[" + quoteJsonString(key) + "," + quoteJsonString(value) + "]";
    this.#mine(folded);
    this.#queue(["s", folded, stored, ms]);
  }

  /** Removes `key` from the replica and from Redis; true when the replica had it. */
  override remove(key: string): boolean {
    this.checkWritable();
    const folded = foldKey(key);
    this.#expired(folded);
    const had = super.remove(key);
    this.#expiry.delete(folded);
    this.#mine(folded);
    this.#queue(["d", folded, "", 0]);
    return had;
  }

  /** Removes every key of the namespace, here and in Redis. */
  override clear(): void {
    this.checkWritable();
    super.clear();
    this.#expiry.clear();
    const n = ++this.#seq;
    if (this.#reads > 0) this.#ownClear = n;
    if (this.#loading) this.#clearedWhileLoading = true;
    this.#queue(["c", "", "", 0]);
  }

  /** Notes a write of ours to `folded`, for the re-reads and the load under way. */
  #mine(folded: string): void {
    const n = ++this.#seq;
    if (this.#reads > 0) this.#own.set(folded, n);
    this.#loading?.add(folded);
  }

  /**
   * Sends a write at once when no other is on its way to Redis (one awaited write at a time
   * waits for no tick); otherwise adds it to the current tick's batch, sent at the end of the
   * tick (or by `flush()`) behind the writes sent before it.
   */
  #queue(change: Change): void {
    this.#stats.writes++;
    this.#pendingWrites++;
    this.#batch.push(change);
    if (
      this.#batch.length >= BATCH_LIMIT || (this.#batch.length === 1 && this.#inflight.idle)
    ) this.#sendBatch();
    else if (!this.#batchScheduled) {
      this.#batchScheduled = true;
      queueMicrotask(this.#sendBatchTask);
    }
  }

  readonly #sendBatchTask = (): void => this.#sendBatch();

  /** Sends the tick's writes, in order, as few commands written together (pipelined). */
  #sendBatch(): void {
    this.#batchScheduled = false;
    const batch = this.#batch;
    if (batch.length === 0) return;
    this.#batch = [];
    for (let i = 0; i < batch.length;) {
      const [op, folded, stored, ttl] = batch[i];
      let j = i + 1;
      let args: string[];
      if (op === "c") {
        args = ["EVAL", CLEAR, "0", `${globEscape(this.#keyPrefix)}*`];
      } else if (op === "d") {
        while (j < batch.length && batch[j][0] === "d") j++;
        args = ["DEL"];
        for (let k = i; k < j; k++) args.push(this.#keyPrefix + batch[k][1]);
      } else if (ttl > 0) {
        args = ["SET", this.#keyPrefix + folded, stored, "PX", String(ttl)];
      } else {
        while (j < batch.length && batch[j][0] === "s" && batch[j][3] === 0) j++;
        if (j === i + 1) args = ["SET", this.#keyPrefix + folded, stored];
        else {
          args = ["MSET"];
          for (let k = i; k < j; k++) args.push(this.#keyPrefix + batch[k][1], batch[k][2]);
        }
      }
      const writes = j - i;
      const id = this.#inflight.sending();
      this.#redis.send(args, (error) => this.#settled(id, writes, error));
      i = j;
    }
  }

  /** Command `id`, carrying `writes` writes, was answered (or failed with `error`). */
  #settled(id: number, writes: number, error: ClusterError | undefined): void {
    this.#pendingWrites -= writes;
    this.#inflight.answered(id, error === undefined ? undefined : this.#failed(writes, error));
  }

  /** Counts, reports and returns the failure of `writes` writes; reloads the replica. */
  #failed(writes: number, error: ClusterError): ClusterError {
    this.#stats.writeErrors += writes;
    const failure = new ClusterError(
      "WriteFailed",
      `${writes} state write(s) to ${this.#keyPrefix}* did not reach Redis at ${this.#redis.url}: ${
        (error as Error).message
      }`,
      this.#redis.url,
      { cause: error },
    );
    try {
      this.#onWriteError(failure);
    } catch { /* the handler's failure is its own */ }
    // The replica holds values Redis does not: reload it once Redis answers again.
    if (!this.#closed && this.#redis.status === "ready") this.#reload();
    return failure;
  }

  /**
   * Resolves once every write made so far has reached Redis; rejects with
   * {@linkcode ClusterError} `WriteFailed` (the first failure since the last flush) when
   * one did not.
   */
  flush(): Promise<void> {
    this.#sendBatch();
    return this.#inflight.wait(true);
  }

  // --- invalidations, re-reads and loads ----------------------------------------------

  #invalidated(key: string | null): void {
    if (this.#closed) return;
    if (key === null) {
      this.#reload(); // the whole database was flushed
      return;
    }
    this.#stale.add(key.slice(this.#keyPrefix.length));
    if (!this.#rereadScheduled && !this.#loading) {
      this.#rereadScheduled = true;
      queueMicrotask(() => this.#reread());
    }
  }

  /** Re-reads the keys Redis reported changed, after our own writes sent so far. */
  #reread(): void {
    this.#rereadScheduled = false;
    if (this.#closed || this.#loading || this.#stale.size === 0) return;
    const keys = [...this.#stale];
    this.#stale.clear();
    this.#sendBatch();
    const upTo = this.#seq;
    for (let i = 0; i < keys.length; i += BATCH_LIMIT) {
      const chunk = keys.slice(i, i + BATCH_LIMIT);
      this.#reads++;
      this.#read(chunk).then(
        (reply) => {
          // Our clear or writes sent after this read win: Redis runs them later.
          if (!this.#closed && this.#ownClear <= upTo) {
            const now = platform().now();
            for (let k = 0; k < chunk.length; k++) {
              if ((this.#own.get(chunk[k]) ?? 0) > upTo) continue;
              this.#stats.remoteUpdates++;
              this.#apply(chunk[k], this.#entry(chunk[k], reply[2 * k]), reply[2 * k + 1], now);
            }
          }
          this.#readDone(); // after the checks above, which need the writes made meanwhile
        },
        () => {
          this.#readDone();
          // Redis is away (the resync after the reconnect reloads) or slow: reload.
          if (!this.#closed && this.#redis.status === "ready") this.#reload();
        },
      );
    }
  }

  #readDone(): void {
    if (--this.#reads > 0) return;
    this.#own.clear();
    this.#ownClear = 0;
  }

  /**
   * Values and TTLs of `folded` keys, as READ gives them. Sent with `EVAL`, not `EVALSHA`:
   * a script Redis does not know yet (`NOSCRIPT` after a restart) would be sent again
   * later, behind writes made after it, and so would see or do things out of order.
   */
  #read(folded: string[]): Promise<RedisReply[]> {
    return this.#redis.command([
      "EVAL",
      READ,
      folded.length,
      ...folded.map((f) => this.#keyPrefix + f),
    ])
      .then((reply) => {
        if (!Array.isArray(reply) || reply.length !== folded.length * 2) {
          throw new ClusterError(
            "Protocol",
            `unexpected reply reading ${this.#keyPrefix}*`,
            this.#redis.url,
          );
        }
        return reply;
      });
  }

  /**
   * The entry stored under `folded`: [key, value], null when absent, undefined (reported)
   * when the value is not an entry of this store.
   */
  #entry(folded: string, stored: RedisReply): [string, string] | null | undefined {
    if (stored === null) return null;
    if (typeof stored === "string") {
      try {
        const pair = parseJsonAs<unknown>(stored);
        if (
          Array.isArray(pair) && pair.length === 2 && typeof pair[0] === "string" &&
          typeof pair[1] === "string" && foldKey(pair[0]) === folded
        ) {
          return [pair[0], pair[1]];
        }
      } catch { /* reported below */ }
    }
    this.#stats.badEntries++;
    defaultLogger().warn("redis state: skipped a value that is not an entry of this store", {
      namespace: this.namespace,
      key: this.#keyPrefix + folded,
    });
    return undefined;
  }

  /** Applies what Redis holds for `folded` to the replica (an unusable value: dropped). */
  #apply(
    folded: string,
    entry: [string, string] | null | undefined,
    pttl: RedisReply,
    now: number,
  ): void {
    if (!entry) {
      this.#localRemove(folded);
      this.#expiry.delete(folded);
      return;
    }
    this.#localSet(entry[0], entry[1]); // with the spelling Redis holds
    if (typeof pttl === "number" && pttl > 0) this.#expiry.set(folded, now + pttl);
    else this.#expiry.delete(folded);
  }

  /**
   * Loads the namespace into the replica. Changes reported meanwhile are re-read after it;
   * keys written here meanwhile keep their local value (Redis runs those writes after the
   * reads).
   */
  async #load(): Promise<void> {
    const touched = new Set<string>();
    this.#loading = touched;
    this.#clearedWhileLoading = false;
    const fresh = new Map<string, [[string, string] | null | undefined, RedisReply]>();
    try {
      this.#sendBatch(); // writes made so far go before the reads
      const match = `${globEscape(this.#keyPrefix)}*`;
      let cursor = "0";
      do {
        const reply = await this.#redis.command(["SCAN", cursor, "MATCH", match, "COUNT", 1000]);
        if (
          !Array.isArray(reply) || typeof reply[0] !== "string" || !Array.isArray(reply[1])
        ) {
          throw new ClusterError(
            "Protocol",
            `unexpected reply scanning ${this.#keyPrefix}*`,
            this.#redis.url,
          );
        }
        cursor = reply[0];
        const folded = reply[1].map((k) => String(k).slice(this.#keyPrefix.length));
        for (let i = 0; i < folded.length; i += BATCH_LIMIT) {
          const chunk = folded.slice(i, i + BATCH_LIMIT);
          const values = await this.#read(chunk);
          for (let k = 0; k < chunk.length; k++) {
            fresh.set(chunk[k], [this.#entry(chunk[k], values[2 * k]), values[2 * k + 1]]);
          }
        }
      } while (cursor !== "0");
    } finally {
      this.#loading = undefined;
    }
    if (this.#closed) return;
    if (!this.#clearedWhileLoading) {
      const now = platform().now();
      for (const key of super.keys()) {
        const folded = foldKey(key);
        if (!fresh.has(folded) && !touched.has(folded)) {
          this.#localRemove(key);
          this.#expiry.delete(folded);
        }
      }
      for (const [folded, [entry, pttl]] of fresh) {
        if (!touched.has(folded)) this.#apply(folded, entry, pttl, now);
      }
    }
    if (this.#stale.size > 0 && !this.#rereadScheduled) {
      this.#rereadScheduled = true;
      queueMicrotask(() => this.#reread());
    }
  }

  /** Reloads after a reconnect (changes were missed), a flush of Redis or a failed write. */
  #reload(): void {
    if (this.#closed) return;
    if (this.#reloading) {
      this.#reloadAgain = true;
      return;
    }
    this.#reloading = (async () => {
      do {
        this.#reloadAgain = false;
        this.#sendBatch();
        await this.#inflight.wait(false);
        try {
          await this.#load();
          this.#stats.reloads++;
        } catch {
          // Redis went away again: the resync after the reconnect brings another reload.
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
    this.#stats = { writes: 0, writeErrors: 0, remoteUpdates: 0, badEntries: 0, reloads: 0 };
  }

  async #shutdown(): Promise<void> {
    this.#closed = true;
    await this.#untrack?.().catch(() => {});
    if (this.#ownsConnection) await this.#redis.close();
  }

  /**
   * Waits for pending writes (as `flush()`, and for writes made meanwhile), then stops
   * tracking and closes the store's own connection; rejects with the first failure after
   * closing. Closing twice is harmless.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    let failure: unknown;
    // Writes made while it waits are waited for too (a flush waits for those before it only).
    do {
      try {
        await this.flush();
      } catch (error) {
        failure ??= error;
      }
    } while (this.#pendingWrites > 0 && !this.#closed);
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
}
