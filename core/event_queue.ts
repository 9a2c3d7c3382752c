/**
 * In-process publish/subscribe with a bounded buffer: publishers never run
 * handlers themselves, and a slow subscriber shows up as a full buffer
 * handled by the chosen overflow policy instead of unbounded memory.
 *
 * @module
 */
import { asRangeError, asTypeError, IoraError } from "./errors.ts";
import { BlockingQueue } from "./blocking_queue.ts";
import { platform } from "./platform/mod.ts";

/** Stable codes of {@linkcode EventQueueError}. */
export type EventQueueErrorCode = "QueueFull" | "Closed" | "InvalidArgument";

/**
 * An event queue failure: `QueueFull` (the `"error"` overflow policy),
 * `Closed` (publishing after `close()`), `InvalidArgument` (an empty topic,
 * a bad capacity or pattern).
 *
 * @example
 * ```ts
 * import { EventQueue, EventQueueError } from "./event_queue.ts";
 * const events = new EventQueue({ capacity: 1, overflow: "error" });
 * events.tryPublish("a", 1);
 * try {
 *   events.tryPublish("a", 2);
 * } catch (e) {
 *   if (e instanceof EventQueueError) console.log(e.code); // "QueueFull"
 * }
 * await events.close();
 * ```
 */
export class EventQueueError extends IoraError {
  /** Which failure this is. */
  declare readonly code: EventQueueErrorCode;

  /**
   * Creates an event queue error.
   *
   * @param code the kind of failure
   * @param message human-readable description
   */
  constructor(code: EventQueueErrorCode, message: string) {
    super(code, message);
  }
}

/**
 * What `publish` does when the buffer is full: `"block"` waits for room (except in the queue's
 * own handlers, whose publishes are admitted beyond the capacity up to once more the capacity,
 * then fail with `QueueFull`: waiting there would wait forever),
 * `"dropOldest"` evicts the oldest buffered event, `"dropNewest"` drops the
 * event being published, `"error"` throws `QueueFull`.
 */
export type EventOverflowPolicy = "block" | "dropOldest" | "dropNewest" | "error";

/** A subscriber callback. A returned promise is awaited before the next event is delivered. */
export type EventHandler<P> = (payload: P, topic: string) => void | Promise<void>;

/** An event as buffered. */
export interface QueuedEvent<P> {
  /** The topic it was published on. */
  topic: string;
  /** Whatever was published. */
  payload: P;
}

/** Options of an {@linkcode EventQueue}. */
export interface EventQueueOptions<P> {
  /** Events buffered at most. Default 10,000. */
  capacity?: number;
  /** What to do when the buffer is full. Default `"block"`. */
  overflow?: EventOverflowPolicy;
  /** Receives every error a handler throws or rejects with (after it is counted). */
  onHandlerError?: (error: unknown, event: QueuedEvent<P>) => void;
}

/** Counters of an {@linkcode EventQueue}. */
export interface EventQueueStats {
  /** Events accepted into the buffer. */
  published: number;
  /** Handler invocations that completed without error. */
  delivered: number;
  /** Events discarded by the overflow policy (or by `close()` for blocked publishers). */
  dropped: number;
  /** Handler invocations that threw or rejected. */
  handlerErrors: number;
  /** Events accepted that no subscriber matched. */
  unmatched: number;
  /** Events buffered now. */
  pending: number;
  /** Active subscriptions now. */
  subscriptions: number;
}

interface Subscription<P> {
  active: boolean;
  test: (topic: string) => boolean;
  handler: EventHandler<P>;
}

/** Events handled before the dispatcher yields to the event loop. */
const BATCH = 1024;
/** The queue whose handler the running code descends from. */
const handlerContext = platform().asyncContext<object>();
/** Topics whose matching subscriptions are remembered. */
const MATCH_CACHE = 1024;

function compilePattern(pattern: string | RegExp): (topic: string) => boolean {
  if (pattern instanceof RegExp) {
    const re = new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ""));
    return (topic) => re.test(topic);
  }
  if (typeof pattern !== "string" || pattern === "") {
    throw (typeof pattern === "string" ? asRangeError : asTypeError)(
      new EventQueueError(
        "InvalidArgument",
        "a topic pattern must be a non-empty string or RegExp",
      ),
    );
  }
  if (!pattern.includes("*") && !pattern.includes("#")) return (topic) => topic === pattern;
  const segments = pattern.split(".");
  return (topic) => matchSegments(segments, topic.split("."), 0, 0);
}

/** Dot-separated matching: `*` is exactly one segment, `#` or `**` any number (also none). */
function matchSegments(pattern: string[], topic: string[], i: number, j: number): boolean {
  while (i < pattern.length) {
    const segment = pattern[i];
    if (segment === "#" || segment === "**") {
      if (i === pattern.length - 1) return true;
      for (let k = j; k <= topic.length; k++) {
        if (matchSegments(pattern, topic, i + 1, k)) return true;
      }
      return false;
    }
    if (j >= topic.length || (segment !== "*" && segment !== topic[j])) return false;
    i++;
    j++;
  }
  return j === topic.length;
}

/**
 * A bounded publish/subscribe queue. `publish(topic, payload)` buffers the
 * event; a dispatcher delivers events in publication order (so in order
 * per topic) to every subscription whose topic or pattern matches, always
 * asynchronously (never inside `publish`). Patterns are dot-separated:
 * `"orders.*"` matches one segment, `"orders.#"` (or `"orders.**"`) any
 * number; a `RegExp` works too.
 *
 * A handler that throws or rejects is counted and reported to
 * `onHandlerError`; the other handlers of that event and later events are
 * not affected. An async handler is awaited before the next event, so the
 * bound on the buffer is a bound on work in flight; the handlers of one
 * event run concurrently.
 *
 * @example
 * ```ts
 * import { EventQueue } from "./event_queue.ts";
 * await using events = new EventQueue<{ id: number }>({ capacity: 1000, overflow: "dropOldest" });
 * const unsubscribe = events.subscribe("orders.*", (order, topic) => console.log(topic, order.id));
 * await events.publish("orders.created", { id: 1 });
 * await events.drain();
 * unsubscribe();
 * ```
 */
export class EventQueue<P = unknown> implements AsyncDisposable {
  readonly #queue: BlockingQueue<QueuedEvent<P>>;
  readonly #overflow: EventOverflowPolicy;
  readonly #onHandlerError: ((error: unknown, event: QueuedEvent<P>) => void) | undefined;
  readonly #subscriptions = new Set<Subscription<P>>();
  readonly #cache = new Map<string, Subscription<P>[]>();
  #pumping = false;
  #closed = false;
  /** Events a handler published into its own full queue (see `publish`). */
  #overdraft: QueuedEvent<P>[] = [];
  /** Dispatcher rounds waiting for async handlers (nothing is taken out meanwhile). */
  #inHandlers = 0;
  #idle: (() => void)[] = [];
  #stats = { published: 0, delivered: 0, dropped: 0, handlerErrors: 0, unmatched: 0 };

  /**
   * Creates an open queue.
   *
   * @param options capacity, overflow policy and handler error reporting
   */
  constructor(options: EventQueueOptions<P> = {}) {
    const capacity = options.capacity ?? 10_000;
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw asRangeError(
        new EventQueueError(
          "InvalidArgument",
          `capacity must be a positive integer, got ${capacity}`,
        ),
      );
    }
    const overflow = options.overflow ?? "block";
    if (!["block", "dropOldest", "dropNewest", "error"].includes(overflow)) {
      throw asRangeError(
        new EventQueueError("InvalidArgument", `unknown overflow policy ${overflow}`),
      );
    }
    this.#queue = new BlockingQueue(capacity);
    this.#overflow = overflow;
    this.#onHandlerError = options.onHandlerError;
  }

  /** True after `close()`. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Calls `handler` for every later event whose topic matches.
   *
   * @param topicOrPattern an exact topic, a dotted pattern with `*` / `#` / `**`, or a RegExp
   * @param handler receives the payload and the topic
   * @returns a function that ends the subscription (calling it twice is harmless)
   */
  subscribe(topicOrPattern: string | RegExp, handler: EventHandler<P>): () => void {
    if (typeof handler !== "function") {
      throw asTypeError(new EventQueueError("InvalidArgument", "handler must be a function"));
    }
    const subscription: Subscription<P> = {
      active: true,
      test: compilePattern(topicOrPattern),
      handler,
    };
    this.#subscriptions.add(subscription);
    this.#cache.clear();
    return () => {
      if (!subscription.active) return;
      subscription.active = false;
      this.#subscriptions.delete(subscription);
      this.#cache.clear();
    };
  }

  /**
   * Publishes an event, applying the overflow policy when the buffer is full.
   *
   * @returns true when the event was buffered, false when `"dropNewest"`
   *   dropped it (or the queue closed while a `"block"` publisher waited).
   *   Rejects with `QueueFull` under `"error"` and with `Closed` after `close()`.
   */
  publish(topic: string, payload: P): Promise<boolean> {
    try {
      if (this.tryPublish(topic, payload)) return Promise.resolve(true);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#overflow !== "block") return Promise.resolve(false);
    // While handlers run the dispatcher takes nothing out: one of this queue's handlers waiting
    // here for room would wait forever. Its events are admitted beyond the capacity, up to once
    // more the capacity; past that its publish fails instead of hanging. Other publishers wait.
    if (this.#inHandlers > 0 && handlerContext.get() === this) {
      if (this.#overdraft.length >= this.#queue.capacity) {
        return Promise.reject(
          new EventQueueError(
            "QueueFull",
            `event queue full (${this.#queue.capacity} events, and as many again published while ` +
              `its handlers ran)`,
          ),
        );
      }
      this.#overdraft.push({ topic, payload });
      this.#accepted();
      return Promise.resolve(true);
    }
    return this.#queue.queue({ topic, payload }).then((queued) => {
      if (queued) this.#accepted();
      else this.#stats.dropped++;
      return queued;
    });
  }

  /**
   * Publishes without waiting: like {@linkcode publish}, except that under
   * `"block"` a full buffer returns false instead of waiting.
   *
   * @throws {EventQueueError} `QueueFull` under `"error"`, `Closed` after `close()`
   */
  tryPublish(topic: string, payload: P): boolean {
    if (typeof topic !== "string" || topic === "") {
      throw new EventQueueError("InvalidArgument", "topic must be a non-empty string");
    }
    if (this.#closed) throw new EventQueueError("Closed", "the event queue is closed");
    const event = { topic, payload };
    // Events admitted beyond the capacity go first: nothing may overtake them.
    if (this.#overdraft.length === 0 && this.#queue.tryQueue(event)) {
      this.#accepted();
      return true;
    }
    switch (this.#overflow) {
      case "dropOldest":
        this.#queue.tryDequeue();
        this.#stats.dropped++;
        this.#queue.tryQueue(event);
        this.#accepted();
        return true;
      case "dropNewest":
        this.#stats.dropped++;
        return false;
      case "error":
        throw new EventQueueError("QueueFull", `event queue full (${this.#queue.capacity} events)`);
      default:
        return false;
    }
  }

  /** Resolves once every buffered event has been delivered and no handler is running. */
  drain(): Promise<void> {
    if (!this.#pumping && this.#queue.empty && this.#overdraft.length === 0) {
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /**
   * Stops accepting events (blocked publishers get false), delivers what is
   * buffered, and resolves when done. Closing twice is harmless.
   */
  close(): Promise<void> {
    this.#closed = true;
    this.#queue.close();
    return this.drain();
  }

  /** Same as {@linkcode close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** A snapshot of the counters. */
  getStats(): EventQueueStats {
    return {
      ...this.#stats,
      pending: this.#queue.size + this.#overdraft.length,
      subscriptions: this.#subscriptions.size,
    };
  }

  /** Zeroes the counters. */
  resetStats(): void {
    this.#stats = { published: 0, delivered: 0, dropped: 0, handlerErrors: 0, unmatched: 0 };
  }

  #accepted(): void {
    this.#stats.published++;
    if (!this.#pumping) {
      this.#pumping = true;
      // Handlers, and all that descends from them, run in this queue's context: how `publish`
      // tells its own handlers from other publishers.
      queueMicrotask(() => void handlerContext.run(this, () => this.#pump()));
    }
  }

  #match(topic: string): Subscription<P>[] {
    let found = this.#cache.get(topic);
    if (found === undefined) {
      found = [];
      for (const subscription of this.#subscriptions) {
        if (subscription.test(topic)) found.push(subscription);
      }
      if (this.#cache.size >= MATCH_CACHE) this.#cache.clear();
      this.#cache.set(topic, found);
    }
    return found;
  }

  async #pump(): Promise<void> {
    let handled = 0;
    for (;;) {
      const next = this.#queue.tryDequeue();
      // After the buffer, the events admitted beyond it while handlers ran, in their order.
      const event = next.done ? this.#overdraft.shift() : next.value;
      if (event === undefined) break;
      const subscriptions = this.#match(event.topic);
      if (subscriptions.length === 0) this.#stats.unmatched++;
      let waiting: Promise<void>[] | undefined;
      this.#inHandlers++;
      for (const subscription of subscriptions) {
        if (!subscription.active) continue;
        try {
          const result = subscription.handler(event.payload, event.topic);
          if (result instanceof Promise) {
            (waiting ??= []).push(result.then(
              () => void this.#stats.delivered++,
              (error) => this.#failed(error, event),
            ));
          } else {
            this.#stats.delivered++;
          }
        } catch (error) {
          this.#failed(error, event);
        }
      }
      if (waiting !== undefined) await Promise.all(waiting);
      this.#inHandlers--;
      if (++handled % BATCH === 0) {
        // Let I/O and timers in between batches of synchronous handlers.
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
    }
    this.#pumping = false;
    const idle = this.#idle;
    this.#idle = [];
    for (const resolve of idle) resolve();
  }

  #failed(error: unknown, event: QueuedEvent<P>): void {
    this.#stats.handlerErrors++;
    if (this.#onHandlerError === undefined) return;
    try {
      this.#onHandlerError(error, event);
    } catch {
      // The error reporter failing must not stop delivery.
    }
  }
}
