/**
 * What {@linkcode DnsTransport} takes and gives: its options, the options of one exchange,
 * the pending exchange it returns and its counters. Re-exported by `transport.ts`.
 *
 * @example
 * ```ts
 * import type { DnsTransportOptions } from "./transport.ts";
 * const o: DnsTransportOptions = { socketCount: 2 };
 * ```
 *
 * @module
 */
import type { RuntimeName } from "../core/platform/types.ts";
import type { DnsMessage } from "./message.ts";

/**
 * Options of {@linkcode DnsTransport}.
 *
 * @example
 * ```ts
 * import type { DnsTransportOptions } from "./transport.ts";
 * const o: DnsTransportOptions = { socketCount: 4, maxUdpSize: 1232 };
 * ```
 */
export interface DnsTransportOptions {
  /** UDP sockets per address family (default 4). */
  socketCount?: number;
  /** EDNS0 payload size advertised, and the largest UDP reply read (default 1232; 512 disables EDNS0). */
  maxUdpSize?: number;
  /** Set RD in queries (default true). */
  recursionDesired?: boolean;
  /** Time allowed for a TCP connect (default 5000 ms). */
  tcpTimeoutMs?: number;
  /** An idle TCP connection closes after this (default 5000 ms). */
  tcpIdleMs?: number;
  /** UDP sockets close after this long without a query in flight (default 2000 ms); they reopen on demand. */
  udpIdleMs?: number;
  /** The socket adapter: `"deno"` or `"node"` (default: the current runtime's). */
  runtime?: RuntimeName;
}

/**
 * Options of one {@linkcode DnsTransport.exchange}.
 *
 * @example
 * ```ts
 * import type { ExchangeOptions } from "./transport.ts";
 * const o: ExchangeOptions = { timeoutMs: 2000, tcp: false };
 * ```
 */
export interface ExchangeOptions {
  /** Time allowed for the answer, including a TCP fallback. */
  timeoutMs: number;
  /** Use TCP from the start. */
  tcp?: boolean;
  /** Never fall back to TCP on a truncated answer (return it as is). */
  noTcpFallback?: boolean;
}

/**
 * A query in flight: its promise and a way to cancel it.
 *
 * @example
 * ```ts
 * import type { PendingExchange } from "./transport.ts";
 * function stop(p: PendingExchange): void {
 *   p.cancel();
 * }
 * ```
 */
export interface PendingExchange {
  /** Resolves with the reply, rejects with a `DnsResolverError`. */
  readonly promise: Promise<DnsMessage>;
  /** Rejects the promise with `Cancelled` and frees the id; a no-op once settled. */
  cancel(): void;
  /**
   * Frees the id and drops any reply without settling the promise: for a
   * caller that stopped listening, so nothing runs on its behalf.
   */
  abandon(): void;
}

/**
 * Counters of {@linkcode DnsTransport}.
 *
 * @example
 * ```ts
 * import type { DnsTransportStats } from "./transport.ts";
 * const s: Partial<DnsTransportStats> = { packetsSent: 0 };
 * ```
 */
export interface DnsTransportStats {
  /** UDP datagrams sent. */
  packetsSent: number;
  /** Queries sent over TCP. */
  tcpQueries: number;
  /** Truncated UDP answers retried over TCP. */
  tcpFallbacks: number;
  /** Replies dropped for a wrong id, source, socket or question. */
  spoofedDropped: number;
  /** Replies dropped because they could not be decoded. */
  malformedDropped: number;
  /** TCP connections opened. */
  tcpConnections: number;
}
