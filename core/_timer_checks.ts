/**
 * What the timer classes share privately: argument checks and the listeners a stopping
 * `TimerService` tells (the waits of its `SteadyTimer`s).
 *
 * @module
 */
import { asRangeError, asTypeError } from "./errors.ts";
import { TimerError } from "./timer_error.ts";

/**
 * Listeners told when a service stops, so SteadyTimer waits settle instead of hanging (keyed by
 * the `TimerService`).
 */
export const stopListeners: WeakMap<object, Set<() => void>> = new WeakMap();

/**
 * Throws `InvalidArgument` unless `value` is a finite number >= 0: a `TypeError` for a value that
 * is not a number, a `RangeError` for one out of range.
 */
export function checkDelay(value: number, what: string): void {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    const error = new TimerError(
      "InvalidArgument",
      `${what} must be a finite number >= 0, got ${value}`,
    );
    throw typeof value === "number" ? asRangeError(error) : asTypeError(error);
  }
}

/** Throws `InvalidArgument` (a `TypeError`) unless `handler` is a function. */
export function checkHandler(handler: unknown): void {
  if (typeof handler !== "function") {
    throw asTypeError(new TimerError("InvalidArgument", "handler must be a function"));
  }
}
