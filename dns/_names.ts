// DNS names in the wire format: reading (with compression pointers, hardened against loops and
// overruns), validating and splitting into labels for writing. Private to dns/.
import { DnsMessageError } from "./message_types.ts";

const MAX_HOPS = 64;

export function malformed(message: string, offset: number): DnsMessageError {
  return new DnsMessageError("Malformed", message, offset);
}

function appendLabel(buf: Uint8Array, start: number, len: number): string {
  let plain = true;
  for (let i = start; i < start + len; i++) {
    const c = buf[i];
    if (c <= 0x20 || c >= 0x7f || c === 0x2e || c === 0x5c) {
      plain = false;
      break;
    }
  }
  let s = "";
  if (plain) {
    // Per-character building beats fromCharCode.apply on a subarray for labels this short.
    for (let i = start; i < start + len; i++) s += String.fromCharCode(buf[i]);
    return s;
  }
  for (let i = start; i < start + len; i++) {
    const c = buf[i];
    if (c === 0x2e || c === 0x5c) s += "\\" + String.fromCharCode(c);
    else if (c <= 0x20 || c >= 0x7f) s += "\\" + String(c).padStart(3, "0");
    else s += String.fromCharCode(c);
  }
  return s;
}

/**
 * Reads a (possibly compressed) name at `offset`; returns it and sets
 * `cursor.pos` to the offset after it.
 */
export function readName(buf: Uint8Array, offset: number, cursor: { pos: number }): string {
  let pos = offset;
  let limit = offset; // a pointer must point strictly before this
  let next = -1;
  let hops = 0;
  let wire = 1;
  let name = "";
  for (;;) {
    if (pos >= buf.length) throw malformed("name runs past the end of the message", pos);
    const len = buf[pos];
    if (len === 0) {
      if (next < 0) next = pos + 1;
      break;
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (pos + 1 >= buf.length) throw malformed("compression pointer cut short", pos);
      const target = ((len & 0x3f) << 8) | buf[pos + 1];
      if (target >= limit) throw malformed("compression pointer does not point backwards", pos);
      if (++hops > MAX_HOPS) throw malformed("too many compression pointers", pos);
      if (next < 0) next = pos + 2;
      limit = target;
      pos = target;
      continue;
    }
    if (kind !== 0) throw malformed(`unsupported label type 0x${len.toString(16)}`, pos);
    wire += len + 1;
    if (wire > 255) throw malformed("name longer than 255 octets", pos);
    if (pos + 1 + len > buf.length) throw malformed("label runs past the end of the message", pos);
    const label = appendLabel(buf, pos + 1, len);
    name = name.length === 0 ? label : name + "." + label;
    pos += 1 + len;
  }
  cursor.pos = next;
  return name;
}

/**
 * True when `name` (no trailing dot) is printable ASCII without escapes, with
 * labels of 1–63 octets and at most 255 octets in all: the common case, checked
 * without allocating.
 */
export function isPlainName(name: string): boolean {
  const n = name.length;
  if (n === 0 || n > 253) return false;
  let len = 0;
  for (let i = 0; i < n; i++) {
    const ch = name.charCodeAt(i);
    if (ch === 0x2e) {
      if (len === 0) return false;
      len = 0;
    } else if (ch <= 0x20 || ch >= 0x7f || ch === 0x5c || ++len > 63) {
      return false;
    }
  }
  return len > 0;
}

/**
 * The common case of {@linkcode nameLabels}: printable ASCII without escapes,
 * labels 1–63 octets, at most 255 in all; null for anything else.
 */
function plainLabels(name: string): Uint8Array[] | null {
  if (name.length > 253) return null;
  const labels: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i <= name.length; i++) {
    const ch = i < name.length ? name.charCodeAt(i) : 0x2e;
    if (ch === 0x2e) {
      const len = i - start;
      if (len === 0 || len > 63) return null;
      const label = new Uint8Array(len);
      for (let k = 0; k < len; k++) label[k] = name.charCodeAt(start + k);
      labels.push(label);
      start = i + 1;
    } else if (ch <= 0x20 || ch >= 0x7f || ch === 0x5c) {
      return null;
    }
  }
  return labels;
}

/** The labels of a presentation-form name as octet arrays; throws on limits. */
export function nameLabels(name: string): Uint8Array[] {
  if (name.endsWith(".") && !name.endsWith("\\.")) name = name.slice(0, -1);
  if (name.length === 0) return [];
  const plain = plainLabels(name);
  if (plain !== null) return plain;
  const labels: Uint8Array[] = [];
  let cur: number[] = [];
  let total = 1;
  const push = (): void => {
    if (cur.length === 0) throw new DnsMessageError("Unencodable", `empty label in "${name}"`, -1);
    if (cur.length > 63) {
      throw new DnsMessageError("Unencodable", `label longer than 63 octets in "${name}"`, -1);
    }
    total += cur.length + 1;
    labels.push(Uint8Array.from(cur));
    cur = [];
  };
  for (let i = 0; i < name.length; i++) {
    const ch = name.charCodeAt(i);
    if (ch === 0x2e) {
      push();
    } else if (ch === 0x5c) {
      const d = name.slice(i + 1, i + 4);
      if (/^\d{3}$/.test(d) && Number(d) < 256) {
        cur.push(Number(d));
        i += 3;
      } else if (i + 1 < name.length) {
        cur.push(name.charCodeAt(++i) & 0xff);
      } else {
        throw new DnsMessageError("Unencodable", `dangling escape in "${name}"`, -1);
      }
    } else if (ch > 0xff) {
      // Non-Latin-1 text becomes UTF-8 octets (IDNA is the caller's business).
      for (const b of new TextEncoder().encode(String.fromCodePoint(name.codePointAt(i)!))) {
        cur.push(b);
      }
      if (ch >= 0xd800 && ch <= 0xdbff) i++;
    } else {
      cur.push(ch);
    }
  }
  push();
  if (total > 255) throw new DnsMessageError("Unencodable", `name longer than 255 octets`, -1);
  return labels;
}

/**
 * Checks that `name` can be encoded (labels ≤ 63 octets, name ≤ 255, no
 * empty label); throws a {@linkcode DnsMessageError} otherwise.
 *
 * @example
 * ```ts
 * import { validateName } from "./message.ts";
 * validateName("www.example.com");
 * ```
 */
export function validateName(name: string): void {
  if (isPlainName(name)) return;
  nameLabels(name);
}
