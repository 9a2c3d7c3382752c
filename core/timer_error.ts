/**
 * `TimerError`: the failures of the timer services, with a stable `code`.
 *
 * @example
 * ```ts
 * import { TimerError } from "./timer_error.ts";
 * const error = new TimerError("InvalidArgument", "delay must be a finite number >= 0");
 * console.log(error.code); // InvalidArgument
 * ```
 *
 * @module
 */
import { IoraError } from "./errors.ts";

/** Stable codes of {@linkcode TimerError}. */
export type TimerErrorCode =
  | "ResourceExhausted"
  | "InvalidArgument"
  | "ServiceStopped"
  | "HandlerException"
  | "Canceled";

/**
 * A timer failure. `code` tells which: `ResourceExhausted` (more than
 * `maxConcurrentTimers` pending), `InvalidArgument` (a delay that is negative
 * or not finite, a missing handler), `ServiceStopped` (scheduling on a
 * stopped service), `HandlerException` (reported to `errorHandler` when a
 * handler throws; the original error is `cause`), `Canceled` (a
 * `SteadyTimer` wait that was cancelled).
 *
 * @example
 * ```ts
 * import { TimerError, TimerService } from "./timer.ts";
 * const service = new TimerService({ maxConcurrentTimers: 1 });
 * service.scheduleAfter(10, () => {});
 * try {
 *   service.scheduleAfter(10, () => {});
 * } catch (e) {
 *   if (e instanceof TimerError) console.log(e.code); // "ResourceExhausted"
 * }
 * service.stop();
 * ```
 */
export class TimerError extends IoraError {
  /** Which failure this is. */
  declare readonly code: TimerErrorCode;

  /**
   * Creates a timer error.
   *
   * @param code the kind of failure
   * @param message human-readable description
   * @param options standard error options (`cause`)
   */
  constructor(code: TimerErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}
