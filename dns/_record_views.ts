// The typed views DnsClient's resolve methods give of the records they get: addresses, names
// (PTR and CNAME targets), joined TXT strings, and the orders of SRV (RFC 2782), NAPTR and MX
// records. Private to dns/.
import type { DnsRecord, MxRecord, NaptrRecord, SrvRecord } from "./message.ts";

/** The address of an A or AAAA record. */
export function addressOf(r: DnsRecord): string {
  return (r as { address: string }).address;
}

/** The addresses of A or AAAA records. */
export function addressesOf(records: DnsRecord[]): string[] {
  return records.map(addressOf);
}

/** The target of a PTR or CNAME record. */
export function targetOf(r: DnsRecord): string {
  return (r as { target: string }).target;
}

/** A TXT record's strings, joined. */
export function textOf(r: DnsRecord): string {
  return (r as { texts: string[] }).texts.join("");
}

/** SRV order: priority, then the heavier weight first. */
export function bySrvOrder(a: SrvRecord, b: SrvRecord): number {
  return a.priority - b.priority || b.weight - a.weight;
}

/** NAPTR order: order, then preference. */
export function byNaptrOrder(a: NaptrRecord, b: NaptrRecord): number {
  return a.order - b.order || a.preference - b.preference;
}

/** MX order: lowest priority first. */
export function byMxPriority(a: MxRecord, b: MxRecord): number {
  return a.priority - b.priority;
}
