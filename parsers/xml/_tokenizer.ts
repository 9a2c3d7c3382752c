/**
 * The tokenizer of the strict XML 1.0 (Fifth Edition) pull parser: elements, attributes and
 * text, read from a buffer of decoded text into the current token (`_cursor.ts`, attributes in
 * `_attributes.ts`). The concerns around it have modules of their own: the buffer, its searches
 * and the line count (`_input.ts`), byte input and encodings (`_encoding.ts`), which characters
 * are allowed (`_chars.ts`),
 * names and `QName` (`_names.ts`), namespace scopes (`_namespaces.ts`), references and entities
 * (`_references.ts`), comments, CDATA, PIs and the XML declaration (`_markup.ts`), the DOCTYPE
 * and its internal subset (`_dtd.ts`), and the helpers shared with the JSON parser
 * (`../_text.ts`).
 *
 * @module
 */
import { Failure } from "../_text.ts";
import {
  DEFAULT_XML_LIMITS,
  TokenKind,
  type XmlLimits,
  XmlParseError,
  type XmlParseErrorCode,
  type XmlParseOptions,
  type XmlToken,
} from "./types.ts";
import { NAME, NAME_CACHE, NAME_CACHE_MASK, QName, scanName } from "./_names.ts";
import { NamespaceScopes } from "./_namespaces.ts";
import { applyDefaults, type AttDefault, DtdReader } from "./_dtd.ts";
import { checkChars } from "./_chars.ts";
import { NONE } from "./_search.ts";
import { EntityExpander, expandAt } from "./_references.ts";
import { type MarkupInput, readCData, readComment, readPi } from "./_markup.ts";
import { AttributeList } from "./_attributes.ts";
import { TokenCursor } from "./_cursor.ts";
import { TokenizerInput } from "./_input.ts";

/** Signals that the buffered input ends inside a token and more must be fed. */
const NEED_MORE = Symbol("needMore");

/** A newline and 0 to 63 spaces: the usual indentation between tags. */
const INDENT: string[] = Array.from({ length: 64 }, (_, k) => "\n" + " ".repeat(k));

/** What `Tokenizer.read()` did: read a token, skipped whitespace, or found the end. */
const TOKEN = 1;
const SKIPPED = 0;
const END = -1;

function tokenTooLarge(at: number): Failure<XmlParseErrorCode> {
  return new Failure("LimitExceeded", "token larger than maxTextLength", at);
}

/** The tokenizer behind XmlParser; its private surface stays out of the public docs. */
export class Tokenizer extends TokenizerInput {
  /** The last token read: what `next()` returned (its fields are written when it is whole). */
  readonly cursor: TokenCursor;
  /** The current token is a self-closing start tag whose end is the next token. */
  #pendingEnd = false;
  /** The name of each open element. */
  readonly #openQ: QName[] = [];
  /** How many elements are open (the entries of `openQ` and `openUri` past it mean nothing). */
  #depth = 0;
  /** The namespace URI of each open element. */
  readonly #openUri: string[] = [];
  /**
   * The attributes of the start tag being read; it becomes the cursor's when the tag is whole
   * (and the cursor's becomes this), so a tag that stops for more input leaves the cursor alone.
   */
  #spare = new AttributeList();
  /** Where the name `qname()` scanned last ends. */
  #qEnd = 0;
  /** The namespace prefixes in scope. */
  readonly #namespaces = new NamespaceScopes();
  /** The attributes declared per element type (with a default or a type to normalize by). */
  #attDefaults: Map<string, AttDefault[]> | undefined;
  #rootSeen = false;
  #rootClosed = false;
  #doctypeSeen = false;
  #tokens = 0;
  /** Expands entity references, counting them against the limits. */
  readonly #refs: EntityExpander;
  /** What the markup and DOCTYPE readers use, made at the first of them. */
  #markupInput: MarkupInput | undefined;
  readonly #limits: XmlLimits;
  // The limits read per token, as plain fields.
  readonly #maxText: number;
  readonly #maxName: number;
  readonly #maxTokens: number;
  /** The most characters one token may take in the input (with its markup and spaces). */
  readonly #maxToken: number;
  readonly #ns: boolean;
  readonly #allowDoctype: boolean;

  /**
   * Creates a parser.
   *
   * @param input the whole document; omit it to feed chunks with `feed()` and `end()`
   * @param options limits, namespace processing and DOCTYPE policy
   */
  constructor(input?: string | Uint8Array, options?: XmlParseOptions) {
    super();
    this.#limits = options?.limits
      ? { ...DEFAULT_XML_LIMITS, ...options.limits }
      : DEFAULT_XML_LIMITS;
    this.#maxText = this.#limits.maxTextLength;
    this.#maxName = this.#limits.maxNameLength;
    this.#maxTokens = this.#limits.maxTokens;
    this.#maxToken = this.#maxText + 4 * this.#maxName + 65536;
    this.#ns = options?.namespaces !== false;
    this.#allowDoctype = options?.allowDoctype === true;
    this.cursor = new TokenCursor(this.#ns);
    this.#refs = new EntityExpander(this.#limits);
    if (input !== undefined) {
      this.feed(input);
      this.end();
    }
  }

  /** True when the last next() stopped for lack of input: feed more, then call next() again. */
  get needsInput(): boolean {
    return this.#waiting;
  }

  #waiting = false;

  /** The current token's position is counted now: its start goes with the dropped text. */
  protected dropping(cut: number): void {
    if (this.cursor.started) {
      this.#locate();
      this.cursor.at -= cut;
    }
  }

  /** The token read by the last successful {@linkcode XmlParser.next}. */
  current(): XmlToken {
    if (!this.cursor.started) throw new TypeError("XmlParser.current() before a successful next()");
    const c = this.cursor;
    if (c.line === 0) this.#locate();
    return c.toToken();
  }

  /** Counts the lines up to the current token, for the cursor's `line` and `column`. */
  locate(): void {
    if (this.cursor.line === 0) this.#locate();
  }

  #locate(): void {
    const c = this.cursor;
    if (c.line !== 0) return;
    if (this.counted < c.at) this.advanceLines(c.at);
    c.line = this.line;
    c.column = c.at - this.lineStart + 1;
  }

  /**
   * Reads the next token.
   *
   * @returns true when a token was read; false at the end of the document, or, when feeding
   *   chunks, when more input is needed first (see {@linkcode XmlParser.needsInput})
   * @throws {XmlParseError} when the document is not well-formed or breaks a limit
   */
  next(): boolean {
    if (this.failed) throw this.failed;
    this.#waiting = false;
    if (this.#pendingEnd) {
      this.#pendingEnd = false;
      const c = this.cursor;
      if (++this.#tokens > this.#maxTokens) {
        // The end of a self-closing tag is a token of its own, at the tag's position.
        this.#locate();
        const err = new XmlParseError(
          "LimitExceeded",
          `more than maxTokens ${this.#maxTokens}`,
          c.line,
          c.column,
        );
        this.failed = err;
        throw err;
      }
      c.kind = TokenKind.EndElement;
      c.selfClosing = false;
      c.attrs.count = 0;
      this.#afterEnd();
      return true;
    }
    for (;;) {
      const start = this.pos;
      try {
        const r = this.#read();
        if (r === TOKEN) {
          this.cursor.started = true;
          return true;
        }
        if (r === END) return false;
      } catch (e) {
        if (e === NEED_MORE) {
          if (this.encodingFailure) throw this.#fail(this.encodingFailure);
          this.pos = start;
          this.#waiting = true;
          if (this.buf.length - start > this.#maxToken) throw this.#fail(tokenTooLarge(start));
          return false;
        }
        if (e instanceof Failure) throw this.#fail(e as Failure<XmlParseErrorCode>);
        if (e instanceof RangeError) {
          throw this.#fail(new Failure("LimitExceeded", "document too complex", start));
        }
        throw e;
      }
    }
  }

  /**
   * Counts a token that ends at `end`, before it becomes the current one (a token buffered whole
   * may not be larger than one fed in chunks may grow: see next()).
   */
  #count(start: number, end: number): void {
    if (end - start > this.#maxToken) throw tokenTooLarge(start);
    if (++this.#tokens > this.#maxTokens) {
      throw new Failure("LimitExceeded", `more than maxTokens ${this.#maxTokens}`, start);
    }
  }

  /**
   * Makes a token of `kind` at `start` (ending at `end`) the current one, with `name` (also its
   * local name), `text`, and the attributes read into `spare` (the cursor's go there, emptied).
   */
  #emit(kind: TokenKind, start: number, end: number, name: string, text: string): void {
    this.#count(start, end);
    const c = this.cursor;
    const attrs = this.#spare;
    this.#spare = c.attrs;
    this.#spare.count = 0;
    c.attrs = attrs;
    c.set(kind, start, name, "", name, "", text, false);
    this.pos = end;
  }

  #fail(f: Failure<XmlParseErrorCode>): XmlParseError {
    // The last token keeps its position: the count is about to move past it.
    if (this.cursor.started) this.#locate();
    this.advanceLines(Math.min(Math.max(f.offset, this.counted), this.buf.length));
    const err = new XmlParseError(f.code, f.message, this.line, f.offset - this.lineStart + 1);
    this.failed = err;
    return err;
  }

  #more(at: number): never {
    if (!this.finished) throw NEED_MORE;
    throw new Failure("UnexpectedEnd", "unexpected end of document", at);
  }

  /** Reads one token into the cursor: TOKEN, or SKIPPED for whitespace, or END. */
  #read(): number {
    // Kept small, so that it is inlined into next(); the rarer cases have calls of their own.
    const buf = this.buf;
    const start = this.pos;
    const c0 = buf.charCodeAt(start);
    if (c0 === 60) {
      const c = buf.charCodeAt(start + 1);
      if (c === 47) return this.#endTag(start);
      if (c !== 33 && c !== 63 && c === c) return this.#startTag(start);
      return this.#markupAt(start, c);
    }
    if (c0 === 10) return this.#indent(start);
    if (c0 === c0) return this.#text(start);
    return this.#atEnd(start);
  }

  /** The end of the buffer: of the document, or of the input fed so far. */
  #atEnd(start: number): number {
    if (!this.finished) throw NEED_MORE;
    if (!this.#rootSeen) throw new Failure("UnexpectedEnd", "no root element", start);
    if (this.#depth > 0) {
      const name = this.#openQ[this.#depth - 1].name;
      throw new Failure("UnexpectedEnd", `unclosed element <${name}>`, start);
    }
    return END;
  }

  /** Markup at `start` other than a tag: `c` (NaN at the end of the buffer) follows its '<'. */
  #markupAt(start: number, c: number): number {
    const buf = this.buf;
    if (c !== c) this.#more(start);
    if (c === 63) {
      this.#spare.count = 0;
      readPi(this.#markup(), start);
      return TOKEN;
    }
    if (buf.startsWith("<!--", start)) {
      readComment(this.#markup(), start);
      return TOKEN;
    }
    if (buf.startsWith("<![CDATA[", start)) {
      readCData(this.#markup(), start);
      return TOKEN;
    }
    if (buf.startsWith("<!DOCTYPE", start)) return this.#doctype(start);
    if (
      buf.length - start < 9 &&
      ["<!DOCTYPE", "<![CDATA[", "<!--"].some((m) => m.startsWith(buf.slice(start)))
    ) {
      this.#more(start);
    }
    throw new Failure("InvalidSyntax", "invalid markup after '<!'", start);
  }

  /**
   * Text at `start` that begins with a newline: indentation between tags (the most common text)
   * needs no search and no checks, and its string is shared; other text takes `text()`.
   */
  #indent(start: number): number {
    const buf = this.buf;
    let i = start + 1;
    let c = buf.charCodeAt(i);
    while (c === 32) c = buf.charCodeAt(++i);
    if (c === 60 && i - start <= INDENT.length && i - start <= this.#maxText) {
      if (this.#depth === 0) {
        this.pos = i;
        return SKIPPED;
      }
      this.#emitText(start, i, INDENT[i - start - 1]);
      return TOKEN;
    }
    return this.#text(start);
  }

  #text(start: number): number {
    const buf = this.buf;
    let end = this.lt.find(this.buf, start);
    if (end === NONE) {
      if (!this.finished) throw NEED_MORE;
      end = buf.length;
    }
    const raw = buf.slice(start, end);
    if (this.#depth === 0) {
      if (/^[ \t\n]*$/.test(raw)) {
        if (end - start > this.#maxToken) throw tokenTooLarge(start);
        this.pos = end;
        return SKIPPED;
      }
      const off = raw.search(/[^ \t\n]/);
      throw new Failure("InvalidSyntax", "text outside the root element", start + off);
    }
    if (raw.length > this.#maxText) {
      throw new Failure(
        "LimitExceeded",
        `text longer than maxTextLength ${this.#maxText}`,
        start,
      );
    }
    if (this.findSuspect(start) < end) checkChars(raw, start);
    const cdEnd = this.cdEnd.find(this.buf, start);
    if (cdEnd < end) throw new Failure("InvalidSyntax", "']]>' not allowed in text", cdEnd);
    this.#emitText(
      start,
      end,
      this.amp.find(this.buf, start) < end
        ? expandAt(buf, start, end, false, this.amp, this.#maxText, this.#refs)
        : raw,
    );
    return TOKEN;
  }

  /** {@linkcode emit} for text, the most common token: no attribute lists are swapped. */
  #emitText(start: number, end: number, text: string): void {
    this.#count(start, end);
    const c = this.cursor;
    if (c.attrs.count !== 0) c.attrs.count = 0;
    c.set(TokenKind.Text, start, "", "", "", "", text, false);
    this.pos = end;
  }

  /** Scans a Name at `i`; returns its end. */
  #name(i: number): number {
    return scanName(this.buf, i, this.#maxName, this.#needMore);
  }

  /** {@linkcode more}, for the scanners outside the class. */
  readonly #needMore = (at: number): never => this.#more(at);

  /**
   * True when `keyword` is at `i`; asks for more input when the buffer ends inside what could
   * still become it (DOCTYPE declarations are re-read whole until they end).
   */
  #keyword(keyword: string, i: number): boolean {
    const buf = this.buf;
    if (buf.startsWith(keyword, i)) return true;
    if (buf.length - i < keyword.length && keyword.startsWith(buf.slice(i))) this.#more(i);
    return false;
  }

  #ws(i: number): number {
    const buf = this.buf;
    let c = buf.charCodeAt(i);
    while (c === 32 || c === 10 || c === 9) c = buf.charCodeAt(++i);
    if (c !== c) this.#more(i);
    return i;
  }

  /**
   * Scans an element or attribute name at `i` (its end goes to `qEnd`). ASCII names are looked up
   * in NAME_CACHE by a hash taken while scanning, so a repeated name costs no slice and no split.
   */
  #qname(i: number): QName {
    const buf = this.buf;
    const start = i;
    let c = buf.charCodeAt(i);
    if (c < 128 && (NAME[c] & 1) !== 0) {
      // The first eight characters packed 7 bits each into k1 and k2: with the length, they
      // are the name itself, so a cached name up to 8 characters is matched without reading
      // it again. Longer names hash the rest and compare it.
      let k1 = c;
      let k2 = 0;
      let h = 0;
      let n = 1;
      c = buf.charCodeAt(++i);
      while (c < 128 && (NAME[c] & 2) !== 0) {
        if (n < 4) k1 = (k1 << 7) | c;
        else if (n < 8) k2 = (k2 << 7) | c;
        else h = (Math.imul(h, 31) + c) | 0;
        n++;
        c = buf.charCodeAt(++i);
      }
      const len = i - start;
      // Anything else (a non-ASCII character, the end of the buffer, a name over the limit)
      // takes the exact scan below.
      if (c < 128 && len <= this.#maxName) {
        this.#qEnd = i;
        const slot = (k1 ^ Math.imul(k2, 0x9e3779b1) ^ Math.imul(h, 31) ^ len) & NAME_CACHE_MASK;
        const q = NAME_CACHE[slot];
        if (q !== undefined && q.k1 === k1 && q.k2 === k2 && q.name.length === len) {
          if (len <= 8) return q;
          const name = q.name;
          let k = 8;
          while (k < len && name.charCodeAt(k) === buf.charCodeAt(start + k)) k++;
          if (k === len) return q;
        }
        return NAME_CACHE[slot] = new QName(buf.slice(start, i), k1, k2);
      }
    }
    const end = this.#name(start);
    this.#qEnd = end;
    return new QName(buf.slice(start, end), -1, -1);
  }

  #startTag(start: number): number {
    const buf = this.buf;
    if (this.#rootClosed) throw new Failure("InvalidSyntax", "a second root element", start);
    const depth = this.#depth;
    if (depth >= this.#limits.maxDepth) {
      throw new Failure(
        "LimitExceeded",
        `nesting deeper than maxDepth ${this.#limits.maxDepth}`,
        start,
      );
    }
    const ns = this.#ns;
    const eq = this.#qname(start + 1);
    const name = eq.name;
    const attrs = this.#spare;
    attrs.count = 0;
    const attrQ = attrs.q;
    let declares = false;
    let i = this.#qEnd;
    let selfClosing = false;
    for (;;) {
      let c = buf.charCodeAt(i);
      let afterWs = i;
      if (c === 32 || c === 10 || c === 9) {
        afterWs = this.#ws(i);
        c = buf.charCodeAt(afterWs);
      }
      if (c === 62) {
        i = afterWs + 1;
        break;
      }
      if (c === 47) {
        const d = buf.charCodeAt(afterWs + 1);
        if (d !== d) this.#more(afterWs);
        if (d !== 62) throw new Failure("InvalidSyntax", "expected '>' after '/'", afterWs + 1);
        selfClosing = true;
        i = afterWs + 2;
        break;
      }
      if (c !== c) this.#more(afterWs);
      if (afterWs === i) {
        throw new Failure("InvalidSyntax", "expected whitespace before an attribute", i);
      }
      const n = attrs.count;
      if (n >= this.#limits.maxAttributes) {
        throw new Failure(
          "LimitExceeded",
          `more than maxAttributes ${this.#limits.maxAttributes}`,
          afterWs,
        );
      }
      const aq = this.#qname(afterWs);
      const aName = aq.name;
      let j = this.#qEnd;
      if (buf.charCodeAt(j) !== 61) {
        j = this.#ws(j);
        if (buf.charCodeAt(j) !== 61) {
          throw new Failure("InvalidSyntax", "expected '=' after the attribute name", j);
        }
      }
      let q = buf.charCodeAt(++j);
      if (q !== 34 && q !== 39) {
        j = this.#ws(j);
        q = buf.charCodeAt(j);
        if (q !== 34 && q !== 39) {
          throw new Failure("InvalidSyntax", "expected a quoted attribute value", j);
        }
      }
      // A short value of plain characters (the most common kind) is read without searches;
      // anything else (a reference, '<', whitespace to normalise, a character that may not be a
      // Char, a longer value) takes the searches.
      let close = j + 1;
      let d = buf.charCodeAt(close);
      const limit = close + 64;
      while (d !== q && d >= 32 && d !== 38 && d !== 60 && d < 0xd800 && close < limit) {
        d = buf.charCodeAt(++close);
      }
      let value: string;
      if (d === q && close - j - 1 <= this.#maxText) value = buf.slice(j + 1, close);
      else {
        close = buf.indexOf(q === 34 ? '"' : "'", j + 1);
        value = this.#attributeValue(j, close);
      }
      for (let k = 0; k < n; k++) {
        if (attrQ[k].name === aName) {
          throw new Failure("DuplicateAttribute", `duplicate attribute ${aName}`, afterWs);
        }
      }
      if (aq.xmlns) declares = true;
      attrs.add(aq, value, afterWs);
      i = close + 1;
    }
    if (this.#attDefaults !== undefined) {
      const defs = this.#attDefaults.get(name);
      if (
        defs !== undefined &&
        applyDefaults(defs, attrs, start, this.#limits.maxAttributes, this.#refs)
      ) declares = true;
    }
    let prefix = "";
    let localName = name;
    let uri = "";
    if (ns) {
      if (declares) this.#namespaces.declare(attrs, depth);
      if (!eq.valid) {
        throw new Failure(
          "Namespace",
          `${JSON.stringify(name)} is not a valid qualified name`,
          start + 1,
        );
      }
      // The name resolved in this scope already (the common case) costs no call.
      const scopes = this.#namespaces;
      const resolved = eq.epoch === scopes.epoch ? eq.uri : scopes.resolve(eq);
      if (resolved === undefined) {
        throw new Failure("Namespace", `unbound prefix ${eq.prefix}`, start + 1);
      }
      if (eq.prefix === "xmlns") {
        throw new Failure("Namespace", "element names must not use the xmlns prefix", start + 1);
      }
      prefix = eq.prefix;
      localName = eq.localName;
      uri = resolved;
      if (attrs.count > 0) scopes.resolveAttributes(attrs);
    }
    this.#count(start, i);
    const c = this.cursor;
    this.#spare = c.attrs;
    c.attrs = attrs;
    c.set(TokenKind.StartElement, start, name, prefix, localName, uri, "", selfClosing);
    this.#openQ[depth] = eq;
    if (ns) this.#openUri[depth] = uri;
    this.#depth = depth + 1;
    this.#rootSeen = true;
    this.pos = i;
    this.#pendingEnd = selfClosing;
    return TOKEN;
  }

  /**
   * Reads the attribute value quoted at `j` and closed at `close` (negative when not found yet):
   * checks it, decodes its references and normalises its whitespace.
   */
  #attributeValue(j: number, close: number): string {
    const buf = this.buf;
    if (close < 0) this.#more(j);
    if (close - j - 1 > this.#maxText) {
      throw new Failure("LimitExceeded", `attribute value longer than maxTextLength`, j);
    }
    const lt = this.lt.find(buf, j + 1);
    if (lt < close) {
      throw new Failure("InvalidSyntax", "'<' not allowed in an attribute value", lt);
    }
    const raw = buf.slice(j + 1, close);
    if (this.findSuspect(j + 1) < close) checkChars(raw, j + 1);
    if (this.amp.find(buf, j + 1) < close) {
      return expandAt(buf, j + 1, close, true, this.amp, this.#maxText, this.#refs);
    }
    if (this.nl.find(buf, j + 1) < close || this.tab.find(buf, j + 1) < close) {
      return raw.replace(/[\t\n]/g, " ");
    }
    return raw;
  }

  #afterEnd(): void {
    const depth = --this.#depth;
    if (this.#namespaces.innermost === depth) this.#namespaces.end();
    if (depth === 0) this.#rootClosed = true;
  }

  #endTag(start: number): number {
    const buf = this.buf;
    const top = this.#depth - 1;
    const open = top >= 0 ? this.#openQ[top] : undefined;
    if (open !== undefined) {
      // The usual case: the name of the open element, then optional whitespace and '>'. Names
      // are short: comparing them here beats a call to startsWith().
      const name = open.name;
      const n = name.length;
      const from = start + 2;
      let k = 0;
      while (k < n && name.charCodeAt(k) === buf.charCodeAt(from + k)) k++;
      if (k === n) {
        let j = from + n;
        let c = buf.charCodeAt(j);
        if (c === 32 || c === 10 || c === 9) {
          j = this.#ws(j);
          c = buf.charCodeAt(j);
        }
        if (c === 62) {
          this.#count(start, j + 1);
          const t = this.cursor;
          t.kind = TokenKind.EndElement;
          t.at = start;
          t.name = name;
          if (this.#ns) {
            t.prefix = open.prefix;
            t.localName = open.localName;
            t.uri = this.#openUri[top];
          } else {
            t.prefix = "";
            t.localName = name;
            t.uri = "";
          }
          t.text = "";
          if (t.attrs.count !== 0) t.attrs.count = 0;
          t.selfClosing = false;
          t.line = 0;
          this.pos = j + 1;
          this.#afterEnd();
          return TOKEN;
        }
      }
    }
    return this.#badEndTag(start);
  }

  /** Fails on the end tag at `start`, which does not end the open element: finds why. */
  #badEndTag(start: number): never {
    const buf = this.buf;
    const open = this.#depth > 0 ? this.#openQ[this.#depth - 1] : undefined;
    const nameEnd = this.#name(start + 2);
    const name = buf.slice(start + 2, nameEnd);
    const j = this.#ws(nameEnd);
    if (buf.charCodeAt(j) !== 62) {
      throw new Failure("InvalidSyntax", "expected '>' to end the end tag", j);
    }
    if (open === undefined) {
      throw new Failure("MismatchedTag", `end tag </${name}> without a start tag`, start);
    }
    throw new Failure("MismatchedTag", `expected </${open.name}>, found </${name}>`, start);
  }

  /** What the markup and DOCTYPE readers need of the tokenizer: the buffer and its scanners. */
  #markup(): MarkupInput {
    if (this.#markupInput) return this.#markupInput;
    // deno-lint-ignore no-this-alias
    const self = this;
    return this.#markupInput = {
      get buf() {
        return self.buf;
      },
      get depth() {
        return self.#depth;
      },
      get atDocumentStart() {
        return self.base === 0;
      },
      get encoding() {
        return self.byteMode ? self.bytes.encoding : undefined;
      },
      ns: this.#ns,
      limits: this.#limits,
      maxText: this.#maxText,
      more: (at) => this.#more(at),
      name: (i) => this.#name(i),
      keyword: (keyword, i) => this.#keyword(keyword, i),
      ws: (i) => this.#ws(i),
      checkChars,
      checkText: (text, at) => this.checkText(text, at),
      emit: (kind, at, end, name, text) => this.#emit(kind, at, end, name, text),
      attribute: (q, value, at) => this.#spare.add(q, value, at),
      cdataEnd: (from) => this.cdEnd.find(this.buf, from),
    };
  }

  #doctype(start: number): number {
    if (!this.#allowDoctype) {
      throw new Failure(
        "DoctypeNotAllowed",
        "DOCTYPE is not allowed (enable allowDoctype for internal entities)",
        start,
      );
    }
    if (this.#doctypeSeen || this.#rootSeen) {
      throw new Failure("InvalidSyntax", "DOCTYPE in the wrong place", start);
    }
    const d = new DtdReader(this.#markup()).read(start);
    this.#spare.count = 0;
    this.#emit(TokenKind.Doctype, start, d.end, d.name, d.subset);
    this.#refs.declare(d.entities);
    if (d.attDefaults.size > 0) this.#attDefaults = d.attDefaults;
    this.#doctypeSeen = true;
    return TOKEN;
  }
}
