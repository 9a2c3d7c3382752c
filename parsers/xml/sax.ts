/**
 * SAX-style callbacks over the pull parser.
 *
 * @module
 */
import type { XmlParser } from "./parser.ts";
import { TokenKind, XmlParseError, type XmlToken } from "./types.ts";

/** Callbacks of {@linkcode runSax}; each receives the token (valid after the call too). */
export interface SaxCallbacks {
  /** A start tag (self-closing ones are followed by onEndElement). */
  onStartElement?: (token: XmlToken) => void;
  /** An end tag. */
  onEndElement?: (token: XmlToken) => void;
  /** Character data, references decoded. */
  onText?: (token: XmlToken) => void;
  /** A CDATA section. */
  onCData?: (token: XmlToken) => void;
  /** A comment. */
  onComment?: (token: XmlToken) => void;
  /** A processing instruction. */
  onProcessingInstruction?: (token: XmlToken) => void;
  /** The XML declaration. */
  onXmlDeclaration?: (token: XmlToken) => void;
  /** The DOCTYPE. */
  onDoctype?: (token: XmlToken) => void;
  /** A parse error; when given, runSax reports the error here and returns false. */
  onError?: (error: XmlParseError) => void;
}

/**
 * Drives `parser` to its end (or until it needs more input), calling the callbacks.
 *
 * @param parser the pull parser to drain
 * @param callbacks what to call per token
 * @returns true when the tokens available were processed; false after a parse error that was
 *   passed to `onError`
 * @throws {XmlParseError} when the document is malformed and there is no `onError`
 *
 * @example
 * ```ts
 * import { XmlParser, runSax } from "./mod.ts";
 * const names: string[] = [];
 * runSax(new XmlParser("<a><b/></a>"), { onStartElement: (t) => names.push(t.name) });
 * console.log(names); // ["a", "b"]
 * ```
 */
export function runSax(parser: XmlParser, callbacks: SaxCallbacks): boolean {
  try {
    while (parser.next()) {
      const t = parser.current();
      switch (t.kind) {
        case TokenKind.StartElement:
          callbacks.onStartElement?.(t);
          break;
        case TokenKind.EndElement:
          callbacks.onEndElement?.(t);
          break;
        case TokenKind.Text:
          callbacks.onText?.(t);
          break;
        case TokenKind.CData:
          callbacks.onCData?.(t);
          break;
        case TokenKind.Comment:
          callbacks.onComment?.(t);
          break;
        case TokenKind.ProcessingInstruction:
          callbacks.onProcessingInstruction?.(t);
          break;
        case TokenKind.XmlDeclaration:
          callbacks.onXmlDeclaration?.(t);
          break;
        case TokenKind.Doctype:
          callbacks.onDoctype?.(t);
          break;
      }
    }
    return true;
  } catch (e) {
    if (e instanceof XmlParseError && callbacks.onError) {
      callbacks.onError(e);
      return false;
    }
    throw e;
  }
}
