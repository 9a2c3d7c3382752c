/**
 * `SteadyTimer`: the ASIO-style single-deadline timer on a `TimerService`.
 *
 * @example
 * ```ts
 * import { SteadyTimer } from "./steady_timer.ts";
 * import { TimerService } from "./timer_service.ts";
 * using service = new TimerService();
 * const timer = new SteadyTimer(service);
 * timer.expiresAfter(10);
 * await timer.wait();
 * ```
 *
 * @module
 */
import { TimerError } from "./timer_error.ts";
import type { TimerId, TimerService } from "./timer_service.ts";
import { checkDelay, checkHandler, stopListeners } from "./_timer_checks.ts";

interface Wait {
  id: TimerId;
  handler: (error: TimerError | null) => void;
}

/**
 * An ASIO-style timer with one expiry and any number of waits on it,
 * backed by a {@linkcode TimerService}. Setting a new expiry cancels the
 * outstanding waits (their handlers get a `Canceled` error), as in ASIO.
 * A new timer is already expired.
 *
 * @example
 * ```ts
 * import { SteadyTimer } from "./steady_timer.ts";
 * import { TimerService } from "./timer_service.ts";
 * using service = new TimerService();
 * const timer = new SteadyTimer(service);
 * timer.expiresAfter(20);
 * timer.asyncWait((error) => console.log(error ? "canceled" : "expired"));
 * await timer.wait();
 * ```
 */
export class SteadyTimer implements Disposable {
  readonly #service: TimerService;
  #expiry: number;
  readonly #waits = new Set<Wait>();
  readonly #onStop = (): void => {
    this.#abortAll("timer service stopped");
  };

  /**
   * Creates a timer that is already expired.
   *
   * @param service the service that runs this timer's waits
   */
  constructor(service: TimerService) {
    this.#service = service;
    this.#expiry = service.now();
  }

  /**
   * Sets the expiry `duration` milliseconds from now.
   *
   * @returns the number of waits cancelled by the change
   */
  expiresAfter(duration: number): number {
    checkDelay(duration, "duration");
    const canceled = this.cancel();
    this.#expiry = this.#service.now() + duration;
    return canceled;
  }

  /**
   * Sets the expiry to `time` on the service's clock, or a wall-clock `Date`.
   *
   * @returns the number of waits cancelled by the change
   */
  expiresAt(time: number | Date): number {
    const expiry = time instanceof Date
      ? this.#service.now() + (time.getTime() - Date.now())
      : time;
    if (!Number.isFinite(expiry)) {
      throw new TimerError("InvalidArgument", "time must be a finite number or a valid Date");
    }
    const canceled = this.cancel();
    this.#expiry = expiry;
    return canceled;
  }

  /** The expiry on the service's clock (milliseconds). */
  expiry(): number {
    return this.#expiry;
  }

  /**
   * Calls `handler(null)` at the expiry (soon, if already past), or
   * `handler(error)` with a `Canceled` {@linkcode TimerError} if the wait is
   * cancelled first.
   *
   * @throws {TimerError} `ResourceExhausted` or `ServiceStopped` from the service
   */
  asyncWait(handler: (error: TimerError | null) => void): void {
    checkHandler(handler);
    const wait: Wait = { id: 0, handler };
    wait.id = this.#service.scheduleAt(this.#expiry, () => {
      this.#remove(wait);
      handler(null);
    });
    this.#add(wait);
  }

  /**
   * Resolves at the expiry. Rejects with a `Canceled` {@linkcode TimerError}
   * when the wait is cancelled, and with `signal.reason` when `signal` aborts.
   */
  wait(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        if (!this.#waits.has(wait)) return;
        this.#service.cancel(wait.id);
        this.#remove(wait);
        reject(signal!.reason);
      };
      const wait: Wait = {
        id: 0,
        handler: (error) => {
          signal?.removeEventListener("abort", onAbort);
          if (error) reject(error);
          else resolve();
        },
      };
      wait.id = this.#service.scheduleAt(this.#expiry, () => {
        this.#remove(wait);
        wait.handler(null);
      });
      this.#add(wait);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /**
   * Cancels every outstanding wait; their handlers get a `Canceled` error.
   *
   * @returns the number of waits cancelled
   */
  cancel(): number {
    return this.#abortAll("timer wait canceled");
  }

  /** Milliseconds until the expiry, 0 once expired. */
  timeRemaining(): number {
    return Math.max(0, this.#expiry - this.#service.now());
  }

  /** True once the expiry has passed. */
  hasExpired(): boolean {
    return this.#service.now() >= this.#expiry;
  }

  /** Same as {@linkcode cancel}. */
  [Symbol.dispose](): void {
    this.cancel();
  }

  #add(wait: Wait): void {
    if (this.#waits.size === 0) {
      let listeners = stopListeners.get(this.#service);
      if (!listeners) stopListeners.set(this.#service, listeners = new Set());
      listeners.add(this.#onStop);
    }
    this.#waits.add(wait);
  }

  #remove(wait: Wait): void {
    this.#waits.delete(wait);
    if (this.#waits.size === 0) stopListeners.get(this.#service)?.delete(this.#onStop);
  }

  #abortAll(message: string): number {
    const waits = [...this.#waits];
    for (const wait of waits) {
      this.#service.cancel(wait.id);
      this.#remove(wait);
      // ASIO delivers the abort asynchronously, never inside cancel().
      queueMicrotask(() => {
        try {
          wait.handler(new TimerError("Canceled", message));
        } catch {
          // The wait's owner threw on cancellation; nobody else may see it.
        }
      });
    }
    return waits.length;
  }
}
