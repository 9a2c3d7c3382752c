/**
 * {@linkcode RedisConnection}: one Redis client (npm `@redis/client`) with the
 * failure behaviour every cluster backend relies on. Redis down at start is a
 * {@linkcode ClusterError} `Unavailable` naming the URL; a connection lost
 * while running is re-established with capped exponential backoff (with
 * jitter), while commands wait in a bounded queue (`maxPending`) for at most
 * `commandTimeoutMs`, then fail with a typed error; subscriptions are made on
 * a second connection and resumed by the client after a reconnect, and
 * `onStatus` tells the backends when to resynchronise. {@linkcode RedisConnection.track}
 * turns on Redis's server-assisted client-side caching (`CLIENT TRACKING ... BCAST NOLOOP`,
 * Redis 6+) for key prefixes, with the invalidations delivered to a third connection (RESP3).
 *
 * The client does its own socket I/O through `node:net`, which Deno and
 * Node both provide; this module itself touches no runtime API.
 *
 * @example
 * ```ts ignore
 * import { RedisConnection } from "./connection.ts";
 * await using redis = await RedisConnection.connect({ url: "redis://127.0.0.1:6379" });
 * await redis.command(["SET", "greeting", "hello"]);
 * console.log(await redis.command(["GET", "greeting"])); // "hello"
 * ```
 *
 * @module
 */
import { ClusterError, redactUrl } from "./errors.ts";
import { type ConnectionSettings, connectionSettings } from "./_connection_options.ts";
import { LazySocket } from "./_lazy_socket.ts";
import { openRedisClient, type RedisClient } from "./_redis_client.ts";
import { closedError, redisFailure, timeoutError } from "./_redis_failure.ts";
import { PrefixTracking, type TrackingOwner } from "./_tracking.ts";
import { callBack, type WaitingCommand, WaitingCommands } from "./_waiting_commands.ts";
import { within } from "./_within.ts";
import type {
  RedisConnectionOptions,
  RedisConnectionStats,
  RedisMessageListener,
  RedisReply,
  RedisReplyCallback,
  RedisScript,
  RedisSocketRole,
  RedisStatus,
  RedisStatusListener,
  RedisTrackingListener,
} from "./connection_types.ts";
export type * from "./connection_types.ts";

/** The counters of {@linkcode RedisConnectionStats} but the current state, at zero. */
function noCounts() {
  return { commands: 0, commandErrors: 0, rejectedQueueFull: 0, disconnects: 0, reconnects: 0 };
}

/**
 * How a backend reaches Redis: a `url` (the backend opens and closes a connection of its
 * own) or a shared `connection` (which it leaves open).
 */
export interface RedisConnectionChoice {
  /** The Redis URL (`redis://host:port`); a connection of the backend's own is opened. */
  url?: string;
  /** A connection to share; the backend does not close it. */
  connection?: RedisConnection;
  /** Options of the backend's own connection, when `url` is given. */
  connectionOptions?: Omit<RedisConnectionOptions, "url">;
}

/**
 * One Redis connection (plus a subscriber connection made on first
 * {@linkcode subscribe}) with typed failures, backoff and bounded queueing.
 *
 * @example
 * ```ts ignore
 * import { RedisConnection } from "./connection.ts";
 * const redis = await RedisConnection.connect({ url: "redis://127.0.0.1:6379", maxPending: 1000 });
 * const off = redis.onStatus((status, role) => console.log(role, status));
 * const stop = await redis.subscribe("news", (message) => console.log(message));
 * await redis.command(["PUBLISH", "news", "hello"]);
 * await stop();
 * off();
 * await redis.close();
 * ```
 */
export class RedisConnection implements AsyncDisposable {
  /** The URL, password removed. */
  readonly url: string;
  readonly #options: ConnectionSettings;
  #client!: RedisClient;
  // What its sockets report to and tracking works through.
  readonly #owner: TrackingOwner;
  // The subscriber socket, opened by the first `subscribe`.
  readonly #sub: LazySocket;
  // The tracked prefixes, with the invalidations socket opened by the first `track`.
  readonly #tracking: PrefixTracking;
  #status: RedisStatus = "connecting";
  #closed = false;
  readonly #waiting: WaitingCommands;
  #scripts = new Map<string, string>();
  #listeners = new Set<RedisStatusListener>();
  #stats = noCounts();

  private constructor(options: RedisConnectionOptions) {
    this.#options = connectionSettings(options);
    this.url = redactUrl(options.url);
    this.#owner = {
      url: this.url,
      isClosed: () => this.#closed,
      socketStatus: (status, role) => {
        if (status === "reconnecting") this.#stats.disconnects++;
        else if (status === "ready") this.#stats.reconnects++;
        this.#setStatus(status, role);
      },
      command: (args) => this.command(args),
    };
    this.#sub = new LazySocket(this.#options, "subscriber", this.#owner);
    this.#tracking = new PrefixTracking(this.#options, this.#owner);
    this.#waiting = new WaitingCommands((waiting) => {
      this.#stats.commandErrors++;
      callBack(waiting.callback, timeoutError(this.url, waiting.name, waiting.timeoutMs));
    });
  }

  /**
   * Connects, failing with {@linkcode ClusterError} `Unavailable` (naming the URL) when Redis
   * cannot be reached within `connectTimeoutMs`.
   *
   * @example
   * ```ts ignore
   * import { RedisConnection } from "./connection.ts";
   * try {
   *   await RedisConnection.connect({ url: "redis://127.0.0.1:1" });
   * } catch (e) {
   *   console.log((e as Error).message); // "cannot reach Redis at redis://127.0.0.1:1: ..."
   * }
   * ```
   */
  static async connect(options: RedisConnectionOptions): Promise<RedisConnection> {
    const connection = new RedisConnection(options);
    connection.#client = await openRedisClient(connection.#options, "command", connection.#owner);
    connection.#setStatus("ready", "command");
    connection.#waiting.start(
      Math.max(10, Math.min(100, connection.#options.commandTimeoutMs / 4)),
    );
    return connection;
  }

  /** Another connection to the same Redis with the same options (for blocking commands). */
  duplicate(clientName?: string): Promise<RedisConnection> {
    this.#checkOpen();
    return RedisConnection.connect({
      ...this.#options,
      clientName: clientName ?? this.#options.clientName,
    });
  }

  /** The command socket's status. */
  get status(): RedisStatus {
    return this.#status;
  }

  /** The options in force (the URL without its password). */
  get options(): Readonly<Required<Omit<RedisConnectionOptions, "clientName">>> {
    return { ...this.#options, url: this.url };
  }

  #setStatus(status: RedisStatus, role: RedisSocketRole): void {
    if (role === "command") this.#status = status;
    // A new command socket has no tracking; a new invalidations socket has a new client id.
    if (status === "ready" && role !== "subscriber" && this.#tracking.active) {
      this.#tracking.retrack(true).catch(() => {});
    }
    for (const listener of this.#listeners) {
      try {
        listener(status, role);
      } catch { /* a listener's failure is its own */ }
    }
  }

  /**
   * Calls `listener` when a socket is lost (`reconnecting`), back (`ready`) or given up
   * (`closed`). A `ready` of the subscriber socket means its subscriptions are back and
   * messages published meanwhile were missed.
   *
   * @returns a function that removes the listener
   */
  onStatus(listener: RedisStatusListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #checkOpen(): void {
    if (this.#closed) throw closedError(this.url);
  }

  /** The typed error for what the client failed with while doing `what`. */
  #failure(error: unknown, what: string): ClusterError {
    return redisFailure(error, what, this.url, this.#options.commandTimeoutMs, this.#closed);
  }

  /**
   * Sends one command; concurrent calls share the socket (pipelined).
   *
   * @param args the command and its arguments, such as `["SET", "k", "v"]`
   * @param options `timeoutMs` overrides `commandTimeoutMs` (a blocking command needs more)
   * @throws {ClusterError} `QueueFull`, `Timeout`, `Unavailable`, `Protocol` (error reply) or `Closed`
   */
  command(
    args: readonly (string | number)[],
    options?: { timeoutMs?: number },
  ): Promise<RedisReply> {
    return new Promise<RedisReply>((resolve, reject) =>
      this.send(
        args,
        (error, reply) => error ? reject(error) : resolve(reply as RedisReply),
        options,
      )
    );
  }

  /**
   * Sends one command as {@linkcode command} does, and calls `callback` with its outcome
   * instead of settling a promise: the same errors, the same timeout, never synchronously.
   * For a caller that keeps its own promise (a batch of writes and the flush waiting for
   * it): the reply then reaches the one awaiting it without a promise of this layer in
   * between. What `callback` throws is dropped.
   *
   * @example
   * ```ts ignore
   * import { RedisConnection } from "./connection.ts";
   * const redis = await RedisConnection.connect({ url: "redis://127.0.0.1:6379" });
   * redis.send(["INCR", "visits"], (error, reply) => console.log(error ?? reply));
   * ```
   */
  send(
    args: readonly (string | number)[],
    callback: RedisReplyCallback,
    options?: { timeoutMs?: number },
  ): void {
    const waitingCommands = this.#waiting;
    if (this.#closed || waitingCommands.pending >= this.#options.maxPending) {
      let error: ClusterError;
      if (this.#closed) {
        error = closedError(this.url);
      } else {
        this.#stats.rejectedQueueFull++;
        this.#stats.commandErrors++;
        error = new ClusterError(
          "QueueFull",
          `${waitingCommands.pending} commands already wait for Redis at ${this.url} (maxPending)`,
          this.url,
        );
      }
      queueMicrotask(() => callBack(callback, error));
      return;
    }
    let strings = args as readonly string[];
    for (let i = 0; i < args.length; i++) {
      if (typeof args[i] !== "string") {
        strings = args.map((a) => typeof a === "string" ? a : String(a));
        break;
      }
    }
    this.#stats.commands++;
    const timeoutMs = options?.timeoutMs ?? this.#options.commandTimeoutMs;
    // One sweep timer per connection enforces the deadlines: a timer per command (the
    // client's own `timeout` option) costs about a third of a command's time on Node.
    // While the socket is down the client keeps commands to send once it reconnects: one that
    // failed here as timed out must then never run, so it can be withdrawn. A ready socket
    // writes a command at once (past withdrawing), so only these pay for a signal.
    const withdraw = this.#client.isReady ? undefined : new AbortController();
    const waiting: WaitingCommand = {
      deadline: Date.now() + timeoutMs,
      timeoutMs,
      name: strings[0],
      withdraw,
      callback,
      done: false,
    };
    waitingCommands.add(waiting);
    this.#client.sendCommand<RedisReply>(
      strings,
      withdraw && { abortSignal: withdraw.signal },
    ).then(
      (reply) => {
        if (waiting.done) return; // timed out already
        this.#waiting.done(waiting);
        callBack(callback, undefined, reply);
      },
      (error) => {
        if (waiting.done) return;
        this.#waiting.done(waiting);
        this.#stats.commandErrors++;
        callBack(callback, this.#failure(error, strings[0]));
      },
    );
  }

  /**
   * Runs a Lua script by its SHA1 (`EVALSHA`), loading it first and again after Redis forgot it.
   *
   * @example
   * ```ts ignore
   * import { RedisConnection } from "./connection.ts";
   * const redis = await RedisConnection.connect({ url: "redis://127.0.0.1:6379" });
   * const incr = { source: "return redis.call('INCRBY', KEYS[1], ARGV[1])" };
   * console.log(await redis.script(incr, ["counter"], [2]));
   * ```
   */
  script(
    script: RedisScript,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<RedisReply> {
    const sha = this.#scripts.get(script.source);
    // The common case without an async frame of its own: the hot path of every backend.
    if (sha !== undefined) {
      return this.command(["EVALSHA", sha, keys.length, ...keys, ...args]).catch((error) => {
        if (
          error instanceof ClusterError && error.code === "Protocol" &&
          error.message.includes("NOSCRIPT")
        ) {
          this.#scripts.delete(script.source);
          return this.#loadAndRun(script, keys, args);
        }
        throw error;
      });
    }
    return this.#loadAndRun(script, keys, args);
  }

  async #loadAndRun(
    script: RedisScript,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<RedisReply> {
    const sha = String(await this.command(["SCRIPT", "LOAD", script.source]));
    this.#scripts.set(script.source, sha);
    return this.command(["EVALSHA", sha, keys.length, ...keys, ...args]);
  }

  /**
   * Subscribes `listener` to `channel` on the subscriber connection (opened on first use).
   * After a reconnect the subscription is resumed; messages published meanwhile are lost
   * (pub/sub is at-most-once), and `onStatus` reports `ready` for the `subscriber` role.
   *
   * @returns a function that unsubscribes this listener
   */
  async subscribe(
    channel: string,
    listener: RedisMessageListener,
  ): Promise<() => Promise<void>> {
    this.#checkOpen();
    if (typeof channel !== "string" || channel === "") {
      throw new ClusterError("InvalidArgument", "a channel must be a non-empty string");
    }
    const sub = await this.#sub.open();
    const wrapped = (message: string, ch: string) => {
      try {
        listener(message, ch);
      } catch { /* a listener's failure is its own */ }
    };
    try {
      await sub.subscribe(channel, wrapped);
    } catch (error) {
      throw this.#failure(error, "SUBSCRIBE");
    }
    let done = false;
    return async () => {
      if (done || this.#closed) return;
      done = true;
      // Bounded: while the subscriber reconnects, the unsubscribe would wait in its queue.
      await within(sub.unsubscribe(channel, wrapped).catch(() => {}), 1000);
    };
  }

  /**
   * Asks Redis to report every change of a key starting with `prefix` made through another
   * connection (server-assisted client-side caching in broadcasting mode:
   * `CLIENT TRACKING ON REDIRECT <id> BCAST PREFIX ... NOLOOP` on the command socket, the
   * invalidations pushed to a third socket in RESP3). Writes sent through this connection's
   * command socket are not reported back to it (`NOLOOP`), so two trackers of one prefix
   * must use two connections: an overlapping prefix is refused. Expiry and eviction are
   * reported too. After the command or the invalidations socket was lost, tracking is set
   * up again and `listener.resync()` is called. Needs Redis 6 or later.
   *
   * @returns a function that stops tracking `prefix`
   * @throws {ClusterError} `InvalidArgument` for an empty or overlapping prefix; `Protocol`
   *   when Redis refuses tracking (before 6.0); `Unavailable`/`Timeout` as commands do
   *
   * @example
   * ```ts ignore
   * import { RedisConnection } from "./connection.ts";
   * const redis = await RedisConnection.connect({ url: "redis://127.0.0.1:6379" });
   * const stop = await redis.track("app:", {
   *   invalidated: (key) => console.log("changed elsewhere:", key),
   *   resync: () => console.log("re-read everything"),
   * });
   * await stop();
   * await redis.close();
   * ```
   */
  async track(prefix: string, listener: RedisTrackingListener): Promise<() => Promise<void>> {
    this.#checkOpen();
    return await this.#tracking.add(prefix, listener);
  }

  /** Counters since connect or the last `resetStats()`. */
  getStats(): RedisConnectionStats {
    return { ...this.#stats, pending: this.#waiting.pending, status: this.#status };
  }

  /** Zeroes the counters. */
  resetStats(): void {
    this.#stats = noCounts();
  }

  /**
   * Closes its sockets: commands already sent get their replies for up to `graceMs`, then
   * everything still waiting fails with `Closed`. Closing twice is harmless.
   *
   * @param options `graceMs` (default 1000; 0 drops the sockets at once, ending a blocking
   *   command)
   */
  async close(options: { graceMs?: number } = {}): Promise<void> {
    const grace = options.graceMs ?? 1000;
    if (this.#closed) return;
    this.#closed = true;
    this.#status = "closed";
    this.#waiting.stop();
    this.#tracking.clear();
    const clients = [this.#client, this.#sub.client, this.#tracking.socket.client].filter((
      c,
    ): c is RedisClient => c !== undefined);
    await Promise.all(clients.map(async (client) => {
      if (client.isReady && grace > 0) await within(client.close().catch(() => {}), grace);
      try {
        client.destroy();
      } catch { /* already closed */ }
    }));
    this.#listeners.clear();
  }

  /** Same as {@linkcode close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
