/**
 * What the timer classes share privately: argument checks and the listeners a stopping
 * `TimerService` tells (the waits of its `SteadyTimer`s).
 *
 * @module
 */
import { TimerError } from "./timer_error.ts";

/**
 * Listeners told when a service stops, so SteadyTimer waits settle instead of hanging (keyed by
 * the `TimerService`).
 */
export const stopListeners: WeakMap<object, Set<() => void>> = new WeakMap();

/** Throws `InvalidArgument` unless `value` is a finite number >= 0. */
export function checkDelay(value: number, what: string): void {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new TimerError("InvalidArgument", `${what} must be a finite number >= 0, got ${value}`);
  }
}

/** Throws `InvalidArgument` unless `handler` is a function. */
export function checkHandler(handler: unknown): void {
  if (typeof handler !== "function") {
    throw new TimerError("InvalidArgument", "handler must be a function");
  }
}
