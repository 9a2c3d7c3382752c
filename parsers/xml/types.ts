/**
 * Tokens, options, limits and the error of the XML parser.
 *
 * @module
 */
import { IoraError } from "../../core/errors.ts";

/** The kinds of {@linkcode XmlToken}. */
export const TokenKind = {
  /** `<name ...>` or `<name .../>` (then followed by an EndElement). */
  StartElement: "StartElement",
  /** `</name>`, or the end of a self-closing element. */
  EndElement: "EndElement",
  /** Character data, references decoded. */
  Text: "Text",
  /** A CDATA section's content. */
  CData: "CData",
  /** A comment's content. */
  Comment: "Comment",
  /** `<?target data?>`. */
  ProcessingInstruction: "ProcessingInstruction",
  /** `<?xml version=... ?>`; its fields are in `attributes`. */
  XmlDeclaration: "XmlDeclaration",
  /** `<!DOCTYPE name ...>`; `text` holds the internal subset. */
  Doctype: "Doctype",
} as const;

/** One of the {@linkcode TokenKind} values. */
export type TokenKind = typeof TokenKind[keyof typeof TokenKind];

/** An attribute of a start tag (or a pseudo-attribute of the XML declaration). */
export interface XmlAttribute {
  /** The qualified name as written, e.g. `xlink:href`. */
  name: string;
  /** The prefix (`""` when none). */
  prefix: string;
  /** The name without its prefix. */
  localName: string;
  /** The namespace URI (`""` for unprefixed attributes and when namespaces are off). */
  namespaceUri: string;
  /** The value, references decoded and whitespace normalised. */
  value: string;
}

/** One token of the pull parser. Fields not relevant to a kind are `""` or empty. */
export interface XmlToken {
  /** What this token is. */
  kind: TokenKind;
  /** Element name or PI target or DOCTYPE root name, as written. */
  name: string;
  /** The name's prefix (`""` when none). */
  prefix: string;
  /** The name without its prefix. */
  localName: string;
  /** The element's namespace URI (`""` when none or when namespaces are off). */
  namespaceUri: string;
  /**
   * Attributes of a StartElement (or XmlDeclaration pseudo-attributes); other kinds share one
   * frozen empty array.
   */
  attributes: XmlAttribute[];
  /** Text, CDATA, comment or PI content, or the DOCTYPE internal subset. */
  text: string;
  /** True on a StartElement written as `<name/>`. */
  selfClosing: boolean;
  /** 1-based line where the token starts. */
  line: number;
  /** 1-based column (UTF-16 code units) where the token starts. */
  column: number;
}

/** Resource limits of the XML parser, each checked before the input is consumed. */
export interface XmlLimits {
  /**
   * Deepest element nesting. Default 256.
   *
   * @default {256}
   */
  maxDepth: number;
  /**
   * Most attributes on one element. Default 256.
   *
   * @default {256}
   */
  maxAttributes: number;
  /**
   * Longest name (elements, attributes, targets, entities). Default 1024.
   *
   * @default {1024}
   */
  maxNameLength: number;
  /**
   * Longest text, attribute value, comment, CDATA, PI, after entity expansion. 16 Mi.
   *
   * @default {16777216}
   */
  maxTextLength: number;
  /**
   * Most tokens in a document. Default 10,000,000.
   *
   * @default {10000000}
   */
  maxTokens: number;
  /**
   * Most entity expansions in a document (billion-laughs guard). Default 10,000.
   *
   * @default {10000}
   */
  maxEntityExpansions: number;
  /**
   * Most characters the entity references of a document may expand to in all (a few
   * references to one large entity would otherwise make gigabytes of text for a DOM or a
   * consumer that joins it). Default 64 Mi.
   *
   * @default {67108864}
   */
  maxEntityExpansionLength: number;
}

/** The default {@linkcode XmlLimits}. */
export const DEFAULT_XML_LIMITS: Readonly<XmlLimits> = Object.freeze({
  maxDepth: 256,
  maxAttributes: 256,
  maxNameLength: 1024,
  maxTextLength: 16 * 1024 * 1024,
  maxTokens: 10_000_000,
  maxEntityExpansions: 10_000,
  maxEntityExpansionLength: 64 * 1024 * 1024,
});

/** Options of {@linkcode XmlParser}. */
export interface XmlParseOptions {
  /** Limits; missing fields take {@linkcode DEFAULT_XML_LIMITS}. */
  limits?: Partial<XmlLimits>;
  /**
   * Namespace processing (Namespaces in XML 1.0). Default true.
   *
   * @default {true}
   */
  namespaces?: boolean;
  /**
   * Accept a DOCTYPE with internal entities only (never anything external). Default false:
   * any DOCTYPE is an error.
   *
   * @default {false}
   */
  allowDoctype?: boolean;
}

/** Stable codes of {@linkcode XmlParseError}. */
export type XmlParseErrorCode =
  | "InvalidSyntax"
  | "InvalidName"
  | "InvalidCharacter"
  | "MismatchedTag"
  | "UnexpectedEnd"
  | "DuplicateAttribute"
  | "UndefinedEntity"
  | "InvalidReference"
  | "Namespace"
  | "DoctypeNotAllowed"
  | "ExternalEntity"
  | "RecursiveEntity"
  | "LimitExceeded"
  | "InvalidEncoding"
  | "Unsupported";

/**
 * A document that is not well-formed, breaks a limit or asks for something refused, with the
 * position of the problem.
 *
 * @example
 * ```ts
 * import { XmlParseError } from "./types.ts";
 * const e = new XmlParseError("MismatchedTag", "expected </a>", 3, 7);
 * console.log(e.code, e.line, e.column);
 * ```
 */
export class XmlParseError extends IoraError {
  /** The kind of failure. */
  declare readonly code: XmlParseErrorCode;
  /** 1-based line of the problem. */
  readonly line: number;
  /** 1-based column of the problem (UTF-16 code units). */
  readonly column: number;

  /**
   * Creates the error; the message gets the position appended.
   *
   * @param code the kind of failure
   * @param message what is wrong
   * @param line 1-based line
   * @param column 1-based column
   */
  constructor(code: XmlParseErrorCode, message: string, line: number, column: number) {
    super(code, `${message} at line ${line}, column ${column}`);
    this.line = line;
    this.column = column;
  }
}
