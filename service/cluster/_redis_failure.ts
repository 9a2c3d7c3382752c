/**
 * The {@linkcode ClusterError}s of a `RedisConnection`: what a failure of npm
 * `@redis/client` (or a command we gave up on) means, worded once.
 *
 * @module
 */
import { ClusterError } from "./errors.ts";

/** The connection to `url` was closed (by `close()`, or the client gave up). */
export function closedError(url: string, cause?: unknown): ClusterError {
  return new ClusterError(
    "Closed",
    `the Redis connection to ${url} is closed`,
    url,
    cause === undefined ? undefined : { cause },
  );
}

/** No reply to `what` within `timeoutMs`. */
export function timeoutError(
  url: string,
  what: string,
  timeoutMs: number,
  cause?: unknown,
): ClusterError {
  return new ClusterError(
    "Timeout",
    `no reply from Redis at ${url} to ${what} within ${timeoutMs} ms`,
    url,
    cause === undefined ? undefined : { cause },
  );
}

/**
 * The typed error for what the client threw or rejected with while doing `what`: an error
 * reply is `Protocol`, its timeout `Timeout`, its closed client (or ours) `Closed`, its full
 * queue `QueueFull`, anything else `Unavailable`.
 */
export function redisFailure(
  error: unknown,
  what: string,
  url: string,
  timeoutMs: number,
  closed: boolean,
): ClusterError {
  if (error instanceof ClusterError) return error;
  const e = error as Error;
  const name = e?.constructor?.name ?? "";
  if (name === "ErrorReply" || name === "SimpleError" || name === "BlobError") {
    return new ClusterError("Protocol", `Redis at ${url} refused ${what}: ${e.message}`, url, {
      cause: error,
    });
  }
  if (name.includes("Timeout")) return timeoutError(url, what, timeoutMs, error);
  if (closed || name === "ClientClosedError") return closedError(url, error);
  if (/queue is full/i.test(e?.message ?? "")) {
    return new ClusterError("QueueFull", `too many commands wait for Redis at ${url}`, url, {
      cause: error,
    });
  }
  return new ClusterError(
    "Unavailable",
    `Redis at ${url} is unavailable (${what}): ${e?.message ?? error}`,
    url,
    { cause: error },
  );
}
