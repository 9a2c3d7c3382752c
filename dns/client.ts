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
import { platform } from "../core/platform/mod.ts";
import { type CachedAnswer, cacheKey, DnsCache, type DnsCacheStats } from "./cache.ts";
import { type DnsErrorCode, DnsResolverError } from "./errors.ts";
import { cancelledError } from "./_stackless.ts";
import { Flight, onAbort } from "./_flight.ts";
import {
  type DnsMessage,
  type DnsQuestion,
  DnsRcode,
  type DnsRecord,
  DnsType,
  type MxRecord,
  type NaptrRecord,
  reverseName,
  sameName,
  type SoaRecord,
  type SrvRecord,
  validateName,
} from "./message.ts";
import {
  discoverService,
  type ServiceDiscoveryOptions,
  type ServiceResult,
  type ServiceTypeValue,
} from "./service_discovery.ts";
import { parseHosts, parseResolvConf } from "./system_config.ts";
import { type DnsServerAddress, DnsTransport, parseServer } from "./transport.ts";

export * from "./client_types.ts";
export * from "./query.ts";
import type { DnsClientStats, DnsConfig, ResolveOptions } from "./client_types.ts";
import { type DnsCallback, DnsQuery } from "./query.ts";
import { parseIpv4, parseIpv6 } from "../network/ip_address.ts";

interface Resolved {
  servers: DnsServerAddress[];
  search: string[];
  ndots: number;
  timeout: number;
  retryCount: number;
  rotate: boolean;
}

const RCODE_ERRORS: Record<number, DnsErrorCode> = {
  [DnsRcode.FormErr]: "FormErr",
  [DnsRcode.ServFail]: "ServFail",
  [DnsRcode.NotImp]: "NotImp",
  [DnsRcode.Refused]: "Refused",
};

function cancelled(q?: { name: string; type: number }): DnsResolverError {
  return cancelledError(q);
}

interface Counters {
  totalQueries: number;
  cacheHits: number;
  cacheMisses: number;
  timeouts: number;
  errors: number;
  retries: number;
  deduplicated: number;
}

function zeroCounters(): Counters {
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

const ONLY_SERVER = [0];

function addressOf(r: DnsRecord): string {
  return (r as { address: string }).address;
}

function addressesOf(records: DnsRecord[]): string[] {
  return records.map(addressOf);
}

function same<T>(x: T): T {
  return x;
}

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
  #config: DnsConfig;
  #transport: DnsTransport;
  #cache: DnsCache;
  #cacheEnabled: boolean;
  #flights = new Map<string, Flight>();
  #resolved: Resolved | null = null;
  #resolving: Promise<Resolved> | null = null;
  #hosts: Map<string, string[]> | null = null;
  #hostsLoading: Promise<Map<string, string[]>> | null = null;
  #downUntil: number[] = [];
  #rotation = 0;
  #closed = false;
  #s: Counters = zeroCounters();

  /**
   * Creates a client; files are read and sockets opened on the first query.
   *
   * @param config the seed's `DnsConfig`; every field optional
   */
  constructor(config: DnsConfig = {}) {
    this.#config = config;
    if (config.servers && config.servers.length > 0) {
      const servers = config.servers.map(parseServer);
      this.#resolved = {
        servers,
        search: config.search ?? [],
        ndots: config.ndots ?? 1,
        timeout: config.timeout ?? 3000,
        retryCount: config.retryCount ?? 2,
        rotate: config.rotate ?? false,
      };
      this.#downUntil = servers.map(() => 0);
    }
    this.#transport = new DnsTransport({
      socketCount: config.socketCount,
      maxUdpSize: config.maxUdpSize,
      recursionDesired: config.recursionDesired,
      tcpTimeoutMs: config.tcpTimeout,
      runtime: config.runtime,
      udpIdleMs: config.socketIdleTimeout,
    });
    this.#cacheEnabled = config.enableCache ?? true;
    this.#cache = new DnsCache({ maxSize: config.maxCacheSize, maxTtl: config.cacheTimeout });
  }

  // -------------------------------------------------------------------------
  // configuration

  #settings(): Resolved | Promise<Resolved> {
    if (this.#resolved) return this.#resolved;
    if (this.#resolving) return this.#resolving;
    const path = this.#config.resolvConfPath ?? "/etc/resolv.conf";
    this.#resolving = platform().readTextFile(path).then(
      (text) => {
        const conf = parseResolvConf(text);
        if (conf.servers.length === 0) {
          throw new DnsResolverError("NoServers", `no nameserver in ${path}`);
        }
        const c = this.#config;
        const servers = conf.servers.map(parseServer);
        this.#downUntil = servers.map(() => 0);
        this.#resolved = {
          servers,
          search: c.search ?? conf.search,
          ndots: c.ndots ?? conf.ndots,
          timeout: c.timeout ?? conf.timeoutMs,
          retryCount: c.retryCount ?? conf.attempts - 1,
          rotate: c.rotate ?? conf.rotate,
        };
        return this.#resolved;
      },
      (error) => {
        this.#resolving = null;
        if (error instanceof DnsResolverError) throw error;
        throw new DnsResolverError(
          "NoServers",
          `no servers configured and ${path} cannot be read: ${
            error instanceof Error ? error.message : error
          }`,
          undefined,
          undefined,
          { cause: error },
        );
      },
    );
    return this.#resolving;
  }

  #hostsMap(): Map<string, string[]> | Promise<Map<string, string[]>> {
    if (this.#hosts) return this.#hosts;
    const path = this.#config.hostsPath === undefined ? "/etc/hosts" : this.#config.hostsPath;
    if (path === null) return (this.#hosts = new Map());
    this.#hostsLoading ??= platform().readTextFile(path).then(
      (text) => (this.#hosts = parseHosts(text)),
      () => (this.#hosts = new Map()),
    );
    return this.#hostsLoading;
  }

  // -------------------------------------------------------------------------
  // one question: cache, deduplication, retries, failover

  /**
   * The outcome for one exact question (no search list, no CNAME chasing):
   * cached, shared with an identical question in flight, or queried.
   */
  #lookup(q: DnsQuestion, signal: AbortSignal | undefined): Promise<CachedAnswer> {
    this.#s.totalQueries++;
    if (this.#closed) {
      return Promise.reject(new DnsResolverError("Closed", "the DNS client is closed", q));
    }
    if (signal?.aborted) return Promise.reject(cancelled(q));
    const key = cacheKey(q);
    if (this.#cacheEnabled) {
      const hit = this.#cache.getByKey(key);
      if (hit !== undefined) {
        this.#s.cacheHits++;
        return Promise.resolve(hit);
      }
    }
    this.#s.cacheMisses++;
    let flight = this.#flights.get(key);
    if (flight) this.#s.deduplicated++;
    else {
      const f = new Flight(key, q);
      flight = f;
      this.#flights.set(key, f);
      f.promise = this.#fly(f).finally(() => {
        if (this.#flights.get(key) === f) this.#flights.delete(key);
      });
    }
    const f = flight;
    if (!signal) {
      f.refs = Infinity;
      return f.promise;
    }
    f.refs++;
    return new Promise<CachedAnswer>((resolve, reject) => {
      const unsubscribe = onAbort(signal, () => {
        if (--f.refs === 0) {
          if (this.#flights.get(key) === f) this.#flights.delete(key);
          f.abandon();
        }
        reject(cancelled(q));
      });
      f.promise.then(
        (v) => {
          unsubscribe();
          resolve(v);
        },
        (e) => {
          unsubscribe();
          reject(e);
        },
      );
    });
  }

  /** Servers to try, in order: live ones first (from a rotating start with `rotate`). */
  #serverOrder(count: number, rotate: boolean): number[] {
    if (count === 1) return ONLY_SERVER;
    const now = performance.now();
    const alive: number[] = [];
    const dead: number[] = [];
    const start = rotate ? this.#rotation++ % count : 0;
    for (let k = 0; k < count; k++) {
      const i = (start + k) % count;
      (this.#downUntil[i] > now ? dead : alive).push(i);
    }
    return alive.length > 0 ? alive : dead;
  }

  async #fly(f: Flight): Promise<CachedAnswer> {
    const s = this.#settings();
    const settings = s instanceof Promise ? await s : s;
    const c = this.#config;
    const q = f.question;
    const maxTime = c.maxResolutionTime ?? 10_000;
    const deadline = maxTime > 0 ? performance.now() + maxTime : Infinity;
    const mode = c.transportMode ?? "Both";
    let delay = c.initialRetryDelay ?? 50;
    let last: DnsResolverError | null = null;
    const order = this.#serverOrder(settings.servers.length, settings.rotate);
    for (let attempt = 0; attempt <= settings.retryCount; attempt++) {
      if (f.cancelled) throw cancelled(q);
      if (attempt > 0) {
        this.#s.retries++;
        const jitter = 1 + (c.jitterFactor ?? 0.1) * (Math.random() * 2 - 1);
        const wait = Math.min(delay, c.maxRetryDelay ?? 1000) * jitter;
        delay *= c.retryMultiplier ?? 2;
        if (performance.now() + wait >= deadline) break;
        if (wait > 0) await f.sleep(wait);
        if (f.cancelled) throw cancelled(q);
      }
      const remaining = deadline - performance.now();
      if (remaining <= 0) break;
      const index = order[attempt % order.length];
      const server = settings.servers[index];
      const ex = this.#transport.exchange(server, q, {
        timeoutMs: Math.max(1, Math.min(settings.timeout, remaining)),
        tcp: mode === "TCP",
        noTcpFallback: mode === "UDP",
      });
      f.current = ex;
      let msg: DnsMessage;
      try {
        msg = await ex.promise;
      } catch (error) {
        f.current = null;
        if (!(error instanceof DnsResolverError)) throw error;
        if (error.code === "Timeout") {
          this.#s.timeouts++;
          this.#downUntil[index] = performance.now() + (c.serverDownTime ?? 30_000);
          last = error;
          continue;
        }
        if (error.code === "NetworkError") {
          last = error;
          continue;
        }
        if (error.code !== "Cancelled") this.#s.errors++;
        throw error;
      }
      f.current = null;
      this.#downUntil[index] = 0;
      const outcome = this.#outcome(q, msg);
      if (outcome instanceof DnsResolverError) {
        last = outcome;
        continue;
      }
      return outcome;
    }
    this.#s.errors++;
    throw last ?? new DnsResolverError(
      "Timeout",
      `no answer for ${q.name} within maxResolutionTime`,
      q,
    );
  }

  /** An answer to cache and return, or the rcode's error for a retry. */
  #outcome(q: DnsQuestion, msg: DnsMessage): CachedAnswer | DnsResolverError {
    const rcode = msg.rcode;
    if (rcode === DnsRcode.NoError || rcode === DnsRcode.NXDomain) {
      const records = msg.answers;
      const negative = rcode === DnsRcode.NXDomain ||
        !records.some((r) => r.type === q.type || r.type === DnsType.CNAME);
      const answer: CachedAnswer = { rcode, records, negative };
      if (this.#cacheEnabled) {
        let ttl = 0;
        if (negative) {
          // RFC 2308 §5: min(SOA TTL, SOA MINIMUM); without an SOA, not cached.
          const soa = msg.authorities.find((r): r is SoaRecord => r.kind === "SOA");
          if (soa) ttl = Math.min(soa.ttl, soa.minimum);
        } else {
          ttl = Infinity;
          for (const r of records) if (r.ttl < ttl) ttl = r.ttl;
        }
        this.#cache.set(q, answer, ttl);
      }
      return answer;
    }
    const code = RCODE_ERRORS[rcode] ?? "ServerError";
    return new DnsResolverError(
      code,
      `${q.name}: the server answered ${code} (rcode ${rcode})`,
      q,
      rcode,
    );
  }

  // -------------------------------------------------------------------------
  // names: search list and CNAME chains

  async #candidates(name: string): Promise<string[]> {
    if (name.endsWith(".")) return [name.slice(0, -1)];
    const s = this.#settings();
    const settings = s instanceof Promise ? await s : s;
    if (settings.search.length === 0) return [name];
    const dots = name.split(".").length - 1;
    const searched = settings.search.map((d) => `${name}.${d}`);
    return dots >= settings.ndots ? [name, ...searched] : [...searched, name];
  }

  #chase(
    name: string,
    type: number,
    signal: AbortSignal | undefined,
    seen: Set<string> = new Set(),
  ): Promise<DnsRecord[]> {
    return this.#lookup({ name, type }, signal).then((answer) =>
      this.#follow(answer, name, type, signal, seen)
    );
  }

  /**
   * The records of `type` at the end of the CNAME chain from `name` in
   * `answer`; when the chain leaves the answer, the chase goes on with a new
   * question. `seen` holds the CNAME targets met so far (loop and length check).
   */
  #follow(
    answer: CachedAnswer,
    name: string,
    type: number,
    signal: AbortSignal | undefined,
    seen: Set<string>,
  ): DnsRecord[] | Promise<DnsRecord[]> {
    if (answer.rcode === DnsRcode.NXDomain) {
      throw new DnsResolverError(
        "NXDomain",
        `${name} does not exist`,
        { name, type },
        answer.rcode,
      );
    }
    const records = answer.records;
    let target = name;
    if (type !== DnsType.CNAME) {
      const limit = this.#config.maxCnameHops ?? 8;
      for (;;) {
        const cname = records.find((r) => r.kind === "CNAME" && sameName(r.name, target));
        if (!cname || cname.kind !== "CNAME") break;
        const key = cname.target.toLowerCase();
        if (seen.has(key) || seen.size >= limit) {
          throw new DnsResolverError(
            "CnameLoop",
            `the CNAME chain through ${name} loops or is longer than ${limit}`,
            { name, type },
          );
        }
        seen.add(key);
        target = cname.target;
      }
    }
    const matches = records.filter((r) => r.type === type && sameName(r.name, target));
    if (matches.length > 0) return matches;
    if (target === name) {
      throw new DnsResolverError(
        "NoData",
        `${name} has no record of type ${type}`,
        { name, type },
        0,
      );
    }
    return this.#chase(target, type, signal, seen);
  }

  /**
   * The short path of a resolution when no search list or hosts entry is in
   * play: one cached-or-shared lookup and one continuation, so a settle (an
   * answer or an abort) reaches the caller in two promise hops. Null when the
   * full path must run.
   */
  #direct<T>(
    name: string,
    type: number,
    signal: AbortSignal | undefined,
    map: (records: DnsRecord[]) => T,
  ): Promise<T> | null {
    const settings = this.#resolved;
    if (settings === null || settings.search.length > 0 || name.endsWith(".")) return null;
    try {
      validateName(name);
    } catch {
      return null; // the full path reports it
    }
    const seen = new Set<string>();
    return this.#lookup({ name, type }, signal).then((answer) => {
      const r = this.#follow(answer, name, type, signal, seen);
      return r instanceof Promise ? r.then(map) : map(r);
    });
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
    const fast = this.#fromCache(name, type, false, options.signal);
    if (fast) return Promise.resolve(fast);
    return this.#direct(name, type, options.signal, same) ?? this.#querySlow(name, type, options);
  }

  async #querySlow(name: string, type: number, options: ResolveOptions): Promise<DnsRecord[]> {
    try {
      validateName(name);
    } catch (error) {
      throw new DnsResolverError(
        "InvalidName",
        `not a valid domain name: ${error instanceof Error ? error.message : error}`,
        { name, type },
        undefined,
        { cause: error },
      );
    }
    const candidates = await this.#candidates(name);
    for (let i = 0;; i++) {
      try {
        return await this.#chase(candidates[i], type, options.signal);
      } catch (error) {
        const absent = error instanceof DnsResolverError &&
          (error.code === "NXDomain" || error.code === "NoData");
        if (!absent || i === candidates.length - 1) throw error;
      }
    }
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
    const fast = this.#fromCache(name, DnsType.A, true, options?.signal);
    if (fast) return Promise.resolve(fast.map(addressOf));
    return (this.#hostsKnownAbsent(name) &&
      this.#direct(name, DnsType.A, options?.signal, addressesOf)) ||
      this.#resolveAddress(name, 4, options);
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
    const fast = this.#fromCache(name, DnsType.AAAA, true, options?.signal);
    if (fast) return Promise.resolve(fast.map(addressOf));
    return (this.#hostsKnownAbsent(name) &&
      this.#direct(name, DnsType.AAAA, options?.signal, addressesOf)) ||
      this.#resolveAddress(name, 6, options);
  }

  /** True when the hosts file is loaded and has no entry for `name`. */
  #hostsKnownAbsent(name: string): boolean {
    const hosts = this.#hosts;
    return hosts !== null &&
      (hosts.size === 0 || !hosts.has(name.toLowerCase().replace(/\.$/, "")));
  }

  async #resolveAddress(name: string, family: 4 | 6, options?: ResolveOptions): Promise<string[]> {
    const local = await this.#fromHosts(name, family);
    if (local) return local;
    return (await this.query(name, family === 4 ? DnsType.A : DnsType.AAAA, options)).map(
      addressOf,
    );
  }

  /**
   * The synchronous path of a cache hit: the records of `type` owned by `name`
   * itself, when everything the full path would consult is already known
   * (settings and hosts loaded, no search list in play, a live positive
   * entry with no CNAME to follow); otherwise null, and the full path runs.
   */
  #fromCache(
    name: string,
    type: number,
    address: boolean,
    signal: AbortSignal | undefined,
  ): DnsRecord[] | null {
    const settings = this.#resolved;
    if (!this.#cacheEnabled || this.#closed || settings === null || signal?.aborted) return null;
    if (address) {
      const hosts = this.#hosts;
      if (hosts === null || (hosts.size > 0 && hosts.has(name.toLowerCase()))) return null;
    }
    if (settings.search.length > 0 || name.endsWith(".")) return null;
    const key = cacheKey({ name, type });
    const hit = this.#cache.getPositiveByKey(key);
    if (hit === undefined) return null;
    const records = hit.records;
    for (let i = 0; i < records.length; i++) {
      // A CNAME (or a stray owner) takes the full path; the hit is counted there again.
      if (records[i].type !== type || !sameName(records[i].name, name)) return null;
    }
    this.#s.totalQueries++;
    this.#s.cacheHits++;
    return records;
  }

  async #fromHosts(name: string, family: 4 | 6): Promise<string[] | null> {
    const h = this.#hostsMap();
    const hosts = h instanceof Promise ? await h : h;
    if (hosts.size === 0) return null;
    const list = hosts.get(name.toLowerCase().replace(/\.$/, ""));
    if (!list) return null;
    const wanted = list.filter((
      a,
    ) => (family === 4 ? parseIpv4(a) !== null : parseIpv6(a) !== null));
    return wanted.length > 0 ? wanted : null;
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
      .sort((a, b) => a.priority - b.priority || b.weight - a.weight);
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
      .sort((a, b) => a.order - b.order || a.preference - b.preference);
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
      .sort((a, b) => a.priority - b.priority);
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
    return (await this.query(name, DnsType.TXT, options)).map((r) =>
      (r as { texts: string[] }).texts.join("")
    );
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
    return (await this.query(name, DnsType.PTR, options)).map((r) =>
      (r as { target: string }).target
    );
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
    return (await this.query(name, DnsType.CNAME, options)).map((r) =>
      (r as { target: string }).target
    );
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
    this.#s.totalQueries++;
    const hit = this.#cacheEnabled ? this.#cache.getByKey(cacheKey(q)) : undefined;
    if (hit === undefined) {
      this.#s.cacheMisses++;
      return undefined;
    }
    this.#s.cacheHits++;
    return hit.records;
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
    const t = this.#transport.getStats();
    const looked = this.#s.cacheHits + this.#s.cacheMisses;
    const ratio = looked === 0 ? 0 : this.#s.cacheHits / looked;
    return {
      ...this.#s,
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
    this.#s = zeroCounters();
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
    for (const f of this.#flights.values()) f.cancel();
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
