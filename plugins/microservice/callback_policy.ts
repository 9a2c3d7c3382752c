/**
 * {@linkcode CallbackPolicy}: which `callbackUrl`s the sample microservice
 * may post results to. A callback is a request the service makes on a
 * caller's behalf, so by default it refuses addresses inside the network it
 * runs in (no server-side request forgery): loopback, private (RFC 1918,
 * RFC 4193), link-local (cloud metadata at 169.254.169.254 included),
 * carrier-grade NAT, unspecified, multicast and reserved ranges. Names are
 * resolved first and every address they resolve to is checked. An allowlist
 * of host names, addresses and CIDR ranges lets chosen internal receivers
 * through.
 *
 * What it does not close: the HTTP client resolves the name again when it
 * connects, so a name whose records change between the check and the
 * request (DNS rebinding with a zero TTL) can still reach an internal
 * address; list receivers by address, or put the service behind an egress
 * proxy, where that matters.
 *
 * @example
 * ```ts
 * import { CallbackPolicy } from "./callback_policy.ts";
 * const policy = new CallbackPolicy(["10.1.0.0/16", "hooks.internal"]);
 * console.log(policy.refusal("10.2.0.7")); // "10.2.0.7 is a private address"
 * console.log(policy.refusal("10.1.3.4")); // undefined (listed)
 * ```
 *
 * @module
 */
import { IoraError } from "../../core/errors.ts";
import { parseIpAddress } from "../../network/ip_address.ts";

/** A `callbackUrl` that is malformed or that the policy refuses (`code`: `CallbackRefused`). */
export class CallbackRefusedError extends IoraError {
  /**
   * @param message why, naming the URL and the address
   */
  constructor(message: string) {
    super("CallbackRefused", message);
    this.name = "CallbackRefusedError";
  }
}

type Range = { bytes: Uint8Array; bits: number };

// Ranges refused unless listed, with the word used in the refusal.
const REFUSED: [string, string][] = [
  ["0.0.0.0/8", "an unspecified"],
  ["10.0.0.0/8", "a private"],
  ["100.64.0.0/10", "a carrier-grade NAT"],
  ["127.0.0.0/8", "a loopback"],
  ["169.254.0.0/16", "a link-local"],
  ["172.16.0.0/12", "a private"],
  ["192.0.0.0/24", "a reserved"],
  ["192.168.0.0/16", "a private"],
  ["198.18.0.0/15", "a benchmarking"],
  ["224.0.0.0/3", "a multicast or reserved"],
  ["::/128", "an unspecified"],
  ["::1/128", "a loopback"],
  ["fc00::/7", "a private"],
  ["fe80::/10", "a link-local"],
  ["ff00::/8", "a multicast"],
];

function parseRange(text: string): Range | null {
  const slash = text.indexOf("/");
  const bytes = parseIpAddress(slash < 0 ? text : text.slice(0, slash));
  if (!bytes) return null;
  const bits = slash < 0 ? bytes.length * 8 : Number(text.slice(slash + 1));
  if (!Number.isInteger(bits) || bits < 0 || bits > bytes.length * 8) return null;
  return { bytes, bits };
}

function inRange(address: Uint8Array, range: Range): boolean {
  if (address.length !== range.bytes.length) return false;
  for (let bit = 0; bit < range.bits; bit += 8) {
    const left = range.bits - bit;
    const mask = left >= 8 ? 0xff : (0xff << (8 - left)) & 0xff;
    if ((address[bit >> 3] & mask) !== (range.bytes[bit >> 3] & mask)) return false;
  }
  return true;
}

const REFUSED_RANGES: [Range, string][] = REFUSED.map(([cidr, kind]) => [parseRange(cidr)!, kind]);

/**
 * The callback address policy (see the module documentation).
 *
 * @example
 * ```ts ignore
 * import { CallbackPolicy } from "./callback_policy.ts";
 * const policy = new CallbackPolicy(["127.0.0.1"]);
 * await policy.check("http://127.0.0.1:9000/done", (name) => service.dnsClient.resolveHost(name));
 * ```
 */
export class CallbackPolicy {
  readonly #hosts = new Set<string>();
  readonly #ranges: Range[] = [];

  /**
   * @param allowlist host names (exact, case-insensitive), addresses and CIDR ranges let
   *   through even when internal
   * @throws {CallbackRefusedError} for an entry that is not a string
   */
  constructor(allowlist: readonly unknown[] = []) {
    for (const entry of allowlist) {
      if (typeof entry !== "string" || entry === "") {
        throw new CallbackRefusedError(
          `callbackAllowlist entries are host names, addresses or CIDR ranges; got ${
            JSON.stringify(entry)
          }`,
        );
      }
      const range = parseRange(entry);
      if (range) this.#ranges.push(range);
      else this.#hosts.add(entry.toLowerCase().replace(/\.$/, ""));
    }
  }

  /**
   * Why `address` is refused, or undefined when it may be called.
   *
   * @param address an IPv4 or IPv6 address
   * @returns the reason, or undefined
   */
  refusal(address: string): string | undefined {
    const bytes = parseIpAddress(address);
    if (!bytes) return `${address} is not an IP address`;
    if (this.#ranges.some((range) => inRange(bytes, range))) return undefined;
    for (const [range, kind] of REFUSED_RANGES) {
      if (inRange(bytes, range)) return `${address} is ${kind} address`;
    }
    return undefined;
  }

  /**
   * Checks a callback URL: an `http:` or `https:` URL whose host is listed, or whose every
   * address (a literal, or what `resolve` returns for the name) may be called.
   *
   * @param url the callback URL
   * @param resolve resolves a host name to its addresses
   * @returns the parsed URL
   * @throws {CallbackRefusedError} naming the URL and why
   */
  async check(url: unknown, resolve: (name: string) => Promise<string[]>): Promise<URL> {
    let parsed: URL;
    try {
      parsed = new URL(String(url));
    } catch {
      throw new CallbackRefusedError(`callbackUrl ${JSON.stringify(url)} is not a URL`);
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
      throw new CallbackRefusedError(
        `callbackUrl ${parsed.href}: only http: and https: are allowed`,
      );
    }
    if (parsed.username || parsed.password) {
      throw new CallbackRefusedError(`callbackUrl ${parsed.origin}: credentials are not allowed`);
    }
    const host = parsed.hostname.toLowerCase().replace(/\.$/, "");
    if (this.#hosts.has(host)) return parsed;
    let addresses: string[];
    if (parseIpAddress(host)) addresses = [host.replace(/^\[|\]$/g, "")];
    else {
      try {
        addresses = await resolve(host);
      } catch (error) {
        throw new CallbackRefusedError(
          `callbackUrl ${parsed.href}: ${host} does not resolve (${(error as Error).message})`,
        );
      }
      if (addresses.length === 0) {
        throw new CallbackRefusedError(`callbackUrl ${parsed.href}: ${host} has no address`);
      }
    }
    for (const address of addresses) {
      const why = this.refusal(address);
      if (why) {
        throw new CallbackRefusedError(
          `callbackUrl ${parsed.href} refused: ${why} (list it in callbackAllowlist to allow it)`,
        );
      }
    }
    return parsed;
  }
}
