/**
 * {@linkcode DnsQuery}: a cancellable, awaitable query, what the `...Async` forms of
 * `DnsClient` return, and their callback type. Re-exported by `client.ts`.
 *
 * @module
 */
import { DnsResolverError } from "./errors.ts";

/**
 * A query in flight that can be cancelled (the seed's cancellable future).
 * It is also a thenable, so it can be awaited directly.
 *
 * @example
 * ```ts
 * import { DnsClient } from "./client.ts";
 * const client = new DnsClient({ servers: ["127.0.0.1:5353"] });
 * const q = client.resolveAAsync("slow.example.test");
 * q.cancel();
 * console.log(q.isCancelled(), q.isCompleted()); // true true
 * q.promise.catch(() => {}).finally(() => client.close());
 * ```
 */
export class DnsQuery<T> implements PromiseLike<T> {
  /** Settles with the result or a `DnsResolverError`. */
  readonly promise: Promise<T>;
  #controller = new AbortController();
  #completed = false;
  #cancelled = false;

  /**
   * Starts `run` with a signal that {@linkcode DnsQuery.cancel} aborts.
   *
   * @param run the resolution
   * @param callback called once with `(error, result)` when it settles
   */
  constructor(
    run: (signal: AbortSignal) => Promise<T>,
    callback?: (error: DnsResolverError | null, result: T | null) => void,
  ) {
    this.promise = run(this.#controller.signal).then(
      (v) => {
        this.#completed = true;
        return v;
      },
      (e) => {
        this.#completed = true;
        throw e;
      },
    );
    if (callback) {
      this.promise.then(
        (v) => callback(null, v),
        (e) =>
          callback(
            e instanceof DnsResolverError
              ? e
              : new DnsResolverError("NetworkError", String(e), undefined, undefined, { cause: e }),
            null,
          ),
      );
    } else {
      // Unobserved cancellations must not surface as unhandled rejections.
      this.promise.catch(() => {});
    }
  }

  /**
   * Cancels the query; true when it was still running (it then rejects with `Cancelled`).
   *
   * @example
   * ```ts
   * import { DnsQuery } from "./client.ts";
   * const q = new DnsQuery((signal) => new Promise((_, reject) => signal.onabort = () => reject(signal.reason)));
   * console.log(q.cancel()); // true
   * ```
   */
  cancel(): boolean {
    if (this.#completed || this.#cancelled) return false;
    this.#cancelled = true;
    this.#controller.abort();
    return true;
  }

  /**
   * True once {@linkcode DnsQuery.cancel} succeeded.
   *
   * @example
   * ```ts
   * import { DnsQuery } from "./client.ts";
   * console.log(new DnsQuery(() => Promise.resolve(1)).isCancelled()); // false
   * ```
   */
  isCancelled(): boolean {
    return this.#cancelled;
  }

  /**
   * True once the query settled, or was cancelled.
   *
   * @example
   * ```ts
   * import { DnsQuery } from "./client.ts";
   * console.log(new DnsQuery(() => new Promise(() => {})).isCompleted()); // false
   * ```
   */
  isCompleted(): boolean {
    return this.#completed || this.#cancelled;
  }

  /**
   * Promise interoperability: `await query` waits for the result.
   *
   * @example
   * ```ts
   * import { DnsQuery } from "./client.ts";
   * const n = await new DnsQuery(() => Promise.resolve(2));
   * ```
   */
  then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.promise.then(onfulfilled, onrejected);
  }
}

/**
 * The callback of the `...Async` forms: `(error, result)`, exactly one non-null.
 *
 * @example
 * ```ts
 * import type { DnsCallback } from "./client.ts";
 * const cb: DnsCallback<string[]> = (error, addresses) => console.log(error?.code ?? addresses);
 * ```
 */
export type DnsCallback<T> = (error: DnsResolverError | null, result: T | null) => void;
