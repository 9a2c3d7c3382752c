/**
 * DNS server addresses: {@linkcode DnsServerAddress} and {@linkcode parseServer}, which reads
 * the forms `DnsConfig.servers` and resolv.conf give. Re-exported by `transport.ts`.
 *
 * @example
 * ```ts
 * import { parseServer } from "./transport.ts";
 * console.log(parseServer("192.0.2.53")); // { host: "192.0.2.53", port: 53 }
 * ```
 *
 * @module
 */
import { DnsResolverError } from "./errors.ts";
import { parseIpv6 } from "./message.ts";

/**
 * A server address.
 *
 * @example
 * ```ts
 * import type { DnsServerAddress } from "./transport.ts";
 * const s: DnsServerAddress = { host: "::1", port: 53 };
 * ```
 */
export interface DnsServerAddress {
  /** IP literal (no brackets). */
  host: string;
  /** Port. */
  port: number;
}

/**
 * Parses `"addr"`, `"addr:port"`, `"[v6]"`, `"[v6]:port"` or a bare IPv6
 * literal; the port defaults to 53.
 *
 * @example
 * ```ts
 * import { parseServer } from "./transport.ts";
 * console.log(parseServer("[::1]:5353")); // { host: "::1", port: 5353 }
 * ```
 */
export function parseServer(spec: string): DnsServerAddress {
  const s = spec.trim();
  let host = s;
  let port = 53;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (bracket) {
    host = bracket[1];
    if (bracket[2]) port = Number(bracket[2]);
  } else if (/^[^:]+:\d+$/.test(s)) {
    const i = s.lastIndexOf(":");
    host = s.slice(0, i);
    port = Number(s.slice(i + 1));
  }
  const v4 = /^\d{1,3}(\.\d{1,3}){3}$/.test(host) && host.split(".").every((x) => Number(x) < 256);
  if ((!v4 && !parseIpv6(host)) || !(port > 0 && port < 65536)) {
    throw new DnsResolverError("NoServers", `not a server address: "${spec}"`);
  }
  return { host, port };
}
