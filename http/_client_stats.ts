// HttpClient's counters: its own (requests, responses by status class,
// retries, redirects, timeouts, errors by code) beside the connection
// counters its pool keeps.
import type { HttpClientError } from "./client_error.ts";
import type { HttpClientStats } from "./client_types.ts";
import type { PoolStats } from "./_connection_pool.ts";
import { noResponses } from "./status_class.ts";

/** Counters at zero. */
export function zeroStats(): HttpClientStats {
  return {
    requests: 0,
    responses: noResponses(),
    connectionsOpened: 0,
    connectionsReused: 0,
    connectionsClosed: 0,
    retries: 0,
    redirects: 0,
    timeouts: 0,
    errors: {},
  };
}

/** A copy of `stats` with the connection counters of `pool`. */
export function statsSnapshot(stats: HttpClientStats, pool: PoolStats): HttpClientStats {
  return {
    ...stats,
    responses: { ...stats.responses },
    errors: { ...stats.errors },
    connectionsOpened: pool.connectionsOpened,
    connectionsReused: pool.connectionsReused,
    connectionsClosed: pool.connectionsClosed,
  };
}

/** The pool's counters at zero, but the connections open now. */
export function zeroPoolStats(pool: PoolStats): PoolStats {
  return {
    connectionsOpened: 0,
    connectionsReused: 0,
    connectionsClosed: 0,
    connectionsOpen: pool.connectionsOpen,
  };
}

/** Counts a failed request: by its code, and as a timeout when it is one. */
export function countFailure(stats: HttpClientStats, failure: HttpClientError): void {
  stats.errors[failure.code] = (stats.errors[failure.code] ?? 0) + 1;
  if (failure.code.endsWith("Timeout")) stats.timeouts++;
}
