/**
 * {@linkcode ClusterEventBus}: events that cross instances, in two delivery modes.
 *
 * - **Broadcast** (`broadcast()` / `subscribe()`): Redis pub/sub on one
 *   channel per bus; every running instance (the publisher included) gets
 *   every event, and delivers it to its local {@linkcode EventQueue}, so
 *   subscriptions take the queue's topic patterns (`orders.*`, `#`).
 *   At-most-once: an instance that is down or reconnecting misses what was
 *   published meanwhile. For notifications.
 * - **Work queue** (`enqueue()` / `consume()`): one Redis stream per topic
 *   and one consumer group (`group`, normally the service's name); each
 *   event goes to one consumer of the group. At-least-once: an event is
 *   acknowledged (and deleted from the stream) only after the handler
 *   succeeded; one whose handler failed, or whose instance died, stays
 *   pending and is claimed by a live consumer once it has been idle for
 *   `claimIdleMs`; after `maxDeliveries` attempts it is moved to the
 *   `<stream>:dead` stream. A handler may therefore see an event twice:
 *   make it idempotent. After a Redis restart the group is created again.
 *
 * @example
 * ```ts ignore
 * import { ClusterEventBus } from "./event_bus.ts";
 * await using bus = await ClusterEventBus.start({ url: "redis://127.0.0.1:6379", group: "billing" });
 * bus.subscribe("config.*", (payload, topic) => console.log(topic, payload));
 * await bus.broadcast("config.reloaded", { by: "admin" });
 * await bus.consume("invoices", async (invoice) => console.log("send", invoice));
 * await bus.enqueue("invoices", { id: 42 });
 * ```
 *
 * @module
 */
import { parseJsonAs } from "./_json.ts";
import { EventQueue } from "../../core/event_queue.ts";
import type { EventHandler } from "../../core/event_queue.ts";
import { platform } from "../../core/platform/mod.ts";
import { defaultLogger } from "../../core/logger.ts";
import { ClusterError } from "./errors.ts";
import type { RedisConnection, RedisConnectionChoice, RedisReply } from "./connection.ts";
import { checkName, checkPositive } from "./_option_checks.ts";
import { ownedConnection, randomId } from "./_shared.ts";

/** Options of {@linkcode ClusterEventBus.start}. */
export interface ClusterEventBusOptions extends RedisConnectionChoice {
  /**
   * Prefix of every Redis key and channel.
   * @default {"iora:"}
   */
  prefix?: string;
  /**
   * The consumer group of work queues: instances of one service share it, so each event is
   * handled once per group.
   * @default {"iora"}
   */
  group?: string;
  /**
   * This instance's consumer name in the group (must differ between instances).
   * @default {a random id}
   */
  consumer?: string;
  /**
   * The local queue broadcast events are delivered to; by default one of the bus's own
   * (capacity 10 000, dropping the oldest when full, closed with the bus).
   */
  queue?: EventQueue<unknown>;
  /**
   * A pending work-queue event idle this long (its consumer died or its handler failed) is
   * claimed by another consumer.
   * @default {30000}
   */
  claimIdleMs?: number;
  /**
   * How often each consumer looks for such events.
   * @default {min(claimIdleMs / 2, 5000)}
   */
  claimIntervalMs?: number;
  /**
   * Attempts of one event before it is moved to the dead-letter stream `<stream>:dead`.
   * @default {5}
   */
  maxDeliveries?: number;
  /**
   * Events read per round trip by a consumer.
   * @default {100}
   */
  batchSize?: number;
  /**
   * How long a consumer's read blocks waiting for events (a stop does not wait for it).
   * @default {2000}
   */
  blockMs?: number;
  /**
   * The most entries a topic's stream keeps (`XADD MAXLEN ~`): a bound on Redis's memory if
   * consumers fall far behind; past it the oldest entries are dropped, handled or not.
   * @default {1000000}
   */
  maxStreamLength?: number;
  /** Called when a work-queue handler throws (default: logged); the event is retried. */
  onHandlerError?: (error: unknown, topic: string, id: string) => void;
}

/** What a work-queue handler learns about the event besides its payload. */
export interface WorkItemInfo {
  /** The stream entry id (unique per topic, ordered by enqueue time). */
  id: string;
  /** The topic. */
  topic: string;
  /** True when the event was claimed from another consumer or is a retry. */
  redelivered: boolean;
  /** When it was enqueued, in ms since the epoch (the enqueuer's clock). */
  enqueuedAt: number;
}

/** A work-queue handler: resolve to acknowledge, throw to have the event retried. */
export type WorkHandler<P = unknown> = (payload: P, info: WorkItemInfo) => void | Promise<void>;

/** Counters of a {@linkcode ClusterEventBus}. */
export interface ClusterEventBusStats {
  /** Broadcasts sent. */
  broadcastsSent: number;
  /** Broadcasts received and given to the local queue. */
  broadcastsReceived: number;
  /** Broadcasts the local queue refused (full) or that could not be read. */
  broadcastsDropped: number;
  /** Work-queue events enqueued. */
  enqueued: number;
  /** Work-queue events handled and acknowledged. */
  acknowledged: number;
  /** Work-queue handler failures (the event is retried). */
  handlerErrors: number;
  /** Events claimed from idle consumers (dead instances, failed handlers). */
  claimed: number;
  /** Events moved to a dead-letter stream after `maxDeliveries`. */
  deadLettered: number;
  /** Failed reads of a consumer (Redis lost); it retries with backoff. */
  readErrors: number;
  /** Consumer groups created again after Redis lost them (a restart). */
  groupsRecreated: number;
  /** Running consumers. */
  consumers: number;
}

interface Envelope {
  /** topic */
  t: string;
  /** payload */
  p: unknown;
  /** source instance */
  s: string;
}

function zeroStats(): Omit<ClusterEventBusStats, "consumers"> {
  return {
    broadcastsSent: 0,
    broadcastsReceived: 0,
    broadcastsDropped: 0,
    enqueued: 0,
    acknowledged: 0,
    handlerErrors: 0,
    claimed: 0,
    deadLettered: 0,
    readErrors: 0,
    groupsRecreated: 0,
  };
}

function encode(what: string, value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new ClusterError("InvalidArgument", `${what} is not JSON-serialisable`, undefined, {
      cause: error,
    });
  }
  if (text === undefined) {
    throw new ClusterError("InvalidArgument", `${what} is not JSON-serialisable`);
  }
  return text;
}

/** Stream entries of an `XREADGROUP`/`XAUTOCLAIM` reply: `[id, [field, value, ...]]`. */
function entriesOf(list: RedisReply): [string, Record<string, string>][] {
  const out: [string, Record<string, string>][] = [];
  if (!Array.isArray(list)) return out;
  for (const entry of list) {
    if (!Array.isArray(entry) || typeof entry[0] !== "string") continue;
    const fields: Record<string, string> = {};
    const flat = Array.isArray(entry[1]) ? entry[1] : [];
    for (let i = 0; i + 1 < flat.length; i += 2) fields[String(flat[i])] = String(flat[i + 1]);
    out.push([entry[0], fields]);
  }
  return out;
}

/**
 * The cluster event bus (see the module documentation for the two delivery modes).
 *
 * @example
 * ```ts ignore
 * import { ClusterEventBus } from "./event_bus.ts";
 * const bus = await ClusterEventBus.start({ url: "redis://127.0.0.1:6379", group: "jobs" });
 * const stop = await bus.consume<{ n: number }>("resize", async (job, info) => {
 *   console.log("job", info.id, job.n);
 * });
 * await bus.enqueue("resize", { n: 1 });
 * await stop();
 * await bus.stop();
 * ```
 */
export class ClusterEventBus implements AsyncDisposable {
  /** This instance's consumer name. */
  readonly consumer: string;
  /** The consumer group of work queues. */
  readonly group: string;
  readonly #redis: RedisConnection;
  readonly #owns: boolean;
  readonly #prefix: string;
  readonly #channel: string;
  readonly #queue: EventQueue<unknown>;
  readonly #ownsQueue: boolean;
  readonly #id = randomId();
  readonly #claimIdle: number;
  readonly #claimInterval: number;
  readonly #maxDeliveries: number;
  readonly #batch: number;
  readonly #block: number;
  readonly #maxLen: number;
  readonly #onHandlerError: (error: unknown, topic: string, id: string) => void;
  #unsubscribe: (() => Promise<void>) | undefined;
  #consumers = new Set<Consumer>();
  #stopped = false;
  #stats = zeroStats();

  private constructor(redis: RedisConnection, owns: boolean, options: ClusterEventBusOptions) {
    this.#redis = redis;
    this.#owns = owns;
    this.#prefix = options.prefix ?? "iora:";
    this.group = checkName("group", options.group ?? "iora");
    this.consumer = checkName("consumer", options.consumer ?? this.#id);
    this.#channel = `${this.#prefix}events`;
    this.#claimIdle = checkPositive("claimIdleMs", options.claimIdleMs, 30_000);
    this.#claimInterval = checkPositive(
      "claimIntervalMs",
      options.claimIntervalMs,
      Math.min(this.#claimIdle / 2, 5000),
    );
    this.#maxDeliveries = Math.floor(checkPositive("maxDeliveries", options.maxDeliveries, 5));
    this.#batch = Math.floor(checkPositive("batchSize", options.batchSize, 100));
    this.#block = Math.floor(checkPositive("blockMs", options.blockMs, 2000));
    this.#maxLen = Math.floor(checkPositive("maxStreamLength", options.maxStreamLength, 1e6));
    this.#ownsQueue = options.queue === undefined;
    this.#queue = options.queue ?? new EventQueue({ capacity: 10_000, overflow: "dropOldest" });
    this.#onHandlerError = options.onHandlerError ??
      ((error, topic, id) =>
        defaultLogger().error("work queue handler failed; the event will be retried", {
          topic,
          id,
          error: (error as Error)?.message ?? String(error),
        }));
  }

  /**
   * Connects (unless given a connection) and subscribes to the bus's broadcast channel.
   * Fails with {@linkcode ClusterError} `Unavailable` naming the URL when Redis is down.
   *
   * @example
   * ```ts ignore
   * import { ClusterEventBus } from "./event_bus.ts";
   * const bus = await ClusterEventBus.start({ url: "redis://127.0.0.1:6379" });
   * await bus.stop();
   * ```
   */
  static async start(options: ClusterEventBusOptions): Promise<ClusterEventBus> {
    if (!options || typeof options !== "object") {
      throw new ClusterError("InvalidArgument", "ClusterEventBus.start needs options");
    }
    if (options.queue !== undefined && !(options.queue instanceof EventQueue)) {
      throw new ClusterError("InvalidArgument", "queue must be an EventQueue");
    }
    const { connection, owned } = await ownedConnection(options, "iora-events");
    let bus: ClusterEventBus;
    try {
      bus = new ClusterEventBus(connection, owned, options);
    } catch (error) {
      if (owned) await connection.close();
      throw error;
    }
    try {
      bus.#unsubscribe = await connection.subscribe(bus.#channel, (m) => bus.#received(m));
    } catch (error) {
      await bus.stop();
      throw error;
    }
    return bus;
  }

  /** The local queue broadcasts are delivered to. */
  get queue(): EventQueue<unknown> {
    return this.#queue;
  }

  #checkRunning(): void {
    if (this.#stopped) {
      throw new ClusterError("Closed", "the cluster event bus is stopped", this.#redis.url);
    }
  }

  // --- broadcast ------------------------------------------------------------------------

  /**
   * Sends `payload` (JSON-serialisable) under `topic` to every running instance, this one
   * included. At-most-once.
   *
   * @returns how many instances' buses received it (Redis's count of subscribers)
   * @throws {ClusterError} `InvalidArgument`, `Closed`, or the connection's failures
   */
  async broadcast(topic: string, payload: unknown): Promise<number> {
    this.#checkRunning();
    checkTopic(topic);
    const envelope: Envelope = { t: topic, p: payload, s: this.#id };
    const text = encode(`the payload of ${topic}`, envelope);
    const receivers = await this.#redis.command(["PUBLISH", this.#channel, text]);
    this.#stats.broadcastsSent++;
    return Number(receivers);
  }

  /**
   * Calls `handler` for every broadcast whose topic matches, from any instance (through the
   * local queue: `*` matches one dotted segment, `#` any number).
   *
   * @returns a function that ends the subscription
   */
  subscribe<P = unknown>(topicOrPattern: string | RegExp, handler: EventHandler<P>): () => void {
    this.#checkRunning();
    return this.#queue.subscribe(topicOrPattern, handler as EventHandler<unknown>);
  }

  #received(text: string): void {
    let envelope: Envelope;
    try {
      envelope = parseJsonAs(text);
      if (typeof envelope?.t !== "string" || envelope.t === "") throw new Error("no topic");
    } catch {
      this.#stats.broadcastsDropped++;
      return;
    }
    try {
      if (this.#queue.tryPublish(envelope.t, envelope.p)) this.#stats.broadcastsReceived++;
      else this.#stats.broadcastsDropped++;
    } catch {
      this.#stats.broadcastsDropped++;
    }
  }

  // --- work queue -----------------------------------------------------------------------

  /** The Redis stream of a work-queue topic. */
  streamOf(topic: string): string {
    checkTopic(topic);
    return `${this.#prefix}stream:${topic}`;
  }

  /**
   * Adds `payload` (JSON-serialisable) to the work queue `topic`; one consumer of the group
   * will handle it. Resolves once Redis has it (the event is then acknowledged to the
   * caller: it survives this instance's death).
   *
   * @returns the entry id
   * @throws {ClusterError} `InvalidArgument`, `Closed`, or the connection's failures
   */
  async enqueue(topic: string, payload: unknown): Promise<string> {
    this.#checkRunning();
    const stream = this.streamOf(topic);
    const text = encode(`the payload of ${topic}`, payload);
    const id = await this.#redis.command([
      "XADD",
      stream,
      "MAXLEN",
      "~",
      this.#maxLen,
      "*",
      "p",
      text,
      "s",
      this.#id,
      "t",
      Date.now(),
    ]);
    this.#stats.enqueued++;
    return String(id);
  }

  /**
   * Starts consuming the work queue `topic` as this instance's consumer of the group: reads
   * new events (blocking on a connection of its own), calls `handler` for each in order,
   * acknowledges it when the handler resolves, and periodically claims events other
   * consumers left idle for `claimIdleMs`. Events enqueued before the group existed are
   * handled too.
   *
   * @returns a function that stops this consumer (waiting for the handler in progress)
   */
  async consume<P = unknown>(topic: string, handler: WorkHandler<P>): Promise<() => Promise<void>> {
    this.#checkRunning();
    const stream = this.streamOf(topic);
    if (typeof handler !== "function") {
      throw new ClusterError("InvalidArgument", "handler must be a function");
    }
    await this.#ensureGroup(stream);
    const reader = await this.#redis.duplicate(`iora-consumer:${this.consumer}`);
    const consumer = new Consumer(this.#internals(), {
      topic,
      stream,
      reader,
      handler: handler as WorkHandler,
    });
    this.#consumers.add(consumer);
    consumer.start();
    return async () => {
      await consumer.stop();
      this.#consumers.delete(consumer);
    };
  }

  #internals(): BusInternals {
    return {
      redis: this.#redis,
      group: this.group,
      consumer: this.consumer,
      claimIdle: this.#claimIdle,
      claimInterval: this.#claimInterval,
      maxDeliveries: this.#maxDeliveries,
      batch: this.#batch,
      block: this.#block,
      stats: this.#stats,
      onHandlerError: this.#onHandlerError,
      ensureGroup: (stream) => this.#ensureGroup(stream),
    };
  }

  async #ensureGroup(stream: string): Promise<void> {
    try {
      await this.#redis.command(["XGROUP", "CREATE", stream, this.group, "0", "MKSTREAM"]);
    } catch (error) {
      if (error instanceof ClusterError && error.message.includes("BUSYGROUP")) return;
      throw error;
    }
  }

  // --- life cycle -----------------------------------------------------------------------

  /** Counters since start or the last `resetStats()`. */
  getStats(): ClusterEventBusStats {
    return { ...this.#stats, consumers: this.#consumers.size };
  }

  /** Zeroes the counters. */
  resetStats(): void {
    Object.assign(this.#stats, zeroStats());
  }

  /**
   * Stops every consumer (each finishes and acknowledges the event in hand), unsubscribes,
   * closes the bus's own queue (after delivering what it holds) and its own connection.
   * Stopping twice is harmless.
   */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await Promise.all([...this.#consumers].map((c) => c.stop()));
    this.#consumers.clear();
    await this.#unsubscribe?.().catch(() => {});
    if (this.#ownsQueue) await this.#queue.close();
    if (this.#owns) await this.#redis.close();
  }

  /** Same as {@linkcode stop}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

function checkTopic(topic: unknown): asserts topic is string {
  if (typeof topic !== "string" || topic === "" || topic.length > 200 || /\s/.test(topic)) {
    throw new ClusterError(
      "InvalidArgument",
      `a topic must be a non-empty string of at most 200 characters without spaces, got ${
        JSON.stringify(topic)
      }`,
    );
  }
}

interface BusInternals {
  redis: RedisConnection;
  group: string;
  consumer: string;
  claimIdle: number;
  claimInterval: number;
  maxDeliveries: number;
  batch: number;
  block: number;
  stats: Omit<ClusterEventBusStats, "consumers">;
  onHandlerError: (error: unknown, topic: string, id: string) => void;
  ensureGroup: (stream: string) => Promise<void>;
}

/** One consumer loop of one topic. */
class Consumer {
  readonly #bus: BusInternals;
  readonly #topic: string;
  readonly #stream: string;
  readonly #reader: RedisConnection;
  readonly #handler: WorkHandler;
  #stopping = false;
  #loop: Promise<void> | undefined;
  #lastClaim = 0;
  #acks: Promise<void>[] = [];
  #wake: (() => void) | undefined;

  constructor(
    bus: BusInternals,
    o: { topic: string; stream: string; reader: RedisConnection; handler: WorkHandler },
  ) {
    this.#bus = bus;
    this.#topic = o.topic;
    this.#stream = o.stream;
    this.#reader = o.reader;
    this.#handler = o.handler;
  }

  start(): void {
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    if (this.#stopping) return this.#loop;
    this.#stopping = true;
    this.#wake?.();
    // Closing the reader ends a blocking read at once; the handler in progress finishes and
    // its acknowledgement goes out on the bus's connection.
    await this.#reader.close({ graceMs: 0 });
    await this.#loop;
    await this.#acked();
  }

  async #pause(ms: number): Promise<void> {
    if (this.#stopping) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
    this.#wake = undefined;
  }

  async #run(): Promise<void> {
    const b = this.#bus;
    let failures = 0;
    // Our own pending entries first (a restart of this consumer name), then new ones.
    let cursor = "0";
    while (!this.#stopping) {
      try {
        const now = platform().now();
        if (now - this.#lastClaim >= b.claimInterval) {
          this.#lastClaim = now;
          await this.#claim();
        }
        if (this.#stopping) break;
        const reply = await this.#reader.command(
          [
            "XREADGROUP",
            "GROUP",
            b.group,
            b.consumer,
            "COUNT",
            b.batch,
            "BLOCK",
            Math.min(b.block, Math.max(1, Math.ceil(b.claimInterval))),
            "STREAMS",
            this.#stream,
            cursor,
          ],
          { timeoutMs: b.block + 5000 },
        );
        failures = 0;
        const entries = Array.isArray(reply) && Array.isArray(reply[0])
          ? entriesOf(reply[0][1])
          : [];
        const ownPending = cursor !== ">";
        // Our own pending entries are read from after the last one seen, then new ones.
        if (ownPending) cursor = entries.length === 0 ? ">" : entries[entries.length - 1][0];
        for (const [id, fields] of entries) {
          if (this.#stopping && !ownPending) break;
          await this.#handle(id, fields, ownPending);
        }
        await this.#acked();
      } catch (error) {
        if (this.#stopping) break;
        if (error instanceof ClusterError && error.message.includes("NOGROUP")) {
          // Redis restarted without persistence (or the stream was deleted): make it again.
          try {
            await b.ensureGroup(this.#stream);
            b.stats.groupsRecreated++;
            cursor = "0";
            continue;
          } catch { /* counted below, retried with backoff */ }
        }
        b.stats.readErrors++;
        failures++;
        await this.#pause(Math.min(2000, 50 * 2 ** Math.min(failures, 6)));
      }
    }
  }

  async #handle(id: string, fields: Record<string, string>, redelivered: boolean): Promise<void> {
    const b = this.#bus;
    let payload: unknown;
    try {
      payload = parseJsonAs(fields.p);
    } catch {
      // Unreadable: it cannot succeed later either. Dead-letter it at once.
      await this.#deadLetter(id, fields);
      return;
    }
    try {
      await this.#handler(payload, {
        id,
        topic: this.#topic,
        redelivered,
        enqueuedAt: Number(fields.t) || 0,
      });
    } catch (error) {
      b.stats.handlerErrors++;
      try {
        b.onHandlerError(error, this.#topic, id);
      } catch { /* its failure is its own */ }
      return; // stays pending: claimed again after claimIdleMs
    }
    // Acknowledged while the next handler runs (pipelined); awaited at the end of the batch.
    this.#acks.push(this.#ack(id));
  }

  /** Waits for the acknowledgements of the batch just handled. */
  async #acked(): Promise<void> {
    if (this.#acks.length > 0) await Promise.all(this.#acks.splice(0));
  }

  async #ack(id: string): Promise<void> {
    const b = this.#bus;
    try {
      await Promise.all([
        b.redis.command(["XACK", this.#stream, b.group, id]),
        b.redis.command(["XDEL", this.#stream, id]),
      ]);
      b.stats.acknowledged++;
    } catch {
      // Redis lost: the entry stays pending and is handled again (at-least-once).
      b.stats.readErrors++;
    }
  }

  async #deadLetter(id: string, fields: Record<string, string>): Promise<void> {
    const b = this.#bus;
    const flat = Object.entries(fields).flat();
    await b.redis.command([
      "XADD",
      `${this.#stream}:dead`,
      "MAXLEN",
      "~",
      10_000,
      "*",
      ...flat,
      "id",
      id,
    ]);
    await b.redis.command(["XACK", this.#stream, b.group, id]);
    await b.redis.command(["XDEL", this.#stream, id]);
    b.stats.deadLettered++;
  }

  /** Dead-letters events tried too often, then claims the other idle ones and handles them. */
  async #claim(): Promise<void> {
    const b = this.#bus;
    const pending = await b.redis.command([
      "XPENDING",
      this.#stream,
      b.group,
      "IDLE",
      Math.floor(b.claimIdle),
      "-",
      "+",
      b.batch,
    ]);
    if (Array.isArray(pending)) {
      for (const row of pending) {
        if (!Array.isArray(row) || Number(row[3]) < b.maxDeliveries) continue;
        const id = String(row[0]);
        const got = await b.redis.command(["XRANGE", this.#stream, id, id]);
        const entry = entriesOf(got)[0];
        if (entry) await this.#deadLetter(id, entry[1]);
        else await b.redis.command(["XACK", this.#stream, b.group, id]);
      }
    }
    let start = "0-0";
    for (let round = 0; round < 10 && !this.#stopping; round++) {
      const reply = await b.redis.command([
        "XAUTOCLAIM",
        this.#stream,
        b.group,
        b.consumer,
        Math.floor(b.claimIdle),
        start,
        "COUNT",
        b.batch,
      ]);
      if (!Array.isArray(reply)) return;
      const entries = entriesOf(reply[1]);
      b.stats.claimed += entries.length;
      for (const [id, fields] of entries) {
        if (this.#stopping) break;
        await this.#handle(id, fields, true);
      }
      await this.#acked();
      if (this.#stopping) return;
      start = String(reply[0]);
      if (start === "0-0") return;
    }
  }
}
