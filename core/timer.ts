/**
 * Timers: {@linkcode TimerService} drives any number of timers from ONE
 * runtime timer re-armed to the earliest deadline, so a million pending
 * timers cost a million small heap entries, not a million runtime timers.
 * {@linkcode SteadyTimer} is the ASIO-style single-deadline facade and
 * {@linkcode TimerServicePool} spreads timers over several services. Each
 * class has a module of its own; this one gathers them.
 *
 * @example
 * ```ts
 * import { SteadyTimer, TimerService } from "./timer.ts";
 * using service = new TimerService();
 * service.scheduleAfter(10, () => console.log("fired"));
 * const timer = new SteadyTimer(service);
 * timer.expiresAfter(20);
 * await timer.wait();
 * ```
 *
 * @module
 */
export { TimerError, type TimerErrorCode } from "./timer_error.ts";
export {
  type TimerErrorHandler,
  type TimerHandler,
  type TimerId,
  TimerService,
  type TimerServiceConfig,
  type TimerStats,
} from "./timer_service.ts";
export { SteadyTimer } from "./steady_timer.ts";
export { TimerServicePool } from "./timer_service_pool.ts";
