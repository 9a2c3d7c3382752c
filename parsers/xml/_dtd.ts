/**
 * The DOCTYPE declaration and its internal subset: element, attribute-list, entity and notation
 * declarations are checked for well-formedness; internal entities and attribute defaults are
 * kept for the tokenizer, which supplies the defaults with `applyDefaults`. Nothing external is
 * ever read.
 *
 * @module
 */
import type { XmlLimits } from "./types.ts";
import type { AttributeList } from "./_attributes.ts";
import { Failure } from "../_text.ts";
import {
  charRefCodePoint,
  isName,
  isNameCharNonAscii,
  isXmlChar,
  NAME,
  normalizeTokens,
  PREDEFINED,
  QName,
} from "./_names.ts";
import type { EntityDecl, EntityExpander } from "./_references.ts";

/** An attribute declared for an element type in the internal subset. */
export interface AttDefault {
  /** The attribute's name as declared. */
  name: string;
  /** Its name split for namespaces. */
  q: QName;
  /** Declared with a type other than CDATA: its values are normalized further. */
  tokenized: boolean;
  /** The default value's literal; undefined for #REQUIRED and #IMPLIED. */
  raw: string | undefined;
  /** `raw` normalized as an attribute value, once it was needed. */
  value: string | undefined;
}

/** What the reader needs of the tokenizer: its buffer and the scanners shared with content. */
export interface DtdInput {
  /** The parse buffer. */
  readonly buf: string;
  /** Namespace processing is on. */
  readonly ns: boolean;
  /** The parser's limits. */
  readonly limits: XmlLimits;
  /** The longest text (the limit on entity values). */
  readonly maxText: number;
  /** Asks for more input (or fails at the end of the document) at `at`. */
  more(at: number): never;
  /** Scans a Name at `i`; returns its end. */
  name(i: number): number;
  /** True when `keyword` is at `i` (asks for more input when it could still be). */
  keyword(keyword: string, i: number): boolean;
  /** Skips whitespace from `i`; returns where it ends. */
  ws(i: number): number;
  /** Checks that `text`, found at `at`, holds only Chars. */
  checkChars(text: string, at: number): void;
}

/** A DOCTYPE declaration read whole. */
export interface Doctype {
  /** The root element type it names. */
  name: string;
  /** The internal subset as written ("" when none). */
  subset: string;
  /** The offset after its closing '>'. */
  end: number;
  /** The internal entities declared. */
  entities: Map<string, EntityDecl>;
  /** The attributes declared per element type (with a default or a type to normalize by). */
  attDefaults: Map<string, AttDefault[]>;
}

/** Reads one DOCTYPE declaration from the tokenizer's buffer. */
export class DtdReader {
  readonly #in: DtdInput;

  /** @param input the tokenizer's buffer and scanners */
  constructor(input: DtdInput) {
    this.#in = input;
  }

  /**
   * Reads the DOCTYPE declaration at `start` (`<!DOCTYPE` already seen) up to its closing '>'.
   */
  read(start: number): Doctype {
    const buf = this.#in.buf;
    let i = this.#in.ws(start + 9);
    if (i === start + 9) throw new Failure("InvalidSyntax", "expected whitespace after DOCTYPE", i);
    const nameEnd = this.#declName(i, true);
    const name = buf.slice(i, nameEnd);
    i = this.#in.ws(nameEnd);
    if (i > nameEnd) {
      const e = this.#externalId(i);
      if (e >= 0) i = this.#in.ws(e);
    }
    let subset = "";
    const entities = new Map<string, EntityDecl>();
    const attDefaults = new Map<string, AttDefault[]>();
    if (buf.charCodeAt(i) === 91) {
      const subStart = i + 1;
      i = this.#internalSubset(subStart, entities, attDefaults);
      subset = buf.slice(subStart, i);
      i = this.#in.ws(i + 1);
    }
    if (buf.charCodeAt(i) !== 62) {
      if (i >= buf.length) this.#in.more(i);
      throw new Failure("InvalidSyntax", "expected '>' to end the DOCTYPE", i);
    }
    return { name, subset, end: i + 1, entities, attDefaults };
  }

  #quoted(i: number): number {
    const buf = this.#in.buf;
    const q = buf.charCodeAt(i);
    if (q !== 34 && q !== 39) {
      if (q !== q) this.#in.more(i);
      throw new Failure("InvalidSyntax", "expected a quoted literal", i);
    }
    const close = buf.indexOf(q === 34 ? '"' : "'", i + 1);
    if (close < 0) this.#in.more(i);
    return close + 1;
  }

  #externalId(i: number): number {
    const buf = this.#in.buf;
    if (this.#in.keyword("SYSTEM", i)) {
      const j = this.#in.ws(i + 6);
      if (j === i + 6) throw new Failure("InvalidSyntax", "expected whitespace after SYSTEM", j);
      return this.#quoted(j);
    }
    if (this.#in.keyword("PUBLIC", i)) {
      let j = this.#in.ws(i + 6);
      if (j === i + 6) throw new Failure("InvalidSyntax", "expected whitespace after PUBLIC", j);
      const pubEnd = this.#quoted(j);
      if (!/^[ \n\ra-zA-Z0-9\-'()+,./:=?;!*#@$_%]*$/.test(buf.slice(j + 1, pubEnd - 1))) {
        throw new Failure("InvalidSyntax", "invalid public identifier", j);
      }
      j = this.#in.ws(pubEnd);
      if (j === pubEnd) {
        throw new Failure("InvalidSyntax", "expected whitespace before the system literal", j);
      }
      return this.#quoted(j);
    }
    return -1;
  }

  /** Parses the internal subset from `i`; returns the offset of its closing ']'. */
  #internalSubset(
    i: number,
    entities: Map<string, EntityDecl>,
    attDefaults: Map<string, AttDefault[]>,
  ): number {
    const buf = this.#in.buf;
    for (;;) {
      i = this.#in.ws(i);
      const c = buf.charCodeAt(i);
      if (c === 93) return i;
      if (c === 37) {
        throw new Failure("Unsupported", "parameter entity references are not supported", i);
      }
      if (this.#in.keyword("<!--", i)) {
        const dd = buf.indexOf("--", i + 4);
        if (dd < 0 || dd + 2 >= buf.length) this.#in.more(i);
        if (buf.charCodeAt(dd + 2) !== 62) {
          throw new Failure("InvalidSyntax", "'--' not allowed in a comment", dd);
        }
        this.#in.checkChars(buf.slice(i + 4, dd), i + 4);
        i = dd + 3;
      } else if (this.#in.keyword("<?", i)) {
        const end = buf.indexOf("?>", i);
        if (end < 0) this.#in.more(i);
        const nEnd = this.#in.name(i + 2);
        if (buf.slice(i + 2, nEnd).toLowerCase() === "xml") {
          throw new Failure("InvalidSyntax", "reserved PI target", i);
        }
        // As in content: no ':' in the target, whitespace between it and any data.
        if (this.#in.ns && buf.slice(i + 2, nEnd).indexOf(":") >= 0) {
          throw new Failure(
            "Namespace",
            "a processing instruction target must not contain ':'",
            i + 2,
          );
        }
        if (nEnd < end && this.#in.ws(nEnd) === nEnd) {
          throw new Failure("InvalidSyntax", "expected whitespace after the PI target", nEnd);
        }
        this.#in.checkChars(buf.slice(nEnd, end), nEnd);
        i = end + 2;
      } else if (this.#in.keyword("<!ENTITY", i)) {
        i = this.#entityDecl(i, entities);
      } else if (
        this.#in.keyword("<!ELEMENT", i) || this.#in.keyword("<!ATTLIST", i) ||
        this.#in.keyword("<!NOTATION", i)
      ) {
        const j = this.#markupDecl(i, entities, attDefaults);
        this.#in.checkChars(buf.slice(i, j), i);
        i = j + 1;
      } else {
        if (i >= buf.length) this.#in.more(i);
        throw new Failure("InvalidSyntax", "invalid declaration in the internal subset", i);
      }
    }
  }

  /** The character code at `k`, asking for more input at the end of the buffer. */
  #charAt(k: number): number {
    const c = this.#in.buf.charCodeAt(k);
    if (c !== c) this.#in.more(k);
    return c;
  }

  /** The offset after the whitespace at `k`, which must be there. */
  #space(k: number): number {
    const j = this.#in.ws(k);
    if (j === k) this.#unexpectedInDecl(k, "whitespace");
    return j;
  }

  /** Fails at `k` inside a declaration (a '%' there is an unsupported parameter entity). */
  #unexpectedInDecl(k: number, wanted: string): never {
    if (this.#charAt(k) === 37) {
      throw new Failure("Unsupported", "parameter entity references are not supported", k);
    }
    throw new Failure("InvalidSyntax", `expected ${wanted} in a declaration`, k);
  }

  /** Scans a Name at `k` used in a declaration; `colon` tells whether it may hold one ':'. */
  #declName(k: number, colon: boolean): number {
    const end = this.#in.name(k);
    if (this.#in.ns) {
      const name = this.#in.buf.slice(k, end);
      if (colon ? !new QName(name, -1, -1).valid : name.indexOf(":") >= 0) {
        throw new Failure("Namespace", `${JSON.stringify(name)} is not allowed here`, k);
      }
    }
    return end;
  }

  /** Scans an Nmtoken (name characters, any first one) at `k`. */
  #nmtoken(k: number): number {
    const buf = this.#in.buf;
    let j = k;
    for (;;) {
      const c = this.#charAt(j);
      if (c < 128 ? (NAME[c] & 2) !== 0 : isNameCharNonAscii(c)) j++;
      else if (c >= 0xd800 && c <= 0xdb7f && /[\uDC00-\uDFFF]/.test(buf[j + 1] ?? "")) j += 2;
      else break;
    }
    if (j === k) this.#unexpectedInDecl(k, "a name token");
    return j;
  }

  /**
   * Reads an element type, attribute-list or notation declaration at `i` by its grammar (XML
   * 1.0 section 3.2, 3.3, 4.7); returns the offset of its closing '>'.
   */
  #markupDecl(
    i: number,
    entities: Map<string, EntityDecl>,
    attDefaults: Map<string, AttDefault[]>,
  ): number {
    const buf = this.#in.buf;
    const kind = buf.charCodeAt(i + 2); // 'E'lement, 'A'ttlist or 'N'otation
    let j = this.#space(i + (kind === 78 ? 10 : 9));
    const nameAt = j;
    j = this.#declName(j, kind !== 78);
    const element = buf.slice(nameAt, j);
    if (kind === 69) {
      j = this.#space(j);
      if (this.#in.keyword("EMPTY", j)) j += 5;
      else if (this.#in.keyword("ANY", j)) j += 3;
      else if (this.#charAt(j) !== 40) this.#unexpectedInDecl(j, "a content model");
      else {
        const k = this.#in.ws(j + 1);
        j = this.#in.keyword("#PCDATA", k) ? this.#mixed(k + 7) : this.#group(j, 0);
      }
    } else if (kind === 65) {
      for (;;) {
        const k = this.#in.ws(j);
        if (this.#charAt(k) === 62) break;
        if (k === j) this.#unexpectedInDecl(k, "whitespace");
        let defs = attDefaults.get(element);
        if (defs === undefined) attDefaults.set(element, defs = []);
        j = this.#attDef(k, entities, defs);
      }
    } else {
      j = this.#space(j);
      if (this.#in.keyword("PUBLIC", j)) {
        const k = this.#space(j + 6);
        j = this.#quoted(k);
        if (!/^[ \n\ra-zA-Z0-9\-'()+,./:=?;!*#@$_%]*$/.test(buf.slice(k + 1, j - 1))) {
          throw new Failure("InvalidSyntax", "invalid public identifier", k);
        }
        const m = this.#in.ws(j);
        const q = this.#charAt(m);
        if (m > j && (q === 34 || q === 39)) j = this.#quoted(m);
      } else {
        const e = this.#in.keyword("SYSTEM", j) ? this.#externalId(j) : -1;
        if (e < 0) this.#unexpectedInDecl(j, "SYSTEM or PUBLIC");
        j = e;
      }
    }
    j = this.#in.ws(j);
    if (this.#charAt(j) !== 62) this.#unexpectedInDecl(j, "'>'");
    return j;
  }

  /** Mixed content after '#PCDATA': `)`, `)*`, or `| Name ... )*`. */
  #mixed(j: number): number {
    let names = false;
    for (;;) {
      j = this.#in.ws(j);
      const c = this.#charAt(j);
      if (c === 41) {
        if (this.#charAt(j + 1) === 42) return j + 2;
        if (names) this.#unexpectedInDecl(j + 1, "')*' after element names");
        return j + 1;
      }
      if (c !== 124) this.#unexpectedInDecl(j, "'|' or ')'");
      j = this.#declName(this.#in.ws(j + 1), true);
      names = true;
    }
  }

  /** A choice or sequence of content particles at `j` (its '('), with its occurrence mark. */
  #group(j: number, depth: number): number {
    if (depth >= this.#in.limits.maxDepth) {
      throw new Failure("LimitExceeded", `content model deeper than maxDepth`, j);
    }
    let sep = 0;
    let k = j + 1;
    for (;;) {
      k = this.#in.ws(k);
      k = this.#charAt(k) === 40 ? this.#group(k, depth + 1) : this.#declName(k, true);
      const mark = this.#charAt(k);
      if (mark === 63 || mark === 42 || mark === 43) k++;
      k = this.#in.ws(k);
      const c = this.#charAt(k);
      if (c === 41) break;
      if ((c !== 44 && c !== 124) || (sep !== 0 && c !== sep)) {
        this.#unexpectedInDecl(
          k,
          sep === 0 ? "',', '|' or ')'" : `'${String.fromCharCode(sep)}' or ')'`,
        );
      }
      sep = c;
      k++;
    }
    k++;
    const mark = this.#charAt(k);
    return mark === 63 || mark === 42 || mark === 43 ? k + 1 : k;
  }

  /** One attribute definition at `k`: name, type and default; returns its end. */
  #attDef(k: number, entities: Map<string, EntityDecl>, defs: AttDefault[]): number {
    const buf = this.#in.buf;
    const nameEnd = this.#declName(k, true);
    const name = buf.slice(k, nameEnd);
    let j = this.#space(nameEnd);
    const c = this.#charAt(j);
    let tokenized = true;
    if (c === 40) j = this.#enumeration(j, false);
    else {
      const m = /^(?:CDATA|IDREFS|IDREF|ID|ENTITY|ENTITIES|NMTOKENS|NMTOKEN|NOTATION)/.exec(
        buf.slice(j, j + 8),
      );
      if (m === null || !/[ \t\n]/.test(buf[j + m[0].length] ?? "")) {
        if (j + 9 > buf.length) this.#in.more(j);
        this.#unexpectedInDecl(j, "an attribute type");
      }
      j += m[0].length;
      tokenized = m[0] !== "CDATA";
      if (m[0] === "NOTATION") j = this.#enumeration(this.#space(j), true);
    }
    j = this.#space(j);
    // The first declaration of an attribute for an element type is the one that binds.
    const def: AttDefault | undefined = defs.some((d) => d.name === name)
      ? undefined
      : { name, q: new QName(name, -1, -1), tokenized, raw: undefined, value: undefined };
    let end: number;
    if (this.#in.keyword("#REQUIRED", j)) end = j + 9;
    else if (this.#in.keyword("#IMPLIED", j)) end = j + 8;
    else {
      if (this.#in.keyword("#FIXED", j)) j = this.#space(j + 6);
      const q = this.#charAt(j);
      if (q !== 34 && q !== 39) this.#unexpectedInDecl(j, "a default value");
      end = this.#quoted(j);
      this.#defaultValue(j + 1, end - 1, entities);
      if (def !== undefined) def.raw = buf.slice(j + 1, end - 1);
    }
    if (def !== undefined && (def.tokenized || def.raw !== undefined)) defs.push(def);
    return end;
  }

  /** `( a | b )` of name tokens, or of names for a NOTATION type. */
  #enumeration(j: number, names: boolean): number {
    if (this.#charAt(j) !== 40) this.#unexpectedInDecl(j, "'('");
    for (;;) {
      j = this.#in.ws(j + 1);
      j = names ? this.#declName(j, false) : this.#nmtoken(j);
      j = this.#in.ws(j);
      const c = this.#charAt(j);
      if (c === 41) return j + 1;
      if (c !== 124) this.#unexpectedInDecl(j, "'|' or ')'");
    }
  }

  /**
   * Checks an attribute default value `buf[from..to)`: no '<', and references that are
   * well-formed, to Chars or to internal entities declared before, without '<' in them.
   */
  #defaultValue(from: number, to: number, entities: Map<string, EntityDecl>): void {
    const v = this.#in.buf.slice(from, to);
    const lt = v.indexOf("<");
    if (lt >= 0) throw new Failure("InvalidSyntax", "'<' in an attribute default value", from + lt);
    let amp = v.indexOf("&");
    while (amp >= 0) {
      const semi = v.indexOf(";", amp);
      const ref = semi < 0 ? "" : v.slice(amp + 1, semi);
      const at = from + amp;
      if (ref.charCodeAt(0) === 35) {
        const cp = charRefCodePoint(ref);
        if (!isXmlChar(cp)) {
          throw new Failure("InvalidReference", `invalid character reference &${ref};`, at);
        }
      } else if (!isName(ref)) {
        throw new Failure("InvalidReference", "'&' must start a reference", at);
      } else if (!Object.hasOwn(PREDEFINED, ref)) {
        const decl = entities.get(ref);
        if (!decl) throw new Failure("UndefinedEntity", `undefined entity &${ref};`, at);
        if (decl.value === null) {
          throw new Failure("ExternalEntity", `external entity &${ref}; is never loaded`, at);
        }
        if (decl.value.indexOf("<") >= 0) {
          throw new Failure(
            "InvalidSyntax",
            `'<' in the value of &${ref}; used in an attribute`,
            at,
          );
        }
      }
      amp = v.indexOf("&", semi);
    }
  }

  #entityDecl(i: number, entities: Map<string, EntityDecl>): number {
    const buf = this.#in.buf;
    let j = this.#in.ws(i + 8);
    if (j === i + 8) throw new Failure("InvalidSyntax", "expected whitespace after <!ENTITY", j);
    let parameter = false;
    if (buf.charCodeAt(j) === 37) {
      parameter = true;
      const k = this.#in.ws(j + 1);
      if (k === j + 1) throw new Failure("InvalidSyntax", "expected whitespace after '%'", k);
      j = k;
    }
    const nEnd = this.#in.name(j);
    const name = buf.slice(j, nEnd);
    if (this.#in.ns && name.indexOf(":") >= 0) {
      throw new Failure("Namespace", "entity names must not contain ':'", j);
    }
    let k = this.#in.ws(nEnd);
    if (k === nEnd) {
      throw new Failure("InvalidSyntax", "expected whitespace after the entity name", k);
    }
    let decl: EntityDecl;
    const q = buf.charCodeAt(k);
    if (q === 34 || q === 39) {
      const end = this.#quoted(k);
      const literal = buf.slice(k + 1, end - 1);
      if (literal.length > this.#in.maxText) {
        throw new Failure("LimitExceeded", "entity value longer than maxTextLength", k);
      }
      this.#in.checkChars(literal, k + 1);
      const pct = literal.indexOf("%");
      if (pct >= 0) {
        throw new Failure(
          "Unsupported",
          "parameter entity references are not supported",
          k + 1 + pct,
        );
      }
      decl = { value: this.#entityValue(literal, k + 1) };
      k = this.#in.ws(end);
    } else {
      const e = this.#externalId(k);
      if (e < 0) throw new Failure("InvalidSyntax", "expected an entity value or external ID", k);
      k = this.#in.ws(e);
      if (!parameter && k > e && this.#in.keyword("NDATA", k)) {
        const m = this.#in.ws(k + 5);
        if (m === k + 5) throw new Failure("InvalidSyntax", "expected whitespace after NDATA", m);
        k = this.#in.ws(this.#in.name(m));
      }
      decl = { value: null };
    }
    if (buf.charCodeAt(k) !== 62) {
      if (k >= buf.length) this.#in.more(k);
      throw new Failure("InvalidSyntax", "expected '>' to end the entity declaration", k);
    }
    if (!parameter && !entities.has(name) && !Object.hasOwn(PREDEFINED, name)) {
      entities.set(name, decl);
    }
    return k + 1;
  }

  /** Expands character references of an entity literal; checks the other references' syntax. */
  #entityValue(literal: string, at: number): string {
    if (literal.indexOf("&") < 0) return literal;
    return literal.replace(/&([^;]*);|&/g, (m: string, ref: string | undefined, off: number) => {
      if (ref === undefined) {
        throw new Failure("InvalidReference", "'&' must start a reference", at + off);
      }
      if (ref.charCodeAt(0) === 35) {
        const cp = charRefCodePoint(ref);
        if (!isXmlChar(cp)) {
          throw new Failure("InvalidReference", `invalid character reference ${m}`, at + off);
        }
        return String.fromCodePoint(cp);
      }
      if (!isName(ref)) throw new Failure("InvalidReference", `invalid reference ${m}`, at + off);
      return m;
    });
  }
}

/**
 * Supplies the declared defaults of attributes a start tag (at `start`) leaves out, and
 * normalizes the values of attributes declared with a type other than CDATA (XML 1.0 3.3.2,
 * 3.3.3). A supplied attribute is placed at `start`. True when a supplied attribute declares a
 * namespace.
 */
export function applyDefaults(
  defs: AttDefault[],
  attrs: AttributeList,
  start: number,
  maxAttributes: number,
  entities: EntityExpander,
): boolean {
  let declares = false;
  for (const def of defs) {
    const k = attrs.indexOf(def.name);
    if (k >= 0) {
      if (def.tokenized) attrs.value[k] = normalizeTokens(attrs.value[k]);
      continue;
    }
    if (def.raw === undefined) continue;
    if (def.value === undefined) {
      // Its references were checked where it was declared; what remains (nesting, the
      // expansion limit) is reported at the tag that needs it.
      const v = entities.expand(def.raw, start, true, 1);
      def.value = def.tokenized ? normalizeTokens(v) : v;
    }
    if (attrs.count >= maxAttributes) {
      throw new Failure(
        "LimitExceeded",
        `more than maxAttributes ${maxAttributes}`,
        start,
      );
    }
    if (def.q.xmlns) declares = true;
    attrs.add(def.q, def.value, start);
  }
  return declares;
}
