/**
 * XML names: the Name and Char productions, the five predefined entities, and `QName`, the
 * record of an element or attribute name split into prefix and local name once and shared
 * through a cache by every parser.
 *
 * @module
 */
import { Failure } from "../_text.ts";

// ASCII name characters: 1 = may start a name, 2 = may continue one.
export const NAME: Uint8Array = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[A-Za-z_:]/.test(ch)) NAME[c] = 3;
  else if (/[0-9.\-]/.test(ch)) NAME[c] = 2;
}

/** True when `c` (a non-ASCII code unit) may start a Name. */
export function isNameStartNonAscii(c: number): boolean {
  return (c >= 0xc0 && c <= 0xd6) || (c >= 0xd8 && c <= 0xf6) || (c >= 0xf8 && c <= 0x2ff) ||
    (c >= 0x370 && c <= 0x37d) || (c >= 0x37f && c <= 0x1fff) || (c >= 0x200c && c <= 0x200d) ||
    (c >= 0x2070 && c <= 0x218f) || (c >= 0x2c00 && c <= 0x2fef) || (c >= 0x3001 && c <= 0xd7ff) ||
    (c >= 0xf900 && c <= 0xfdcf) || (c >= 0xfdf0 && c <= 0xfffd);
}

/** True when `c` (a non-ASCII code unit) may continue a Name. */
export function isNameCharNonAscii(c: number): boolean {
  return isNameStartNonAscii(c) || c === 0xb7 || (c >= 0x300 && c <= 0x36f) ||
    (c >= 0x203f && c <= 0x2040);
}

/** True when `c` (a code point) is an XML Char. */
export function isXmlChar(c: number): boolean {
  return c === 9 || c === 10 || c === 13 || (c >= 0x20 && c <= 0xd7ff) ||
    (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff);
}

/** True when `s` is a Name by the XML 1.0 production. */
export function isName(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 128) {
      if ((NAME[c] & (i === 0 ? 1 : 2)) === 0) return false;
    } else if (c >= 0xd800 && c <= 0xdb7f) {
      const d = s.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return false;
      i++;
    } else if (i === 0 ? !isNameStartNonAscii(c) : !isNameCharNonAscii(c)) return false;
  }
  return true;
}

/** The predefined entity named by `s[from..to)`, without slicing it out; else undefined. */
export function predefinedAt(s: string, from: number, to: number): string | undefined {
  const c = s.charCodeAt(from);
  switch (to - from) {
    case 2:
      if (s.charCodeAt(from + 1) !== 116) return undefined; // 't'
      return c === 108 ? "<" : c === 103 ? ">" : undefined; // lt, gt
    case 3:
      return c === 97 && s.startsWith("amp", from) ? "&" : undefined;
    case 4:
      if (c === 113 && s.startsWith("quot", from)) return '"';
      return c === 97 && s.startsWith("apos", from) ? "'" : undefined;
  }
  return undefined;
}

/** The predefined entities by name. */
export const PREDEFINED: Record<string, string> = {
  lt: "<",
  gt: ">",
  amp: "&",
  apos: "'",
  quot: '"',
};

/** A new number for every namespace scope of every parser (QName.epoch compares them). */
let scopeEpoch = 0;

/** A number no namespace scope had before. */
export function newScopeEpoch(): number {
  return ++scopeEpoch;
}

/**
 * An element or attribute name as written, split into prefix and local name once and shared by
 * every occurrence (through NAME_CACHE, by every parser: it holds nothing of one document but
 * the namespace URI it last resolved to, tagged with the scope that resolved it).
 */
export class QName {
  /** The prefix ("" when none, or when the name is not a valid qualified name). */
  readonly prefix: string;
  /** The name without its prefix (the whole name when not a valid qualified name). */
  readonly localName: string;
  /** False when the name has a colon but is no qualified name (Namespaces in XML 1.0). */
  readonly valid: boolean;
  /** `xmlns` or `xmlns:...`: a namespace declaration when used as an attribute name. */
  readonly xmlns: boolean;
  /** The namespace URI resolved in scope `epoch`. */
  uri = "";
  /** The scope (a `scopeEpoch` value) in which `uri` was resolved; -1 when none. */
  epoch = -1;

  /**
   * Makes the record of `name`.
   *
   * @param name the name as written
   * @param k1 its first four characters packed (see Tokenizer.qname), -1 when not cached
   * @param k2 its next four characters packed
   */
  constructor(readonly name: string, readonly k1: number, readonly k2: number) {
    const colon = name.indexOf(":");
    this.xmlns = colon < 0 ? name === "xmlns" : colon === 5 && name.startsWith("xmlns");
    let valid = colon < 0;
    if (!valid && colon > 0 && colon < name.length - 1 && name.indexOf(":", colon + 1) < 0) {
      // `name` is a Name, so both parts are Names if the local part may start one.
      const c = name.charCodeAt(colon + 1);
      valid = c < 128
        ? (NAME[c] & 1) !== 0
        : isNameStartNonAscii(c) || (c >= 0xd800 && c <= 0xdb7f);
    }
    this.valid = valid;
    this.prefix = valid && colon > 0 ? name.slice(0, colon) : "";
    this.localName = valid && colon > 0 ? name.slice(colon + 1) : name;
  }
}

/** Recently seen ASCII names by hash; a slot holds the last name that hashed to it. */
export const NAME_CACHE: (QName | undefined)[] = new Array(1024).fill(undefined);
/** Masks a hash to a NAME_CACHE slot. */
export const NAME_CACHE_MASK = 1023;

/** An attribute value of a type other than CDATA: spaces trimmed, runs of them made one. */
export function normalizeTokens(v: string): string {
  return v.replace(/^ +| +$/g, "").replace(/ {2,}/g, " ");
}

/**
 * The code point of the character reference `ref` (what stands between `&` and `;`, starting
 * with `#`: `#65` or `#x41`), or -1 when its digits are malformed. The caller checks the code
 * point with {@linkcode isXmlChar}.
 */
export function charRefCodePoint(ref: string): number {
  const hex = ref.charCodeAt(1) === 120;
  const digits = ref.slice(hex ? 2 : 1);
  return (hex ? /^[0-9a-fA-F]+$/ : /^[0-9]+$/).test(digits) ? parseInt(digits, hex ? 16 : 10) : -1;
}

/**
 * Scans a Name in `buf` at `i` (at most `max` characters); returns its end. `more(at)` is called
 * where the buffer ends before the name does (it asks for more input, or fails).
 */
export function scanName(
  buf: string,
  i: number,
  max: number,
  more: (at: number) => never,
): number {
  const start = i;
  let c = buf.charCodeAt(i);
  if (c !== c) more(i);
  if (c < 128) {
    if ((NAME[c] & 1) === 0) {
      throw new Failure("InvalidName", "expected a name", i);
    }
  } else if (!isNameStartNonAscii(c) && !(c >= 0xd800 && c <= 0xdb7f)) {
    throw new Failure("InvalidName", "invalid name start character", i);
  }
  for (;;) {
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = buf.charCodeAt(i + 1);
      if (d !== d) more(i);
      if (c > 0xdb7f || !(d >= 0xdc00 && d <= 0xdfff)) {
        throw new Failure("InvalidName", "invalid name character", i);
      }
      i += 2;
    } else i++;
    if (i - start > max) {
      throw new Failure("LimitExceeded", `name longer than maxNameLength ${max}`, start);
    }
    c = buf.charCodeAt(i);
    if (c < 128) {
      if ((NAME[c] & 2) === 0) break;
    } else if (c !== c) {
      more(i);
    } else if (!isNameCharNonAscii(c) && !(c >= 0xd800 && c <= 0xdbff)) break;
  }
  return i;
}
