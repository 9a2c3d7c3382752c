/**
 * A bounded FIFO queue for producers and consumers on one event loop:
 * waiting calls return promises, non-waiting ones return at once.
 *
 * @module
 */
import { asRangeError, IoraError } from "./errors.ts";
import { timerDelay } from "./_timer_delay.ts";

/** Stable codes of {@linkcode BlockingQueueError}. */
export type BlockingQueueErrorCode = "InvalidArgument";

/**
 * Bad arguments to a {@linkcode BlockingQueue} (a capacity that is not a
 * positive integer, a negative timeout).
 *
 * @example
 * ```ts
 * import { BlockingQueue, BlockingQueueError } from "./blocking_queue.ts";
 * try {
 *   new BlockingQueue(0);
 * } catch (e) {
 *   if (e instanceof BlockingQueueError) console.log(e.code); // "InvalidArgument"
 * }
 * ```
 */
export class BlockingQueueError extends IoraError {
  /** Which failure this is. */
  declare readonly code: BlockingQueueErrorCode;

  /**
   * Creates a queue error.
   *
   * @param code the kind of failure
   * @param message human-readable description
   */
  constructor(code: BlockingQueueErrorCode, message: string) {
    super(code, message);
  }
}

/**
 * What a dequeue yields: the `IteratorResult` shape, so it works for any
 * `T` (including `undefined`) and doubles as the async iterator's step.
 * `done: true` carries why nothing came: the queue is closed and drained,
 * the timeout passed, or (`tryDequeue` only) it is empty right now.
 */
export type DequeueResult<T> =
  | { done: false; value: T }
  | { done: true; value: undefined; reason: "closed" | "timeout" | "empty" };

/** How long a waiting call may wait. */
export interface WaitOptions {
  /** Give up after this many milliseconds (0: do not wait). Default: wait until it can proceed. */
  timeoutMs?: number;
  /** Abort the wait; the promise rejects with `signal.reason`. */
  signal?: AbortSignal;
}

const CLOSED: DequeueResult<never> = Object.freeze({
  done: true,
  value: undefined,
  reason: "closed",
});
const TIMEOUT: DequeueResult<never> = Object.freeze({
  done: true,
  value: undefined,
  reason: "timeout",
});
const EMPTY: DequeueResult<never> = Object.freeze({
  done: true,
  value: undefined,
  reason: "empty",
});

// Settled promises are immutable, so every fast-path call can share one.
const QUEUED: Promise<boolean> = Promise.resolve(true);
const NOT_QUEUED: Promise<boolean> = Promise.resolve(false);

/** A growable ring buffer: O(1) push/shift without `Array.prototype.shift`. */
class Ring<T> {
  #buf: (T | undefined)[];
  #head = 0;
  #size = 0;
  #mask: number;

  constructor(initial = 16) {
    let cap = 16;
    while (cap < initial) cap *= 2;
    this.#buf = new Array(cap);
    this.#mask = cap - 1;
  }

  get size(): number {
    return this.#size;
  }

  push(item: T): void {
    if (this.#size > this.#mask) this.#grow();
    this.#buf[(this.#head + this.#size) & this.#mask] = item;
    this.#size++;
  }

  shift(): T | undefined {
    if (this.#size === 0) return undefined;
    const item = this.#buf[this.#head];
    this.#buf[this.#head] = undefined;
    this.#head = (this.#head + 1) & this.#mask;
    this.#size--;
    return item;
  }

  /** Drops the items for which `dead` is true, keeping the order of the rest. */
  removeIf(dead: (item: T) => boolean): void {
    const kept: T[] = [];
    for (let i = 0; i < this.#size; i++) {
      const item = this.#buf[(this.#head + i) & this.#mask] as T;
      if (!dead(item)) kept.push(item);
    }
    this.#buf.fill(undefined);
    this.#head = 0;
    this.#size = 0;
    for (const item of kept) this.push(item);
  }

  #grow(): void {
    const old = this.#buf;
    const cap = old.length * 2;
    const next = new Array<T | undefined>(cap);
    for (let i = 0; i < this.#size; i++) next[i] = old[(this.#head + i) & this.#mask];
    this.#buf = next;
    this.#head = 0;
    this.#mask = cap - 1;
  }
}

interface Waiter {
  settled: boolean;
  cleanup: (() => void) | undefined;
}

interface ConsumerWaiter<T> extends Waiter {
  resolve(result: DequeueResult<T>): void;
}

interface BatchWaiter<T> extends Waiter {
  max: number;
  resolve(items: T[]): void;
}

interface ProducerWaiter<T> extends Waiter {
  item: T;
  resolve(queued: boolean): void;
}

// A bare number is a timeout; the timeout is checked here once for every waiting call.
function waitOptions(options: number | WaitOptions | undefined): WaitOptions {
  const parsed = typeof options === "number" ? { timeoutMs: options } : options ?? {};
  const timeoutMs = parsed.timeoutMs;
  if (timeoutMs !== undefined && !(timeoutMs >= 0)) {
    throw asRangeError(
      new BlockingQueueError("InvalidArgument", `timeoutMs must be >= 0, got ${timeoutMs}`),
    );
  }
  return parsed;
}

/**
 * A bounded, FIFO, multi-producer multi-consumer queue. `queue()` waits
 * while the queue is full and `dequeue()` while it is empty; both accept a
 * timeout and an `AbortSignal`. Waiters are served in arrival order, and
 * an item is handed straight to a waiting consumer. Every operation is
 * O(1) (ring buffers, never `Array.shift`).
 *
 * The seed's `dequeue(result) -> bool` becomes `dequeue() ->
 * Promise<DequeueResult<T>>` (`{done, value}` as in iterators, plus a
 * `reason` when nothing came); `tryDequeue()` returns the same shape at
 * once. `queue()`/`tryQueue()` return booleans as in the seed.
 *
 * `close()` wakes every waiter: queueing then fails (returns false) and
 * dequeueing drains what is left, then reports `closed`. `for await` over
 * the queue yields items until it is closed and drained.
 *
 * @example
 * ```ts
 * import { BlockingQueue } from "./blocking_queue.ts";
 * const queue = new BlockingQueue<number>(100);
 * const consumer = (async () => {
 *   let sum = 0;
 *   for await (const n of queue) sum += n;
 *   return sum;
 * })();
 * for (let i = 1; i <= 10; i++) await queue.queue(i);
 * queue.close();
 * console.log(await consumer); // 55
 * ```
 */
export class BlockingQueue<T> implements AsyncIterable<T> {
  readonly #capacity: number;
  readonly #items: Ring<T>;
  readonly #consumers = new Ring<ConsumerWaiter<T> | BatchWaiter<T>>();
  readonly #producers = new Ring<ProducerWaiter<T>>();
  #closed = false;
  // Waiters that timed out or aborted but still sit in a ring.
  #abandoned = 0;

  /**
   * Creates an empty queue.
   *
   * @param capacity the most items held at once, a positive integer (may be `Infinity`)
   */
  constructor(capacity: number) {
    if (capacity !== Infinity && (!Number.isInteger(capacity) || capacity < 1)) {
      throw asRangeError(
        new BlockingQueueError(
          "InvalidArgument",
          `capacity must be a positive integer or Infinity, got ${capacity}`,
        ),
      );
    }
    this.#capacity = capacity;
    this.#items = new Ring<T>(Math.min(capacity, 1024));
  }

  /** The most items held at once. */
  get capacity(): number {
    return this.#capacity;
  }

  /** Items held now. */
  get size(): number {
    return this.#items.size;
  }

  /** True when no item is held. */
  get empty(): boolean {
    return this.#items.size === 0;
  }

  /** True when `size` has reached `capacity`. */
  get full(): boolean {
    return this.#items.size >= this.#capacity;
  }

  /** True after `close()`. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Adds `item` if there is room now.
   *
   * @returns true if queued, false if the queue is full or closed
   */
  tryQueue(item: T): boolean {
    if (this.#closed) return false;
    if (this.#handToConsumer(item)) return true;
    if (this.#items.size >= this.#capacity) return false;
    this.#items.push(item);
    return true;
  }

  /**
   * Adds `item`, waiting while the queue is full.
   *
   * @param item the item
   * @param options a timeout in milliseconds, or {@linkcode WaitOptions}
   * @returns true once queued; false if the timeout passed or the queue was closed
   *   (before or while waiting). Rejects with `signal.reason` when aborted.
   */
  queue(item: T, options?: number | WaitOptions): Promise<boolean> {
    // Fast path of the common call: no options, room available.
    if (options === undefined && this.tryQueue(item)) return QUEUED;
    const { timeoutMs, signal } = waitOptions(options);
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.tryQueue(item)) return QUEUED;
    if (this.#closed || timeoutMs === 0) return NOT_QUEUED;
    return new Promise<boolean>((resolve, reject) => {
      const waiter: ProducerWaiter<T> = { settled: false, cleanup: undefined, item, resolve };
      this.#producers.push(waiter);
      waiter.cleanup = this.#arm(waiter, timeoutMs, signal, () => resolve(false), reject);
    });
  }

  /**
   * Takes the oldest item if there is one now.
   *
   * @returns `{done: false, value}`, or `{done: true, reason: "closed" | "empty"}`
   */
  tryDequeue(): DequeueResult<T> {
    if (this.#items.size > 0) return { done: false, value: this.#take() };
    return this.#closed ? CLOSED : EMPTY;
  }

  /**
   * Takes the oldest item, waiting while the queue is empty.
   *
   * @param options a timeout in milliseconds, or {@linkcode WaitOptions}
   * @returns the item as `{done: false, value}`; `{done: true, reason}` when the
   *   queue is closed and drained or the timeout passed. Rejects with
   *   `signal.reason` when aborted.
   */
  dequeue(options?: number | WaitOptions): Promise<DequeueResult<T>> {
    if (options === undefined && this.#items.size > 0) {
      return Promise.resolve({ done: false, value: this.#take() });
    }
    const { timeoutMs, signal } = waitOptions(options);
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#items.size > 0) return Promise.resolve({ done: false, value: this.#take() });
    if (this.#closed) return Promise.resolve(CLOSED);
    if (timeoutMs === 0) return Promise.resolve(TIMEOUT);
    return new Promise<DequeueResult<T>>((resolve, reject) => {
      const waiter: ConsumerWaiter<T> = { settled: false, cleanup: undefined, resolve };
      this.#consumers.push(waiter);
      waiter.cleanup = this.#arm(
        waiter,
        timeoutMs,
        signal,
        () => resolve(this.#closed ? CLOSED : TIMEOUT),
        reject,
      );
    });
  }

  /**
   * Takes up to `max` items at once without waiting (possibly none): the
   * cheap way for a consumer to drain a busy queue.
   */
  tryDequeueBatch(max: number): T[] {
    const out: T[] = [];
    while (out.length < max && this.#items.size > 0) out.push(this.#take());
    return out;
  }

  /**
   * Takes up to `max` items, waiting while the queue is empty. Resolves with
   * at least one item, or with an empty array once the queue is closed and
   * drained or the timeout passed. Rejects with `signal.reason` when aborted.
   */
  dequeueBatch(max: number, options?: number | WaitOptions): Promise<T[]> {
    if (!Number.isInteger(max) || max < 1) {
      throw asRangeError(
        new BlockingQueueError("InvalidArgument", `max must be a positive integer, got ${max}`),
      );
    }
    const { timeoutMs, signal } = waitOptions(options);
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#items.size > 0 || this.#closed || timeoutMs === 0) {
      return Promise.resolve(this.tryDequeueBatch(max));
    }
    return new Promise<T[]>((resolve, reject) => {
      const waiter: BatchWaiter<T> = { settled: false, cleanup: undefined, max, resolve };
      this.#consumers.push(waiter);
      waiter.cleanup = this.#arm(waiter, timeoutMs, signal, () => resolve([]), reject);
    });
  }

  /**
   * Closes the queue: waiting producers get false, waiting consumers get
   * `closed` (there is nothing for them, or they would not wait). Items
   * already held can still be dequeued. Closing twice is harmless.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (let p = this.#producers.shift(); p !== undefined; p = this.#producers.shift()) {
      if (this.#settle(p)) p.resolve(false);
    }
    for (let c = this.#consumers.shift(); c !== undefined; c = this.#consumers.shift()) {
      if (!this.#settle(c)) continue;
      if ("max" in c) c.resolve([]);
      else c.resolve(CLOSED);
    }
  }

  /**
   * Yields items until the queue is closed and drained. A plain iterator
   * over `dequeue()` rather than an async generator: one promise per item,
   * no generator machinery.
   */
  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => this.dequeue() as Promise<IteratorResult<T>>,
      return: (): Promise<IteratorResult<T>> => Promise.resolve({ done: true, value: undefined }),
    };
  }

  /** Removes the oldest item and lets the first waiting producer in. */
  #take(): T {
    const item = this.#items.shift() as T;
    while (this.#producers.size > 0) {
      const producer = this.#producers.shift()!;
      if (!this.#settle(producer)) continue;
      this.#items.push(producer.item);
      producer.resolve(true);
      break;
    }
    return item;
  }

  #handToConsumer(item: T): boolean {
    // Only an empty queue has waiting consumers.
    if (this.#items.size > 0) return false;
    while (this.#consumers.size > 0) {
      const consumer = this.#consumers.shift()!;
      if (!this.#settle(consumer)) continue;
      if ("max" in consumer) consumer.resolve([item]);
      else consumer.resolve({ done: false, value: item });
      return true;
    }
    return false;
  }

  /** Counts an abandoned waiter; sweeps the rings when they are mostly abandoned ones. */
  #abandon(): void {
    this.#abandoned++;
    if (this.#abandoned > 32 && this.#abandoned * 2 > this.#consumers.size + this.#producers.size) {
      const dead = (waiter: Waiter): boolean => waiter.settled;
      this.#consumers.removeIf(dead);
      this.#producers.removeIf(dead);
      this.#abandoned = 0;
    }
  }

  /** Marks a waiter settled and drops its timer and abort listener; false if it already was. */
  #settle(waiter: Waiter): boolean {
    if (waiter.settled) return false;
    waiter.settled = true;
    waiter.cleanup?.();
    return true;
  }

  #arm(
    waiter: Waiter,
    timeoutMs: number | undefined,
    signal: AbortSignal | undefined,
    onTimeout: () => void,
    reject: (reason: unknown) => void,
  ): (() => void) | undefined {
    if (timeoutMs === undefined && signal === undefined) return undefined;
    // A timed-out or aborted waiter stays in its ring, flagged settled, and is skipped later.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onAbort = (): void => {
      if (!this.#settle(waiter)) return;
      this.#abandon();
      reject(signal!.reason);
    };
    if (timeoutMs !== undefined && timeoutMs !== Infinity) {
      // Runtimes run a setTimeout beyond 2^31-1 ms after 1 ms: a longer wait goes in steps.
      let left = timeoutMs;
      const expire = (): void => {
        if (left > 0) {
          const step = timerDelay(left);
          left -= step;
          timer = setTimeout(expire, step);
          return;
        }
        if (!this.#settle(waiter)) return;
        this.#abandon();
        onTimeout();
      };
      expire();
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    return () => {
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    };
  }
}
