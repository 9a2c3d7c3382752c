/**
 * The error every cluster backend throws: {@linkcode ClusterError}, with a
 * stable `code` and the Redis URL it concerns (password removed).
 *
 * @example
 * ```ts
 * import { ClusterError } from "./errors.ts";
 * try {
 *   throw new ClusterError("Unavailable", "cannot reach Redis", "redis://127.0.0.1:6379");
 * } catch (e) {
 *   if (e instanceof ClusterError && e.code === "Unavailable") console.log(e.url);
 * }
 * ```
 *
 * @module
 */
import { IoraError } from "../../core/errors.ts";

/**
 * Stable codes of {@linkcode ClusterError}:
 * - `Unavailable`: Redis cannot be reached (at start, or a command failed for want of a connection);
 * - `Timeout`: a command got no answer in time;
 * - `QueueFull`: too many operations wait for Redis (the bound protects memory while it is away);
 * - `WriteFailed`: a state write that was applied locally did not reach Redis;
 * - `Closed`: the backend was stopped;
 * - `InvalidArgument`: bad input or options;
 * - `StaleToken`: a lock operation with a fencing token that no longer holds the lease;
 * - `Protocol`: Redis answered something the backend cannot understand, or an error reply.
 */
export type ClusterErrorCode =
  | "Unavailable"
  | "Timeout"
  | "QueueFull"
  | "WriteFailed"
  | "Closed"
  | "InvalidArgument"
  | "StaleToken"
  | "Protocol";

/**
 * A cluster backend failure.
 *
 * @example
 * ```ts
 * import { ClusterError } from "./errors.ts";
 * const e = new ClusterError("QueueFull", "10000 writes wait for Redis");
 * console.log(e.code, e.url); // "QueueFull" undefined
 * ```
 */
export class ClusterError extends IoraError {
  /** What went wrong. */
  declare readonly code: ClusterErrorCode;
  /** The Redis URL concerned (without its password), when there is one. */
  readonly url: string | undefined;

  /**
   * Creates a cluster error.
   *
   * @param code what went wrong
   * @param message a description naming the URL, key or topic
   * @param url the Redis URL concerned (pass it through {@linkcode redactUrl})
   * @param options standard error options (`cause`)
   */
  constructor(code: ClusterErrorCode, message: string, url?: string, options?: ErrorOptions) {
    super(code, message, options);
    this.url = url;
  }
}

/**
 * The URL with its password replaced by `***`, for messages and logs.
 *
 * @example
 * ```ts
 * import { redactUrl } from "./errors.ts";
 * console.log(redactUrl("redis://app:secret@cache:6379/2")); // "redis://app:***@cache:6379/2"
 * ```
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.href.replace(/\/$/, "");
  } catch {
    return url.replace(/:[^:@/]*@/, ":***@");
  }
}
