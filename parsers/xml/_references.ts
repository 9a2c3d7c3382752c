/**
 * Character and entity references: the public `decodeEntities`, the fast expansion of the common
 * references in the parse buffer, and the expansion of the DOCTYPE's internal entities under the
 * expansion limits.
 *
 * @module
 */
import { Failure, lineColumnAt } from "../_text.ts";
import { type XmlLimits, XmlParseError } from "./types.ts";
import { charRefCodePoint, isName, isXmlChar, PREDEFINED, predefinedAt } from "./_names.ts";
import type { RememberedSearch } from "./_search.ts";

/** An internal entity declared in the internal subset. */
export interface EntityDecl {
  /** Replacement text with character references already expanded, or null when external. */
  value: string | null;
}

/**
 * Decodes character references and the five predefined entities in `text`.
 *
 * @param text raw character data, e.g. `a &lt; b &#x41;`
 * @returns the decoded text
 * @throws {XmlParseError} on an unknown entity or a malformed reference
 *
 * @example
 * ```ts
 * import { decodeEntities } from "./mod.ts";
 * console.log(decodeEntities("Tom &amp; Jerry &#x263A;")); // "Tom & Jerry ☺"
 * ```
 */
export function decodeEntities(text: string): string {
  if (text.indexOf("&") < 0) return text;
  return text.replace(/&([^;&]*);|&/g, (m: string, ref: string | undefined, off: number) => {
    const pos = lineColumnAt(text, off);
    if (ref === undefined) {
      throw new XmlParseError(
        "InvalidReference",
        "'&' must start a reference",
        pos.line,
        pos.column,
      );
    }
    if (ref.charCodeAt(0) === 35) {
      const cp = charRefCodePoint(ref);
      if (!isXmlChar(cp)) {
        throw new XmlParseError(
          "InvalidReference",
          `invalid character reference ${m}`,
          pos.line,
          pos.column,
        );
      }
      return String.fromCodePoint(cp);
    }
    if (!Object.hasOwn(PREDEFINED, ref)) {
      throw new XmlParseError("UndefinedEntity", `undefined entity ${m}`, pos.line, pos.column);
    }
    return PREDEFINED[ref];
  });
}

/**
 * Expands the references in `buf[from..to)`, searching for them with `ampSearch` (text content, or an attribute value when `attr`),
 * reading the common ones in place: the five predefined entities and character references of
 * Chars. Any other reference, errors included, is handed to {@linkcode EntityExpander.expand}.
 */
export function expandAt(
  buf: string,
  from: number,
  to: number,
  attr: boolean,
  ampSearch: RememberedSearch,
  max: number,
  entities: EntityExpander,
): string {
  let out = "";
  let i = from;
  for (;;) {
    let amp = ampSearch.find(buf, i);
    if (amp >= to) amp = -1;
    if (amp !== i) {
      const chunk = buf.slice(i, amp < 0 ? to : amp);
      out += attr ? chunk.replace(/[\t\n]/g, " ") : chunk;
    }
    if (amp < 0) break;
    // The character at `to` is '<' or a quote, so a reference read here ends before it.
    const c = buf.charCodeAt(amp + 1);
    let end = -1;
    if (c === 35) {
      const hex = buf.charCodeAt(amp + 2) === 120;
      const digits = amp + (hex ? 3 : 2);
      let cp = 0;
      let k = digits;
      for (; k < digits + 8; k++) {
        const h = buf.charCodeAt(k);
        if (h >= 48 && h <= 57) cp = cp * (hex ? 16 : 10) + h - 48;
        else if (hex && h >= 97 && h <= 102) cp = cp * 16 + h - 87;
        else if (hex && h >= 65 && h <= 70) cp = cp * 16 + h - 55;
        else break;
      }
      if (k > digits && buf.charCodeAt(k) === 59 && isXmlChar(cp)) {
        out += cp < 0x10000 ? String.fromCharCode(cp) : String.fromCodePoint(cp);
        end = k + 1;
      }
    } else if (c === 108 || c === 103) {
      if (buf.charCodeAt(amp + 2) === 116 && buf.charCodeAt(amp + 3) === 59) {
        out += c === 108 ? "<" : ">";
        end = amp + 4;
      }
    } else if (c === 97) {
      const d = buf.charCodeAt(amp + 2);
      if (d === 109) {
        if (buf.charCodeAt(amp + 3) === 112 && buf.charCodeAt(amp + 4) === 59) {
          out += "&";
          end = amp + 5;
        }
      } else if (
        d === 112 && buf.charCodeAt(amp + 3) === 111 && buf.charCodeAt(amp + 4) === 115 &&
        buf.charCodeAt(amp + 5) === 59
      ) {
        out += "'";
        end = amp + 6;
      }
    } else if (
      c === 113 && buf.charCodeAt(amp + 2) === 117 && buf.charCodeAt(amp + 3) === 111 &&
      buf.charCodeAt(amp + 4) === 116 && buf.charCodeAt(amp + 5) === 59
    ) {
      out += '"';
      end = amp + 6;
    }
    if (end < 0) {
      const semi = buf.indexOf(";", amp + 1);
      end = semi < 0 || semi >= to ? to : semi + 1;
      out += entities.expand(buf.slice(amp, end), amp, attr);
    }
    if (out.length > max) {
      throw new Failure("LimitExceeded", `text longer than maxTextLength ${max}`, amp);
    }
    i = end;
  }
  return out;
}

/**
 * Expands references that name internal entities (and any reference in their replacement text),
 * counting every expansion against the limits for the whole document.
 */
export class EntityExpander {
  readonly #limits: XmlLimits;
  readonly #maxText: number;
  #entities: Map<string, EntityDecl> | undefined;
  #expansions = 0;
  #expandedLength = 0;

  constructor(limits: XmlLimits) {
    this.#limits = limits;
    this.#maxText = limits.maxTextLength;
  }

  /** Takes the internal entities a DOCTYPE declared. */
  declare(entities: Map<string, EntityDecl>): void {
    this.#entities = entities;
  }

  /**
   * Expands references in `raw` (text content or an attribute value when `attr`). Entity
   * replacement text is expanded recursively, counted against maxEntityExpansions. `depth` is
   * 0 for a reference of the document itself (counted against maxEntityExpansionLength), more
   * inside replacement text; `active` holds the entities being expanded (a recursion fails).
   */
  expand(
    raw: string,
    at: number,
    attr: boolean,
    depth = 0,
    active?: Set<string>,
  ): string {
    let out = "";
    let i = 0;
    const max = this.#maxText;
    for (;;) {
      const amp = raw.indexOf("&", i);
      const chunk = amp < 0 ? raw.slice(i) : raw.slice(i, amp);
      out += attr ? chunk.replace(/[\t\n\r]/g, " ") : chunk;
      if (amp < 0) break;
      const semi = raw.indexOf(";", amp + 1);
      if (semi < 0) {
        throw new Failure("InvalidReference", "'&' must start a reference", at + (depth ? 0 : amp));
      }
      const refAt = at + (depth ? 0 : amp);
      const pre = predefinedAt(raw, amp + 1, semi);
      if (pre !== undefined) {
        out += pre;
        if (out.length > max) {
          throw new Failure("LimitExceeded", `text longer than maxTextLength ${max}`, refAt);
        }
        i = semi + 1;
        continue;
      }
      if (raw.charCodeAt(amp + 1) === 35) {
        const hex = raw.charCodeAt(amp + 2) === 120;
        const from = amp + (hex ? 3 : 2);
        let cp = 0;
        let k = from;
        for (; k < semi; k++) {
          const h = raw.charCodeAt(k);
          const d = h >= 48 && h <= 57
            ? h - 48
            : hex && h >= 97 && h <= 102
            ? h - 87
            : hex && h >= 65 && h <= 70
            ? h - 55
            : -1;
          if (d < 0) break;
          // Past U+10FFFF it stays invalid however many digits follow (leading zeros are fine).
          cp = Math.min(cp * (hex ? 16 : 10) + d, 0x110000);
        }
        if (k < semi || k === from) {
          throw new Failure(
            "InvalidReference",
            `invalid character reference &${raw.slice(amp + 1, semi)};`,
            refAt,
          );
        }
        if (!isXmlChar(cp)) {
          const ref = raw.slice(amp + 1, semi);
          throw new Failure(
            "InvalidReference",
            `reference &${ref}; is not an XML character`,
            refAt,
          );
        }
        out += String.fromCodePoint(cp);
      } else {
        const ref = raw.slice(amp + 1, semi);
        if (!isName(ref)) {
          throw new Failure("InvalidReference", `invalid entity reference &${ref};`, refAt);
        }
        const pre = PREDEFINED[ref];
        if (pre !== undefined && Object.hasOwn(PREDEFINED, ref)) out += pre;
        else {
          const decl = this.#entities?.get(ref);
          if (!decl) throw new Failure("UndefinedEntity", `undefined entity &${ref};`, refAt);
          if (decl.value === null) {
            throw new Failure("ExternalEntity", `external entity &${ref}; is never loaded`, refAt);
          }
          if (active === undefined) active = new Set();
          else if (active.has(ref)) {
            throw new Failure("RecursiveEntity", `entity &${ref}; refers to itself`, refAt);
          }
          if (++this.#expansions > this.#limits.maxEntityExpansions) {
            throw new Failure(
              "LimitExceeded",
              `more than maxEntityExpansions ${this.#limits.maxEntityExpansions}`,
              refAt,
            );
          }
          if (!attr && decl.value.indexOf("]]>") >= 0) {
            // Replacement text used as content must match `content`, whose text has no "]]>".
            throw new Failure("InvalidSyntax", `']]>' in the value of &${ref};`, refAt);
          }
          if (decl.value.indexOf("<") >= 0) {
            throw new Failure(
              attr ? "InvalidSyntax" : "Unsupported",
              attr
                ? `'<' in the value of &${ref}; used in an attribute`
                : `markup in entity &${ref}; is not supported`,
              refAt,
            );
          }
          active.add(ref);
          const replacement = this.expand(decl.value, refAt, attr, depth + 1, active);
          active.delete(ref);
          // Counted at the document's own references: nested ones are inside their text.
          if (
            depth === 0 &&
            (this.#expandedLength += replacement.length) > this.#limits.maxEntityExpansionLength
          ) {
            throw new Failure(
              "LimitExceeded",
              `entities expand to more than maxEntityExpansionLength ${this.#limits.maxEntityExpansionLength}`,
              refAt,
            );
          }
          out += replacement;
        }
      }
      if (out.length > max) {
        throw new Failure("LimitExceeded", `text longer than maxTextLength ${max}`, refAt);
      }
      i = semi + 1;
    }
    if (out.length > max) {
      throw new Failure("LimitExceeded", `text longer than maxTextLength ${max}`, at);
    }
    return out;
  }
}
