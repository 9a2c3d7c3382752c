/**
 * The message shapes {@linkcode ThreadPool} and its worker exchange. Kept
 * apart from `thread_pool.ts` so the worker entry loads only these types.
 *
 * @module
 */

/** A task as the pool sends it: id, module URL, export name, arguments. */
export type WireTask = [id: number, moduleUrl: string, exportName: string, args: unknown[]];

/** A serialised error: what survives the trip back to the pool. */
export interface WireError {
  /** The error's `name`. */
  name: string;
  /** The error's `message`. */
  message: string;
  /** The worker-side stack, when there was one. */
  stack?: string;
  /** A string or number `code`, when the error had one. */
  code?: unknown;
}

/** A result as sent back: id, ok flag, value or error, run time in milliseconds. */
export type WireResult = [id: number, ok: boolean, value: unknown, ms: number];

/** The brand of a result that carries a transfer list (see `transferResult`). */
export const TRANSFER_BRAND = "@iora/transfer";
