/**
 * IP address literals as bytes: IPv4 and IPv6 parsing, and the loopback test, shared by the DNS
 * codec, the status page's loopback rule and the sample microservice's callback policy.
 *
 * @example
 * ```ts
 * import { isLoopbackAddress, parseIpAddress } from "./ip_address.ts";
 * console.log(parseIpAddress("[::ffff:10.0.0.1]")); // Uint8Array(4) [ 10, 0, 0, 1 ]
 * console.log(isLoopbackAddress("127.8.0.1"), isLoopbackAddress("::1")); // true true
 * ```
 *
 * @module
 */

/**
 * The 4 octets of a dotted-quad IPv4 address, or `null` when `s` is not one.
 *
 * @example
 * ```ts
 * import { parseIpv4 } from "./ip_address.ts";
 * console.log(parseIpv4("192.0.2.1")?.[0], parseIpv4("256.0.0.1")); // 192 null
 * ```
 */
export function parseIpv4(s: string): Uint8Array | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (m === null) return null;
  const parts = m.slice(1).map(Number);
  return parts.some((x) => x > 255) ? null : Uint8Array.from(parts);
}

/**
 * The 16 octets of an IPv6 address (with optional embedded IPv4 tail), or
 * `null` when `s` is not one.
 *
 * @example
 * ```ts
 * import { parseIpv6 } from "./ip_address.ts";
 * console.log(parseIpv6("::1")?.[15]); // 1
 * ```
 */
export function parseIpv6(s: string): Uint8Array | null {
  if (!/^[0-9a-fA-F:.]+$/.test(s) || !s.includes(":")) return null;
  let tail: number[] = [];
  const lastColon = s.lastIndexOf(":");
  if (s.includes(".")) {
    const v4 = parseIpv4(s.slice(lastColon + 1));
    if (v4 === null) return null;
    tail = [...v4];
    s = s.slice(0, lastColon + 1) + "0:0";
  }
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const groups = (h: string): number[] | null => {
    if (h === "") return [];
    const out: number[] = [];
    for (const g of h.split(":")) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = groups(halves[0]);
  const rest = halves.length === 2 ? groups(halves[1]) : [];
  if (!head || !rest) return null;
  const fill = 8 - head.length - rest.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return null;
  const all = [...head, ...new Array<number>(halves.length === 2 ? fill : 0).fill(0), ...rest];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  if (tail.length) out.set(tail, 12);
  return out;
}

/**
 * The bytes of an IPv4 or IPv6 address (IPv6 in brackets allowed), or `null`. An IPv4-mapped
 * IPv6 address (`::ffff:10.0.0.1`) comes back as its 4 IPv4 bytes, so it meets IPv4 rules.
 *
 * @example
 * ```ts
 * import { parseIpAddress } from "./ip_address.ts";
 * console.log(parseIpAddress("[::1]")?.length, parseIpAddress("example.com")); // 16 null
 * ```
 */
export function parseIpAddress(text: string): Uint8Array | null {
  const bare = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  const v4 = parseIpv4(bare);
  if (v4 !== null) return v4;
  const v6 = parseIpv6(bare);
  if (v6 === null) return null;
  const mapped = v6.subarray(0, 10).every((b) => b === 0) && v6[10] === 0xff && v6[11] === 0xff;
  return mapped ? v6.slice(12) : v6;
}

/**
 * True for an address in 127.0.0.0/8 (IPv4-mapped too) or `::1`; false for anything else,
 * names included.
 *
 * @example
 * ```ts
 * import { isLoopbackAddress } from "./ip_address.ts";
 * console.log(isLoopbackAddress("[::ffff:127.0.0.1]"), isLoopbackAddress("10.0.0.1")); // true false
 * ```
 */
export function isLoopbackAddress(text: string): boolean {
  const bytes = parseIpAddress(text);
  if (bytes === null) return false;
  if (bytes.length === 4) return bytes[0] === 127;
  return bytes.subarray(0, 15).every((b) => b === 0) && bytes[15] === 1;
}
