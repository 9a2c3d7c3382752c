/**
 * What {@linkcode ThreadPool} takes and gives: its error and codes, its options (positional
 * form and single object), task descriptions and its counters. Re-exported by
 * `thread_pool.ts`.
 *
 * @example
 * ```ts
 * import type { ThreadPoolConfig } from "./thread_pool_types.ts";
 * const config: ThreadPoolConfig = { minThreads: 0, maxThreads: 2, maxQueue: 100 };
 * ```
 *
 * @module
 */
import { IoraError } from "./errors.ts";
import type { Platform } from "./platform/mod.ts";

/** Stable codes of {@linkcode ThreadPoolError}. */
export type ThreadPoolErrorCode =
  | "TaskFailed"
  | "Timeout"
  | "WorkerCrashed"
  | "QueueFull"
  | "Closed"
  | "Terminated"
  | "InvalidArgument";

/**
 * A thread pool failure. `TaskFailed`: the task threw (message and stack
 * are the worker's, the rebuilt original error is `cause`, its name is
 * `remoteName`). `Timeout`: the task ran past its timeout and its worker
 * was killed. `WorkerCrashed`: the worker died under the task.
 * `QueueFull`: the pending queue is at `maxQueue`. `Closed`: the pool is
 * closing. `Terminated`: `close()` reached its deadline before the task ran
 * or finished. `InvalidArgument`: bad options or module URL.
 *
 * @example
 * ```ts
 * import { ThreadPool, ThreadPoolError } from "./thread_pool.ts";
 * const pool = new ThreadPool(0, 1);
 * await pool.close();
 * try {
 *   await pool.enqueue(new URL("./tasks.ts", import.meta.url), "work");
 * } catch (e) {
 *   if (e instanceof ThreadPoolError) console.log(e.code); // "Closed"
 * }
 * ```
 */
export class ThreadPoolError extends IoraError {
  /** Which failure this is. */
  declare readonly code: ThreadPoolErrorCode;
  /** For `TaskFailed`: the `name` of the error thrown in the worker (e.g. `"TypeError"`). */
  readonly remoteName: string | undefined;

  /**
   * Creates a thread pool error.
   *
   * @param code the kind of failure
   * @param message human-readable description
   * @param options standard error options (`cause`) and the remote error's name
   */
  constructor(
    code: ThreadPoolErrorCode,
    message: string,
    options?: ErrorOptions & { remoteName?: string },
  ) {
    super(code, message, options);
    this.remoteName = options?.remoteName;
  }
}

/** Options of a {@linkcode ThreadPool}. */
export interface ThreadPoolOptions {
  /** Tasks waiting for a worker at most (>= 1; every task waits in the queue until a worker takes it); beyond it `enqueue` rejects with `QueueFull`. Default 10,000. */
  maxQueue?: number;
  /**
   * Most tasks in flight on one worker. Several in flight hide the message
   * round trip for tiny tasks; the pool lowers it to 2 by itself when tasks
   * take more than a millisecond, so long tasks stay evenly spread. Default 32.
   */
  concurrentTasksPerWorker?: number;
  /** A worker above `minThreads` idle this long (ms) is stopped. Default 2,000. */
  idleTimeoutMs?: number;
  /** Default per-task timeout in milliseconds (see {@linkcode TaskOptions.timeoutMs}). Default none. */
  taskTimeoutMs?: number;
  /** A name for the workers (debuggers, error messages). Default `"iora-pool"`. */
  name?: string;
  /** The runtime implementation that starts workers. Default `platform()`. */
  platform?: Platform;
}

/**
 * Everything {@linkcode ThreadPool} takes, in one object:
 * `new ThreadPool({ minThreads: 1, maxThreads: 4, maxQueue: 100 })`, the same as
 * `new ThreadPool(1, 4, { maxQueue: 100 })`.
 */
export interface ThreadPoolConfig extends ThreadPoolOptions {
  /**
   * Workers kept even when idle (>= 0).
   *
   * @default {1}
   */
  minThreads?: number;
  /**
   * Most workers (>= max(1, minThreads)).
   *
   * @default {the hardware threads, at least minThreads}
   */
  maxThreads?: number;
}

/** Per-task options of {@linkcode ThreadPool.run}. */
export interface TaskOptions {
  /** Objects to transfer (not copy) to the worker, e.g. `ArrayBuffer`s among the args. */
  transfer?: Transferable[];
  /**
   * Milliseconds the task may run in a worker. Past it the worker is
   * terminated (a stuck task cannot be stopped otherwise) and replaced, and
   * the task rejects with `Timeout`. A task with a timeout or a signal runs
   * alone on its worker, so killing it never harms another task.
   */
  timeoutMs?: number;
  /** Cancels the task: removed if still queued, its worker terminated if running. Rejects with `signal.reason`. */
  signal?: AbortSignal;
}

/** A task description for {@linkcode ThreadPool.run}. */
export interface TaskSpec extends TaskOptions {
  /** The module that exports the function: an absolute URL (`new URL("./x.ts", import.meta.url)`). */
  module: string | URL;
  /** The exported function's name. */
  name: string;
  /** Arguments, structured-cloned (or transferred) to the worker. */
  args?: unknown[];
}

/** Counters of a {@linkcode ThreadPool}. */
export interface ThreadPoolStats {
  /** Tasks accepted. */
  submitted: number;
  /** Tasks that returned a value. */
  completed: number;
  /** Tasks that threw. */
  failed: number;
  /** Tasks killed by their timeout. */
  timedOut: number;
  /** Tasks cancelled through their signal. */
  aborted: number;
  /** Tasks refused because the queue was full. */
  rejected: number;
  /** Workers that died unexpectedly. */
  workersCrashed: number;
  /** Workers started. */
  workersStarted: number;
  /** Workers stopped (idle, killed or at close). */
  workersStopped: number;
  /** Tasks waiting for a worker now. */
  queued: number;
  /** Tasks in workers now. */
  running: number;
  /** Workers alive now. */
  threads: number;
  /** Most workers alive at once. */
  peakThreads: number;
}
