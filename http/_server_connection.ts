// One client connection of the HTTP server: what the server keeps per connection, and which of
// its deadlines a sweep finds passed.
import type { Span } from "../core/tracing_api.ts";
import type { HttpRequestParser } from "./message.ts";
import type { RouteRecorder } from "./_route_metrics.ts";

/** After a refused request, input is dropped until the client is quiet this long... */
const LINGER_QUIET_MS = 2_000;
/** ...or for this long at most. */
const LINGER_MAX_MS = 10_000;

/** The server's state of one connection. */
export interface Conn {
  sid: number;
  remote: string;
  parser: HttpRequestParser;
  busy: boolean;
  closing: boolean;
  requests: number;
  /** When the current request's first byte arrived, or -1 while idle. */
  requestStart: number;
  /** True once the current request's head is complete. */
  headDone: boolean;
  lastActivity: number;
  continueSent: boolean;
  /** When the request being handled began (valid while busy). */
  busySince: number;
  /** Cancels the body being streamed on this connection, once it closes; else null. */
  cancelStream: (() => void) | null;
  /** When the connection began discarding input after a refused request, or -1. */
  lingerSince: number;
  /** Request bytes this connection holds (counted in the server's `bufferedBytes`). */
  held: number;
  /** The metrics of the route answering the current request, when metrics are on. */
  recorder: RouteRecorder | null;
  /** The turn clock at the current request's dispatch (read only with metrics on). */
  dispatchedAt: number;
  /** The span of the current request, when tracing is on. */
  span: Span | null;
  /** The client ended its side: answer what it sent, then close. */
  peerEnded: boolean;
  /** A streamed body is being written. */
  streaming: boolean;
}

/**
 * A connection just accepted, its first request expected from `now`.
 *
 * @param sid the transport's session id
 * @param remote the peer's address
 * @param parser the connection's request parser
 * @param now the accept time
 * @returns the connection's state
 */
export function newConn(sid: number, remote: string, parser: HttpRequestParser, now: number): Conn {
  return {
    sid,
    remote,
    parser,
    busy: false,
    closing: false,
    requests: 0,
    requestStart: now,
    headDone: false,
    lastActivity: now,
    continueSent: false,
    busySince: now,
    cancelStream: null,
    lingerSince: -1,
    held: 0,
    recorder: null,
    dispatchedAt: 0,
    span: null,
    peerEnded: false,
    streaming: false,
  };
}

/** The server's timeouts, in milliseconds. */
export interface ConnDeadlines {
  /** For a request's head to arrive. */
  headerTimeout: number;
  /** For a keep-alive connection to stay idle. */
  idleTimeout: number;
  /** For a whole request, body and handler included. */
  requestTimeout: number;
}

/**
 * What a sweep does to a connection: nothing (null); `"close"` it (a lingering close is done);
 * close it as timed out (`"timeout"`: idle too long, or its handler overran the request
 * deadline); or answer 408 and close (`"408"`: its request came too slowly).
 */
export type Overdue = null | "close" | "timeout" | "408";

/**
 * Which deadline of `conn` has passed at `now`.
 *
 * @param conn the connection (not closing)
 * @param now the sweep's time, already lowered by the age a stamp may have
 * @param limits the server's timeouts
 * @returns what to do with it
 */
export function overdue(conn: Conn, now: number, limits: ConnDeadlines): Overdue {
  if (conn.lingerSince >= 0) {
    // Done once the client is quiet for a moment, and in any case after a few seconds.
    const quiet = now - conn.lastActivity > Math.min(LINGER_QUIET_MS, limits.idleTimeout);
    const over = now - conn.lingerSince > Math.min(LINGER_MAX_MS, limits.requestTimeout);
    return quiet || over ? "close" : null;
  }
  if (conn.busy) {
    // A handler still running past the request deadline: give up on the connection.
    return now - conn.busySince > limits.requestTimeout ? "timeout" : null;
  }
  if (conn.requestStart < 0) return now - conn.lastActivity > limits.idleTimeout ? "timeout" : null;
  const age = now - conn.requestStart;
  return (!conn.headDone && age > limits.headerTimeout) || age > limits.requestTimeout
    ? "408"
    : null;
}
