// A question in flight, shared by every caller of DnsClient asking the same, and the abort
// fan-out its callers' signals go through.
import type { CachedAnswer } from "./cache.ts";
import type { DnsQuestion } from "./message.ts";
import type { PendingExchange } from "./transport.ts";

/** A question in flight, shared by every caller asking the same. */
export class Flight {
  promise!: Promise<CachedAnswer>;
  refs = 0;
  cancelled = false;
  current: PendingExchange | null = null;
  wake: (() => void) | null = null;
  sleepTimer: ReturnType<typeof setTimeout> | undefined;
  readonly key: string;
  readonly question: DnsQuestion;
  constructor(key: string, question: DnsQuestion) {
    this.key = key;
    this.question = question;
  }
  /**
   * Ends the flight when its last caller aborted: nobody awaits its promise,
   * so the exchange is abandoned (never settled) rather than rejected, and the
   * resolution's frame is left to the garbage collector.
   */
  abandon(): void {
    this.cancelled = true;
    this.current?.abandon();
    if (this.sleepTimer !== undefined) clearTimeout(this.sleepTimer);
  }
  cancel(): void {
    this.cancelled = true;
    this.current?.cancel();
    if (this.sleepTimer !== undefined) clearTimeout(this.sleepTimer);
    this.wake?.();
  }
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.sleepTimer = setTimeout(() => {
        this.sleepTimer = undefined;
        this.wake = null;
        resolve();
      }, ms);
    });
  }
}

/**
 * Abort callbacks per signal, behind one listener each: thousands of queries
 * sharing a signal would otherwise make every add and remove scan a long list.
 */
const abortWaiters = new WeakMap<AbortSignal, Set<() => void>>();

/** Calls `callback` when `signal` aborts; returns the function that forgets it. */
export function onAbort(signal: AbortSignal, callback: () => void): () => void {
  let set = abortWaiters.get(signal);
  if (!set) {
    const waiters = new Set<() => void>();
    set = waiters;
    abortWaiters.set(signal, waiters);
    const fire = (): void => {
      abortWaiters.delete(signal);
      for (const cb of waiters) cb();
      waiters.clear();
    };
    signal.addEventListener("abort", fire, { once: true });
    (waiters as Set<() => void> & { fire?: () => void }).fire = fire;
  }
  const waiters = set;
  waiters.add(callback);
  return () => {
    waiters.delete(callback);
    if (waiters.size === 0 && abortWaiters.get(signal) === waiters) {
      abortWaiters.delete(signal);
      const fire = (waiters as Set<() => void> & { fire?: () => void }).fire;
      if (fire) signal.removeEventListener("abort", fire);
    }
  };
}
