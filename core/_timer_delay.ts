/**
 * The longest delay the runtimes' timers honour. Deno and Node run a setTimeout or setInterval
 * with a longer delay after 1 ms, so every timer in core goes through {@linkcode timerDelay}.
 *
 * @module
 */

/** The longest delay a runtime's setTimeout honours: 2^31-1 ms, about 24.8 days. */
export const MAX_TIMER_DELAY: number = 2 ** 31 - 1;

/** `ms` capped at {@linkcode MAX_TIMER_DELAY}: a capped timer fires early, never at once. */
export function timerDelay(ms: number): number {
  return Math.min(ms, MAX_TIMER_DELAY);
}
