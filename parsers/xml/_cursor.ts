/**
 * The current token of the XML pull parser as plain fields of one reused record, so reading a
 * document allocates no object per token; {@linkcode TokenCursor.toToken} makes the
 * {@linkcode XmlToken} object when one is asked for.
 *
 * @module
 */
import { TokenKind, type XmlAttribute, type XmlToken } from "./types.ts";
import { AttributeList } from "./_attributes.ts";

/** The attributes of every token but start tags and the XML declaration: one fewer allocation. */
const NO_ATTRS: XmlAttribute[] = Object.freeze([]) as unknown as XmlAttribute[];

/**
 * The fields of the token the tokenizer read last. The tokenizer writes them when a token is
 * complete (never for one that stopped for more input or failed), so they always describe the
 * last token `next()` returned.
 */
export class TokenCursor {
  /** What the token is. */
  kind: TokenKind = TokenKind.Text;
  /** Where the token starts in the tokenizer's buffer. */
  at = 0;
  /** Element name, PI target or DOCTYPE name, as written. */
  name = "";
  /** The element name's prefix. */
  prefix = "";
  /** The name without its prefix. */
  localName = "";
  /** The element's namespace URI. */
  uri = "";
  /** Text, CDATA, comment or PI content, or the DOCTYPE internal subset. */
  text = "";
  /** A start tag written as `<name/>`. */
  selfClosing = false;
  /** The attributes of a start tag or the XML declaration; empty for other kinds. */
  attrs: AttributeList = new AttributeList();
  /** 1-based line of `at`, or 0 until it was counted. */
  line = 0;
  /** 1-based column of `at` (valid when `line` is). */
  column = 0;
  /** A token was read (before, the fields mean nothing). */
  started = false;

  /** Namespace processing is on (attribute names are split only then). */
  constructor(readonly ns: boolean) {}

  /**
   * Makes these fields describe a new token (its line is counted later, when asked for).
   *
   * @param kind what the token is
   * @param at where it starts in the tokenizer's buffer
   * @param name its name as written
   * @param prefix the name's prefix
   * @param localName the name without its prefix
   * @param uri the element's namespace URI
   * @param text its text
   * @param selfClosing a start tag written as `<name/>`
   */
  set(
    kind: TokenKind,
    at: number,
    name: string,
    prefix: string,
    localName: string,
    uri: string,
    text: string,
    selfClosing: boolean,
  ): void {
    this.kind = kind;
    this.at = at;
    this.name = name;
    this.prefix = prefix;
    this.localName = localName;
    this.uri = uri;
    this.text = text;
    this.selfClosing = selfClosing;
    this.line = 0;
  }

  /**
   * The token as a new {@linkcode XmlToken} (`line` must be counted). A new one per call: kept
   * here, the object would cost a write barrier per token (the cursor outlives young objects).
   */
  toToken(): XmlToken {
    const kind = this.kind;
    return {
      kind,
      name: this.name,
      prefix: this.prefix,
      localName: this.localName,
      namespaceUri: this.uri,
      attributes: kind === TokenKind.StartElement || kind === TokenKind.XmlDeclaration
        ? this.attrs.toArray(this.ns)
        : NO_ATTRS,
      text: this.text,
      selfClosing: this.selfClosing,
      line: this.line,
      column: this.column,
    };
  }
}
