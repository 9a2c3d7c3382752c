/**
 * Strict XML 1.0 (Fifth Edition) with namespaces: a pull parser, SAX callbacks and a DOM, all
 * over one tokenizer. Secure by default: nothing external is ever read and DOCTYPE is refused
 * unless asked for (then internal entities only, under expansion limits).
 *
 * @example
 * ```ts
 * import { buildDom } from "./mod.ts";
 * const doc = buildDom("<root><item id='1'>Hello</item></root>");
 * console.log(doc.root.childByName("item")?.getAttribute("id")); // "1"
 * ```
 *
 * @module
 */
export { decodeEntities, XmlParser } from "./parser.ts";
export { runSax } from "./sax.ts";
export type { SaxCallbacks } from "./sax.ts";
export { buildDom, XmlDocument, XmlElement } from "./dom.ts";
export type { XmlComment, XmlNode, XmlProcessingInstruction, XmlText } from "./dom.ts";
export { DEFAULT_XML_LIMITS, TokenKind, XmlParseError } from "./types.ts";
export type {
  XmlAttribute,
  XmlLimits,
  XmlParseErrorCode,
  XmlParseOptions,
  XmlToken,
} from "./types.ts";
