/**
 * The shapes of {@linkcode RedisConnection}'s options, replies, counters and
 * listeners (`connection.ts` exports them all).
 *
 * @example
 * ```ts
 * import type { RedisConnectionOptions } from "./connection_types.ts";
 * const options: RedisConnectionOptions = { url: "redis://127.0.0.1:6379", maxPending: 1000 };
 * console.log(options.maxPending);
 * ```
 *
 * @module
 */
import type { ClusterError } from "./errors.ts";

/** A Redis reply, as RESP2 gives it: bulk/simple strings, integers, nil and arrays. */
export type RedisReply = string | number | null | RedisReply[];

/**
 * What {@linkcode RedisConnection.send} calls with a command's outcome, once: a
 * {@linkcode ClusterError} (`reply` undefined), or no error and the reply.
 */
export type RedisReplyCallback = (error: ClusterError | undefined, reply?: RedisReply) => void;

/** Where the connection is. */
export type RedisStatus = "connecting" | "ready" | "reconnecting" | "closed";

/**
 * Which of a {@linkcode RedisConnection}'s sockets a status change concerns: the command
 * socket, the subscriber (opened by the first `subscribe`) or the one receiving key
 * invalidations (opened by the first `track`).
 */
export type RedisSocketRole = "command" | "subscriber" | "invalidations";

/** Options of {@linkcode RedisConnection.connect}. */
export interface RedisConnectionOptions {
  /** `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS. */
  url: string;
  /**
   * Longest wait for the first connection; a refusal fails at once.
   * @default {5000}
   */
  connectTimeoutMs?: number;
  /**
   * Longest wait for a command's reply, time spent queued while Redis is away included.
   * @default {5000}
   */
  commandTimeoutMs?: number;
  /**
   * The most commands waiting for a reply (queued while Redis is away included); beyond it a
   * command fails at once with `QueueFull`, so an outage cannot grow memory without bound.
   * @default {10000}
   */
  maxPending?: number;
  /**
   * First reconnect delay; it doubles on every failed attempt up to `reconnectMaxMs`, with
   * up to 25 % random jitter so that many instances do not reconnect in step.
   * @default {50}
   */
  reconnectMinMs?: number;
  /**
   * Longest reconnect delay.
   * @default {2000}
   */
  reconnectMaxMs?: number;
  /** The name shown by `CLIENT LIST` (the subscriber connection gets `:sub`). */
  clientName?: string;
}

/** Counters of a {@linkcode RedisConnection}. */
export interface RedisConnectionStats {
  /** Commands sent. */
  commands: number;
  /** Commands that failed (error replies, timeouts, lost connection, queue full). */
  commandErrors: number;
  /** Commands refused because `maxPending` were waiting. */
  rejectedQueueFull: number;
  /** Times a socket was lost. */
  disconnects: number;
  /** Times a lost socket was re-established. */
  reconnects: number;
  /** Commands waiting for a reply now. */
  pending: number;
  /** The command socket's status now. */
  status: RedisStatus;
}

/** A Lua script run with `EVALSHA`, loaded again when Redis has forgotten it (after a restart). */
export interface RedisScript {
  /** The Lua source. */
  readonly source: string;
}

/** The listener of {@linkcode RedisConnection.subscribe}. */
export type RedisMessageListener = (message: string, channel: string) => void;

/** What {@linkcode RedisConnection.track} reports to. */
export interface RedisTrackingListener {
  /**
   * A key under the tracked prefix was changed, removed or expired in Redis by anyone but
   * this connection's command socket (`NOLOOP`); `null`: any key may have changed (a
   * `FLUSHDB`/`FLUSHALL`).
   */
  invalidated(key: string | null): void;
  /**
   * Tracking was set up again after a socket was lost: invalidations sent meanwhile were
   * missed, so what was read before must be read again.
   */
  resync(): void;
}

/** The listener of {@linkcode RedisConnection.onStatus}. */
export type RedisStatusListener = (status: RedisStatus, role: RedisSocketRole) => void;
