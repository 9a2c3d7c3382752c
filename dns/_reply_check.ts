// What makes a datagram or TCP frame a reply to a query of the DNS transport: a full header with
// the QR bit set and the query's id; over UDP, the queried server's address and port as its
// source; once decoded, the query's question echoed exactly. Private to dns/.
import { type DnsMessage, type DnsQuestion, parseIpv6, sameName } from "./message.ts";

/** Octets of a DNS header: anything shorter is dropped as malformed. */
export const HEADER_OCTETS = 12;

/** The message id in the first two octets. */
export function replyId(data: Uint8Array): number {
  return (data[0] << 8) | data[1];
}

/** True when the QR bit says the message is a response. */
export function isResponse(data: Uint8Array): boolean {
  return (data[2] & 0x80) !== 0;
}

/** Canonical form of an IP literal, for comparing a reply's source with the server. */
export function canonicalIp(ip: string): string {
  const lower = ip.toLowerCase();
  if (lower.startsWith("::ffff:") && lower.includes(".")) return lower.slice(7);
  if (!lower.includes(":")) return lower;
  const b = parseIpv6(lower);
  return b ? Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("") : lower;
}

/** True when `message` carries exactly the one question `q` asked. */
export function echoesQuestion(message: DnsMessage, q: DnsQuestion): boolean {
  const qs = message.questions;
  return qs.length === 1 && qs[0].type === q.type && qs[0].class === (q.class ?? 1) &&
    sameName(qs[0].name, q.name);
}
