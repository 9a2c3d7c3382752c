// The hosts file as the DnsClient consults it before asking DNS for addresses: read once, on
// first use, through the platform seam (a file that cannot be read counts as empty; a null
// path skips it). Private to dns/.
import { platform } from "../core/platform/mod.ts";
import { parseIpv4, parseIpv6 } from "../network/ip_address.ts";
import type { DnsConfig } from "./client_types.ts";
import { parseHosts } from "./system_config.ts";

/** A name as the table keys it: lower case, without a trailing dot. */
function hostKey(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith(".") ? lower.slice(0, -1) : lower;
}

/** The hosts file's names and addresses. */
export class HostsTable {
  #config: DnsConfig;
  #hosts: Map<string, string[]> | null = null;
  #loading: Promise<Map<string, string[]>> | null = null;

  /** @param config `hostsPath`: the hosts file (default `/etc/hosts`; `null`: none) */
  constructor(config: DnsConfig) {
    this.#config = config;
  }

  /** True when the table is loaded and has no entry for `name`. */
  knownAbsent(name: string): boolean {
    const hosts = this.#hosts;
    return hosts !== null && (hosts.size === 0 || !hosts.has(hostKey(name)));
  }

  /** The addresses of `family` the file gives `name`, or null for none. */
  async addresses(name: string, family: 4 | 6): Promise<string[] | null> {
    const h = this.#map();
    const hosts = h instanceof Promise ? await h : h;
    if (hosts.size === 0) return null;
    const list = hosts.get(hostKey(name));
    if (!list) return null;
    const wanted = list.filter((
      a,
    ) => (family === 4 ? parseIpv4(a) !== null : parseIpv6(a) !== null));
    return wanted.length > 0 ? wanted : null;
  }

  #map(): Map<string, string[]> | Promise<Map<string, string[]>> {
    if (this.#hosts) return this.#hosts;
    const path = this.#config.hostsPath === undefined ? "/etc/hosts" : this.#config.hostsPath;
    if (path === null) return (this.#hosts = new Map());
    this.#loading ??= platform().readTextFile(path).then(
      (text) => (this.#hosts = parseHosts(text)),
      () => (this.#hosts = new Map()),
    );
    return this.#loading;
  }
}
