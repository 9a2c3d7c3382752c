/**
 * The strict XML 1.0 (Fifth Edition) pull parser: the one tokenizer (`_tokenizer.ts`) under SAX
 * and DOM, behind its public face.
 *
 * @module
 */
import type { XmlParseOptions, XmlToken } from "./types.ts";
import { Tokenizer } from "./_tokenizer.ts";

export { decodeEntities } from "./_references.ts";

/**
 * The strict, secure XML 1.0 pull parser. Give it a whole document (text or bytes in UTF-8 or
 * UTF-16 with BOM) or feed chunks with {@linkcode XmlParser.feed} and {@linkcode XmlParser.end};
 * call {@linkcode XmlParser.next} and read {@linkcode XmlParser.current}.
 *
 * Never reads anything external; a DOCTYPE is refused unless `allowDoctype`, and then only
 * internal entities are expanded, under `maxEntityExpansions`.
 *
 * @example
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
  #t: Tokenizer;

  /**
   * Creates a parser.
   *
   * @param input the whole document; omit it to feed chunks with `feed()` and `end()`
   * @param options limits, namespace processing and DOCTYPE policy
   */
  constructor(input?: string | Uint8Array, options?: XmlParseOptions) {
    this.#t = new Tokenizer(input, options);
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

  /** The token read by the last successful {@linkcode XmlParser.next}. */
  current(): XmlToken {
    return this.#t.current();
  }
}
