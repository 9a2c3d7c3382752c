/**
 * Parsers of the system resolver files: `/etc/resolv.conf` (`nameserver`,
 * `search`/`domain`, `options ndots: timeout: attempts:`) and `/etc/hosts`.
 * The client reads the files through the platform seam; these functions only
 * parse text.
 *
 * @example
 * ```ts
 * import { parseHosts, parseResolvConf } from "./system_config.ts";
 * const conf = parseResolvConf("nameserver 127.0.0.1\nsearch example.test\noptions ndots:2");
 * const hosts = parseHosts("127.0.0.1 localhost");
 * console.log(conf.servers, conf.ndots, hosts.get("localhost"));
 * ```
 *
 * @module
 */

/**
 * What resolv.conf says.
 *
 * @example
 * ```ts
 * import type { ResolvConf } from "./system_config.ts";
 * const c: ResolvConf = {
 *   servers: ["127.0.0.1"], search: [], ndots: 1, timeoutMs: 5000, attempts: 2, rotate: false,
 * };
 * ```
 */
export interface ResolvConf {
  /** `nameserver` lines, in order (IPv6 ones in `[v6]` form). */
  servers: string[];
  /** Search list (`search`, or the last `domain`). */
  search: string[];
  /** `options ndots:` (default 1). */
  ndots: number;
  /** `options timeout:` in milliseconds (default 5000). */
  timeoutMs: number;
  /** `options attempts:` (default 2). */
  attempts: number;
  /** `options rotate`: spread queries over the servers round-robin. */
  rotate: boolean;
}

/**
 * Parses resolv.conf text (resolv.conf(5)); unknown lines are ignored.
 *
 * @example
 * ```ts
 * import { parseResolvConf } from "./system_config.ts";
 * console.log(parseResolvConf("nameserver ::1").servers); // ["[::1]"]
 * ```
 */
export function parseResolvConf(text: string): ResolvConf {
  const conf: ResolvConf = {
    servers: [],
    search: [],
    ndots: 1,
    timeoutMs: 5000,
    attempts: 2,
    rotate: false,
  };
  for (const raw of text.split("\n")) {
    const line = raw.replace(/[#;].*$/, "").trim();
    if (!line) continue;
    const [key, ...args] = line.split(/\s+/);
    if (key === "nameserver" && args[0]) {
      const addr = args[0].replace(/%.*$/, "");
      // A bare IPv6 literal gets brackets; "addr:port" and "[v6]:port" (our extension) stay.
      const bareV6 = (addr.match(/:/g)?.length ?? 0) > 1 && !addr.startsWith("[");
      conf.servers.push(bareV6 ? `[${addr}]` : addr);
    } else if (key === "search") {
      conf.search = args.map((d) => d.replace(/\.$/, "")).filter((d) => d.length > 0);
    } else if (key === "domain" && args[0]) {
      conf.search = [args[0].replace(/\.$/, "")];
    } else if (key === "options") {
      for (const opt of args) {
        if (opt === "rotate") conf.rotate = true;
        const [name, value] = opt.split(":");
        const n = Number(value);
        if (!Number.isInteger(n) || n < 0) continue;
        if (name === "ndots") conf.ndots = Math.min(n, 15);
        else if (name === "timeout") conf.timeoutMs = Math.max(1, Math.min(n, 30)) * 1000;
        else if (name === "attempts") conf.attempts = Math.max(1, Math.min(n, 5));
      }
    }
  }
  return conf;
}

/**
 * Parses hosts-file text into lower-case name → addresses (file order).
 *
 * @example
 * ```ts
 * import { parseHosts } from "./system_config.ts";
 * console.log(parseHosts("::1 localhost ip6-localhost").get("ip6-localhost")); // ["::1"]
 * ```
 */
export function parseHosts(text: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*$/, "").trim();
    if (!line) continue;
    const [address, ...names] = line.split(/\s+/);
    const addr = address.replace(/%.*$/, "");
    for (const name of names) {
      const key = name.toLowerCase().replace(/\.$/, "");
      const list = map.get(key);
      if (!list) map.set(key, [addr]);
      else if (!list.includes(addr)) list.push(addr);
    }
  }
  return map;
}
