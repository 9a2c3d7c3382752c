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
import { createClient } from "@redis/client";
import { platform } from "../../core/platform/mod.ts";
import { ClusterError, redactUrl } from "./errors.ts";

/** A command waiting for its reply, with its deadline and who hears the outcome. */
interface Waiting {
  deadline: number;
  timeoutMs: number;
  name: string;
  // Set while the socket is down: withdraws the command from the client's queue on timeout.
  withdraw: AbortController | undefined;
  callback: RedisReplyCallback;
  // Answered, failed or timed out: the callback was called.
  done: boolean;
}

/** A Redis reply, as RESP2 gives it: bulk/simple strings, integers, nil and arrays. */
export type RedisReply = string | number | null | RedisReply[];

/**
 * What {@linkcode RedisConnection.send} calls with a command's outcome, once: a
 * {@linkcode ClusterError} (`reply` undefined), or no error and the reply.
 */
export type RedisReplyCallback = (error: ClusterError | undefined, reply?: RedisReply) => void;

/** Where the connection is. */
export type RedisStatus = "connecting" | "ready" | "reconnecting" | "closed";

/**
 * Which of a {@linkcode RedisConnection}'s sockets a status change concerns: the command
 * socket, the subscriber (opened by the first `subscribe`) or the one receiving key
 * invalidations (opened by the first `track`).
 */
export type RedisSocketRole = "command" | "subscriber" | "invalidations";

/** Options of {@linkcode RedisConnection.connect}. */
export interface RedisConnectionOptions {
  /** `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS. */
  url: string;
  /**
   * Longest wait for the first connection; a refusal fails at once.
   * @default {5000}
   */
  connectTimeoutMs?: number;
  /**
   * Longest wait for a command's reply, time spent queued while Redis is away included.
   * @default {5000}
   */
  commandTimeoutMs?: number;
  /**
   * The most commands waiting for a reply (queued while Redis is away included); beyond it a
   * command fails at once with `QueueFull`, so an outage cannot grow memory without bound.
   * @default {10000}
   */
  maxPending?: number;
  /**
   * First reconnect delay; it doubles on every failed attempt up to `reconnectMaxMs`, with
   * up to 25 % random jitter so that many instances do not reconnect in step.
   * @default {50}
   */
  reconnectMinMs?: number;
  /**
   * Longest reconnect delay.
   * @default {2000}
   */
  reconnectMaxMs?: number;
  /** The name shown by `CLIENT LIST` (the subscriber connection gets `:sub`). */
  clientName?: string;
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

/** Counters of a {@linkcode RedisConnection}. */
export interface RedisConnectionStats {
  /** Commands sent. */
  commands: number;
  /** Commands that failed (error replies, timeouts, lost connection, queue full). */
  commandErrors: number;
  /** Commands refused because `maxPending` were waiting. */
  rejectedQueueFull: number;
  /** Times a socket was lost. */
  disconnects: number;
  /** Times a lost socket was re-established. */
  reconnects: number;
  /** Commands waiting for a reply now. */
  pending: number;
  /** The command socket's status now. */
  status: RedisStatus;
}

/** A Lua script run with `EVALSHA`, loaded again when Redis has forgotten it (after a restart). */
export interface RedisScript {
  /** The Lua source. */
  readonly source: string;
}

/** The listener of {@linkcode RedisConnection.subscribe}. */
export type RedisMessageListener = (message: string, channel: string) => void;

/** What {@linkcode RedisConnection.track} reports to. */
export interface RedisTrackingListener {
  /**
   * A key under the tracked prefix was changed, removed or expired in Redis by anyone but
   * this connection's command socket (`NOLOOP`); `null`: any key may have changed (a
   * `FLUSHDB`/`FLUSHALL`).
   */
  invalidated(key: string | null): void;
  /**
   * Tracking was set up again after a socket was lost: invalidations sent meanwhile were
   * missed, so what was read before must be read again.
   */
  resync(): void;
}

/** The listener of {@linkcode RedisConnection.onStatus}. */
export type RedisStatusListener = (status: RedisStatus, role: RedisSocketRole) => void;

// The slice of the client's API used here: sendCommand keeps us independent of its
// command typings, which are large and change between majors.
interface Client {
  connect(): Promise<unknown>;
  sendCommand<T>(
    args: readonly string[],
    options?: { timeout?: number; abortSignal?: AbortSignal },
  ): Promise<T>;
  subscribe(channel: string, listener: (message: string, channel: string) => void): Promise<void>;
  unsubscribe(
    channel: string,
    listener?: (message: string, channel: string) => void,
  ): Promise<void>;
  close(): Promise<void>;
  destroy(): void;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  readonly isReady: boolean;
}

/** A socket opened on first use, and its opening while under way. */
interface LazySocket {
  client?: Client;
  connecting?: Promise<Client>;
}

// The Redis keys of an `invalidate` push: Buffers (the client's push type mapping), or null.
function keyText(key: unknown): string | null {
  return key === null || key === undefined ? null : String(key);
}

function positive(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!(typeof v === "number" && v > 0 && Number.isFinite(v))) {
    throw new ClusterError("InvalidArgument", `${name} must be a positive number, got ${v}`);
  }
  return v;
}

/** Calls a {@linkcode RedisReplyCallback}; what it throws is its own. */
function call(callback: RedisReplyCallback, error: ClusterError | undefined, reply?: RedisReply) {
  try {
    callback(error, reply);
  } catch { /* the caller's failure is its own */ }
}

/** `promise`, or undefined after `ms` (the timer is cleared either way: nothing is left running). */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
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
  readonly #rawUrl: string;
  readonly #options: Required<Omit<RedisConnectionOptions, "clientName">> & {
    clientName?: string;
  };
  #client!: Client;
  // The sockets opened on first use: by the first `subscribe`, by the first `track`.
  #sub: LazySocket = {};
  #inv: LazySocket = {};
  // Tracked prefixes and who hears about them; tracking is set up again whenever this changes
  // and after a reconnect of the command or the invalidations socket.
  #tracked = new Map<string, RedisTrackingListener>();
  #tracking: Promise<void> | undefined;
  #trackAgain = false;
  #trackResync = false;
  #status: RedisStatus = "connecting";
  #closed = false;
  #pending = 0;
  // Commands waiting for a reply, oldest first from #waitingFrom; one that is done is dropped
  // once none before it waits (replies come in order), or by the sweep.
  #waiting: Waiting[] = [];
  #waitingFrom = 0;
  #sweeper: ReturnType<typeof setInterval> | undefined;
  #scripts = new Map<string, string>();
  #listeners = new Set<RedisStatusListener>();
  #stats = { commands: 0, commandErrors: 0, rejectedQueueFull: 0, disconnects: 0, reconnects: 0 };

  private constructor(options: RedisConnectionOptions) {
    if (!options || typeof options.url !== "string" || options.url === "") {
      throw new ClusterError("InvalidArgument", "a Redis url is required (redis://host:port)");
    }
    let parsed: URL;
    try {
      parsed = new URL(options.url);
    } catch {
      throw new ClusterError("InvalidArgument", `bad Redis url ${redactUrl(options.url)}`);
    }
    if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
      throw new ClusterError(
        "InvalidArgument",
        `a Redis url starts with redis:// or rediss://, got ${redactUrl(options.url)}`,
      );
    }
    this.#rawUrl = options.url;
    this.url = redactUrl(options.url);
    const maxPending = positive("maxPending", options.maxPending, 10_000);
    if (!Number.isInteger(maxPending)) {
      throw new ClusterError("InvalidArgument", "maxPending must be an integer");
    }
    this.#options = {
      url: options.url,
      connectTimeoutMs: positive("connectTimeoutMs", options.connectTimeoutMs, 5000),
      commandTimeoutMs: positive("commandTimeoutMs", options.commandTimeoutMs, 5000),
      maxPending,
      reconnectMinMs: positive("reconnectMinMs", options.reconnectMinMs, 50),
      reconnectMaxMs: positive("reconnectMaxMs", options.reconnectMaxMs, 2000),
      clientName: options.clientName,
    };
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
    connection.#client = await connection.#open("command");
    connection.#setStatus("ready", "command");
    const tick = Math.max(10, Math.min(100, connection.#options.commandTimeoutMs / 4));
    connection.#sweeper = setInterval(() => connection.#sweep(), tick);
    platform().unrefTimer(connection.#sweeper);
    return connection;
  }

  /** Another connection to the same Redis with the same options (for blocking commands). */
  duplicate(clientName?: string): Promise<RedisConnection> {
    this.#checkOpen();
    return RedisConnection.connect({
      ...this.#options,
      url: this.#rawUrl,
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

  async #open(role: RedisSocketRole): Promise<Client> {
    const o = this.#options;
    let everReady = false;
    const client = createClient({
      url: this.#rawUrl,
      // RESP3 only where pushes are needed: the invalidations socket's replies are never read
      // by a backend, while every backend reads the command socket's RESP2 replies.
      RESP: role === "invalidations" ? 3 : 2,
      emitInvalidate: role === "invalidations" ? true : undefined,
      name: o.clientName === undefined
        ? undefined
        : role === "subscriber"
        ? `${o.clientName}:sub`
        : role === "invalidations"
        ? `${o.clientName}:inv`
        : o.clientName,
      // Room beyond ours: the client queues its own commands (the name, the resubscriptions)
      // on a reconnect, and commands already written that timed out here stay in its queue
      // until Redis answers or the socket drops (unwritten ones are withdrawn, see `command`).
      // `maxPending` is enforced here; the client's bound caps the rest.
      commandsQueueMaxLength: o.maxPending * 2 + 16,
      // No timer per command: since @redis/client 6 every command gets one by default
      // (`AbortSignal.timeout`, 5 s), which costs about a quarter of a single SET's CPU here;
      // our own sweep (see `command`) enforces `commandTimeoutMs` instead, and withdraws a
      // command queued while Redis was away once it timed out, so it never runs late.
      commandOptions: { timeout: 0 },
      socket: {
        connectTimeout: o.connectTimeoutMs,
        reconnectStrategy: (retries: number, cause: Error) => {
          if (this.#closed) return false;
          // Before the first connection, give up at once: connect() reports it, naming the URL.
          if (!everReady) return cause instanceof Error ? cause : new Error(String(cause));
          const base = Math.min(o.reconnectMaxMs, o.reconnectMinMs * 2 ** Math.min(retries, 20));
          return Math.round(base * (1 + Math.random() * 0.25));
        },
      },
    }) as unknown as Client;
    let lost = false;
    client.on("error", () => {
      // Reported through status changes and failed commands; without a
      // listener the client's EventEmitter would throw.
    });
    client.on("end", () => {
      if (everReady && !this.#closed) this.#setStatus("closed", role);
    });
    client.on("reconnecting", () => {
      if (!everReady || this.#closed) return;
      if (!lost) {
        lost = true;
        this.#stats.disconnects++;
        this.#setStatus("reconnecting", role);
      }
    });
    client.on("ready", () => {
      if (!everReady || this.#closed) return;
      if (lost) {
        lost = false;
        this.#stats.reconnects++;
        this.#setStatus("ready", role);
      }
    });
    try {
      await client.connect();
    } catch (error) {
      client.destroy?.();
      if (error instanceof ClusterError) throw error;
      throw new ClusterError(
        "Unavailable",
        `cannot reach Redis at ${this.url}: ${(error as Error)?.message ?? error}`,
        this.url,
        { cause: error },
      );
    }
    everReady = true;
    return client;
  }

  #setStatus(status: RedisStatus, role: RedisSocketRole): void {
    if (role === "command") this.#status = status;
    // A new command socket has no tracking; a new invalidations socket has a new client id.
    if (status === "ready" && role !== "subscriber" && this.#tracked.size > 0) {
      this.#retrack(true).catch(() => {});
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
    if (this.#closed) {
      throw new ClusterError("Closed", `the Redis connection to ${this.url} is closed`, this.url);
    }
  }

  #wrap(error: unknown, what: string): ClusterError {
    if (error instanceof ClusterError) return error;
    const e = error as Error;
    const name = e?.constructor?.name ?? "";
    if (name === "ErrorReply" || name === "SimpleError" || name === "BlobError") {
      return new ClusterError(
        "Protocol",
        `Redis at ${this.url} refused ${what}: ${e.message}`,
        this.url,
        {
          cause: error,
        },
      );
    }
    if (name.includes("Timeout")) {
      return new ClusterError(
        "Timeout",
        `no reply from Redis at ${this.url} to ${what} within ${this.#options.commandTimeoutMs} ms`,
        this.url,
        { cause: error },
      );
    }
    if (this.#closed || name === "ClientClosedError") {
      return new ClusterError("Closed", `the Redis connection to ${this.url} is closed`, this.url, {
        cause: error,
      });
    }
    if (/queue is full/i.test(e?.message ?? "")) {
      return new ClusterError(
        "QueueFull",
        `too many commands wait for Redis at ${this.url}`,
        this.url,
        {
          cause: error,
        },
      );
    }
    return new ClusterError(
      "Unavailable",
      `Redis at ${this.url} is unavailable (${what}): ${e?.message ?? error}`,
      this.url,
      { cause: error },
    );
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
    if (this.#closed || this.#pending >= this.#options.maxPending) {
      let error: ClusterError;
      if (this.#closed) {
        error = new ClusterError(
          "Closed",
          `the Redis connection to ${this.url} is closed`,
          this.url,
        );
      } else {
        this.#stats.rejectedQueueFull++;
        this.#stats.commandErrors++;
        error = new ClusterError(
          "QueueFull",
          `${this.#pending} commands already wait for Redis at ${this.url} (maxPending)`,
          this.url,
        );
      }
      queueMicrotask(() => call(callback, error));
      return;
    }
    let strings = args as readonly string[];
    for (let i = 0; i < args.length; i++) {
      if (typeof args[i] !== "string") {
        strings = args.map((a) => typeof a === "string" ? a : String(a));
        break;
      }
    }
    this.#pending++;
    this.#stats.commands++;
    const timeoutMs = options?.timeoutMs ?? this.#options.commandTimeoutMs;
    // One sweep timer per connection enforces the deadlines: a timer per command (the
    // client's own `timeout` option) costs about a third of a command's time on Node.
    // While the socket is down the client keeps commands to send once it reconnects: one that
    // failed here as timed out must then never run, so it can be withdrawn. A ready socket
    // writes a command at once (past withdrawing), so only these pay for a signal.
    const withdraw = this.#client.isReady ? undefined : new AbortController();
    const waiting: Waiting = {
      deadline: Date.now() + timeoutMs,
      timeoutMs,
      name: strings[0],
      withdraw,
      callback,
      done: false,
    };
    this.#waiting.push(waiting);
    this.#client.sendCommand<RedisReply>(
      strings,
      withdraw && { abortSignal: withdraw.signal },
    ).then(
      (reply) => {
        if (waiting.done) return; // timed out already
        this.#done(waiting);
        call(callback, undefined, reply);
      },
      (error) => {
        if (waiting.done) return;
        this.#done(waiting);
        this.#stats.commandErrors++;
        call(callback, this.#wrap(error, strings[0]));
      },
    );
  }

  /** Marks `waiting` done and drops the done commands at the front. */
  #done(waiting: Waiting): void {
    waiting.done = true;
    this.#pending--;
    const list = this.#waiting;
    let from = this.#waitingFrom;
    while (from < list.length && list[from].done) from++;
    if (from === list.length) {
      list.length = 0;
      from = 0;
    }
    this.#waitingFrom = from;
  }

  #sweep(): void {
    const list = this.#waiting;
    if (list.length === 0) return;
    const now = Date.now();
    for (let i = this.#waitingFrom; i < list.length; i++) {
      const waiting = list[i];
      if (!waiting.done && waiting.deadline <= now) {
        this.#done(waiting);
        waiting.withdraw?.abort();
        this.#stats.commandErrors++;
        call(
          waiting.callback,
          new ClusterError(
            "Timeout",
            `no reply from Redis at ${this.url} to ${waiting.name} within ${waiting.timeoutMs} ms`,
            this.url,
          ),
        );
      }
    }
    // Done commands behind one still waiting (a blocking command, say) are dropped here.
    if (this.#waiting.length - this.#waitingFrom > 1024) {
      this.#waiting = this.#waiting.slice(this.#waitingFrom).filter((w) => !w.done);
      this.#waitingFrom = 0;
    }
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
    const sub = await this.#subscriber();
    const wrapped = (message: string, ch: string) => {
      try {
        listener(message, ch);
      } catch { /* a listener's failure is its own */ }
    };
    try {
      await sub.subscribe(channel, wrapped);
    } catch (error) {
      throw this.#wrap(error, "SUBSCRIBE");
    }
    let done = false;
    return async () => {
      if (done || this.#closed) return;
      done = true;
      // Bounded: while the subscriber reconnects, the unsubscribe would wait in its queue.
      await within(sub.unsubscribe(channel, wrapped).catch(() => {}), 1000);
    };
  }

  #subscriber(): Promise<Client> {
    return this.#openLazy(this.#sub, "subscriber");
  }

  /** The socket of `slot`, opened (as `role`) at the first call; `setup` runs on it once. */
  #openLazy(
    slot: LazySocket,
    role: "subscriber" | "invalidations",
    setup?: (client: Client) => void,
  ): Promise<Client> {
    if (slot.client) return Promise.resolve(slot.client);
    slot.connecting ??= this.#open(role).then(
      (client) => {
        if (this.#closed) {
          client.destroy();
          throw new ClusterError("Closed", `the Redis connection to ${this.url} is closed`);
        }
        setup?.(client);
        slot.client = client;
        return client;
      },
      (error) => {
        slot.connecting = undefined;
        throw error;
      },
    );
    return slot.connecting;
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
    if (typeof prefix !== "string" || prefix === "") {
      throw new ClusterError("InvalidArgument", "a tracked prefix must be a non-empty string");
    }
    for (const other of this.#tracked.keys()) {
      if (other.startsWith(prefix) || prefix.startsWith(other)) {
        throw new ClusterError(
          "InvalidArgument",
          `prefix ${JSON.stringify(prefix)} overlaps ${
            JSON.stringify(other)
          }, already tracked on this connection to ${this.url} (use another connection)`,
          this.url,
        );
      }
    }
    this.#tracked.set(prefix, listener);
    try {
      await this.#retrack(false);
    } catch (error) {
      this.#tracked.delete(prefix);
      this.#retrack(false).catch(() => {});
      throw error;
    }
    let done = false;
    return async () => {
      if (done || this.#closed) return;
      done = true;
      if (this.#tracked.get(prefix) === listener) this.#tracked.delete(prefix);
      await within(this.#retrack(false).catch(() => {}), 1000);
    };
  }

  /** Sets tracking up for the current prefixes; runs are serialised (the last one wins). */
  #retrack(resync: boolean): Promise<void> {
    if (resync) this.#trackResync = true;
    if (this.#tracking) {
      this.#trackAgain = true;
      return this.#tracking;
    }
    const run = (async () => {
      let failure: unknown;
      do {
        this.#trackAgain = false;
        failure = undefined;
        try {
          await this.#applyTracking();
        } catch (error) {
          // Lost again: the next "ready" brings another run.
          failure = error;
        }
      } while (this.#trackAgain && !this.#closed);
      if (failure === undefined && this.#trackResync) {
        this.#trackResync = false;
        for (const listener of [...this.#tracked.values()]) {
          try {
            listener.resync();
          } catch { /* a listener's failure is its own */ }
        }
      }
      if (failure !== undefined) throw failure;
    })();
    this.#tracking = run;
    const clear = () => {
      if (this.#tracking === run) this.#tracking = undefined;
    };
    run.then(clear, clear);
    return run;
  }

  async #applyTracking(): Promise<void> {
    if (this.#closed) return;
    const prefixes = [...this.#tracked.keys()];
    // OFF first: Redis refuses a prefix that overlaps one it already tracks for the client.
    const off = this.command(["CLIENT", "TRACKING", "OFF"]);
    if (prefixes.length === 0) {
      await off;
      return;
    }
    const inv = await this.#invalidations();
    const id = await within(
      inv.sendCommand<number>(["CLIENT", "ID"]).catch((error) => {
        throw this.#wrap(error, "CLIENT ID");
      }),
      this.#options.commandTimeoutMs,
    );
    if (id === undefined) {
      await off.catch(() => {});
      throw new ClusterError(
        "Timeout",
        `no reply from Redis at ${this.url} to CLIENT ID within ${this.#options.commandTimeoutMs} ms`,
        this.url,
      );
    }
    const on = this.command([
      "CLIENT",
      "TRACKING",
      "ON",
      "REDIRECT",
      String(id),
      "BCAST",
      ...prefixes.flatMap((p) => ["PREFIX", p]),
      "NOLOOP",
    ]);
    await Promise.all([off, on]);
  }

  #invalidations(): Promise<Client> {
    return this.#openLazy(
      this.#inv,
      "invalidations",
      (client) => client.on("invalidate", (key) => this.#invalidated(keyText(key))),
    );
  }

  #invalidated(key: string | null): void {
    for (const [prefix, listener] of this.#tracked) {
      if (key !== null && !key.startsWith(prefix)) continue;
      try {
        listener.invalidated(key);
      } catch { /* a listener's failure is its own */ }
    }
  }

  /** Counters since connect or the last `resetStats()`. */
  getStats(): RedisConnectionStats {
    return { ...this.#stats, pending: this.#pending, status: this.#status };
  }

  /** Zeroes the counters. */
  resetStats(): void {
    this.#stats = {
      commands: 0,
      commandErrors: 0,
      rejectedQueueFull: 0,
      disconnects: 0,
      reconnects: 0,
    };
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
    clearInterval(this.#sweeper);
    this.#tracked.clear();
    const clients = [this.#client, this.#sub.client, this.#inv.client].filter((c): c is Client =>
      c !== undefined
    );
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
