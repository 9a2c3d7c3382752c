/**
 * {@linkcode RedisConnection}: one Redis client (npm `@redis/client`) with the
 * failure behaviour every cluster backend relies on. Redis down at start is a
 * {@linkcode ClusterError} `Unavailable` naming the URL; a connection lost
 * while running is re-established with capped exponential backoff (with
 * jitter), while commands wait in a bounded queue (`maxPending`) for at most
 * `commandTimeoutMs`, then fail with a typed error; subscriptions are made on
 * a second connection and resumed by the client after a reconnect, and
 * `onStatus` tells the backends when to resynchronise.
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

/** A command waiting for its reply, with its deadline. */
interface Waiting {
  deadline: number;
  fail(): void;
}

/** A Redis reply, as RESP2 gives it: bulk/simple strings, integers, nil and arrays. */
export type RedisReply = string | number | null | RedisReply[];

/** Where the connection is. */
export type RedisStatus = "connecting" | "ready" | "reconnecting" | "closed";

/** Which of a {@linkcode RedisConnection}'s sockets a status change concerns. */
export type RedisSocketRole = "command" | "subscriber";

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

/** The listener of {@linkcode RedisConnection.onStatus}. */
export type RedisStatusListener = (status: RedisStatus, role: RedisSocketRole) => void;

// The slice of the client's API used here: sendCommand keeps us independent of its
// command typings, which are large and change between majors.
interface Client {
  connect(): Promise<unknown>;
  sendCommand<T>(args: readonly string[], options?: { timeout?: number }): Promise<T>;
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

function positive(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!(typeof v === "number" && v > 0 && Number.isFinite(v))) {
    throw new ClusterError("InvalidArgument", `${name} must be a positive number, got ${v}`);
  }
  return v;
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
  #sub: Client | undefined;
  #subConnecting: Promise<Client> | undefined;
  #status: RedisStatus = "connecting";
  #closed = false;
  #pending = 0;
  #waiting = new Set<Waiting>();
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
      RESP: 2,
      name: o.clientName === undefined
        ? undefined
        : role === "subscriber"
        ? `${o.clientName}:sub`
        : o.clientName,
      // Room beyond ours: the client queues its own commands (the name, the resubscriptions)
      // on a reconnect, and commands that timed out here stay in its queue until Redis answers
      // or the socket drops. `maxPending` is enforced here; the client's bound caps the rest.
      commandsQueueMaxLength: o.maxPending * 2 + 16,
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
    options: { timeoutMs?: number } = {},
  ): Promise<RedisReply> {
    try {
      this.#checkOpen();
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#pending >= this.#options.maxPending) {
      this.#stats.rejectedQueueFull++;
      this.#stats.commandErrors++;
      return Promise.reject(
        new ClusterError(
          "QueueFull",
          `${this.#pending} commands already wait for Redis at ${this.url} (maxPending)`,
          this.url,
        ),
      );
    }
    const strings = args.map((a) => typeof a === "string" ? a : String(a));
    this.#pending++;
    this.#stats.commands++;
    // One sweep timer per connection enforces the deadlines: a timer per command (the
    // client's own `timeout` option) costs about a third of a command's time on Node.
    return new Promise<RedisReply>((resolve, reject) => {
      const waiting: Waiting = {
        deadline: Date.now() + (options.timeoutMs ?? this.#options.commandTimeoutMs),
        fail: () => {
          this.#pending--;
          this.#stats.commandErrors++;
          reject(
            new ClusterError(
              "Timeout",
              `no reply from Redis at ${this.url} to ${strings[0]} within ${
                options.timeoutMs ?? this.#options.commandTimeoutMs
              } ms`,
              this.url,
            ),
          );
        },
      };
      this.#waiting.add(waiting);
      this.#client.sendCommand<RedisReply>(strings).then(
        (reply) => {
          if (!this.#waiting.delete(waiting)) return; // timed out already
          this.#pending--;
          resolve(reply);
        },
        (error) => {
          if (!this.#waiting.delete(waiting)) return;
          this.#pending--;
          this.#stats.commandErrors++;
          reject(this.#wrap(error, strings[0]));
        },
      );
    });
  }

  #sweep(): void {
    if (this.#waiting.size === 0) return;
    const now = Date.now();
    for (const waiting of this.#waiting) {
      if (waiting.deadline <= now) {
        this.#waiting.delete(waiting);
        waiting.fail();
      }
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
    if (this.#sub) return Promise.resolve(this.#sub);
    this.#subConnecting ??= this.#open("subscriber").then(
      (client) => {
        if (this.#closed) {
          client.destroy();
          throw new ClusterError("Closed", `the Redis connection to ${this.url} is closed`);
        }
        this.#sub = client;
        return client;
      },
      (error) => {
        this.#subConnecting = undefined;
        throw error;
      },
    );
    return this.#subConnecting;
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
   * Closes both sockets: commands already sent get their replies for up to `graceMs`, then
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
    const clients = [this.#client, this.#sub].filter((c): c is Client => c !== undefined);
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
