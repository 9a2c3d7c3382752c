/**
 * A pool of worker threads (Deno Web Workers or Node `worker_threads`,
 * started through the platform seam) that runs functions exported by
 * module URLs.
 *
 * @module
 */
import { asRangeError, asTypeError } from "./errors.ts";
import {
  type TaskSpec,
  type ThreadPoolConfig,
  ThreadPoolError,
  type ThreadPoolOptions,
  type ThreadPoolStats,
} from "./thread_pool_types.ts";
import type { WireError, WireResult, WireTask } from "./_thread_pool_wire.ts";
import { platform } from "./platform/mod.ts";
import type { Platform, TimerHandle, WorkerHandle } from "./platform/mod.ts";
import { timerDelay } from "./_timer_delay.ts";

export * from "./thread_pool_types.ts";

/** What a worker function returns to transfer (not copy) parts of its result. */
export interface TransferResult<T> {
  /** The brand the worker side looks for. */
  readonly "@iora/transfer": true;
  /** The result. */
  readonly value: T;
  /** The objects inside `value` to transfer. */
  readonly transfer: Transferable[];
}

/**
 * Wraps a worker function's result so the listed objects are transferred
 * to the caller instead of copied. Use it in task modules.
 *
 * @example
 * ```ts
 * import { transferResult, type TransferResult } from "./thread_pool.ts";
 * export function makeBuffer(size: number): TransferResult<ArrayBuffer> {
 *   const buffer = new ArrayBuffer(size);
 *   return transferResult(buffer, [buffer]);
 * }
 * ```
 */
export function transferResult<T>(value: T, transfer: Transferable[]): TransferResult<T> {
  return { "@iora/transfer": true, value, transfer };
}

interface Task {
  id: number;
  moduleUrl: string;
  exportName: string;
  args: unknown[];
  transfer: Transferable[] | undefined;
  timeoutMs: number | undefined;
  signal: AbortSignal | undefined;
  exclusive: boolean;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  worker: Slot | undefined;
  timer: TimerHandle | undefined;
  onAbort: (() => void) | undefined;
  settled: boolean;
}

interface Slot {
  handle: WorkerHandle;
  ready: boolean;
  alive: boolean;
  inFlight: Map<number, Task>;
  exclusive: boolean;
  outbox: Task[];
  flushQueued: boolean;
  idleTimer: TimerHandle | undefined;
  referenced: boolean;
}

// The compiled npm build ships `.js` files: pick the worker entry's extension from our own.
const WORKER_EXTENSION = new URL(import.meta.url).pathname.endsWith(".js") ? ".js" : ".ts";

function hardwareThreads(): number {
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  return nav?.hardwareConcurrency ?? 2;
}

type Counters = Omit<ThreadPoolStats, "queued" | "running" | "threads">;

function zeroStats(peakThreads: number): Counters {
  return {
    submitted: 0,
    completed: 0,
    failed: 0,
    timedOut: 0,
    aborted: 0,
    rejected: 0,
    workersCrashed: 0,
    workersStarted: 0,
    workersStopped: 0,
    peakThreads,
  };
}

function wireTask(task: Task): WireTask {
  return [task.id, task.moduleUrl, task.exportName, task.args];
}

function rebuildError(wire: WireError): ThreadPoolError {
  const original = new Error(wire.message);
  original.name = wire.name;
  if (wire.stack !== undefined) original.stack = wire.stack;
  if (wire.code !== undefined) (original as Error & { code?: unknown }).code = wire.code;
  const error = new ThreadPoolError("TaskFailed", `${wire.name}: ${wire.message}`, {
    cause: original,
    remoteName: wire.name,
  });
  // The stack that matters is the worker's, where the task threw.
  if (wire.stack !== undefined) error.stack = `ThreadPoolError: ${wire.stack}`;
  return error;
}

/**
 * Runs exported functions of module URLs in worker threads. It keeps
 * `minThreads` workers, grows to `maxThreads` while tasks wait and shrinks
 * back after `idleTimeoutMs` of idleness. Tiny tasks are sent several at a
 * time per worker and their results come back batched, so the per-message
 * round trip is paid once per burst, not once per task.
 *
 * The task function receives the (structured-cloned) arguments and may
 * return a value or a promise; errors come back as `TaskFailed` with the
 * worker's message and stack. Workers are started with the platform's
 * `startWorker`, inheriting the parent's permissions.
 *
 * Tasks sent to one worker run there in order, so a task stuck without a
 * timeout also holds the tasks queued behind it on that worker; give tasks
 * that may hang a `timeoutMs` (they then run alone), or set
 * `concurrentTasksPerWorker: 1`. Idle workers do not keep a Node process
 * alive; Deno workers cannot be unref'd, so on Deno a pool with
 * `minThreads > 0` keeps the process alive until `close()` (use `await using`).
 *
 * @example
 * ```ts
 * import { ThreadPool } from "./thread_pool.ts";
 * await using pool = new ThreadPool({ minThreads: 1, maxThreads: 4 }); // or new ThreadPool(1, 4)
 * const tasks = new URL("./tasks.ts", import.meta.url); // exports `function add(a, b)`
 * const sum = await pool.enqueue<number>(tasks, "add", 2, 3);
 * const late = pool.run({ module: tasks, name: "add", args: [1, 1], timeoutMs: 1000 });
 * console.log(sum, await late);
 * ```
 */
export class ThreadPool implements AsyncDisposable {
  readonly #min: number;
  readonly #max: number;
  readonly #maxQueue: number;
  readonly #perWorker: number;
  readonly #idleTimeoutMs: number;
  readonly #defaultTimeoutMs: number | undefined;
  readonly #name: string;
  readonly #platform: Platform;
  readonly #workerUrl: URL;

  readonly #workers: Slot[] = [];
  #starting = 0;
  // Pending tasks: a ring of tasks, dead (aborted) ones skipped when they surface.
  #queue: (Task | undefined)[] = new Array(64);
  #qHead = 0;
  #qLen = 0;
  #queuedLive = 0;
  #nextId = 1;
  #avgTaskMs = -1;
  #closing = false;
  #closed: Promise<void> | undefined;
  #idleWaiters: (() => void)[] = [];
  #roomWaiters: (() => void)[] = [];
  #stats: Counters = zeroStats(0);

  /**
   * Creates the pool from one options object and starts `minThreads` workers.
   *
   * @param config sizes, queue bound, per-worker concurrency, idle timeout, default task timeout
   */
  constructor(config?: ThreadPoolConfig);
  /**
   * Creates the pool (the seed's positional form) and starts `minThreads` workers.
   *
   * @param minThreads workers kept even when idle (>= 0). Default 1.
   * @param maxThreads most workers (>= max(1, minThreads)). Default: the hardware threads.
   * @param options queue bound, per-worker concurrency, idle timeout, default task timeout
   */
  constructor(minThreads?: number, maxThreads?: number, options?: ThreadPoolOptions);
  constructor(
    sizeOrConfig: number | ThreadPoolConfig = 1,
    maxSize?: number,
    extra: ThreadPoolOptions = {},
  ) {
    const { minThreads = 1, maxThreads = undefined, ...options } =
      sizeOrConfig !== null && typeof sizeOrConfig === "object"
        ? sizeOrConfig
        : { ...extra, minThreads: sizeOrConfig, maxThreads: maxSize };
    const max = maxThreads ?? Math.max(minThreads, hardwareThreads());
    const positive = (value: number, what: string, min: number): number => {
      if (!Number.isInteger(value) || value < min) {
        throw asRangeError(
          new ThreadPoolError(
            "InvalidArgument",
            `${what} must be an integer >= ${min}, got ${value}`,
          ),
        );
      }
      return value;
    };
    this.#min = positive(minThreads, "minThreads", 0);
    this.#max = positive(max, "maxThreads", Math.max(1, minThreads));
    this.#maxQueue = positive(options.maxQueue ?? 10_000, "maxQueue", 1);
    this.#perWorker = positive(
      options.concurrentTasksPerWorker ?? 32,
      "concurrentTasksPerWorker",
      1,
    );
    this.#idleTimeoutMs = options.idleTimeoutMs ?? 2_000;
    if (!(this.#idleTimeoutMs >= 0)) {
      throw asRangeError(new ThreadPoolError("InvalidArgument", "idleTimeoutMs must be >= 0"));
    }
    this.#defaultTimeoutMs = options.taskTimeoutMs;
    if (this.#defaultTimeoutMs !== undefined && !(this.#defaultTimeoutMs > 0)) {
      throw asRangeError(new ThreadPoolError("InvalidArgument", "taskTimeoutMs must be > 0"));
    }
    this.#name = options.name ?? "iora-pool";
    this.#platform = options.platform ?? platform();
    this.#workerUrl = new URL(`./thread_pool_worker${WORKER_EXTENSION}`, import.meta.url);
    this.#workerUrl.searchParams.set("platform", this.#platform.name);
    for (let i = 0; i < this.#min; i++) this.#startWorker();
  }

  /** Workers alive now (including those still starting). */
  get threads(): number {
    return this.#workers.length;
  }

  /** Tasks waiting for a worker now. */
  get queued(): number {
    return this.#queuedLive;
  }

  /** True once {@linkcode close} was called: the pool takes no new tasks. */
  get closing(): boolean {
    return this.#closing;
  }

  /** True when the pending queue is full: wait with {@linkcode waitForRoom} before enqueueing more. */
  get needsDrain(): boolean {
    return this.#queuedLive >= this.#maxQueue;
  }

  /**
   * Runs `exportName` of `moduleUrl` in a worker with `args`.
   *
   * @param moduleUrl absolute URL of the task module
   * @param exportName the exported function to call
   * @param args its arguments (structured-cloned)
   * @returns what the function returned (awaited)
   */
  enqueue<R = unknown>(
    moduleUrl: string | URL,
    exportName: string,
    ...args: unknown[]
  ): Promise<R> {
    return this.run<R>({ module: moduleUrl, name: exportName, args });
  }

  /**
   * Runs a task described in full: arguments, transfer list, timeout, signal.
   *
   * @returns what the function returned (awaited). Rejects with a
   *   {@linkcode ThreadPoolError} (`TaskFailed`, `Timeout`, `WorkerCrashed`,
   *   `QueueFull`, `Closed`, `Terminated`, `InvalidArgument`) or the signal's reason.
   */
  run<R = unknown>(spec: TaskSpec): Promise<R> {
    let moduleUrl: string;
    try {
      moduleUrl = new URL(spec.module).href;
    } catch {
      return Promise.reject(
        asTypeError(
          new ThreadPoolError(
            "InvalidArgument",
            `task module must be an absolute URL, got ${spec.module}`,
          ),
        ),
      );
    }
    if (typeof spec.name !== "string" || spec.name === "") {
      return Promise.reject(
        (typeof spec.name === "string" ? asRangeError : asTypeError)(
          new ThreadPoolError("InvalidArgument", "task name must be a non-empty string"),
        ),
      );
    }
    let timeoutMs = spec.timeoutMs ?? this.#defaultTimeoutMs;
    if (timeoutMs !== undefined && !(timeoutMs > 0)) {
      return Promise.reject(
        asRangeError(new ThreadPoolError("InvalidArgument", "timeoutMs must be > 0")),
      );
    }
    // Infinity is no timeout (a setTimeout of Infinity would run after 1 ms).
    if (timeoutMs === Infinity) timeoutMs = undefined;
    if (this.#closing) {
      return Promise.reject(new ThreadPoolError("Closed", "the thread pool is closing"));
    }
    if (spec.signal?.aborted) return Promise.reject(spec.signal.reason);
    if (this.#queuedLive >= this.#maxQueue) {
      this.#stats.rejected++;
      return Promise.reject(
        new ThreadPoolError(
          "QueueFull",
          `thread pool queue is full (${this.#maxQueue} tasks waiting)`,
        ),
      );
    }
    return new Promise<R>((resolve, reject) => {
      const task: Task = {
        id: this.#nextId++,
        moduleUrl,
        exportName: spec.name,
        args: spec.args ?? [],
        transfer: spec.transfer,
        timeoutMs,
        signal: spec.signal,
        exclusive: timeoutMs !== undefined || spec.signal !== undefined,
        resolve: resolve as (value: unknown) => void,
        reject,
        worker: undefined,
        timer: undefined,
        onAbort: undefined,
        settled: false,
      };
      if (spec.signal !== undefined) {
        task.onAbort = () => this.#abort(task);
        spec.signal.addEventListener("abort", task.onAbort, { once: true });
      }
      this.#stats.submitted++;
      this.#enqueueTask(task);
      this.#dispatch();
    });
  }

  /** Resolves when the pending queue has room again (at once if it has). */
  waitForRoom(): Promise<void> {
    if (!this.needsDrain || this.#closing) return Promise.resolve();
    return new Promise((resolve) => this.#roomWaiters.push(resolve));
  }

  /** Resolves when no task is queued or running. */
  drain(): Promise<void> {
    if (this.#idle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /**
   * Stops accepting tasks, lets queued and running tasks finish, then stops
   * every worker. With `timeoutMs`, tasks still queued or running at the
   * deadline reject with `Terminated` and their workers are killed.
   */
  close(options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.#closed !== undefined) return this.#closed;
    this.#closing = true;
    for (const resolve of this.#roomWaiters.splice(0)) resolve();
    const timeoutMs = options.timeoutMs ?? Infinity;
    this.#closed = (async () => {
      if (!this.#idle()) {
        let timer: TimerHandle | undefined;
        const deadline = timeoutMs === Infinity ? undefined : new Promise<void>((resolve) => {
          timer = setTimeout(resolve, timerDelay(timeoutMs));
        });
        await (deadline ? Promise.race([this.drain(), deadline]) : this.drain());
        if (timer !== undefined) clearTimeout(timer);
      }
      const terminated = (what: string) =>
        new ThreadPoolError("Terminated", `the thread pool closed before the task ${what}`);
      for (let task = this.#shift(); task !== undefined; task = this.#shift()) {
        this.#settle(task, false, terminated("ran"));
      }
      const stopping = this.#workers.splice(0).map((slot) => {
        for (const task of slot.inFlight.values()) {
          this.#settle(task, false, terminated("finished"));
        }
        return this.#stopWorker(slot);
      });
      await Promise.all(stopping);
    })();
    return this.#closed;
  }

  /** Same as {@linkcode close} without a deadline. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** A snapshot of the counters. */
  getStats(): ThreadPoolStats {
    let running = 0;
    for (const slot of this.#workers) running += slot.inFlight.size;
    return {
      ...this.#stats,
      queued: this.#queuedLive,
      running,
      threads: this.#workers.length,
    };
  }

  /** Zeroes the counters (`peakThreads` restarts from the current thread count). */
  resetStats(): void {
    this.#stats = zeroStats(this.#workers.length);
  }

  // ---- queue -------------------------------------------------------------------------------

  #enqueueTask(task: Task): void {
    if (this.#qLen === this.#queue.length) {
      const old = this.#queue;
      const next = new Array<Task | undefined>(old.length * 2);
      for (let i = 0; i < this.#qLen; i++) next[i] = old[(this.#qHead + i) % old.length];
      this.#queue = next;
      this.#qHead = 0;
    }
    this.#queue[(this.#qHead + this.#qLen) % this.#queue.length] = task;
    this.#qLen++;
    this.#queuedLive++;
  }

  #peek(): Task | undefined {
    while (this.#qLen > 0) {
      const task = this.#queue[this.#qHead]!;
      if (!task.settled) return task;
      this.#drop();
    }
    return undefined;
  }

  #drop(): void {
    this.#queue[this.#qHead] = undefined;
    this.#qHead = (this.#qHead + 1) % this.#queue.length;
    this.#qLen--;
  }

  #shift(): Task | undefined {
    const task = this.#peek();
    if (task !== undefined) {
      this.#drop();
      this.#queuedLive--;
    }
    return task;
  }

  // ---- dispatch ----------------------------------------------------------------------------

  #limit(): number {
    // Unknown or long tasks: 2 in flight hides the round trip without piling work on one worker.
    if (this.#avgTaskMs < 0 || this.#avgTaskMs > 1) return Math.min(2, this.#perWorker);
    return this.#perWorker;
  }

  #dispatch(): void {
    const limit = this.#limit();
    for (;;) {
      const task = this.#peek();
      if (task === undefined) break;
      let best: Slot | undefined;
      for (const slot of this.#workers) {
        if (!slot.ready || slot.exclusive) continue;
        const load = slot.inFlight.size;
        if (task.exclusive ? load !== 0 : load >= limit) continue;
        if (best === undefined || load < best.inFlight.size) best = slot;
        if (load === 0) break;
      }
      if (best === undefined) break;
      this.#shift();
      this.#send(best, task);
    }
    if (this.#queuedLive < this.#maxQueue && this.#roomWaiters.length > 0) {
      for (const resolve of this.#roomWaiters.splice(0)) resolve();
    }
    // Grow while tasks wait and every worker is busy.
    let waiting = this.#queuedLive - this.#starting;
    while (waiting > 0 && this.#workers.length < this.#max) {
      this.#startWorker();
      waiting--;
    }
  }

  #send(slot: Slot, task: Task): void {
    task.worker = slot;
    slot.inFlight.set(task.id, task);
    if (task.exclusive) slot.exclusive = true;
    if (slot.idleTimer !== undefined) {
      clearTimeout(slot.idleTimer);
      slot.idleTimer = undefined;
    }
    if (!slot.referenced) {
      slot.referenced = true;
      slot.handle.ref();
    }
    if (task.timeoutMs !== undefined) {
      task.timer = setTimeout(() => this.#kill(task, "timeout"), timerDelay(task.timeoutMs));
    }
    slot.outbox.push(task);
    if (!slot.flushQueued) {
      slot.flushQueued = true;
      queueMicrotask(() => this.#flush(slot));
    }
  }

  #flush(slot: Slot): void {
    slot.flushQueued = false;
    if (!slot.alive) return;
    const batch = slot.outbox;
    slot.outbox = [];
    const plain: Task[] = [];
    for (const task of batch) {
      if (task.settled) continue;
      // A task with a transfer list travels alone: a postMessage that fails may already have
      // detached its whole transfer list, which would fail every other task of the message.
      if (task.transfer !== undefined && task.transfer.length > 0) this.#post(slot, [task]);
      else plain.push(task);
    }
    if (plain.length > 0) this.#post(slot, plain);
  }

  #post(slot: Slot, batch: Task[]): void {
    const transfer = batch.length === 1 ? batch[0].transfer ?? [] : [];
    try {
      slot.handle.postMessage({ t: "run", tasks: batch.map(wireTask) }, transfer);
    } catch (error) {
      // Arguments that cannot be cloned: fail those tasks, not the worker.
      for (const task of batch) {
        try {
          if (batch.length > 1) slot.handle.postMessage({ t: "run", tasks: [wireTask(task)] });
          else throw error;
        } catch {
          this.#settle(
            task,
            false,
            new ThreadPoolError(
              "InvalidArgument",
              `task arguments cannot be sent to a worker: ${error}`,
              {
                cause: error,
              },
            ),
          );
        }
      }
    }
  }

  // ---- workers -----------------------------------------------------------------------------

  #startWorker(): void {
    const handle = this.#platform.startWorker(this.#workerUrl, {
      name: `${this.#name}-${this.#stats.workersStarted}`,
    });
    const slot: Slot = {
      handle,
      ready: false,
      alive: true,
      inFlight: new Map(),
      exclusive: false,
      outbox: [],
      flushQueued: false,
      idleTimer: undefined,
      referenced: true,
    };
    this.#workers.push(slot);
    this.#starting++;
    this.#stats.workersStarted++;
    this.#stats.peakThreads = Math.max(this.#stats.peakThreads, this.#workers.length);
    handle.onMessage((message) => this.#onMessage(slot, message));
    handle.onError((error) => this.#onCrash(slot, error));
  }

  #onMessage(slot: Slot, message: unknown): void {
    if (!slot.alive) return;
    const { t, results } = message as { t: string; results?: WireResult[] };
    if (t === "ready") {
      slot.ready = true;
      this.#starting--;
      this.#dispatch();
      this.#maybeIdle(slot);
      return;
    }
    if (t !== "done" || results === undefined) return;
    for (const [id, ok, value, ms] of results) {
      const task = slot.inFlight.get(id);
      if (task === undefined) continue;
      slot.inFlight.delete(id);
      if (task.exclusive) slot.exclusive = false;
      this.#avgTaskMs = this.#avgTaskMs < 0 ? ms : this.#avgTaskMs * 0.9 + ms * 0.1;
      if (ok) this.#settle(task, true, value);
      else this.#settle(task, false, rebuildError(value as WireError));
    }
    this.#dispatch();
    this.#maybeIdle(slot);
  }

  #onCrash(slot: Slot, error: Error): void {
    if (!slot.alive) return;
    this.#stats.workersCrashed++;
    const crashed = new ThreadPoolError(
      "WorkerCrashed",
      `a pool worker ${slot.ready ? "died" : "failed to start"}: ${error.message}`,
      { cause: error },
    );
    this.#removeWorker(slot);
    for (const task of slot.inFlight.values()) this.#settle(task, false, crashed);
    slot.inFlight.clear();
    void this.#stopWorker(slot);
    if (!slot.ready) {
      // The worker could not even start. No automatic restart (the next task tries again):
      // replacing each failure while another was still starting went on forever. Once no
      // worker is left, fail what waits instead of retrying forever.
      if (this.#workers.length === 0 && this.#starting === 0) {
        for (let task = this.#shift(); task !== undefined; task = this.#shift()) {
          this.#settle(task, false, crashed);
        }
      }
      this.#checkIdle();
      return;
    }
    this.#replenish();
  }

  /** Kills a running task's worker (timeout or abort) and replaces it. */
  #kill(task: Task, why: "timeout" | "abort"): void {
    const slot = task.worker;
    if (task.settled || slot === undefined) return;
    if (why === "timeout") {
      this.#stats.timedOut++;
      this.#settle(
        task,
        false,
        new ThreadPoolError(
          "Timeout",
          `task ${task.exportName} timed out after ${task.timeoutMs} ms`,
        ),
      );
    } else {
      this.#stats.aborted++;
      this.#settle(task, false, task.signal!.reason);
    }
    this.#removeWorker(slot);
    for (const other of slot.inFlight.values()) {
      this.#settle(
        other,
        false,
        new ThreadPoolError("WorkerCrashed", "the task's worker was killed"),
      );
    }
    slot.inFlight.clear();
    void this.#stopWorker(slot);
    this.#replenish();
  }

  #abort(task: Task): void {
    if (task.settled) return;
    if (task.worker !== undefined) {
      this.#kill(task, "abort");
      return;
    }
    // Still queued: drop it in place (skipped when it surfaces).
    this.#stats.aborted++;
    this.#queuedLive--;
    this.#settle(task, false, task.signal!.reason);
    this.#dispatch();
    this.#checkIdle();
  }

  #replenish(): void {
    // A closing pool still owes its queued tasks a worker (close() waits for them).
    if (this.#closing && this.#queuedLive === 0) return;
    while (this.#workers.length < this.#min) this.#startWorker();
    this.#dispatch();
    this.#checkIdle();
  }

  #removeWorker(slot: Slot): void {
    const index = this.#workers.indexOf(slot);
    if (index >= 0) this.#workers.splice(index, 1);
    if (!slot.ready && slot.alive) this.#starting--;
    slot.alive = false;
    if (slot.idleTimer !== undefined) clearTimeout(slot.idleTimer);
  }

  async #stopWorker(slot: Slot): Promise<void> {
    slot.alive = false;
    if (slot.idleTimer !== undefined) clearTimeout(slot.idleTimer);
    this.#stats.workersStopped++;
    try {
      await slot.handle.terminate();
    } catch {
      // Already gone.
    }
  }

  #maybeIdle(slot: Slot): void {
    if (slot.inFlight.size > 0 || !slot.alive) return;
    if (slot.referenced) {
      // An idle worker must not keep the process alive.
      slot.referenced = false;
      slot.handle.unref();
    }
    if (
      this.#workers.length > this.#min && this.#queuedLive === 0 && slot.idleTimer === undefined &&
      this.#idleTimeoutMs !== Infinity
    ) {
      slot.idleTimer = setTimeout(() => {
        slot.idleTimer = undefined;
        if (slot.inFlight.size > 0 || !slot.alive || this.#workers.length <= this.#min) return;
        this.#removeWorker(slot);
        void this.#stopWorker(slot);
      }, timerDelay(this.#idleTimeoutMs));
      try {
        this.#platform.unrefTimer(slot.idleTimer);
      } catch {
        // A mocked timer has no runtime handle.
      }
    }
    this.#checkIdle();
  }

  #idle(): boolean {
    if (this.#queuedLive > 0) return false;
    for (const slot of this.#workers) if (slot.inFlight.size > 0) return false;
    return true;
  }

  #checkIdle(): void {
    if (this.#idleWaiters.length === 0 || !this.#idle()) return;
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  #settle(task: Task, ok: boolean, value: unknown): void {
    if (task.settled) return;
    task.settled = true;
    const slot = task.worker;
    if (slot !== undefined && slot.inFlight.delete(task.id)) {
      if (task.exclusive) slot.exclusive = false;
      this.#maybeIdle(slot);
    }
    if (task.timer !== undefined) clearTimeout(task.timer);
    if (task.onAbort !== undefined) task.signal!.removeEventListener("abort", task.onAbort);
    if (ok) {
      this.#stats.completed++;
      task.resolve(value);
    } else {
      if (value instanceof ThreadPoolError && value.code === "TaskFailed") this.#stats.failed++;
      task.reject(value);
    }
  }
}
