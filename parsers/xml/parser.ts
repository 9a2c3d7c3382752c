/**
 * The strict XML 1.0 (Fifth Edition) pull parser: the one tokenizer (`_tokenizer.ts`) under SAX
 * and DOM, behind its public face.
 *
 * @module
 */
import type { TokenKind, XmlAttribute, XmlParseOptions, XmlToken } from "./types.ts";
import { Tokenizer } from "./_tokenizer.ts";
import type { TokenCursor } from "./_cursor.ts";
import type { AttributeList } from "./_attributes.ts";

export { decodeEntities } from "./_references.ts";

/**
 * The strict, secure XML 1.0 pull parser. Give it a whole document (text or bytes in UTF-8 or
 * UTF-16 with BOM) or feed chunks with {@linkcode XmlParser.feed} and {@linkcode XmlParser.end};
 * call {@linkcode XmlParser.next}, then read the token it read in one of two ways:
 *
 * - as a cursor (like StAX's `XMLStreamReader`): {@linkcode XmlParser.kind},
 *   {@linkcode XmlParser.name}, {@linkcode XmlParser.text}, {@linkcode XmlParser.attributeCount},
 *   {@linkcode XmlParser.attributeName}, {@linkcode XmlParser.attributeValue}, ... read the
 *   fields of the current token where the parser keeps them, so reading a document makes no
 *   object per token (only the strings read). They describe the current token only: read what
 *   you need before the next `next()`.
 * - as an object: {@linkcode XmlParser.current} makes an {@linkcode XmlToken} of the current
 *   token, which stays valid after later calls.
 *
 * Both give the same values. The accessors throw a `TypeError` before the first successful
 * `next()`.
 *
 * Never reads anything external; a DOCTYPE is refused unless `allowDoctype`, and then only
 * internal entities are expanded, under `maxEntityExpansions`.
 *
 * @example The cursor
 * ```ts
 * import { XmlParser, TokenKind } from "./mod.ts";
 * const p = new XmlParser("<root><item id='1' lang='en'>Hello</item></root>");
 * while (p.next()) {
 *   if (p.kind === TokenKind.StartElement) {
 *     console.log(p.name); // "root", then "item"
 *     for (let i = 0; i < p.attributeCount; i++) {
 *       console.log(p.attributeName(i), p.attributeValue(i)); // "id" "1", then "lang" "en"
 *     }
 *   } else if (p.kind === TokenKind.Text) {
 *     console.log(p.text, p.line, p.column); // "Hello" 1 30
 *   }
 * }
 * ```
 *
 * @example Token objects
 * ```ts
 * import { XmlParser, TokenKind } from "./mod.ts";
 * const p = new XmlParser("<root><item id='1'>Hello</item></root>");
 * while (p.next()) {
 *   const t = p.current();
 *   if (t.kind === TokenKind.StartElement) console.log(t.name, t.attributes.map((a) => a.value));
 * }
 * ```
 */
export class XmlParser {
  readonly #t: Tokenizer;
  readonly #c: TokenCursor;

  /**
   * Creates a parser.
   *
   * @param input the whole document; omit it to feed chunks with `feed()` and `end()`
   * @param options limits, namespace processing and DOCTYPE policy
   */
  constructor(input?: string | Uint8Array, options?: XmlParseOptions) {
    this.#t = new Tokenizer(input, options);
    this.#c = this.#t.cursor;
  }

  /**
   * Appends a chunk of the document (split anywhere). Text and bytes must not be mixed. Bytes
   * that are not valid in the document's encoding end the input there: `next()` reads the
   * tokens before them, then throws an `InvalidEncoding` XmlParseError.
   *
   * @param chunk the next piece of text, or of the encoded bytes
   * @throws {XmlParseError} when an earlier call to `next()` failed
   */
  feed(chunk: string | Uint8Array): void {
    this.#t.feed(chunk);
  }

  /** Marks the end of the input: parsing can complete. */
  end(): void {
    this.#t.end();
  }

  /** True when the last next() stopped for lack of input: feed more, then call next() again. */
  get needsInput(): boolean {
    return this.#t.needsInput;
  }

  /**
   * Reads the next token.
   *
   * @returns true when a token was read; false at the end of the document, or, when feeding
   *   chunks, when more input is needed first (see {@linkcode XmlParser.needsInput})
   * @throws {XmlParseError} when the document is not well-formed or breaks a limit
   */
  next(): boolean {
    return this.#t.next();
  }

  /**
   * The token read by the last successful {@linkcode XmlParser.next}, as an object that stays
   * valid after later calls (a new object per call: call it once per token).
   */
  current(): XmlToken {
    return this.#t.current();
  }

  /** The cursor, once a token was read. */
  #cursor(): TokenCursor {
    const c = this.#c;
    if (!c.started) throw new TypeError("XmlParser: no token read yet (call next() first)");
    return c;
  }

  /** What the current token is. */
  get kind(): TokenKind {
    return this.#cursor().kind;
  }

  /**
   * The current element's name as written (StartElement, EndElement), or the PI target, `"xml"`
   * for the XML declaration, the DOCTYPE's root name; `""` for other kinds.
   */
  get name(): string {
    return this.#cursor().name;
  }

  /** The current element name's prefix (`""` when none, or when namespaces are off). */
  get prefix(): string {
    return this.#cursor().prefix;
  }

  /** The current element's name without its prefix (the whole name when namespaces are off). */
  get localName(): string {
    return this.#cursor().localName;
  }

  /** The current element's namespace URI (`""` when none, or when namespaces are off). */
  get namespaceUri(): string {
    return this.#cursor().uri;
  }

  /**
   * The current token's text: character data (references decoded), a CDATA section's, a
   * comment's or a PI's content, or the DOCTYPE's internal subset; `""` for other kinds.
   */
  get text(): string {
    return this.#cursor().text;
  }

  /** True when the current token is a StartElement written as `<name/>`. */
  get selfClosing(): boolean {
    return this.#cursor().selfClosing;
  }

  /** 1-based line where the current token starts (counted when first asked for). */
  get line(): number {
    const c = this.#cursor();
    if (c.line === 0) this.#t.locate();
    return c.line;
  }

  /** 1-based column (UTF-16 code units) where the current token starts. */
  get column(): number {
    const c = this.#cursor();
    if (c.line === 0) this.#t.locate();
    return c.column;
  }

  /**
   * How many attributes the current StartElement has (the pseudo-attributes of the
   * XmlDeclaration); 0 for other kinds.
   */
  get attributeCount(): number {
    return this.#cursor().attrs.count;
  }

  /** Checks that `index` is an attribute of the current token; returns the attributes. */
  #attrs(index: number): AttributeList {
    const attrs = this.#cursor().attrs;
    if (!(index >= 0 && index < attrs.count)) {
      throw new RangeError(`attribute index ${index} out of range (${attrs.count} attributes)`);
    }
    return attrs;
  }

  /**
   * The qualified name of attribute `index`, as written.
   *
   * @param index 0 to `attributeCount - 1`, in document order
   * @throws {RangeError} when there is no such attribute
   */
  attributeName(index: number): string {
    return this.#attrs(index).q[index].name;
  }

  /**
   * The prefix of attribute `index` (`""` when none, or when namespaces are off).
   *
   * @param index 0 to `attributeCount - 1`, in document order
   * @throws {RangeError} when there is no such attribute
   */
  attributePrefix(index: number): string {
    const q = this.#attrs(index).q[index];
    return this.#c.ns ? q.prefix : "";
  }

  /**
   * The name of attribute `index` without its prefix (the whole name when namespaces are off).
   *
   * @param index 0 to `attributeCount - 1`, in document order
   * @throws {RangeError} when there is no such attribute
   */
  attributeLocalName(index: number): string {
    const q = this.#attrs(index).q[index];
    return this.#c.ns ? q.localName : q.name;
  }

  /**
   * The namespace URI of attribute `index` (`""` for unprefixed attributes other than `xmlns`
   * ones, and when namespaces are off).
   *
   * @param index 0 to `attributeCount - 1`, in document order
   * @throws {RangeError} when there is no such attribute
   */
  attributeNamespaceUri(index: number): string {
    return this.#attrs(index).uri[index];
  }

  /**
   * The value of attribute `index`, references decoded and whitespace normalised.
   *
   * @param index 0 to `attributeCount - 1`, in document order
   * @throws {RangeError} when there is no such attribute
   */
  attributeValue(index: number): string {
    return this.#attrs(index).value[index];
  }

  /**
   * The current token's attributes as new objects (those of a StartElement, or the
   * pseudo-attributes of the XmlDeclaration; empty for other kinds), as in `current()`.
   */
  attributes(): XmlAttribute[] {
    return this.#cursor().attrs.toArray(this.#c.ns);
  }

  /**
   * The value of the current token's attribute with this qualified name, or with this local name
   * and `namespaceUri`.
   *
   * @param name the qualified name, or the local name when `namespaceUri` is given
   * @param namespaceUri match the expanded name instead
   * @returns the value, or undefined when the token has no such attribute
   */
  getAttribute(name: string, namespaceUri?: string): string | undefined {
    const attrs = this.#cursor().attrs;
    const ns = this.#c.ns;
    for (let k = 0; k < attrs.count; k++) {
      const q = attrs.q[k];
      if (
        namespaceUri === undefined
          ? q.name === name
          : (ns ? q.localName : q.name) === name && attrs.uri[k] === namespaceUri
      ) {
        return attrs.value[k];
      }
    }
    return undefined;
  }
}
