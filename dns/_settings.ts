// The DnsClient's resolver settings (servers, search list, ndots, per-attempt timeout, retries,
// rotation): from its DnsConfig when that names servers, otherwise read once from resolv.conf
// through the platform seam, the config's own fields winning over the file's. Private to dns/.
import { platform } from "../core/platform/mod.ts";
import { DnsResolverError } from "./errors.ts";
import type { DnsConfig } from "./client_types.ts";
import { parseResolvConf } from "./system_config.ts";
import { type DnsServerAddress, parseServer } from "./server_address.ts";

/** The settings a resolution runs with. */
export interface ResolverSettings {
  servers: DnsServerAddress[];
  search: string[];
  ndots: number;
  timeout: number;
  retryCount: number;
  rotate: boolean;
}

/** The settings of one client, known from the start or read on first use. */
export class ResolverSettingsSource {
  #config: DnsConfig;
  #resolved: ResolverSettings | null = null;
  #resolving: Promise<ResolverSettings> | null = null;

  /**
   * @param config the client's configuration; its servers are parsed here (and throw
   *   `NoServers` when one is not an address)
   */
  constructor(config: DnsConfig) {
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
    }
  }

  /** The settings when already known, else null. */
  get known(): ResolverSettings | null {
    return this.#resolved;
  }

  /**
   * The settings, reading resolv.conf on the first call when the config names no servers.
   * A file that cannot be read is tried again on the next call; one without a nameserver is not.
   */
  get(): ResolverSettings | Promise<ResolverSettings> {
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
}
