// Where HttpClient sends a request: the origin of an http: or https: URL,
// or the targets of the service a srv+http: or srv+https: URL names, found
// through DNS, best first.
import { HttpClientError } from "./client_error.ts";
import type { HostResolver, Origin } from "./_connection_pool.ts";

/** An origin to send a request to, with the Host header that goes with it. */
export interface Destination {
  origin: Origin;
  /** The `Host` header's value. */
  authority: string;
}

/** The origin of an `http:` or `https:` URL. */
export function originOf(url: URL): Origin {
  const tls = url.protocol === "https:" || url.protocol === "srv+https:";
  const port = url.port === "" ? (tls ? 443 : 80) : Number(url.port);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  return { key: `${url.protocol}//${url.host}`, tls, host, port };
}

/**
 * The targets of the service `url` (`srv+http:` or `srv+https:`) names, best first.
 *
 * @throws {HttpClientError} `InvalidRequest` when `resolver` cannot discover services,
 *   `DnsFailed` when the discovery fails; the signal's reason once it aborted
 */
export async function serviceTargets(
  url: URL,
  resolver: HostResolver,
  signal: AbortSignal,
): Promise<Destination[]> {
  const tls = url.protocol === "srv+https:";
  if (resolver.resolveServiceDomain === undefined) {
    throw new HttpClientError(
      "InvalidRequest",
      `${url.href}: the resolver cannot discover services`,
    );
  }
  let targets: { host: string; address: string; port: number }[];
  try {
    ({ targets } = await resolver.resolveServiceDomain(url.hostname, [tls ? "TLS" : "TCP"], {
      service: "http",
      defaultPorts: { TCP: 80, TLS: 443 },
      signal,
    }));
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    throw new HttpClientError(
      "DnsFailed",
      `${url.href}: service discovery failed: ${(error as Error).message}`,
      { cause: error },
    );
  }
  return targets.map((target) => {
    const host = target.host.replace(/\.$/, "");
    const origin: Origin = {
      key: `${url.protocol}//${host}:${target.port}@${target.address}`,
      tls,
      host,
      port: target.port,
      address: target.address,
    };
    return { origin, authority: `${host}:${target.port}` };
  });
}
