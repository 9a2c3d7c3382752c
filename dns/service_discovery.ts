/**
 * Service discovery per RFC 3263 (locating SIP servers) and RFC 2782 (SRV):
 * NAPTR → SRV → A/AAAA, falling back to SRV and then to plain A/AAAA, with
 * targets ordered by NAPTR order/preference, SRV priority and a weighted
 * random choice among equal priorities.
 *
 * @example
 * ```ts
 * import { DnsClient, ServiceType } from "./mod.ts";
 * const client = new DnsClient({ servers: ["127.0.0.1:5353"] });
 * client.resolveServiceDomain("example.test", [ServiceType.TLS, ServiceType.TCP])
 *   .then((r) => console.log(r.targets), () => {})
 *   .finally(() => client.close());
 * ```
 *
 * @module
 */
import type { DnsRecord, NaptrRecord, SrvRecord } from "./message.ts";
import { DnsType } from "./message.ts";
import { DnsResolverError } from "./errors.ts";

/**
 * The transports RFC 3263 distinguishes.
 *
 * @example
 * ```ts
 * import { ServiceType } from "./service_discovery.ts";
 * const wanted = [ServiceType.TLS, ServiceType.TCP, ServiceType.UDP];
 * ```
 */
export const ServiceType = { UDP: "UDP", TCP: "TCP", TLS: "TLS" } as const;

/**
 * One of {@linkcode ServiceType}.
 *
 * @example
 * ```ts
 * import type { ServiceTypeValue } from "./service_discovery.ts";
 * const t: ServiceTypeValue = "TLS";
 * ```
 */
export type ServiceTypeValue = (typeof ServiceType)[keyof typeof ServiceType];

/**
 * A place to connect to, in the order to try.
 *
 * @example
 * ```ts
 * import type { ServiceTarget } from "./service_discovery.ts";
 * const t: ServiceTarget = { host: "sip.test", address: "192.0.2.1", port: 5060, transport: "UDP",
 *   priority: 10, weight: 60, ttl: 300 };
 * ```
 */
export interface ServiceTarget {
  /** The target's host name (the SRV target, or the domain itself). */
  host: string;
  /** An IP address of the host. */
  address: string;
  /** Port. */
  port: number;
  /** Transport. */
  transport: ServiceTypeValue;
  /** SRV priority (0 for plain A/AAAA fallbacks). */
  priority: number;
  /** SRV weight (0 for plain A/AAAA fallbacks). */
  weight: number;
  /** The smallest TTL along the chain, seconds. */
  ttl: number;
}

/**
 * What {@linkcode discoverService} found.
 *
 * @example
 * ```ts
 * import type { ServiceResult } from "./service_discovery.ts";
 * function first(r: ServiceResult): string | undefined {
 *   return r.targets[0]?.address;
 * }
 * ```
 */
export interface ServiceResult {
  /** The domain asked about. */
  domain: string;
  /** Which step produced the targets. */
  source: "NAPTR" | "SRV" | "A/AAAA";
  /** Targets, most preferred first. */
  targets: ServiceTarget[];
}

/**
 * Options of service discovery.
 *
 * @example
 * ```ts
 * import type { ServiceDiscoveryOptions } from "./service_discovery.ts";
 * const o: ServiceDiscoveryOptions = { service: "sip", defaultPorts: { UDP: 5060, TCP: 5060, TLS: 5061 } };
 * ```
 */
export interface ServiceDiscoveryOptions {
  /** The service name (default `"sip"`): NAPTR services `SIP+D2U`, `SIPS+D2T`, SRV `_sip._udp`, `_sips._tcp`. */
  service?: string;
  /** Ports used for plain A/AAAA results (default 5060, TLS 5061). */
  defaultPorts?: Partial<Record<ServiceTypeValue, number>>;
  /** Cancels the whole discovery. */
  signal?: AbortSignal;
}

/**
 * What discovery needs from a resolver: typed records by name and type (CNAMEs
 * followed) and the host address lookup under the client's address policy.
 *
 * @example
 * ```ts
 * import type { ServiceResolver } from "./service_discovery.ts";
 * const none: ServiceResolver = {
 *   query: () => Promise.resolve([]),
 *   addressTypes: () => [1],
 * };
 * ```
 */
export interface ServiceResolver {
  /** Records of `type` for `name`; rejects with a `DnsResolverError`. */
  query(name: string, type: number, options?: { signal?: AbortSignal }): Promise<DnsRecord[]>;
  /** The address types to look up, in preference order (1 = A, 28 = AAAA). */
  addressTypes(): number[];
}

function naptrTransport(service: string, svc: string): ServiceTypeValue | null {
  const s = service.toUpperCase();
  const u = svc.toUpperCase();
  if (s === `${u}+D2U`) return "UDP";
  if (s === `${u}+D2T`) return "TCP";
  if (s === `${u}S+D2T`) return "TLS";
  return null;
}

function srvName(domain: string, svc: string, t: ServiceTypeValue): string {
  if (t === "TLS") return `_${svc}s._tcp.${domain}`;
  return `_${svc}._${t === "UDP" ? "udp" : "tcp"}.${domain}`;
}

/**
 * SRV records in the order RFC 2782 prescribes: ascending priority, and
 * within a priority a weighted random order (weight 0 entries have a small
 * chance only when others exist).
 *
 * @example
 * ```ts
 * import { orderSrv } from "./service_discovery.ts";
 * const base = { kind: "SRV" as const, name: "_s._tcp.test", type: 33, class: 1, ttl: 60, port: 1 };
 * const sorted = orderSrv([
 *   { ...base, priority: 20, weight: 0, target: "b.test" },
 *   { ...base, priority: 10, weight: 5, target: "a.test" },
 * ]);
 * console.log(sorted[0].target); // "a.test"
 * ```
 */
export function orderSrv(records: SrvRecord[], random: () => number = Math.random): SrvRecord[] {
  const byPriority = new Map<number, SrvRecord[]>();
  for (const r of records) {
    const list = byPriority.get(r.priority);
    if (list) list.push(r);
    else byPriority.set(r.priority, [r]);
  }
  const out: SrvRecord[] = [];
  for (const p of [...byPriority.keys()].sort((a, b) => a - b)) {
    // Zero weights first, as RFC 2782 says, then pick by running sums.
    const rest = byPriority.get(p)!.sort((a, b) => a.weight - b.weight);
    while (rest.length > 0) {
      const total = rest.reduce((s, r) => s + r.weight, 0);
      let pick = 0;
      if (total > 0) {
        const x = Math.floor(random() * (total + 1));
        let sum = 0;
        pick = rest.length - 1;
        for (let i = 0; i < rest.length; i++) {
          sum += rest[i].weight;
          if (sum >= x) {
            pick = i;
            break;
          }
        }
      }
      out.push(rest.splice(pick, 1)[0]);
    }
  }
  return out;
}

function isAbsence(error: unknown): boolean {
  return error instanceof DnsResolverError &&
    (error.code === "NXDomain" || error.code === "NoData");
}

async function optional<T extends DnsRecord>(p: Promise<DnsRecord[]>): Promise<T[]> {
  try {
    return (await p) as T[];
  } catch (error) {
    if (isAbsence(error)) return [];
    throw error;
  }
}

async function addresses(
  r: ServiceResolver,
  host: string,
  signal: AbortSignal | undefined,
): Promise<{ address: string; ttl: number }[]> {
  const lists = await Promise.all(
    r.addressTypes().map((t) => optional<DnsRecord>(r.query(host, t, { signal }))),
  );
  const out: { address: string; ttl: number }[] = [];
  for (const list of lists) {
    for (const rec of list) {
      if (rec.kind === "A" || rec.kind === "AAAA") out.push({ address: rec.address, ttl: rec.ttl });
    }
  }
  return out;
}

async function srvTargets(
  r: ServiceResolver,
  name: string,
  transport: ServiceTypeValue,
  ttlCap: number,
  signal: AbortSignal | undefined,
): Promise<ServiceTarget[]> {
  const srv = await optional<SrvRecord>(r.query(name, DnsType.SRV, { signal }));
  // A single SRV with target "." says the service is decidedly not offered.
  const usable = orderSrv(srv.filter((s) => s.target !== "" && s.target !== "."));
  const resolved = await Promise.all(usable.map((s) => addresses(r, s.target, signal)));
  const out: ServiceTarget[] = [];
  usable.forEach((s, i) => {
    for (const a of resolved[i]) {
      out.push({
        host: s.target,
        address: a.address,
        port: s.port,
        transport,
        priority: s.priority,
        weight: s.weight,
        ttl: Math.min(ttlCap, s.ttl, a.ttl),
      });
    }
  });
  return out;
}

/**
 * RFC 3263 discovery over `resolver`; see the module documentation.
 * Rejects with a `DnsResolverError` (`NXDomain` when nothing at all is found).
 *
 * @example
 * ```ts
 * import { DnsClient, discoverService } from "./mod.ts";
 * const client = new DnsClient({ servers: ["127.0.0.1:5353"] });
 * discoverService(client, "example.test", ["UDP"]).catch(() => {}).finally(() => client.close());
 * ```
 */
export async function discoverService(
  resolver: ServiceResolver,
  domain: string,
  serviceTypes: ServiceTypeValue[] = ["UDP", "TCP", "TLS"],
  options: ServiceDiscoveryOptions = {},
): Promise<ServiceResult> {
  const svc = options.service ?? "sip";
  const signal = options.signal;
  const ports: Record<ServiceTypeValue, number> = {
    UDP: options.defaultPorts?.UDP ?? 5060,
    TCP: options.defaultPorts?.TCP ?? 5060,
    TLS: options.defaultPorts?.TLS ?? 5061,
  };
  const wanted = new Set(serviceTypes);

  const naptr = (await optional<NaptrRecord>(resolver.query(domain, DnsType.NAPTR, { signal })))
    .map((n) => ({ n, t: naptrTransport(n.service, svc) }))
    .filter((x) =>
      x.t !== null && wanted.has(x.t) && (x.n.flags.toLowerCase() === "s" ||
        x.n.flags.toLowerCase() === "a")
    )
    .sort((a, b) => a.n.order - b.n.order || a.n.preference - b.n.preference);
  if (naptr.length > 0) {
    const targets: ServiceTarget[] = [];
    for (const { n, t } of naptr) {
      if (n.flags.toLowerCase() === "s") {
        targets.push(...await srvTargets(resolver, n.replacement, t!, n.ttl, signal));
      } else {
        for (const a of await addresses(resolver, n.replacement, signal)) {
          targets.push({
            host: n.replacement,
            address: a.address,
            port: ports[t!],
            transport: t!,
            priority: 0,
            weight: 0,
            ttl: Math.min(n.ttl, a.ttl),
          });
        }
      }
    }
    if (targets.length > 0) return { domain, source: "NAPTR", targets };
  }

  const bySrv = await Promise.all(
    serviceTypes.map((t) => srvTargets(resolver, srvName(domain, svc, t), t, 0x7fffffff, signal)),
  );
  const srv = bySrv.flat();
  if (srv.length > 0) return { domain, source: "SRV", targets: srv };

  const plain = await addresses(resolver, domain, signal);
  if (plain.length === 0) {
    throw new DnsResolverError("NXDomain", `no NAPTR, SRV or address records for ${domain}`, {
      name: domain,
      type: DnsType.NAPTR,
    });
  }
  const targets: ServiceTarget[] = [];
  for (const t of serviceTypes) {
    for (const a of plain) {
      targets.push({
        host: domain,
        address: a.address,
        port: ports[t],
        transport: t,
        priority: 0,
        weight: 0,
        ttl: a.ttl,
      });
    }
  }
  return { domain, source: "A/AAAA", targets };
}
