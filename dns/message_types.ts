/**
 * The shapes of the DNS wire format that `decodeMessage` gives and
 * `encodeMessage` takes: record types and rcodes, the header, the
 * question, the typed records and the message, and the codec's error.
 * Re-exported by `message.ts`.
 *
 * @example
 * ```ts
 * import { DnsType, type DnsQuestion } from "./message_types.ts";
 * const question: DnsQuestion = { name: "example.com", type: DnsType.MX };
 * ```
 *
 * @module
 */
import { IoraError } from "../core/errors.ts";

/**
 * Record types this codec knows by name (RFC 1035, 3596, 2782, 3403, 6891).
 *
 * @example
 * ```ts
 * import { DnsType } from "./message.ts";
 * console.log(DnsType.SRV); // 33
 * ```
 */
export const DnsType = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  NAPTR: 35,
  OPT: 41,
  ANY: 255,
} as const;

/**
 * A record type value: one of {@linkcode DnsType} or any other 16-bit number.
 *
 * @example
 * ```ts
 * import { DnsType, type DnsTypeValue } from "./message.ts";
 * const t: DnsTypeValue = DnsType.MX;
 * ```
 */
export type DnsTypeValue = number;

/**
 * Response codes (RFC 1035 §4.1.1).
 *
 * @example
 * ```ts
 * import { DnsRcode } from "./message.ts";
 * console.log(DnsRcode.NXDomain); // 3
 * ```
 */
export const DnsRcode = {
  NoError: 0,
  FormErr: 1,
  ServFail: 2,
  NXDomain: 3,
  NotImp: 4,
  Refused: 5,
} as const;

/**
 * A malformed message (decoding) or an unencodable one (encoding). `offset`
 * is the byte position of the fault in the input (−1 when encoding).
 *
 * @example
 * ```ts
 * import { decodeMessage, DnsMessageError } from "./message.ts";
 * try {
 *   decodeMessage(new Uint8Array(3));
 * } catch (e) {
 *   if (e instanceof DnsMessageError) console.log(e.code, e.offset);
 * }
 * ```
 */
export class DnsMessageError extends IoraError {
  /** `"Malformed"` for input that cannot be decoded, `"Unencodable"` for values that cannot be encoded. */
  declare readonly code: "Malformed" | "Unencodable";
  /** Byte offset of the fault in the decoded input, −1 for encoding faults. */
  readonly offset: number;

  /**
   * Creates the error.
   *
   * @param code `"Malformed"` or `"Unencodable"`
   * @param message what is wrong
   * @param offset where, in the input
   */
  constructor(code: "Malformed" | "Unencodable", message: string, offset: number) {
    super(code, offset >= 0 ? `${message} (at offset ${offset})` : message);
    this.offset = offset;
  }
}

/**
 * The fixed header of a message (RFC 1035 §4.1.1, plus AD/CD of RFC 4035).
 *
 * @example
 * ```ts
 * import type { DnsHeader } from "./message.ts";
 * const h: Partial<DnsHeader> = { id: 1, rd: true };
 * ```
 */
export interface DnsHeader {
  /** Query id. */
  id: number;
  /** True for a response. */
  qr: boolean;
  /** Operation code (0 = QUERY). */
  opcode: number;
  /** Authoritative answer. */
  aa: boolean;
  /** Truncated. */
  tc: boolean;
  /** Recursion desired. */
  rd: boolean;
  /** Recursion available. */
  ra: boolean;
  /** Authentic data. */
  ad: boolean;
  /** Checking disabled. */
  cd: boolean;
  /** Response code (low 4 bits; EDNS0 extends it, see {@linkcode DnsMessage.rcode}). */
  rcode: number;
}

/**
 * A question: name, type and class (IN by default).
 *
 * @example
 * ```ts
 * import { DnsType, type DnsQuestion } from "./message.ts";
 * const q: DnsQuestion = { name: "_sip._udp.example.com", type: DnsType.SRV };
 * ```
 */
export interface DnsQuestion {
  /** Owner name, presentation form without the trailing dot. */
  name: string;
  /** Record type. */
  type: DnsTypeValue;
  /** Class; 1 (IN) when omitted. */
  class?: number;
}

/**
 * Fields every record has.
 *
 * @example
 * ```ts
 * import type { DnsRecordBase } from "./message.ts";
 * const b: DnsRecordBase = { name: "a.test", type: 1, class: 1, ttl: 60 };
 * ```
 */
export interface DnsRecordBase {
  /** Owner name. */
  name: string;
  /** Record type number. */
  type: number;
  /** Class (1 = IN). */
  class: number;
  /** Time to live, seconds. */
  ttl: number;
}

/**
 * An IPv4 address record.
 *
 * @example
 * ```ts
 * import type { ARecord } from "./message.ts";
 * const r: ARecord = { kind: "A", name: "a.test", type: 1, class: 1, ttl: 60, address: "192.0.2.1" };
 * ```
 */
export interface ARecord extends DnsRecordBase {
  /** Discriminant. */
  kind: "A";
  /** Dotted-quad address. */
  address: string;
}
/**
 * An IPv6 address record (RFC 3596).
 *
 * @example
 * ```ts
 * import type { AaaaRecord } from "./message.ts";
 * const r: AaaaRecord = { kind: "AAAA", name: "a.test", type: 28, class: 1, ttl: 60, address: "2001:db8::1" };
 * ```
 */
export interface AaaaRecord extends DnsRecordBase {
  /** Discriminant. */
  kind: "AAAA";
  /** Address in RFC 5952 form. */
  address: string;
}
/**
 * NS, CNAME and PTR: a record whose data is one domain name.
 *
 * @example
 * ```ts
 * import type { NameRecord } from "./message.ts";
 * const r: NameRecord = { kind: "CNAME", name: "www.test", type: 5, class: 1, ttl: 60, target: "test" };
 * ```
 */
export interface NameRecord extends DnsRecordBase {
  /** Discriminant. */
  kind: "NS" | "CNAME" | "PTR";
  /** The name the record holds. */
  target: string;
}
/**
 * A mail exchange.
 *
 * @example
 * ```ts
 * import type { MxRecord } from "./message.ts";
 * const r: MxRecord = { kind: "MX", name: "test", type: 15, class: 1, ttl: 60, priority: 10, exchange: "mx.test" };
 * ```
 */
export interface MxRecord extends DnsRecordBase {
  /** Discriminant. */
  kind: "MX";
  /** Preference, lower first. */
  priority: number;
  /** Mail server name. */
  exchange: string;
}
/**
 * Text strings (each at most 255 octets on the wire, decoded as UTF-8).
 *
 * @example
 * ```ts
 * import type { TxtRecord } from "./message.ts";
 * const r: TxtRecord = { kind: "TXT", name: "test", type: 16, class: 1, ttl: 60, texts: ["v=spf1 -all"] };
 * ```
 */
export interface TxtRecord extends DnsRecordBase {
  /** Discriminant. */
  kind: "TXT";
  /** The character-strings, in order. */
  texts: string[];
}
/**
 * Start of authority.
 *
 * @example
 * ```ts
 * import type { SoaRecord } from "./message.ts";
 * const r: SoaRecord = { kind: "SOA", name: "test", type: 6, class: 1, ttl: 60, mname: "ns.test",
 *   rname: "admin.test", serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: 30 };
 * ```
 */
export interface SoaRecord extends DnsRecordBase {
  /** Discriminant. */
  kind: "SOA";
  /** Primary name server. */
  mname: string;
  /** Responsible mailbox. */
  rname: string;
  /** Zone serial. */
  serial: number;
  /** Refresh interval, seconds. */
  refresh: number;
  /** Retry interval, seconds. */
  retry: number;
  /** Expire limit, seconds. */
  expire: number;
  /** Negative-caching TTL (RFC 2308). */
  minimum: number;
}
/**
 * A service location (RFC 2782).
 *
 * @example
 * ```ts
 * import type { SrvRecord } from "./message.ts";
 * const r: SrvRecord = { kind: "SRV", name: "_sip._udp.test", type: 33, class: 1, ttl: 60,
 *   priority: 10, weight: 5, port: 5060, target: "sip.test" };
 * ```
 */
export interface SrvRecord extends DnsRecordBase {
  /** Discriminant. */
  kind: "SRV";
  /** Lower is tried first. */
  priority: number;
  /** Relative weight within a priority. */
  weight: number;
  /** Port of the service. */
  port: number;
  /** Host name of the target. */
  target: string;
}
/**
 * A naming authority pointer (RFC 3403).
 *
 * @example
 * ```ts
 * import type { NaptrRecord } from "./message.ts";
 * const r: NaptrRecord = { kind: "NAPTR", name: "test", type: 35, class: 1, ttl: 60, order: 10,
 *   preference: 50, flags: "s", service: "SIP+D2U", regexp: "", replacement: "_sip._udp.test" };
 * ```
 */
export interface NaptrRecord extends DnsRecordBase {
  /** Discriminant. */
  kind: "NAPTR";
  /** Processing order, lower first. */
  order: number;
  /** Preference among equal orders, lower first. */
  preference: number;
  /** Flags, such as `"s"` or `"a"`. */
  flags: string;
  /** Service parameters, such as `"SIP+D2U"`. */
  service: string;
  /** Substitution expression. */
  regexp: string;
  /** Replacement domain name. */
  replacement: string;
}
/**
 * An EDNS0 option (RFC 6891 §6.1.2).
 *
 * @example
 * ```ts
 * import type { EdnsOption } from "./message.ts";
 * const o: EdnsOption = { code: 10, data: new Uint8Array(8) };
 * ```
 */
export interface EdnsOption {
  /** Option code. */
  code: number;
  /** Option data. */
  data: Uint8Array;
}
/**
 * The EDNS0 pseudo-record (RFC 6891). `class` is the UDP payload size and
 * `ttl` carries the extended rcode, version and DO bit, also given apart.
 *
 * @example
 * ```ts
 * import type { OptRecord } from "./message.ts";
 * const r: OptRecord = { kind: "OPT", name: "", type: 41, class: 1232, ttl: 0, udpPayloadSize: 1232,
 *   extendedRcode: 0, version: 0, dnssecOk: false, options: [] };
 * ```
 */
export interface OptRecord extends DnsRecordBase {
  /** Discriminant. */
  kind: "OPT";
  /** The sender's UDP payload size. */
  udpPayloadSize: number;
  /** The upper 8 bits of the 12-bit rcode. */
  extendedRcode: number;
  /** EDNS version. */
  version: number;
  /** The DO bit. */
  dnssecOk: boolean;
  /** Options. */
  options: EdnsOption[];
}
/**
 * An EDNS0 OPT record advertising `udpPayloadSize`, version 0, DO clear.
 *
 * @example
 * ```ts
 * import { encodeMessage, optRecord } from "./message.ts";
 * const bytes = encodeMessage({ questions: [{ name: "a.test", type: 1 }], edns: optRecord(1232) });
 * ```
 */
export function optRecord(udpPayloadSize = 1232, options: EdnsOption[] = []): OptRecord {
  return {
    kind: "OPT",
    name: "",
    type: DnsType.OPT,
    class: udpPayloadSize,
    ttl: 0,
    udpPayloadSize,
    extendedRcode: 0,
    version: 0,
    dnssecOk: false,
    options,
  };
}

/**
 * Any other type: the raw rdata.
 *
 * @example
 * ```ts
 * import type { GenericRecord } from "./message.ts";
 * const r: GenericRecord = { kind: "generic", name: "test", type: 99, class: 1, ttl: 60, data: new Uint8Array([1]) };
 * ```
 */
export interface GenericRecord extends DnsRecordBase {
  /** Discriminant. */
  kind: "generic";
  /** The rdata as it was on the wire (names inside are not decompressed). */
  data: Uint8Array;
}

/**
 * A resource record, discriminated by `kind`.
 *
 * @example
 * ```ts
 * import type { DnsRecord } from "./message.ts";
 * function show(r: DnsRecord): string {
 *   return r.kind === "A" ? r.address : r.kind;
 * }
 * ```
 */
export type DnsRecord =
  | ARecord
  | AaaaRecord
  | NameRecord
  | MxRecord
  | TxtRecord
  | SoaRecord
  | SrvRecord
  | NaptrRecord
  | OptRecord
  | GenericRecord;

/**
 * A whole message.
 *
 * @example
 * ```ts
 * import { decodeMessage, encodeQuery } from "./message.ts";
 * const m = decodeMessage(encodeQuery(7, { name: "a.test", type: 1 }));
 * console.log(m.header.id, m.answers.length);
 * ```
 */
export interface DnsMessage {
  /** The header. */
  header: DnsHeader;
  /** The full rcode: the header's 4 bits plus the OPT record's extension. */
  rcode: number;
  /** Question section. */
  questions: DnsQuestion[];
  /** Answer section. */
  answers: DnsRecord[];
  /** Authority section. */
  authorities: DnsRecord[];
  /** Additional section, without the OPT record. */
  additionals: DnsRecord[];
  /** The OPT record, when present. */
  edns: OptRecord | null;
}
