/**
 * `DnsClient`: a caching stub resolver over Iora's own wire codec and
 * transport. Servers default to `/etc/resolv.conf` (its `search`, `ndots`,
 * `timeout` and `attempts` honoured) and `/etc/hosts` is consulted first for
 * address lookups, both read through the platform seam. Failed attempts are
 * retried with exponential backoff and jitter, moving to the next server (a
 * server that timed out is skipped for `serverDownTime`); concurrent
 * identical questions share one query; answers and negative answers are
 * cached; CNAME chains are followed up to a limit; every call takes an
 * `AbortSignal`, and the `...Async` forms return a cancellable query.
 *
 * Permissions on Deno: `--allow-net` (the servers' addresses) and, unless
 * `servers` is given and `hostsPath` is `null`, `--allow-read=/etc/resolv.conf,/etc/hosts`;
 * UDP needs the unstable `net` API (`--unstable-net`, set in deno.json).
 *
 * @example
 * ```ts
 * import { DnsClient } from "./client.ts";
 * const client = new DnsClient({ servers: ["127.0.0.1:5353"], timeout: 500 });
 * client.resolveA("www.example.test").then(console.log, (e) => console.log(e.code))
 *   .finally(() => client.close());
 * ```
 *
 * @module
 */
import { DnsCache, type DnsCacheStats } from "./cache.ts";
import type { DnsResolverError } from "./errors.ts";
import { ServerAttempts } from "./_attempts.ts";
import { clientStats, zeroCounters } from "./_client_counters.ts";
import { HostsTable } from "./_hosts_table.ts";
import { Lookups } from "./_lookups.ts";
import { NameResolver } from "./_name_resolver.ts";
import { byMxPriority, byNaptrOrder, bySrvOrder, targetOf, textOf } from "./_record_views.ts";
import { ResolverSettingsSource } from "./_settings.ts";
import {
  type DnsQuestion,
  type DnsRecord,
  DnsType,
  type MxRecord,
  type NaptrRecord,
  reverseName,
  type SrvRecord,
} from "./message.ts";
import {
  discoverService,
  type ServiceDiscoveryOptions,
  type ServiceResult,
  type ServiceTypeValue,
} from "./service_discovery.ts";
import { DnsTransport } from "./transport.ts";

export * from "./client_types.ts";
export * from "./query.ts";
import type { DnsClientStats, DnsConfig, ResolveOptions } from "./client_types.ts";
import { type DnsCallback, DnsQuery } from "./query.ts";

/**
 * The DNS client; see the module documentation.
 *
 * @example
 * ```ts
 * import { DnsClient } from "./client.ts";
 * using client = new DnsClient({ servers: ["127.0.0.1:5353"] });
 * const mx = await client.resolveMx("example.test").catch(() => []);
 * console.log(mx, client.getStats().totalQueries);
 * ```
 */
export class DnsClient implements Disposable {
  // A resolution goes down through: NameResolver (search list, CNAME chains, hosts file, the
  // short paths) -> Lookups (one exact question: the cache, sharing questions in flight) ->
  // ServerAttempts (servers, retries, backoff, failover) -> DnsTransport (the wire).
  #config: DnsConfig;
  #transport: DnsTransport;
  #cache: DnsCache;
  #lookups: Lookups;
  #resolver: NameResolver;
  #closed = false;
  /** The client's counters, shared with the lookups and attempts (reset in place). */
  #s = zeroCounters();

  /**
   * Creates a client; files are read and sockets opened on the first query.
   *
   * @param config the seed's `DnsConfig`; every field optional
   */
  constructor(config: DnsConfig = {}) {
    this.#config = config;
    const settings = new ResolverSettingsSource(config);
    this.#transport = new DnsTransport({
      socketCount: config.socketCount,
      maxUdpSize: config.maxUdpSize,
      recursionDesired: config.recursionDesired,
      tcpTimeoutMs: config.tcpTimeout,
      runtime: config.runtime,
      udpIdleMs: config.socketIdleTimeout,
    });
    const cacheEnabled = config.enableCache ?? true;
    this.#cache = new DnsCache({ maxSize: config.maxCacheSize, maxTtl: config.cacheTimeout });
    const attempts = new ServerAttempts(
      config,
      settings,
      this.#transport,
      cacheEnabled ? this.#cache : null,
      this.#s,
    );
    this.#lookups = new Lookups(this.#cache, cacheEnabled, attempts, this.#s);
    this.#resolver = new NameResolver(config, settings, new HostsTable(config), this.#lookups);
  }

  /**
   * Records of `type` for `name`, after the search list and CNAME chasing:
   * the general form behind every `resolve...` method.
   *
   * @example
   * ```ts
   * import { DnsClient } from "./client.ts";
   * import { DnsType } from "./message.ts";
   * const client = new DnsClient({ servers: ["127.0.0.1:5353"] });
   * client.query("example.test", DnsType.SOA).catch(() => []).finally(() => client.close());
   * ```
   */
  query(name: string, type: number, options: ResolveOptions = {}): Promise<DnsRecord[]> {
    return this.#resolver.query(name, type, options);
  }

  // -------------------------------------------------------------------------
  // the seed's API

  /**
   * IPv4 addresses of `name` (hosts file first).
   *
   * @example
   * ```ts
   * import { DnsClient } from "./client.ts";
   * const client = new DnsClient({ servers: ["127.0.0.1:5353"] });
   * client.resolveA("localhost").then(console.log).finally(() => client.close());
   * ```
   */
  resolveA(name: string, options?: ResolveOptions): Promise<string[]> {
    return this.#resolver.addresses(name, 4, options);
  }

  /**
   * IPv6 addresses of `name` (hosts file first).
   *
   * @example
   * ```ts
   * import { DnsClient } from "./client.ts";
   * const client = new DnsClient({ servers: ["127.0.0.1:5353"] });
   * client.resolveAAAA("v6.example.test").catch(() => []).finally(() => client.close());
   * ```
   */
  resolveAAAA(name: string, options?: ResolveOptions): Promise<string[]> {
    return this.#resolver.addresses(name, 6, options);
  }

  /**
   * Addresses of `name` in the order `addressResolutionPolicy` gives (hosts
   * file first); an error only when every family asked failed.
   *
   * @example
   * ```ts
   * import { DnsClient } from "./client.ts";
   * const client = new DnsClient({ servers: ["127.0.0.1:5353"], addressResolutionPolicy: "IPv6First" });
   * client.resolveHost("localhost").then(console.log).finally(() => client.close());
   * ```
   */
  async resolveHost(name: string, options?: ResolveOptions): Promise<string[]> {
    const types = this.addressTypes();
    const settled = await Promise.allSettled(
      types.map((t) =>
        t === DnsType.A ? this.resolveA(name, options) : this.resolveAAAA(name, options)
      ),
    );
    const out: string[] = [];
    let failure: unknown = null;
    for (const s of settled) {
      if (s.status === "fulfilled") out.push(...s.value);
      else if (failure === null || (failure as DnsResolverError).code === "NoData") {
        failure = s.reason;
      }
    }
    if (out.length === 0 && failure !== null) throw failure;
    return out;
  }

  /**
   * The address types `resolveHost` asks, in order (1 = A, 28 = AAAA).
   *
   * @example
   * ```ts
   * import { DnsClient } from "./client.ts";
   * console.log(new DnsClient({ servers: ["127.0.0.1"] }).addressTypes()); // [1, 28]
   * ```
   */
  addressTypes(): number[] {
    switch (this.#config.addressResolutionPolicy ?? "IPv4First") {
      case "IPv4Only":
        return [DnsType.A];
      case "IPv6Only":
        return [DnsType.AAAA];
      case "IPv6First":
        return [DnsType.AAAA, DnsType.A];
      default:
        return [DnsType.A, DnsType.AAAA];
    }
  }

  /**
   * The seed's other name for {@linkcode DnsClient.resolveHost}.
   *
   * @example
   * ```ts
   * import { DnsClient } from "./client.ts";
   * const client = new DnsClient({ servers: ["127.0.0.1:5353"] });
   * client.resolveHostname("localhost").finally(() => client.close());
   * ```
   */
  resolveHostname(name: string, options?: ResolveOptions): Promise<string[]> {
    return this.resolveHost(name, options);
  }

  /**
   * SRV records of `name` (for example `_sip._udp.example.com`), in RFC 2782 order.
   *
   * @example
   * ```ts
   * import { DnsClient } from "./client.ts";
   * const client = new DnsClient({ servers: ["127.0.0.1:5353"] });
   * client.resolveSrv("_sip._udp.example.test").catch(() => []).finally(() => client.close());
   * ```
   */
  async resolveSrv(name: string, options?: ResolveOptions): Promise<SrvRecord[]> {
    return ((await this.query(name, DnsType.SRV, options)) as SrvRecord[])
      .sort(bySrvOrder);
  }

  /**
   * NAPTR records of `name`, by order then preference.
   *
   * @example
   * ```ts
   * import { DnsClient } from "./client.ts";
   * const client = new DnsClient({ servers: ["127.0.0.1:5353"] });
   * client.resolveNaptr("example.test").catch(() => []).finally(() => client.close());
   * ```
   */
  async resolveNaptr(name: string, options?: ResolveOptions): Promise<NaptrRecord[]> {
    return ((await this.query(name, DnsType.NAPTR, options)) as NaptrRecord[])
      .sort(byNaptrOrder);
  }

  /**
   * MX records of `name`, lowest priority first.
   *
   * @example
   * ```ts
   * import { DnsClient } from "./client.ts";
   * const client = new DnsClient({ servers: ["127.0.0.1:5353"] });
   * client.resolveMx("example.test").catch(() => []).finally(() => client.close());
   * ```
   */
  async resolveMx(name: string, options?: ResolveOptions): Promise<MxRecord[]> {
    return ((await this.query(name, DnsType.MX, options)) as MxRecord[])
      .sort(byMxPriority);
  }

  /**
   * TXT records of `name`, each record's strings joined.
   *
   * @example
   * ```ts
   * import { DnsClient } from "./client.ts";
   * const client = new DnsClient({ servers: ["127.0.0.1:5353"] });
   * client.resolveTxt("example.test").catch(() => []).finally(() => client.close());
   * ```
   */
  async resolveTxt(name: string, options?: ResolveOptions): Promise<string[]> {
    return (await this.query(name, DnsType.TXT, options)).map(textOf);
  }

  /**
   * Names for an IP address (reverse lookup), or PTR targets of a name.
   *
   * @example
   * ```ts
   * import { DnsClient } from "./client.ts";
   * const client = new DnsClient({ servers: ["127.0.0.1:5353"] });
   * client.resolvePtr("192.0.2.1").catch(() => []).finally(() => client.close());
   * ```
   */
  async resolvePtr(addressOrName: string, options?: ResolveOptions): Promise<string[]> {
    const name = reverseName(addressOrName) ?? addressOrName;
    return (await this.query(name, DnsType.PTR, options)).map(targetOf);
  }

  /**
   * The CNAME targets of `name` (not followed).
   *
   * @example
   * ```ts
   * import { DnsClient } from "./client.ts";
   * const client = new DnsClient({ servers: ["127.0.0.1:5353"] });
   * client.resolveCname("www.example.test").catch(() => []).finally(() => client.close());
   * ```
   */
  async resolveCname(name: string, options?: ResolveOptions): Promise<string[]> {
    return (await this.query(name, DnsType.CNAME, options)).map(targetOf);
  }

  /**
   * RFC 3263 service discovery: NAPTR → SRV → A/AAAA, then SRV, then plain addresses.
   *
   * @example
   * ```ts
   * import { DnsClient } from "./client.ts";
   * const client = new DnsClient({ servers: ["127.0.0.1:5353"] });
   * client.resolveServiceDomain("example.test", ["TLS", "TCP"]).catch(() => null)
   *   .finally(() => client.close());
   * ```
   */
  resolveServiceDomain(
    domain: string,
    serviceTypes?: ServiceTypeValue[],
    options?: ServiceDiscoveryOptions,
  ): Promise<ServiceResult> {
    return discoverService(this, domain, serviceTypes, options);
  }

  // -------------------------------------------------------------------------
  // aliases (the seed spells these two ways)

  /** Alias of {@linkcode DnsClient.resolveSrv}. @example `client.resolveSRV("_sip._tcp.example.test")` */
  resolveSRV(name: string, options?: ResolveOptions): Promise<SrvRecord[]> {
    return this.resolveSrv(name, options);
  }
  /** Alias of {@linkcode DnsClient.resolveNaptr}. @example `client.resolveNAPTR("example.test")` */
  resolveNAPTR(name: string, options?: ResolveOptions): Promise<NaptrRecord[]> {
    return this.resolveNaptr(name, options);
  }
  /** Alias of {@linkcode DnsClient.resolveMx}. @example `client.resolveMX("example.test")` */
  resolveMX(name: string, options?: ResolveOptions): Promise<MxRecord[]> {
    return this.resolveMx(name, options);
  }

  // -------------------------------------------------------------------------
  // callback / cancellable forms

  #async<T>(
    fn: (signal: AbortSignal) => Promise<T>,
    callback?: DnsCallback<T>,
  ): DnsQuery<T> {
    return new DnsQuery(fn, callback);
  }

  /** Cancellable {@linkcode DnsClient.resolveA}, with an optional callback. @example `client.resolveAAsync("a.test").cancel()` */
  resolveAAsync(name: string, callback?: DnsCallback<string[]>): DnsQuery<string[]> {
    return this.#async((signal) => this.resolveA(name, { signal }), callback);
  }
  /** Cancellable {@linkcode DnsClient.resolveAAAA}. @example `client.resolveAAAAAsync("a.test", (e, r) => {})` */
  resolveAAAAAsync(name: string, callback?: DnsCallback<string[]>): DnsQuery<string[]> {
    return this.#async((signal) => this.resolveAAAA(name, { signal }), callback);
  }
  /** Cancellable {@linkcode DnsClient.resolveHost}. @example `await client.resolveHostAsync("a.test")` */
  resolveHostAsync(name: string, callback?: DnsCallback<string[]>): DnsQuery<string[]> {
    return this.#async((signal) => this.resolveHost(name, { signal }), callback);
  }
  /** Alias of {@linkcode DnsClient.resolveHostAsync}. @example `client.resolveHostnameAsync("a.test")` */
  resolveHostnameAsync(name: string, callback?: DnsCallback<string[]>): DnsQuery<string[]> {
    return this.resolveHostAsync(name, callback);
  }
  /** Cancellable {@linkcode DnsClient.resolveSrv}. @example `client.resolveSrvAsync("_sip._udp.a.test")` */
  resolveSrvAsync(name: string, callback?: DnsCallback<SrvRecord[]>): DnsQuery<SrvRecord[]> {
    return this.#async((signal) => this.resolveSrv(name, { signal }), callback);
  }
  /** Cancellable {@linkcode DnsClient.resolveNaptr}. @example `client.resolveNaptrAsync("a.test")` */
  resolveNaptrAsync(name: string, callback?: DnsCallback<NaptrRecord[]>): DnsQuery<NaptrRecord[]> {
    return this.#async((signal) => this.resolveNaptr(name, { signal }), callback);
  }
  /** Cancellable {@linkcode DnsClient.resolveMx}. @example `client.resolveMxAsync("a.test")` */
  resolveMxAsync(name: string, callback?: DnsCallback<MxRecord[]>): DnsQuery<MxRecord[]> {
    return this.#async((signal) => this.resolveMx(name, { signal }), callback);
  }
  /** Cancellable {@linkcode DnsClient.resolveTxt}. @example `client.resolveTxtAsync("a.test")` */
  resolveTxtAsync(name: string, callback?: DnsCallback<string[]>): DnsQuery<string[]> {
    return this.#async((signal) => this.resolveTxt(name, { signal }), callback);
  }
  /** Cancellable {@linkcode DnsClient.resolvePtr}. @example `client.resolvePtrAsync("192.0.2.1")` */
  resolvePtrAsync(name: string, callback?: DnsCallback<string[]>): DnsQuery<string[]> {
    return this.#async((signal) => this.resolvePtr(name, { signal }), callback);
  }
  /** Cancellable {@linkcode DnsClient.resolveCname}. @example `client.resolveCnameAsync("www.a.test")` */
  resolveCnameAsync(name: string, callback?: DnsCallback<string[]>): DnsQuery<string[]> {
    return this.#async((signal) => this.resolveCname(name, { signal }), callback);
  }
  /** Cancellable {@linkcode DnsClient.resolveServiceDomain}. @example `client.resolveServiceDomainAsync("a.test")` */
  resolveServiceDomainAsync(
    domain: string,
    serviceTypes?: ServiceTypeValue[],
    callback?: DnsCallback<ServiceResult>,
  ): DnsQuery<ServiceResult> {
    return this.#async(
      (signal) => this.resolveServiceDomain(domain, serviceTypes, { signal }),
      callback,
    );
  }
  /** The seed's future form of {@linkcode DnsClient.resolveServiceDomain}. @example `client.resolveServiceDomainFuture("a.test").cancel()` */
  resolveServiceDomainFuture(
    domain: string,
    serviceTypes?: ServiceTypeValue[],
  ): DnsQuery<ServiceResult> {
    return this.resolveServiceDomainAsync(domain, serviceTypes);
  }

  // -------------------------------------------------------------------------
  // cache and stats

  /**
   * The cached outcome of one exact question without any I/O, or undefined:
   * the synchronous cache path (counts as a query, hit or miss).
   *
   * @example
   * ```ts
   * import { DnsClient } from "./client.ts";
   * const client = new DnsClient({ servers: ["127.0.0.1"] });
   * console.log(client.lookupCached({ name: "a.test", type: 1 })); // undefined
   * ```
   */
  lookupCached(q: DnsQuestion): DnsRecord[] | undefined {
    return this.#lookups.cachedRecords(q);
  }

  /**
   * Cached entries.
   *
   * @example
   * ```ts
   * import { DnsClient } from "./client.ts";
   * console.log(new DnsClient({ servers: ["127.0.0.1"] }).getCacheSize()); // 0
   * ```
   */
  getCacheSize(): number {
    return this.#cache.size;
  }

  /**
   * Empties the cache, or drops every entry of one name.
   *
   * @example
   * ```ts
   * import { DnsClient } from "./client.ts";
   * new DnsClient({ servers: ["127.0.0.1"] }).clearCache("www.example.test");
   * ```
   */
  clearCache(name?: string): void {
    this.#cache.clear(name);
  }

  /**
   * Drops the entry of one question; true when there was one.
   *
   * @example
   * ```ts
   * import { DnsClient } from "./client.ts";
   * new DnsClient({ servers: ["127.0.0.1"] }).removeCacheEntry({ name: "a.test", type: 1 });
   * ```
   */
  removeCacheEntry(question: DnsQuestion): boolean {
    return this.#cache.remove(question);
  }

  /**
   * The cache's own counters.
   *
   * @example
   * ```ts
   * import { DnsClient } from "./client.ts";
   * console.log(new DnsClient({ servers: ["127.0.0.1"] }).getCacheStatistics().totalEntries);
   * ```
   */
  getCacheStatistics(): DnsCacheStats {
    return this.#cache.getStats();
  }

  /**
   * The client's counters.
   *
   * @example
   * ```ts
   * import { DnsClient } from "./client.ts";
   * const s = new DnsClient({ servers: ["127.0.0.1"] }).getStats();
   * console.log(s.totalQueries, s.hitRatio);
   * ```
   */
  getStats(): DnsClientStats {
    return clientStats(this.#s, this.#transport.getStats());
  }

  /**
   * Zeroes the client's, the transport's and the cache's counters.
   *
   * @example
   * ```ts
   * import { DnsClient } from "./client.ts";
   * new DnsClient({ servers: ["127.0.0.1"] }).resetStats();
   * ```
   */
  resetStats(): void {
    Object.assign(this.#s, zeroCounters());
    this.#transport.resetStats();
    this.#cache.resetStats();
  }

  /**
   * Open sockets (UDP and TCP) and queries in flight: both 0 once idle sockets closed or after `close()`.
   *
   * @example
   * ```ts
   * import { DnsClient } from "./client.ts";
   * console.log(new DnsClient({ servers: ["127.0.0.1"] }).getResourceUsage());
   * ```
   */
  getResourceUsage(): { openSockets: number; inflight: number } {
    return { openSockets: this.#transport.openSockets, inflight: this.#transport.inflight };
  }

  /**
   * Fails what is in flight with `Closed` and closes every socket and timer.
   *
   * @example
   * ```ts
   * import { DnsClient } from "./client.ts";
   * new DnsClient({ servers: ["127.0.0.1"] }).close();
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#lookups.close();
    this.#transport.close();
  }

  /**
   * The same as {@linkcode DnsClient.close} (the house `stop()`).
   *
   * @example
   * ```ts
   * import { DnsClient } from "./client.ts";
   * new DnsClient({ servers: ["127.0.0.1"] }).stop();
   * ```
   */
  stop(): void {
    this.close();
  }

  /** Closes the client at the end of a `using` block. */
  [Symbol.dispose](): void {
    this.close();
  }
}
