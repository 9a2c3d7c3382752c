/**
 * Iora's DNS layer: a hardened wire codec ({@linkcode decodeMessage},
 * {@linkcode encodeMessage}), a TTL/LRU cache with negative caching, a UDP
 * transport with TCP fallback and forged-reply filtering, the
 * {@linkcode DnsClient} (the seed's API: `resolveA`, `resolveAAAA`,
 * `resolveHost`, `resolveSrv`, `resolveNaptr`, `resolveMx`, `resolveTxt`,
 * `resolvePtr`, `resolveCname`, `resolveServiceDomain`, callback and
 * cancellable forms, `getStats`) and RFC 3263 service discovery.
 *
 * Permissions on Deno: `--allow-net`, `--unstable-net` (UDP), and read access
 * to `/etc/resolv.conf` and `/etc/hosts` unless servers are configured and
 * `hostsPath` is `null`.
 *
 * @example
 * ```ts
 * import { DnsClient } from "./mod.ts";
 * const client = new DnsClient({ servers: ["127.0.0.1:5353"], timeout: 1000 });
 * try {
 *   console.log(await client.resolveA("www.example.test"));
 * } catch (e) {
 *   console.log((e as { code?: string }).code); // "NXDomain", "Timeout", ...
 * } finally {
 *   client.close();
 * }
 * ```
 *
 * @module
 */
export { IoraError } from "../core/errors.ts";
export type { RuntimeName } from "../core/platform/types.ts";
export * from "./message.ts";
export * from "./errors.ts";
export * from "./cache.ts";
export * from "./transport.ts";
export * from "./client.ts";
export * from "./service_discovery.ts";
export * from "./system_config.ts";
