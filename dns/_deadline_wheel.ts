// The DNS transport's query deadlines: a timer wheel of TICK_MS buckets swept by one interval
// timer. A setTimeout and a clearTimeout per query cost more than the rest of the send path,
// and cancelling thousands of queries at once would clear thousands of timers. A query times
// out at most one tick late, never early. The owner's afterTick runs after every sweep (the
// transport closes idle UDP sockets there, and stops the wheel: no timer outlives the
// sockets). Private to dns/.

/** Granularity of query deadlines, milliseconds. */
const TICK_MS = 5;

/** Something with a deadline; `bucket` is the wheel's (-1 when not armed). */
export interface HasDeadline {
  readonly deadline: number;
  bucket: number;
}

/** Deadlines by bucket, and the interval timer that sweeps them. */
export class DeadlineWheel<T extends HasDeadline> {
  #wheel = new Map<number, Set<T>>();
  #cursor = 0;
  #ticker: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  readonly #onExpire: (item: T) => void;
  readonly #afterTick: () => void;

  /**
   * @param onExpire called for each item whose deadline passed (already disarmed)
   * @param afterTick called after every sweep
   */
  constructor(onExpire: (item: T) => void, afterTick: () => void) {
    this.#onExpire = onExpire;
    this.#afterTick = afterTick;
  }

  /** Puts `item` in the bucket of its deadline and starts the timer. */
  arm(item: T): void {
    const bucket = Math.ceil(item.deadline / TICK_MS);
    item.bucket = bucket;
    let set = this.#wheel.get(bucket);
    if (set === undefined) {
      set = new Set();
      this.#wheel.set(bucket, set);
    }
    set.add(item);
    this.start();
  }

  /** Takes `item` out of its bucket, if it is in one. */
  disarm(item: T): void {
    if (item.bucket >= 0) {
      const set = this.#wheel.get(item.bucket);
      if (set) {
        set.delete(item);
        if (set.size === 0) this.#wheel.delete(item.bucket);
      }
    }
  }

  /** Starts the timer (a no-op when it runs or the wheel is closed). */
  start(): void {
    if (this.#ticker !== undefined || this.#closed) return;
    this.#cursor = Math.floor(performance.now() / TICK_MS);
    this.#ticker = setInterval(() => this.#tick(), TICK_MS);
  }

  /** Stops the timer and forgets every deadline. */
  stop(): void {
    if (this.#ticker === undefined) return;
    clearInterval(this.#ticker);
    this.#ticker = undefined;
    this.#wheel.clear();
  }

  /** Stops for good: {@linkcode DeadlineWheel.start} does nothing after this. */
  close(): void {
    this.#closed = true;
    this.stop();
  }

  #tick(): void {
    const now = Math.floor(performance.now() / TICK_MS);
    while (this.#cursor <= now && this.#ticker !== undefined) {
      const set = this.#wheel.get(this.#cursor);
      this.#cursor++;
      if (set === undefined) continue;
      this.#wheel.delete(this.#cursor - 1);
      for (const item of set) {
        item.bucket = -1;
        this.#onExpire(item);
      }
    }
    this.#afterTick();
  }
}
