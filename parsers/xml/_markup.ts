/**
 * The markup around the elements: comments, CDATA sections, processing instructions and the XML
 * declaration, read from the tokenizer's buffer through a {@linkcode MarkupInput}.
 *
 * @module
 */
import { Failure } from "../_text.ts";
import { TokenKind } from "./types.ts";
import type { DtdInput } from "./_dtd.ts";
import { NONE } from "./_search.ts";
import { QName } from "./_names.ts";

/** What the markup readers need of the tokenizer: the DOCTYPE reader's needs and a few more. */
export interface MarkupInput extends DtdInput {
  /** How many elements are open. */
  readonly depth: number;
  /** The buffer starts at the document's start (an XML declaration may be read). */
  readonly atDocumentStart: boolean;
  /** The encoding of byte input ("utf-8", "utf-16le", ...), undefined for text input. */
  readonly encoding: string | undefined;
  /** Checks that `text`, found at `at`, holds only Chars (fast when it obviously does). */
  checkText(text: string, at: number): void;
  /**
   * Makes the token of `kind` at `at` (ending at `end`: the next token starts there) the current
   * one, with `name` (also its local name) and `text`, and the attributes given to `attribute()`
   * since the last token.
   */
  emit(kind: TokenKind, at: number, end: number, name: string, text: string): void;
  /** Adds a pseudo-attribute to the token `emit()` makes next. */
  attribute(q: QName, value: string, at: number): void;
  /** The first `]]>` at or after `from`, or NONE. */
  cdataEnd(from: number): number;
}

/** Reads a comment at `start` (its `<!--` seen) into the current token. */
export function readComment(input: MarkupInput, start: number): void {
  const buf = input.buf;
  const dd = buf.indexOf("--", start + 4);
  if (dd < 0) input.more(start);
  if (dd + 2 >= buf.length) input.more(start);
  if (buf.charCodeAt(dd + 2) !== 62) {
    throw new Failure("InvalidSyntax", "'--' not allowed in a comment", dd);
  }
  const text = buf.slice(start + 4, dd);
  if (text.length > input.maxText) {
    throw new Failure("LimitExceeded", "comment longer than maxTextLength", start);
  }
  input.checkText(text, start + 4);
  input.emit(TokenKind.Comment, start, dd + 3, "", text);
}

/** Reads a CDATA section at `start` (its `<![CDATA[` seen) into the current token. */
export function readCData(input: MarkupInput, start: number): void {
  const buf = input.buf;
  if (input.depth === 0) {
    throw new Failure("InvalidSyntax", "CDATA outside the root element", start);
  }
  const end = input.cdataEnd(start + 9);
  if (end === NONE) input.more(start);
  const text = buf.slice(start + 9, end);
  if (text.length > input.maxText) {
    throw new Failure("LimitExceeded", "CDATA longer than maxTextLength", start);
  }
  input.checkText(text, start + 9);
  input.emit(TokenKind.CData, start, end + 3, "", text);
}

/**
 * Reads a processing instruction, or the XML declaration, at `start` (its `<?` seen) into the
 * current token.
 */
export function readPi(input: MarkupInput, start: number): void {
  const buf = input.buf;
  const nameEnd = input.name(start + 2);
  const target = buf.slice(start + 2, nameEnd);
  if (target.toLowerCase() === "xml") {
    if (target === "xml" && start === 0 && input.atDocumentStart) {
      readXmlDeclaration(input, start, nameEnd);
      return;
    }
    throw new Failure(
      "InvalidSyntax",
      "the XML declaration is only allowed at the very start",
      start,
    );
  }
  if (input.ns && target.indexOf(":") >= 0) {
    throw new Failure(
      "Namespace",
      "a processing instruction target must not contain ':'",
      start + 2,
    );
  }
  const end = buf.indexOf("?>", nameEnd);
  if (end < 0) input.more(start);
  let text = "";
  if (end !== nameEnd) {
    const j = input.ws(nameEnd);
    if (j === nameEnd) {
      throw new Failure("InvalidSyntax", "expected whitespace after the PI target", j);
    }
    text = buf.slice(j, end);
    if (text.length > input.maxText) {
      throw new Failure("LimitExceeded", "PI longer than maxTextLength", start);
    }
    input.checkText(text, j);
  }
  input.emit(TokenKind.ProcessingInstruction, start, end + 2, target, text);
}

/** Reads the XML declaration at `start`, whose target ends at `i`. */
function readXmlDeclaration(input: MarkupInput, start: number, i: number): void {
  const buf = input.buf;
  const end = buf.indexOf("?>", i);
  if (end < 0) input.more(start);
  const order = ["version", "encoding", "standalone"];
  let next = 0;
  for (;;) {
    const j = input.ws(i);
    if (j === end) break;
    if (j === i) {
      throw new Failure("InvalidSyntax", "expected whitespace in the XML declaration", j);
    }
    const nEnd = input.name(j);
    const name = buf.slice(j, nEnd);
    const idx = order.indexOf(name, next);
    if (idx < 0 || (idx > 0 && next === 0)) {
      throw new Failure(
        "InvalidSyntax",
        `unexpected ${JSON.stringify(name)} in the XML declaration`,
        j,
      );
    }
    next = idx + 1;
    let k = input.ws(nEnd);
    if (buf.charCodeAt(k) !== 61) throw new Failure("InvalidSyntax", "expected '='", k);
    k = input.ws(k + 1);
    const q = buf.charCodeAt(k);
    if (q !== 34 && q !== 39) throw new Failure("InvalidSyntax", "expected a quoted value", k);
    const close = buf.indexOf(q === 34 ? '"' : "'", k + 1);
    if (close < 0 || close > end) throw new Failure("InvalidSyntax", "unterminated value", k);
    const value = buf.slice(k + 1, close);
    const ok = name === "version"
      ? /^1\.[0-9]+$/.test(value)
      : name === "encoding"
      ? /^[A-Za-z][A-Za-z0-9._-]*$/.test(value)
      : value === "yes" || value === "no";
    if (!ok) {
      throw new Failure("InvalidSyntax", `invalid ${name} ${JSON.stringify(value)}`, k + 1);
    }
    if (name === "encoding" && input.encoding !== undefined) {
      checkEncoding(input.encoding, value, k + 1);
    }
    input.attribute(new QName(name, -1, -1), value, j);
    i = close + 1;
  }
  if (next === 0) {
    throw new Failure("InvalidSyntax", "the XML declaration needs a version", start);
  }
  input.emit(TokenKind.XmlDeclaration, start, end + 2, "xml", "");
}

/** Checks that the encoding `declared` at `at` is the one the bytes are in (`actual`). */
function checkEncoding(actual: string, declared: string, at: number): void {
  const d = declared.toLowerCase();
  const ok = actual === "utf-8"
    ? d === "utf-8" || d === "utf8" || d === "us-ascii" || d === "ascii"
    : d === "utf-16" || d === actual;
  if (!ok) {
    throw new Failure(
      "InvalidEncoding",
      `declared encoding ${declared} is not the document's ${actual} (only UTF-8 and UTF-16 are supported)`,
      at,
    );
  }
}
