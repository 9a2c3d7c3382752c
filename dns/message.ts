/**
 * The DNS wire format (RFC 1035, 3596, 2782, 3403, 6891): header, question
 * and the three record sections, with typed records for A, NS, CNAME, SOA,
 * PTR, MX, TXT, AAAA, SRV, NAPTR and OPT (EDNS0) and a generic record for
 * any other type.
 *
 * The decoder is hardened for hostile input: compression pointers must point
 * strictly backwards (so a chain always ends) and are also hop-limited, every
 * length is bounds-checked, labels are at most 63 octets and names at most
 * 255, and a malformed message raises a {@linkcode DnsMessageError} carrying
 * the offset of the fault — never another exception, never a hang.
 *
 * Names are in presentation form without the trailing dot (`"example.com"`,
 * the root is `""`); octets that are not printable ASCII, `.` and `\` inside a
 * label are written as `\DDD` / `\.` / `\\`, as `dig` does.
 *
 * @example
 * ```ts
 * import { decodeMessage, DnsType, encodeQuery } from "./message.ts";
 * const bytes = encodeQuery(0x1234, { name: "example.com", type: DnsType.A });
 * const msg = decodeMessage(bytes);
 * console.log(msg.questions[0].name); // "example.com"
 * ```
 *
 * @module
 */

export * from "./message_types.ts";
import { DnsMessageError, DnsType } from "./message_types.ts";
import type {
  DnsHeader,
  DnsMessage,
  DnsQuestion,
  DnsRecord,
  EdnsOption,
  OptRecord,
} from "./message_types.ts";

import { isPlainName, malformed, nameLabels, readName } from "./_names.ts";
import { parseIpv4, parseIpv6 } from "../network/ip_address.ts";

/** Re-exported: the DNS codec writes and reads AAAA addresses with it. */
export { parseIpv6 } from "../network/ip_address.ts";
export { validateName } from "./_names.ts";

/** The class IN. */
const CLASS_IN = 1;

// ---------------------------------------------------------------------------
// Decoding

function u16(buf: Uint8Array, p: number): number {
  return (buf[p] << 8) | buf[p + 1];
}
function u32(buf: Uint8Array, p: number): number {
  return ((buf[p] << 24) >>> 0) + ((buf[p + 1] << 16) | (buf[p + 2] << 8) | buf[p + 3]);
}

const utf8 = new TextDecoder();

function ipv6ToString(buf: Uint8Array, p: number): string {
  const parts: number[] = [];
  for (let i = 0; i < 8; i++) parts.push(u16(buf, p + 2 * i));
  // RFC 5952: the longest run (≥ 2) of zero groups becomes "::".
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (parts[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && parts[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = parts.map((x) => x.toString(16));
  if (bestStart < 0) return hex.join(":");
  return hex.slice(0, bestStart).join(":") + "::" + hex.slice(bestStart + bestLen).join(":");
}

function readCharString(buf: Uint8Array, p: number, end: number): [string, number] {
  if (p >= end) throw malformed("character-string runs past its record", p);
  const len = buf[p];
  if (p + 1 + len > end) throw malformed("character-string runs past its record", p);
  return [utf8.decode(buf.subarray(p + 1, p + 1 + len)), p + 1 + len];
}

function readRecord(buf: Uint8Array, cursor: { pos: number }): DnsRecord {
  const start = cursor.pos;
  const name = readName(buf, start, cursor);
  let p = cursor.pos;
  if (p + 10 > buf.length) throw malformed("record header runs past the end", p);
  const type = u16(buf, p);
  const cls = u16(buf, p + 2);
  const ttl = u32(buf, p + 4);
  const rdlen = u16(buf, p + 8);
  p += 10;
  const end = p + rdlen;
  if (end > buf.length) throw malformed("record data runs past the end", p - 2);
  cursor.pos = end;
  const rttl = ttl > 0x7fffffff ? 0 : ttl;
  const exact = (n: number): void => {
    if (rdlen !== n) throw malformed(`record of type ${type} has ${rdlen} octets of data`, p - 2);
  };
  const nameIn = (at: number): [string, number] => {
    const c = { pos: 0 };
    const n = readName(buf, at, c);
    if (c.pos > end) throw malformed("name runs past its record", at);
    return [n, c.pos];
  };
  const done = (at: number): void => {
    if (at !== end) throw malformed(`record of type ${type} has trailing data`, at);
  };
  switch (type) {
    case DnsType.A:
      exact(4);
      return {
        kind: "A",
        name,
        type,
        class: cls,
        ttl: rttl,
        address: `${buf[p]}.${buf[p + 1]}.${buf[p + 2]}.${buf[p + 3]}`,
      };
    case DnsType.AAAA:
      exact(16);
      return { kind: "AAAA", name, type, class: cls, ttl: rttl, address: ipv6ToString(buf, p) };
    case DnsType.NS:
    case DnsType.CNAME:
    case DnsType.PTR: {
      const [target, at] = nameIn(p);
      done(at);
      const kind = type === DnsType.NS ? "NS" : type === DnsType.CNAME ? "CNAME" : "PTR";
      return { kind, name, type, class: cls, ttl: rttl, target };
    }
    case DnsType.MX: {
      if (rdlen < 3) throw malformed("MX record too short", p);
      const [exchange, at] = nameIn(p + 2);
      done(at);
      return { kind: "MX", name, type, class: cls, ttl: rttl, priority: u16(buf, p), exchange };
    }
    case DnsType.TXT: {
      const texts: string[] = [];
      let at = p;
      while (at < end) {
        const [s, n] = readCharString(buf, at, end);
        texts.push(s);
        at = n;
      }
      return { kind: "TXT", name, type, class: cls, ttl: rttl, texts };
    }
    case DnsType.SOA: {
      const [mname, a1] = nameIn(p);
      const [rname, a2] = nameIn(a1);
      if (a2 + 20 !== end) throw malformed("SOA record has a wrong length", a2);
      return {
        kind: "SOA",
        name,
        type,
        class: cls,
        ttl: rttl,
        mname,
        rname,
        serial: u32(buf, a2),
        refresh: u32(buf, a2 + 4),
        retry: u32(buf, a2 + 8),
        expire: u32(buf, a2 + 12),
        minimum: u32(buf, a2 + 16),
      };
    }
    case DnsType.SRV: {
      if (rdlen < 7) throw malformed("SRV record too short", p);
      const [target, at] = nameIn(p + 6);
      done(at);
      return {
        kind: "SRV",
        name,
        type,
        class: cls,
        ttl: rttl,
        priority: u16(buf, p),
        weight: u16(buf, p + 2),
        port: u16(buf, p + 4),
        target,
      };
    }
    case DnsType.NAPTR: {
      if (rdlen < 8) throw malformed("NAPTR record too short", p);
      const [flags, a1] = readCharString(buf, p + 4, end);
      const [service, a2] = readCharString(buf, a1, end);
      const [regexp, a3] = readCharString(buf, a2, end);
      const [replacement, a4] = nameIn(a3);
      done(a4);
      return {
        kind: "NAPTR",
        name,
        type,
        class: cls,
        ttl: rttl,
        order: u16(buf, p),
        preference: u16(buf, p + 2),
        flags,
        service,
        regexp,
        replacement,
      };
    }
    case DnsType.OPT: {
      const options: EdnsOption[] = [];
      let at = p;
      while (at < end) {
        if (at + 4 > end) throw malformed("EDNS option header runs past its record", at);
        const code = u16(buf, at);
        const len = u16(buf, at + 2);
        if (at + 4 + len > end) throw malformed("EDNS option runs past its record", at);
        options.push({ code, data: buf.slice(at + 4, at + 4 + len) });
        at += 4 + len;
      }
      return {
        kind: "OPT",
        name,
        type,
        class: cls,
        ttl,
        udpPayloadSize: cls,
        extendedRcode: ttl >>> 24,
        version: (ttl >>> 16) & 0xff,
        dnssecOk: (ttl & 0x8000) !== 0,
        options,
      };
    }
    default:
      return { kind: "generic", name, type, class: cls, ttl: rttl, data: buf.slice(p, end) };
  }
}

/**
 * Decodes the header only (12 octets).
 *
 * @example
 * ```ts
 * import { decodeHeader, encodeQuery } from "./message.ts";
 * console.log(decodeHeader(encodeQuery(9, { name: "a.test", type: 1 })).id); // 9
 * ```
 */
export function decodeHeader(buf: Uint8Array): DnsHeader {
  if (buf.length < 12) throw malformed("message shorter than its 12-octet header", buf.length);
  const f = u16(buf, 2);
  return {
    id: u16(buf, 0),
    qr: (f & 0x8000) !== 0,
    opcode: (f >> 11) & 0xf,
    aa: (f & 0x0400) !== 0,
    tc: (f & 0x0200) !== 0,
    rd: (f & 0x0100) !== 0,
    ra: (f & 0x0080) !== 0,
    ad: (f & 0x0020) !== 0,
    cd: (f & 0x0010) !== 0,
    rcode: f & 0xf,
  };
}

/**
 * Decodes a whole message. Throws only {@linkcode DnsMessageError}.
 *
 * @example
 * ```ts
 * import { decodeMessage, encodeQuery } from "./message.ts";
 * const m = decodeMessage(encodeQuery(1, { name: "example.com", type: 28 }));
 * console.log(m.questions[0].type); // 28
 * ```
 */
export function decodeMessage(buf: Uint8Array): DnsMessage {
  const header = decodeHeader(buf);
  const qd = u16(buf, 4);
  const an = u16(buf, 6);
  const ns = u16(buf, 8);
  const ar = u16(buf, 10);
  const cursor = { pos: 12 };
  const questions: DnsQuestion[] = [];
  for (let i = 0; i < qd; i++) {
    const name = readName(buf, cursor.pos, cursor);
    if (cursor.pos + 4 > buf.length) throw malformed("question runs past the end", cursor.pos);
    questions.push({ name, type: u16(buf, cursor.pos), class: u16(buf, cursor.pos + 2) });
    cursor.pos += 4;
  }
  const section = (n: number): DnsRecord[] => {
    const out: DnsRecord[] = [];
    for (let i = 0; i < n; i++) out.push(readRecord(buf, cursor));
    return out;
  };
  const answers = section(an);
  const authorities = section(ns);
  const all = section(ar);
  let edns: OptRecord | null = null;
  const additionals: DnsRecord[] = [];
  for (const r of all) {
    if (r.kind === "OPT") {
      if (edns) throw malformed("more than one OPT record", cursor.pos);
      edns = r;
    } else {
      additionals.push(r);
    }
  }
  const rcode = header.rcode | (edns ? edns.extendedRcode << 4 : 0);
  return { header, rcode, questions, answers, authorities, additionals, edns };
}

/**
 * True when `buf` holds exactly one question equal to `q` (names compared
 * case-insensitively), checked without decoding the rest of the message.
 * Malformed input is simply `false`.
 *
 * @example
 * ```ts
 * import { encodeQuery, questionMatches } from "./message.ts";
 * const q = { name: "a.test", type: 1 };
 * console.log(questionMatches(encodeQuery(1, q), q)); // true
 * ```
 */
export function questionMatches(buf: Uint8Array, q: DnsQuestion): boolean {
  if (buf.length < 12 || u16(buf, 4) !== 1) return false;
  try {
    const cursor = { pos: 0 };
    const name = readName(buf, 12, cursor);
    const p = cursor.pos;
    if (p + 4 > buf.length) return false;
    return u16(buf, p) === q.type && u16(buf, p + 2) === (q.class ?? CLASS_IN) &&
      sameName(name, q.name);
  } catch {
    return false;
  }
}

/**
 * Compares two names case-insensitively (ASCII), ignoring a trailing dot.
 *
 * @example
 * ```ts
 * import { sameName } from "./message.ts";
 * console.log(sameName("WWW.Example.com.", "www.example.com")); // true
 * ```
 */
export function sameName(a: string, b: string): boolean {
  if (a.endsWith(".")) a = a.slice(0, -1);
  if (b.endsWith(".")) b = b.slice(0, -1);
  return a.length === b.length && (a === b || a.toLowerCase() === b.toLowerCase());
}

// ---------------------------------------------------------------------------
// Encoding

class Writer {
  buf = new Uint8Array(512);
  len = 0;
  #names = new Map<string, number>();
  #compress: boolean;
  constructor(compress: boolean) {
    this.#compress = compress;
  }
  #room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  u8(v: number): void {
    this.#room(1);
    this.buf[this.len++] = v & 0xff;
  }
  u16(v: number): void {
    this.#room(2);
    this.buf[this.len++] = (v >> 8) & 0xff;
    this.buf[this.len++] = v & 0xff;
  }
  u32(v: number): void {
    this.u16(Math.floor(v / 65536) & 0xffff);
    this.u16(v & 0xffff);
  }
  bytes(b: Uint8Array): void {
    this.#room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  charString(s: string): void {
    const b = new TextEncoder().encode(s);
    if (b.length > 255) {
      throw new DnsMessageError("Unencodable", "character-string longer than 255 octets", -1);
    }
    this.u8(b.length);
    this.bytes(b);
  }
  name(name: string, compress = this.#compress): void {
    const labels = nameLabels(name);
    for (let i = 0; i < labels.length; i++) {
      if (compress) {
        const key = labels.slice(i).map((l) => String.fromCharCode(...l).toLowerCase()).join(".");
        const at = this.#names.get(key);
        if (at !== undefined) {
          this.u16(0xc000 | at);
          return;
        }
        if (this.len < 0x3fff) this.#names.set(key, this.len);
      }
      this.u8(labels[i].length);
      this.bytes(labels[i]);
    }
    this.u8(0);
  }
}

function encodeIpv4(s: string): Uint8Array {
  const out = parseIpv4(s);
  if (out === null) throw new DnsMessageError("Unencodable", `not an IPv4 address: ${s}`, -1);
  return out;
}

function writeRecord(w: Writer, r: DnsRecord): void {
  w.name(r.name);
  w.u16(r.type);
  w.u16(r.class);
  w.u32(r.ttl);
  const lenAt = w.len;
  w.u16(0);
  const start = w.len;
  switch (r.kind) {
    case "A":
      w.bytes(encodeIpv4(r.address));
      break;
    case "AAAA": {
      const b = parseIpv6(r.address);
      if (!b) throw new DnsMessageError("Unencodable", `not an IPv6 address: ${r.address}`, -1);
      w.bytes(b);
      break;
    }
    case "NS":
    case "CNAME":
    case "PTR":
      w.name(r.target);
      break;
    case "MX":
      w.u16(r.priority);
      w.name(r.exchange);
      break;
    case "TXT":
      for (const t of r.texts) w.charString(t);
      break;
    case "SOA":
      w.name(r.mname);
      w.name(r.rname);
      for (const v of [r.serial, r.refresh, r.retry, r.expire, r.minimum]) w.u32(v);
      break;
    case "SRV":
      w.u16(r.priority);
      w.u16(r.weight);
      w.u16(r.port);
      w.name(r.target, false); // RFC 2782: no compression of the target
      break;
    case "NAPTR":
      w.u16(r.order);
      w.u16(r.preference);
      w.charString(r.flags);
      w.charString(r.service);
      w.charString(r.regexp);
      w.name(r.replacement, false);
      break;
    case "OPT":
      for (const o of r.options) {
        w.u16(o.code);
        w.u16(o.data.length);
        w.bytes(o.data);
      }
      break;
    case "generic":
      w.bytes(r.data);
      break;
  }
  const len = w.len - start;
  if (len > 0xffff) throw new DnsMessageError("Unencodable", "record data over 65535 octets", -1);
  w.buf[lenAt] = len >> 8;
  w.buf[lenAt + 1] = len & 0xff;
}

/**
 * What {@linkcode encodeMessage} takes: a message with every part optional.
 *
 * @example
 * ```ts
 * import type { DnsMessageInput } from "./message.ts";
 * const m: DnsMessageInput = { header: { id: 1, qr: true }, questions: [{ name: "a.test", type: 1 }] };
 * ```
 */
export interface DnsMessageInput {
  /** Header fields; counts are computed. */
  header?: Partial<DnsHeader>;
  /** Question section. */
  questions?: DnsQuestion[];
  /** Answer section. */
  answers?: DnsRecord[];
  /** Authority section. */
  authorities?: DnsRecord[];
  /** Additional section (an OPT record may be given here or as `edns`). */
  additionals?: DnsRecord[];
  /** The OPT record, appended to the additional section. */
  edns?: OptRecord | null;
  /** Compress names (default true). */
  compress?: boolean;
}

/**
 * Encodes a message, with name compression unless told otherwise.
 *
 * @example
 * ```ts
 * import { encodeMessage } from "./message.ts";
 * const bytes = encodeMessage({
 *   header: { id: 5, qr: true, aa: true },
 *   questions: [{ name: "a.test", type: 1 }],
 *   answers: [{ kind: "A", name: "a.test", type: 1, class: 1, ttl: 60, address: "192.0.2.1" }],
 * });
 * ```
 */
export function encodeMessage(m: DnsMessageInput): Uint8Array {
  const w = new Writer(m.compress ?? true);
  const h = m.header ?? {};
  const qs = m.questions ?? [];
  const an = m.answers ?? [];
  const ns = m.authorities ?? [];
  const ar = [...(m.additionals ?? []), ...(m.edns ? [m.edns] : [])];
  w.u16(h.id ?? 0);
  w.u16(
    (h.qr ? 0x8000 : 0) | ((h.opcode ?? 0) & 0xf) << 11 | (h.aa ? 0x0400 : 0) |
      (h.tc ? 0x0200 : 0) | (h.rd ? 0x0100 : 0) | (h.ra ? 0x0080 : 0) | (h.ad ? 0x0020 : 0) |
      (h.cd ? 0x0010 : 0) | ((h.rcode ?? 0) & 0xf),
  );
  for (const n of [qs.length, an.length, ns.length, ar.length]) {
    if (n > 0xffff) throw new DnsMessageError("Unencodable", "section over 65535 entries", -1);
    w.u16(n);
  }
  for (const q of qs) {
    w.name(q.name);
    w.u16(q.type);
    w.u16(q.class ?? CLASS_IN);
  }
  for (const r of an) writeRecord(w, r);
  for (const r of ns) writeRecord(w, r);
  for (const r of ar) writeRecord(w, r);
  return w.buf.slice(0, w.len);
}

/**
 * Options of {@linkcode encodeQuery}.
 *
 * @example
 * ```ts
 * import type { QueryOptions } from "./message.ts";
 * const o: QueryOptions = { recursionDesired: true, udpPayloadSize: 1232 };
 * ```
 */
export interface QueryOptions {
  /** Set RD (default true). */
  recursionDesired?: boolean;
  /** Add an OPT record advertising this UDP payload size; 0 or absent for none. */
  udpPayloadSize?: number;
}

/**
 * Encodes a one-question query, the client's hot path (no compression map).
 *
 * @example
 * ```ts
 * import { DnsType, encodeQuery } from "./message.ts";
 * const bytes = encodeQuery(42, { name: "example.com", type: DnsType.AAAA }, { udpPayloadSize: 1232 });
 * ```
 */
export function encodeQuery(id: number, q: DnsQuestion, options: QueryOptions = {}): Uint8Array {
  let name = q.name;
  if (name.endsWith(".") && !name.endsWith("\\.")) name = name.slice(0, -1);
  const plain = isPlainName(name);
  const labels = plain ? null : nameLabels(name);
  let size = 12 + 1 + 4 + (options.udpPayloadSize ? 11 : 0);
  if (plain) size += name.length + 1;
  else for (const l of labels!) size += l.length + 1;
  const out = new Uint8Array(size);
  out[0] = (id >> 8) & 0xff;
  out[1] = id & 0xff;
  out[2] = options.recursionDesired === false ? 0 : 0x01;
  out[5] = 1;
  let p = 12;
  if (plain) {
    // Each dot becomes the length of the label after it.
    let lenAt = p++;
    for (let i = 0; i < name.length; i++) {
      const ch = name.charCodeAt(i);
      if (ch === 0x2e) {
        out[lenAt] = p - lenAt - 1;
        lenAt = p++;
      } else {
        out[p++] = ch;
      }
    }
    out[lenAt] = p - lenAt - 1;
  } else {
    for (const l of labels!) {
      out[p++] = l.length;
      out.set(l, p);
      p += l.length;
    }
  }
  out[p++] = 0;
  out[p++] = q.type >> 8;
  out[p++] = q.type & 0xff;
  const cls = q.class ?? CLASS_IN;
  out[p++] = cls >> 8;
  out[p++] = cls & 0xff;
  if (options.udpPayloadSize) {
    out[11] = 1;
    p++; // root name
    out[p++] = 0;
    out[p++] = DnsType.OPT;
    out[p++] = (options.udpPayloadSize >> 8) & 0xff;
    out[p++] = options.udpPayloadSize & 0xff;
    // ttl (4) and rdlength (2) stay zero
  }
  return out;
}

/**
 * The reverse-lookup name of an IPv4 or IPv6 address (`in-addr.arpa` /
 * `ip6.arpa`), or `null` when `address` is not an IP literal.
 *
 * @example
 * ```ts
 * import { reverseName } from "./message.ts";
 * console.log(reverseName("192.0.2.1")); // "1.2.0.192.in-addr.arpa"
 * ```
 */
export function reverseName(address: string): string | null {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(address)) {
    const parts = address.split(".");
    if (parts.some((x) => Number(x) > 255)) return null;
    return `${parts.reverse().join(".")}.in-addr.arpa`;
  }
  const b = parseIpv6(address);
  if (!b) return null;
  const nibbles: string[] = [];
  for (let i = 15; i >= 0; i--) {
    nibbles.push((b[i] & 0xf).toString(16), (b[i] >> 4).toString(16));
  }
  return `${nibbles.join(".")}.ip6.arpa`;
}
