// The DnsClient's own counters, shared by the parts of a resolution that count (the cache and
// in-flight sharing, the attempts over the servers) and reset in place; getStats adds the
// transport's to them. Private to dns/.
import type { DnsClientStats } from "./client_types.ts";
import type { DnsTransportStats } from "./transport_types.ts";

/** What the client itself counts. */
export interface ClientCounters {
  totalQueries: number;
  cacheHits: number;
  cacheMisses: number;
  timeouts: number;
  errors: number;
  retries: number;
  deduplicated: number;
}

/** Fresh counters. */
export function zeroCounters(): ClientCounters {
  return {
    totalQueries: 0,
    cacheHits: 0,
    cacheMisses: 0,
    timeouts: 0,
    errors: 0,
    retries: 0,
    deduplicated: 0,
  };
}

/** The client's stats: its counters, the hit ratio and the transport's counters. */
export function clientStats(s: ClientCounters, t: DnsTransportStats): DnsClientStats {
  const looked = s.cacheHits + s.cacheMisses;
  const ratio = looked === 0 ? 0 : s.cacheHits / looked;
  return {
    ...s,
    hitRatio: ratio,
    cacheHitRatio: ratio,
    tcpFallbacks: t.tcpFallbacks,
    spoofedDropped: t.spoofedDropped,
    malformedDropped: t.malformedDropped,
    packetsSent: t.packetsSent,
    tcpQueries: t.tcpQueries,
    tcpConnections: t.tcpConnections,
  };
}
