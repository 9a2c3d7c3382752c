/**
 * {@linkcode WritesInFlight}: the write commands a `RedisStateStore` has sent
 * and Redis has not answered yet, and who waits for them.
 *
 * @module
 */
import type { ClusterError } from "./errors.ts";

/** Who waits for the commands sent so far (`upTo`) to be answered. */
interface Waiter {
  upTo: number;
  // A flush reports the first failure since the last flush; a reload does not take it.
  takesFailure: boolean;
  resolve(): void;
  reject(error: ClusterError): void;
}

/**
 * Write commands on their way to Redis, numbered in the order sent, the first failure
 * since the last flush, and the promises waiting for the commands sent before them. A
 * command may be answered before older ones (it timed out), so a waiter is settled once
 * every command sent before it is answered; it is settled by the answer itself, with no
 * promise chain between the reply and the one waiting.
 */
export class WritesInFlight {
  // Numbers of the commands not answered yet, oldest first, and how many were sent.
  #open = new Set<number>();
  #sent = 0;
  // Oldest first.
  #waiters: Waiter[] = [];
  #failure: ClusterError | undefined;

  /** True when no command is on its way. */
  get idle(): boolean {
    return this.#open.size === 0;
  }

  /** Numbers a command about to be sent; give the number to {@linkcode answered}. */
  sending(): number {
    const id = ++this.#sent;
    this.#open.add(id);
    return id;
  }

  /** Command `id` was answered; `failure`, when the first since the last flush, is kept. */
  answered(id: number, failure?: ClusterError): void {
    this.#open.delete(id);
    if (failure !== undefined) this.#failure ??= failure;
    if (this.#waiters.length > 0) this.#release();
  }

  /**
   * Resolves once every command sent so far is answered (later ones are not waited for);
   * with `takesFailure` (a flush) rejects instead with the failure kept since the last flush.
   */
  wait(takesFailure: boolean): Promise<void> {
    if (this.#open.size === 0) {
      const failure = takesFailure ? this.#takeFailure() : undefined;
      return failure ? Promise.reject(failure) : Promise.resolve();
    }
    return new Promise<void>((resolve, reject) =>
      this.#waiters.push({ upTo: this.#sent, takesFailure, resolve, reject })
    );
  }

  #takeFailure(): ClusterError | undefined {
    const failure = this.#failure;
    this.#failure = undefined;
    return failure;
  }

  /** Settles the waiters whose commands are all answered, oldest first. */
  #release(): void {
    const oldest = this.#open.size === 0 ? Infinity : this.#open.values().next().value!;
    let n = 0;
    while (n < this.#waiters.length && this.#waiters[n].upTo < oldest) n++;
    if (n === 0) return;
    const released = n === this.#waiters.length ? this.#waiters : this.#waiters.slice(0, n);
    this.#waiters = n === this.#waiters.length ? [] : this.#waiters.slice(n);
    for (const waiter of released) {
      const failure = waiter.takesFailure ? this.#takeFailure() : undefined;
      if (failure) waiter.reject(failure);
      else waiter.resolve();
    }
  }
}
