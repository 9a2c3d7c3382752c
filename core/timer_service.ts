/**
 * `TimerService`: any number of timers driven by ONE runtime timer re-armed
 * to the earliest deadline, so a million pending timers cost a million
 * small heap entries, not a million runtime timers. The heap is a struct of
 * typed arrays indexed by slot, and a `TimerId` encodes slot and generation;
 * cancellation is lazy (an O(1) flag, dropped when it surfaces; the heap is
 * compacted when three quarters of it are dead). Why a heap and not a timing
 * wheel is measured in BENCHMARKS.md (timer).
 *
 * @example
 * ```ts
 * import { TimerService } from "./timer_service.ts";
 * using service = new TimerService({ name: "app" });
 * service.scheduleAfter(10, () => console.log("fired"));
 * ```
 *
 * @module
 */
import { platform } from "./platform/mod.ts";
import type { Platform, TimerHandle } from "./platform/mod.ts";
import { timerDelay } from "./_timer_delay.ts";
import { asRangeError, asTypeError } from "./errors.ts";
import { TimerError } from "./timer_error.ts";
import { checkDelay, checkHandler, stopListeners } from "./_timer_checks.ts";

/** Identifies a scheduled timer within its {@linkcode TimerService}. */
export type TimerId = number;

/** A timer callback. A returned promise that rejects counts as a handler exception. */
export type TimerHandler = () => unknown;

/** Receives every error the service swallows (handler exceptions) or throws (exhaustion). */
export type TimerErrorHandler = (error: TimerError, message: string) => void;

/** Configuration of a {@linkcode TimerService}. */
export interface TimerServiceConfig {
  /**
   * Most timers pending at once; one more throws `ResourceExhausted`. Default 100,000.
   *
   * @default {100000}
   */
  maxConcurrentTimers?: number;
  /**
   * Measure handler execution time (costs two clock reads per handler). Default false.
   *
   * @default {false}
   */
  enableStatistics?: boolean;
  /** Called with every handler exception and resource exhaustion. */
  errorHandler?: TimerErrorHandler;
  /**
   * A name for logs and statistics (the seed's `threadName`). Default `"TimerService"`.
   *
   * @default {"TimerService"}
   */
  name?: string;
  /**
   * When true, pending timers do not keep the process alive. Default false:
   * pending timers hold the process like `setTimeout` does; an idle service
   * never does, since it has no runtime timer armed.
   *
   * @default {false}
   */
  unref?: boolean;
  /**
   * The clock in milliseconds (monotonic, sub-millisecond). Default the
   * platform's `now()`. Tests under `mock.timers` pass `() => Date.now()`.
   */
  clock?: () => number;
}

/** Counters of a {@linkcode TimerService} (the seed's `TimerStats` fields that mean something here). */
export interface TimerStats {
  /** Timers scheduled (one-shot and periodic; a reschedule does not count). */
  timersScheduled: number;
  /** Timers cancelled before running (including by `stop()`). */
  timersCanceled: number;
  /** Handler runs (each tick of a periodic timer counts). */
  timersExecuted: number;
  /** Periodic timers currently active. */
  periodicTimersActive: number;
  /** Timers currently pending (the service's load). */
  timersPending: number;
  /** Handler exceptions caught and reported. */
  exceptionsSwallowed: number;
  /** Heap pushes and pops. */
  heapOperations: number;
  /** Times the underlying runtime timer fired. */
  runtimeTimerFires: number;
  /** Total handler execution time in nanoseconds (only with `enableStatistics`). */
  totalHandlerExecutionTimeNs: number;
  /** Longest handler execution in nanoseconds (only with `enableStatistics`). */
  maxHandlerExecutionTimeNs: number;
  /** Mean handler execution time in nanoseconds (only with `enableStatistics`). */
  avgHandlerExecutionTimeNs: number;
  /** When the statistics started (service clock, milliseconds). */
  startTime: number;
}

// Slot states. A slot is one timer's row in the struct-of-arrays below.
const FREE = 0;
const PENDING = 1; // in the heap
const RUNNING = 2; // a periodic timer popped for its handler
const DEAD = 3; // cancelled, still in the heap until it surfaces or a compaction
const MOVED = 4; // rescheduled from inside its own (periodic) handler

// A TimerId is `generation * SLOT_SPACE + slot`, so a lookup is an array index plus a
// generation check, and an id outlives its slot's reuse without ever naming the new timer
// (until one slot has been reused 2^29 times while the old id was kept).
const SLOT_SPACE = 2 ** 24;
const GEN_SPACE = 2 ** 29;
/** How long one runtime timer callback may keep running handlers that fell due meanwhile. */
const FIRE_BUDGET_MS = 10;
/** The largest accepted `maxConcurrentTimers`: dead heap entries also hold slots. */
const MAX_TIMERS = 8_000_000;

function grow<T extends Float64Array | Int32Array | Uint8Array>(array: T, size: number): T {
  const next = new (array.constructor as new (n: number) => T)(size);
  next.set(array);
  return next;
}

/**
 * Schedules many timers on one runtime timer. One-shot timers run once at
 * their deadline; equal deadlines run in scheduling order. Periodic timers
 * run at a fixed rate on the grid `start + k * interval`, so delays never
 * accumulate; when a handler (or a busy event loop) overruns one or more
 * ticks, the missed ticks are skipped, not replayed in a burst, and the
 * timer resumes on the next grid point in the future.
 *
 * Handlers run on the event loop in the runtime timer's callback; one
 * that throws is caught, counted and reported and never disturbs another
 * timer. Timers that fall due while handlers run are run in the same turn
 * for up to 10 ms; timers scheduled or moved by the handlers wait for the
 * next turn, so a handler that keeps scheduling zero-delay timers cannot
 * starve I/O.
 *
 * @example
 * ```ts
 * import { TimerService } from "./timer_service.ts";
 * using service = new TimerService({ name: "app" });
 * const id = service.scheduleAfter(50, () => console.log("fired"));
 * service.reschedule(id, 10);
 * const tick = service.schedulePeriodic(100, () => console.log("tick"));
 * service.cancel(tick);
 * ```
 */
export class TimerService implements Disposable {
  /** The service's name from its config. */
  readonly name: string;
  readonly #maxTimers: number;
  readonly #timing: boolean;
  readonly #errorHandler: TimerErrorHandler | undefined;
  readonly #unref: boolean;
  readonly #clock: () => number;
  readonly #platform: Platform;

  // Struct of arrays, indexed by slot: no object per timer, so scheduling a
  // million timers allocates nothing but the callers' closures.
  #deadline = new Float64Array(1024);
  #seqOf = new Float64Array(1024);
  #interval = new Float64Array(1024);
  #gen = new Float64Array(1024);
  #pos = new Int32Array(1024);
  #state = new Uint8Array(1024);
  #handlers: (TimerHandler | undefined)[] = [];
  #free = new Int32Array(1024);
  #freeLen = 0;
  #slotsUsed = 0;
  // Binary min-heap of slots ordered by (deadline, seq).
  #heap = new Int32Array(1024);
  #heapLen = 0;

  #live = 0;
  #stale = 0;
  #seq = 0;
  #running = true;
  #armed: TimerHandle | undefined;
  #armedAt = Infinity;
  #stats: TimerStats;

  /**
   * Creates a started service; it arms no runtime timer until a timer is scheduled.
   *
   * @param config limits, statistics, error reporting and clock
   */
  constructor(config: TimerServiceConfig = {}) {
    const max = config.maxConcurrentTimers ?? 100_000;
    if (!Number.isInteger(max) || max < 1 || max > MAX_TIMERS) {
      throw asRangeError(
        new TimerError(
          "InvalidArgument",
          `maxConcurrentTimers must be an integer in 1..${MAX_TIMERS}, got ${max}`,
        ),
      );
    }
    this.name = config.name ?? "TimerService";
    this.#maxTimers = max;
    this.#timing = config.enableStatistics ?? false;
    this.#errorHandler = config.errorHandler;
    this.#unref = config.unref ?? false;
    this.#platform = platform();
    // `performance.now()` is what every platform's `now()` returns; called directly because
    // the extra call shows up in the cost of scheduling a timer (one clock read each).
    this.#clock = config.clock ?? (() => performance.now());
    this.#stats = this.#freshStats();
  }

  /** The service's clock in milliseconds; the time base of {@linkcode scheduleAt}. */
  now(): number {
    return this.#clock();
  }

  /** True between `start()` (or construction) and `stop()`. */
  get running(): boolean {
    return this.#running;
  }

  /** Number of timers pending (a periodic timer counts until cancelled). */
  get pending(): number {
    return this.#live;
  }

  /** Lets a stopped service accept timers again. A new service is already started. */
  start(): void {
    this.#running = true;
  }

  /** Cancels every pending timer (counted as cancelled) and refuses new ones until `start()`. */
  stop(): void {
    this.#running = false;
    this.#stats.timersCanceled += this.#live;
    this.#stats.periodicTimersActive = 0;
    this.#clear();
    const listeners = stopListeners.get(this);
    if (listeners) { for (const listener of [...listeners]) listener(); }
  }

  /** Same as {@linkcode stop}. */
  [Symbol.dispose](): void {
    this.stop();
  }

  /**
   * Runs `handler` once after `delay` milliseconds (fractions accepted).
   *
   * @param delay milliseconds from now, >= 0
   * @param handler the callback
   * @returns the timer's id, for `cancel` and `reschedule`
   * @throws {TimerError} `InvalidArgument`, `ResourceExhausted` or `ServiceStopped`
   */
  scheduleAfter(delay: number, handler: TimerHandler): TimerId {
    checkDelay(delay, "delay");
    return this.#add(this.#clock() + delay, handler, 0);
  }

  /**
   * Runs `handler` once at `time`: a number on this service's clock
   * ({@linkcode now}) or a wall-clock `Date`. A time in the past runs as
   * soon as possible.
   *
   * @param time when to run
   * @param handler the callback
   * @returns the timer's id
   * @throws {TimerError} `InvalidArgument`, `ResourceExhausted` or `ServiceStopped`
   */
  scheduleAt(time: number | Date, handler: TimerHandler): TimerId {
    const deadline = time instanceof Date ? this.#clock() + (time.getTime() - Date.now()) : time;
    if (typeof deadline !== "number" || !Number.isFinite(deadline)) {
      const error = new TimerError(
        "InvalidArgument",
        `time must be a finite number or a valid Date`,
      );
      throw typeof deadline === "number" ? asRangeError(error) : asTypeError(error);
    }
    return this.#add(deadline, handler, 0);
  }

  /**
   * Runs `handler` every `interval` milliseconds at a fixed rate, first
   * after one interval. Missed ticks are skipped (see the class docs).
   *
   * @param interval milliseconds between runs, > 0
   * @param handler the callback
   * @returns the timer's id
   * @throws {TimerError} `InvalidArgument`, `ResourceExhausted` or `ServiceStopped`
   */
  schedulePeriodic(interval: number, handler: TimerHandler): TimerId {
    checkDelay(interval, "interval");
    if (interval === 0) {
      throw asRangeError(new TimerError("InvalidArgument", "interval must be > 0"));
    }
    const id = this.#add(this.#clock() + interval, handler, interval);
    this.#stats.periodicTimersActive++;
    return id;
  }

  /**
   * Cancels a pending timer (a periodic one for good, also from inside its
   * own handler).
   *
   * @param id the timer
   * @returns true if it was pending, false if unknown, already run or cancelled
   */
  cancel(id: TimerId): boolean {
    const slot = this.#slotOf(id);
    if (slot < 0) return false;
    const state = this.#state[slot];
    if (state === PENDING) {
      this.#state[slot] = DEAD;
      this.#handlers[slot] = undefined;
      this.#stale++;
    } else if (state === RUNNING || state === MOVED) {
      this.#release(slot);
    } else {
      return false;
    }
    this.#live--;
    this.#stats.timersCanceled++;
    if (this.#interval[slot] > 0) this.#stats.periodicTimersActive--;
    if (this.#live === 0) {
      this.#clear();
    } else if (this.#stale > 1024 && this.#stale > 3 * this.#live) {
      // Compacting only when three quarters are dead keeps mass cancellation O(n) overall
      // (n + n/4 + ...) while the heap stays within 4x the live timers.
      this.#compact();
    }
    return true;
  }

  /**
   * Moves a pending timer's next run to `newDelay` milliseconds from now.
   * A periodic timer keeps its interval from there on.
   *
   * @param id the timer
   * @param newDelay milliseconds from now, >= 0
   * @returns true if the timer was pending, false otherwise
   * @throws {TimerError} `InvalidArgument` for a bad delay
   */
  reschedule(id: TimerId, newDelay: number): boolean {
    checkDelay(newDelay, "newDelay");
    const slot = this.#slotOf(id);
    if (slot < 0) return false;
    const state = this.#state[slot];
    if (state !== PENDING && state !== RUNNING && state !== MOVED) return false;
    this.#deadline[slot] = this.#clock() + newDelay;
    this.#seqOf[slot] = this.#seq++;
    if (state === PENDING) {
      // Sift both ways: the new deadline may be earlier or later.
      const i = this.#pos[slot];
      this.#siftDown(slot, this.#siftUp(slot, i));
      this.#stats.heapOperations++;
      if (this.#heap[0] === slot) this.#arm(true);
    } else {
      this.#state[slot] = MOVED;
    }
    return true;
  }

  /** A snapshot of the counters. */
  getStats(): TimerStats {
    const s = this.#stats;
    return {
      ...s,
      timersPending: this.#live,
      avgHandlerExecutionTimeNs: s.timersExecuted > 0 && this.#timing
        ? Math.round(s.totalHandlerExecutionTimeNs / s.timersExecuted)
        : 0,
    };
  }

  /** Zeroes the counters (the active periodic count is kept, it is state, not a counter). */
  resetStats(): void {
    const periodic = this.#stats.periodicTimersActive;
    this.#stats = this.#freshStats();
    this.#stats.periodicTimersActive = periodic;
  }

  #freshStats(): TimerStats {
    return {
      timersScheduled: 0,
      timersCanceled: 0,
      timersExecuted: 0,
      periodicTimersActive: 0,
      timersPending: 0,
      exceptionsSwallowed: 0,
      heapOperations: 0,
      runtimeTimerFires: 0,
      totalHandlerExecutionTimeNs: 0,
      maxHandlerExecutionTimeNs: 0,
      avgHandlerExecutionTimeNs: 0,
      startTime: this.#clock(),
    };
  }

  #slotOf(id: TimerId): number {
    if (typeof id !== "number" || !(id > 0)) return -1;
    const slot = id % SLOT_SPACE;
    if (slot >= this.#slotsUsed || this.#gen[slot] !== (id - slot) / SLOT_SPACE) return -1;
    return slot;
  }

  #add(deadline: number, handler: TimerHandler, interval: number): TimerId {
    checkHandler(handler);
    if (!this.#running) {
      throw new TimerError("ServiceStopped", `timer service ${this.name} is stopped`);
    }
    if (this.#live >= this.#maxTimers) {
      const message =
        `timer service ${this.name}: maxConcurrentTimers (${this.#maxTimers}) reached`;
      const error = new TimerError("ResourceExhausted", message);
      this.#report(error, message);
      throw error;
    }
    let slot: number;
    if (this.#freeLen > 0) {
      slot = this.#free[--this.#freeLen];
    } else {
      slot = this.#slotsUsed++;
      if (slot === this.#state.length) this.#growSlots();
    }
    let gen = this.#gen[slot] + 1;
    if (gen >= GEN_SPACE) gen = 1;
    this.#gen[slot] = gen;
    this.#deadline[slot] = deadline;
    this.#seqOf[slot] = this.#seq++;
    this.#interval[slot] = interval;
    this.#handlers[slot] = handler;
    this.#state[slot] = PENDING;
    this.#live++;
    this.#stats.timersScheduled++;
    this.#push(slot);
    return gen * SLOT_SPACE + slot;
  }

  #growSlots(): void {
    // Quadrupling: fewer copies of the eight arrays on the way to a million timers.
    const size = Math.min(this.#state.length * 4, SLOT_SPACE);
    this.#deadline = grow(this.#deadline, size);
    this.#seqOf = grow(this.#seqOf, size);
    this.#interval = grow(this.#interval, size);
    this.#gen = grow(this.#gen, size);
    this.#pos = grow(this.#pos, size);
    this.#state = grow(this.#state, size);
    this.#free = grow(this.#free, size);
    this.#heap = grow(this.#heap, size);
  }

  #release(slot: number): void {
    this.#state[slot] = FREE;
    this.#handlers[slot] = undefined;
    this.#free[this.#freeLen++] = slot;
  }

  #clear(): void {
    // Generations are kept so that old ids never name a future timer.
    this.#state.fill(FREE, 0, this.#slotsUsed);
    this.#handlers = [];
    this.#freeLen = 0;
    this.#slotsUsed = 0;
    this.#heapLen = 0;
    this.#live = 0;
    this.#stale = 0;
    this.#disarm();
  }

  // The comparisons below are inlined on local copies of the arrays: this is the hot path.

  #siftUp(slot: number, start: number): number {
    const heap = this.#heap;
    const pos = this.#pos;
    const d = this.#deadline;
    const q = this.#seqOf;
    const sd = d[slot];
    const sq = q[slot];
    let i = start;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent];
      const pd = d[p];
      if (pd < sd || (pd === sd && q[p] < sq)) break;
      heap[i] = p;
      pos[p] = i;
      i = parent;
    }
    heap[i] = slot;
    pos[slot] = i;
    return i;
  }

  #siftDown(slot: number, start: number): void {
    const heap = this.#heap;
    const pos = this.#pos;
    const d = this.#deadline;
    const q = this.#seqOf;
    const n = this.#heapLen;
    const sd = d[slot];
    const sq = q[slot];
    let i = start;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      let c = heap[child];
      let cd = d[c];
      if (child + 1 < n) {
        const r = heap[child + 1];
        const rd = d[r];
        if (rd < cd || (rd === cd && q[r] < q[c])) {
          child++;
          c = r;
          cd = rd;
        }
      }
      if (sd < cd || (sd === cd && sq < q[c])) break;
      heap[i] = c;
      pos[c] = i;
      i = child;
    }
    heap[i] = slot;
    pos[slot] = i;
  }

  #push(slot: number): void {
    const i = this.#siftUp(slot, this.#heapLen++);
    this.#stats.heapOperations++;
    if (i === 0 && this.#deadline[slot] < this.#armedAt) this.#arm(false);
  }

  #popTop(): number {
    const heap = this.#heap;
    const top = heap[0];
    const n = --this.#heapLen;
    this.#stats.heapOperations++;
    if (n === 0) return top;
    // Floyd's pop: walk the hole down to a leaf along the smaller children (one comparison
    // per level), then sift the last element up from there; it rarely moves far.
    const pos = this.#pos;
    const d = this.#deadline;
    const q = this.#seqOf;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      let c = heap[child];
      if (child + 1 < n) {
        const r = heap[child + 1];
        if (d[r] < d[c] || (d[r] === d[c] && q[r] < q[c])) {
          child++;
          c = r;
        }
      }
      heap[i] = c;
      pos[c] = i;
      i = child;
    }
    this.#siftUp(heap[n], i);
    return top;
  }

  #compact(): void {
    const heap = this.#heap;
    const state = this.#state;
    let w = 0;
    for (let r = 0; r < this.#heapLen; r++) {
      const slot = heap[r];
      if (state[slot] === DEAD) this.#release(slot);
      else heap[w++] = slot;
    }
    this.#heapLen = w;
    this.#stale = 0;
    for (let i = 0; i < w; i++) this.#pos[heap[i]] = i;
    for (let i = (w >> 1) - 1; i >= 0; i--) this.#siftDown(heap[i], i);
    if (w > 0) this.#arm(true);
  }

  #arm(force: boolean): void {
    if (this.#heapLen === 0) {
      this.#disarm();
      return;
    }
    const deadline = this.#deadline[this.#heap[0]];
    if (this.#armed !== undefined) {
      if (!force && this.#armedAt <= deadline) return;
      clearTimeout(this.#armed);
    }
    this.#armedAt = deadline;
    // Capped: runtimes run a setTimeout beyond 2^31-1 ms after 1 ms, which woke the service
    // every millisecond; a capped wake-up finds nothing due and re-arms.
    const delay = timerDelay(Math.max(0, Math.ceil(deadline - this.#clock())));
    const handle = setTimeout(this.#fire, delay);
    this.#armed = handle;
    if (this.#unref) {
      try {
        this.#platform.unrefTimer(handle);
      } catch {
        // A mocked timer (mock.timers) has no runtime handle to unref.
      }
    }
  }

  #disarm(): void {
    if (this.#armed !== undefined) clearTimeout(this.#armed);
    this.#armed = undefined;
    this.#armedAt = Infinity;
  }

  #fire = (): void => {
    this.#armed = undefined;
    this.#armedAt = Infinity;
    this.#stats.runtimeTimerFires++;
    let now = this.#clock();
    // Timers that fall due while handlers run are run in this turn too (re-reading the clock
    // is cheaper than a runtime timer round trip), within a budget so I/O is not starved.
    const budgetEnd = now + FIRE_BUDGET_MS;
    // Timers added or moved by the handlers below wait for the next turn.
    const seqLimit = this.#seq;
    while (this.#heapLen > 0) {
      const slot = this.#heap[0];
      if (this.#state[slot] === DEAD) {
        this.#popTop();
        this.#stale--;
        this.#release(slot);
        continue;
      }
      const deadline = this.#deadline[slot];
      if (this.#seqOf[slot] >= seqLimit) break;
      if (deadline > now) {
        now = this.#clock();
        if (deadline > now || now >= budgetEnd) break;
      }
      this.#popTop();
      const handler = this.#handlers[slot]!;
      const interval = this.#interval[slot];
      if (interval === 0) {
        this.#release(slot);
        this.#live--;
        this.#run(handler, slot);
        continue;
      }
      const gen = this.#gen[slot];
      this.#state[slot] = RUNNING;
      this.#run(handler, slot);
      // The handler may have stopped the service, cancelled or moved this timer.
      if (this.#gen[slot] !== gen) continue;
      const after = this.#state[slot];
      if (after === RUNNING) {
        // Fixed rate on the original grid; skip ticks that are already past.
        // The clock is read again: the handler itself may have overrun ticks.
        const late = this.#clock();
        let next = deadline + interval;
        if (next <= late) next += Math.floor((late - next) / interval + 1) * interval;
        this.#deadline[slot] = next;
        this.#seqOf[slot] = this.#seq++;
      }
      if (after === RUNNING || after === MOVED) {
        this.#state[slot] = PENDING;
        this.#push(slot);
      }
    }
    if (this.#live === 0) this.#clear();
    else this.#arm(false);
  };

  #run(handler: TimerHandler, slot: number): void {
    const stats = this.#stats;
    const t0 = this.#timing ? this.#clock() : 0;
    try {
      const result = handler();
      if (result instanceof Promise) {
        result.catch((error: unknown) => this.#handlerFailed(slot, error));
      }
    } catch (error) {
      this.#handlerFailed(slot, error);
    }
    stats.timersExecuted++;
    if (this.#timing) {
      const ns = Math.round((this.#clock() - t0) * 1e6);
      stats.totalHandlerExecutionTimeNs += ns;
      if (ns > stats.maxHandlerExecutionTimeNs) stats.maxHandlerExecutionTimeNs = ns;
    }
  }

  #handlerFailed(slot: number, error: unknown): void {
    this.#stats.exceptionsSwallowed++;
    const detail = error instanceof Error ? error.message : String(error);
    const message = `timer handler (slot ${slot}) threw: ${detail}`;
    this.#report(new TimerError("HandlerException", message, { cause: error }), message);
  }

  #report(error: TimerError, message: string): void {
    if (this.#errorHandler === undefined) return;
    try {
      this.#errorHandler(error, message);
    } catch {
      // An error handler that throws must not take the timer loop down with it.
    }
  }
}
