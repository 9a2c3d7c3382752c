// From a name to records: the search list, CNAME chains followed across questions, the hosts
// file first for addresses, and the two short paths that skip what is not in play (a
// synchronous cache hit, and one lookup with one continuation when no search list or hosts
// entry applies). The questions themselves go through Lookups. Private to dns/.
import type { CachedAnswer } from "./cache.ts";
import type { DnsConfig, ResolveOptions } from "./client_types.ts";
import { DnsResolverError } from "./errors.ts";
import { chainEnd } from "./_cname_chain.ts";
import type { HostsTable } from "./_hosts_table.ts";
import type { Lookups } from "./_lookups.ts";
import { addressesOf, addressOf } from "./_record_views.ts";
import { searchNames } from "./_search_names.ts";
import type { ResolverSettingsSource } from "./_settings.ts";
import { type DnsRecord, DnsType, validateName } from "./message.ts";

function same<T>(x: T): T {
  return x;
}

/** The name resolution of one client. */
export class NameResolver {
  #config: DnsConfig;
  #settings: ResolverSettingsSource;
  #hosts: HostsTable;
  #lookups: Lookups;

  /**
   * @param config `maxCnameHops`
   * @param settings the search list and ndots
   * @param hosts the hosts file
   * @param lookups answers exact questions
   */
  constructor(
    config: DnsConfig,
    settings: ResolverSettingsSource,
    hosts: HostsTable,
    lookups: Lookups,
  ) {
    this.#config = config;
    this.#settings = settings;
    this.#hosts = hosts;
    this.#lookups = lookups;
  }

  /** Records of `type` for `name`, after the search list and CNAME chasing. */
  query(name: string, type: number, options: ResolveOptions = {}): Promise<DnsRecord[]> {
    const fast = this.#fromCache(name, type, false, options.signal);
    if (fast) return Promise.resolve(fast);
    return this.#direct(name, type, options.signal, same) ?? this.#querySlow(name, type, options);
  }

  /** Addresses of `family` for `name`: the hosts file's, else DNS's. */
  addresses(name: string, family: 4 | 6, options?: ResolveOptions): Promise<string[]> {
    const type = family === 4 ? DnsType.A : DnsType.AAAA;
    const fast = this.#fromCache(name, type, true, options?.signal);
    if (fast) return Promise.resolve(fast.map(addressOf));
    return (this.#hosts.knownAbsent(name) &&
      this.#direct(name, type, options?.signal, addressesOf)) ||
      this.#resolveAddress(name, family, options);
  }

  async #resolveAddress(name: string, family: 4 | 6, options?: ResolveOptions): Promise<string[]> {
    const local = await this.#hosts.addresses(name, family);
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
    const settings = this.#settings.known;
    if (!this.#lookups.cacheOpen || settings === null || signal?.aborted) return null;
    if (address && !this.#hosts.knownAbsent(name)) return null;
    if (settings.search.length > 0 || name.endsWith(".")) return null;
    return this.#lookups.cachedOwnRecords(name, type);
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
    const settings = this.#settings.known;
    if (settings === null || settings.search.length > 0 || name.endsWith(".")) return null;
    try {
      validateName(name);
    } catch {
      return null; // the full path reports it
    }
    const seen = new Set<string>();
    return this.#lookups.lookup({ name, type }, signal).then((answer) => {
      const r = this.#follow(answer, name, type, signal, seen);
      return r instanceof Promise ? r.then(map) : map(r);
    });
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

  async #candidates(name: string): Promise<string[]> {
    if (name.endsWith(".")) return [name.slice(0, -1)];
    const s = this.#settings.get();
    const settings = s instanceof Promise ? await s : s;
    return searchNames(name, settings.search, settings.ndots);
  }

  #chase(
    name: string,
    type: number,
    signal: AbortSignal | undefined,
    seen: Set<string> = new Set(),
  ): Promise<DnsRecord[]> {
    return this.#lookups.lookup({ name, type }, signal).then((answer) =>
      this.#follow(answer, name, type, signal, seen)
    );
  }

  /** The records at the end of the chain in `answer`, or the chase of the name it leaves at. */
  #follow(
    answer: CachedAnswer,
    name: string,
    type: number,
    signal: AbortSignal | undefined,
    seen: Set<string>,
  ): DnsRecord[] | Promise<DnsRecord[]> {
    const end = chainEnd(answer, name, type, seen, this.#config.maxCnameHops ?? 8);
    return typeof end === "string" ? this.#chase(end, type, signal, seen) : end;
  }
}
