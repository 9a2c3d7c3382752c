/**
 * What {@linkcode DnsClient} takes and gives: its configuration, per-query options, transport
 * modes, address policies and counters. Re-exported by `client.ts`.
 *
 * @example
 * ```ts
 * import type { DnsConfig } from "./client_types.ts";
 * const config: DnsConfig = { servers: ["192.0.2.53"], timeout: 2000 };
 * ```
 *
 * @module
 */
import type { RuntimeName } from "../core/platform/types.ts";
/**
 * How queries travel: UDP only, TCP only, or UDP with TCP when truncated.
 *
 * @example
 * ```ts
 * import { DnsTransportMode } from "./client.ts";
 * const mode = DnsTransportMode.Both;
 * ```
 */
export const DnsTransportMode = { UDP: "UDP", TCP: "TCP", Both: "Both" } as const;

/**
 * One of {@linkcode DnsTransportMode}.
 *
 * @example
 * ```ts
 * import type { DnsTransportModeValue } from "./client.ts";
 * const m: DnsTransportModeValue = "UDP";
 * ```
 */
export type DnsTransportModeValue = (typeof DnsTransportMode)[keyof typeof DnsTransportMode];

/**
 * Which address families `resolveHost` returns, and in which order.
 *
 * @example
 * ```ts
 * import { AddressResolutionPolicy } from "./client.ts";
 * const p = AddressResolutionPolicy.IPv6First;
 * ```
 */
export const AddressResolutionPolicy = {
  IPv4Only: "IPv4Only",
  IPv6Only: "IPv6Only",
  IPv4First: "IPv4First",
  IPv6First: "IPv6First",
} as const;

/**
 * One of {@linkcode AddressResolutionPolicy}.
 *
 * @example
 * ```ts
 * import type { AddressResolutionPolicyValue } from "./client.ts";
 * const p: AddressResolutionPolicyValue = "IPv4First";
 * ```
 */
export type AddressResolutionPolicyValue =
  (typeof AddressResolutionPolicy)[keyof typeof AddressResolutionPolicy];

/**
 * The client's configuration (the seed's `DnsConfig`); every field is optional.
 * Durations are milliseconds except `cacheTimeout` (seconds, as TTLs are).
 *
 * @example
 * ```ts
 * import type { DnsConfig } from "./client.ts";
 * const config: DnsConfig = {
 *   servers: ["192.0.2.53", "[2001:db8::53]:53"],
 *   timeout: 2000,
 *   retryCount: 2,
 *   transportMode: "Both",
 * };
 * ```
 */
export interface DnsConfig {
  /** `"addr"`, `"addr:port"` or `"[v6]:port"`; default: resolv.conf's `nameserver` lines. */
  servers?: string[];
  /** Time allowed for one attempt (default: resolv.conf `timeout`, else 3000). */
  timeout?: number;
  /** Time allowed for a TCP connect (default 5000). */
  tcpTimeout?: number;
  /** Attempts after the first (default: resolv.conf `attempts` − 1, else 2). */
  retryCount?: number;
  /** Wait before the first retry (default 50). */
  initialRetryDelay?: number;
  /** Each further retry waits this many times longer (default 2). */
  retryMultiplier?: number;
  /** Longest wait between retries (default 1000). */
  maxRetryDelay?: number;
  /** Random spread of each wait, ± this fraction (default 0.1). */
  jitterFactor?: number;
  /** Set RD in queries (default true). */
  recursionDesired?: boolean;
  /** EDNS0 UDP payload size (default 1232; 512 sends no OPT record). */
  maxUdpSize?: number;
  /** UDP, TCP, or UDP with TCP fallback (default `"Both"`). */
  transportMode?: DnsTransportModeValue;
  /** Families and order of `resolveHost` (default `"IPv4First"`). */
  addressResolutionPolicy?: AddressResolutionPolicyValue;
  /**
   * Bound on the attempts, retries and backoff of one question (each CNAME hop
   * or search-list name is one question); 0 for none (default 10000).
   */
  maxResolutionTime?: number;
  /** Cache answers (default true). */
  enableCache?: boolean;
  /** Cache entries kept at most (default 10000). */
  maxCacheSize?: number;
  /** Longest time an answer is cached, seconds (default 86400). */
  cacheTimeout?: number;
  /**
   * Spread queries over the servers round-robin (default: resolv.conf's
   * `options rotate`, else false: the first live server first).
   */
  rotate?: boolean;
  /** A server that timed out is skipped this long while others remain (default 30000). */
  serverDownTime?: number;
  /** Longest CNAME chain followed (default 8). */
  maxCnameHops?: number;
  /** Search domains (default: resolv.conf's when `servers` is not given, else none). */
  search?: string[];
  /** Names with fewer dots try the search list first (default: resolv.conf's, else 1). */
  ndots?: number;
  /** UDP sockets per address family (default 4). */
  socketCount?: number;
  /** UDP sockets close after this long with no query in flight, and reopen on demand (default 2000). */
  socketIdleTimeout?: number;
  /** resolv.conf location (default `/etc/resolv.conf`); read only when `servers` is not given. */
  resolvConfPath?: string;
  /** hosts file location (default `/etc/hosts`); `null` to skip it. */
  hostsPath?: string | null;
  /** The socket adapter (default: the current runtime's). */
  runtime?: RuntimeName;
}

/**
 * Options every resolve call takes.
 *
 * @example
 * ```ts
 * import type { ResolveOptions } from "./client.ts";
 * const o: ResolveOptions = { signal: AbortSignal.timeout(1000) };
 * ```
 */
export interface ResolveOptions {
  /** Aborting it rejects the call with a `Cancelled` error. */
  signal?: AbortSignal;
}

/**
 * The client's counters (the seed's names).
 *
 * @example
 * ```ts
 * import type { DnsClientStats } from "./client.ts";
 * const s: Partial<DnsClientStats> = { totalQueries: 0 };
 * ```
 */
export interface DnsClientStats {
  /** Questions asked (one per type and name, CNAME targets included). */
  totalQueries: number;
  /** Questions answered from the cache. */
  cacheHits: number;
  /** Questions not found in the cache. */
  cacheMisses: number;
  /** cacheHits / (cacheHits + cacheMisses). */
  hitRatio: number;
  /** The same as `hitRatio` (the seed's other spelling). */
  cacheHitRatio: number;
  /** Attempts that got no answer in time. */
  timeouts: number;
  /** Questions that ended in an error (NXDOMAIN and NODATA excluded). */
  errors: number;
  /** Attempts after the first. */
  retries: number;
  /** Truncated UDP answers retried over TCP. */
  tcpFallbacks: number;
  /** Forged or stray replies dropped (wrong id, source, socket or question). */
  spoofedDropped: number;
  /** Undecodable replies dropped. */
  malformedDropped: number;
  /** Questions that joined an identical one in flight. */
  deduplicated: number;
  /** UDP datagrams sent. */
  packetsSent: number;
  /** Queries sent over TCP. */
  tcpQueries: number;
  /** TCP connections opened (several queries share one). */
  tcpConnections: number;
}
