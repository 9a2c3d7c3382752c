/**
 * `TimerServicePool`: timers spread over several `TimerService`s.
 *
 * @example
 * ```ts
 * import { TimerServicePool } from "./timer_service_pool.ts";
 * using pool = new TimerServicePool(2);
 * pool.getService().scheduleAfter(10, () => {});
 * ```
 *
 * @module
 */
import { asRangeError } from "./errors.ts";
import { TimerError } from "./timer_error.ts";
import { TimerService, type TimerServiceConfig, type TimerStats } from "./timer_service.ts";

/**
 * Several {@linkcode TimerService}s handed out round-robin or by load. In
 * JavaScript they all run on the one event loop, so the pool spreads
 * bookkeeping (smaller heaps, separate limits and statistics), not CPU.
 *
 * @example
 * ```ts
 * import { TimerServicePool } from "./timer_service_pool.ts";
 * const pool = new TimerServicePool(4, { enableStatistics: true });
 * pool.start();
 * pool.getService().scheduleAfter(10, () => {});
 * console.log(pool.getServiceLoads(), pool.getAggregateStats().timersScheduled);
 * pool.stop();
 * ```
 */
export class TimerServicePool implements Disposable {
  readonly #services: TimerService[];
  #next = 0;

  /**
   * Creates `size` started services.
   *
   * @param size number of services, >= 1
   * @param config the configuration of each service (each gets `name-i`)
   */
  constructor(size: number, config: TimerServiceConfig = {}) {
    if (!Number.isInteger(size) || size < 1) {
      throw asRangeError(
        new TimerError("InvalidArgument", `pool size must be an integer >= 1, got ${size}`),
      );
    }
    const base = config.name ?? "TimerService";
    this.#services = Array.from(
      { length: size },
      (_, i) => new TimerService({ ...config, name: `${base}-${i}` }),
    );
  }

  /** Number of services. */
  get size(): number {
    return this.#services.length;
  }

  /**
   * The next service round-robin, or the one at `index`.
   *
   * @throws {TimerError} `InvalidArgument` for an index out of range
   */
  getService(index?: number): TimerService {
    if (index === undefined) {
      const service = this.#services[this.#next];
      this.#next = (this.#next + 1) % this.#services.length;
      return service;
    }
    const service = Number.isInteger(index) ? this.#services[index] : undefined;
    if (service === undefined) {
      throw asRangeError(
        new TimerError(
          "InvalidArgument",
          `service index ${index} out of range 0..${this.#services.length - 1}`,
        ),
      );
    }
    return service;
  }

  /** The service with the fewest pending timers (the first of equals). */
  getLeastLoadedService(): TimerService {
    let best = this.#services[0];
    for (const service of this.#services) if (service.pending < best.pending) best = service;
    return best;
  }

  /** Pending timers of each service, by index. */
  getServiceLoads(): number[] {
    return this.#services.map((service) => service.pending);
  }

  /** The services' counters summed (max of maxima, average recomputed, earliest start). */
  getAggregateStats(): TimerStats {
    const all = this.#services.map((service) => service.getStats());
    const total = all.reduce((a, s) => ({
      timersScheduled: a.timersScheduled + s.timersScheduled,
      timersCanceled: a.timersCanceled + s.timersCanceled,
      timersExecuted: a.timersExecuted + s.timersExecuted,
      periodicTimersActive: a.periodicTimersActive + s.periodicTimersActive,
      timersPending: a.timersPending + s.timersPending,
      exceptionsSwallowed: a.exceptionsSwallowed + s.exceptionsSwallowed,
      heapOperations: a.heapOperations + s.heapOperations,
      runtimeTimerFires: a.runtimeTimerFires + s.runtimeTimerFires,
      totalHandlerExecutionTimeNs: a.totalHandlerExecutionTimeNs + s.totalHandlerExecutionTimeNs,
      maxHandlerExecutionTimeNs: Math.max(a.maxHandlerExecutionTimeNs, s.maxHandlerExecutionTimeNs),
      avgHandlerExecutionTimeNs: 0,
      startTime: Math.min(a.startTime, s.startTime),
    }));
    total.avgHandlerExecutionTimeNs = total.timersExecuted > 0
      ? Math.round(total.totalHandlerExecutionTimeNs / total.timersExecuted)
      : 0;
    return total;
  }

  /** Zeroes every service's counters. */
  resetStats(): void {
    for (const service of this.#services) service.resetStats();
  }

  /** Starts every service. */
  start(): void {
    for (const service of this.#services) service.start();
  }

  /** Stops every service, cancelling all their timers. */
  stop(): void {
    for (const service of this.#services) service.stop();
  }

  /** Same as {@linkcode stop}. */
  [Symbol.dispose](): void {
    this.stop();
  }
}
