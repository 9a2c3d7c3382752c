/**
 * The input of the XML tokenizer: the buffer of decoded text it reads, fed as text or bytes, its
 * line ends normalised, consumed text dropped as a stream goes on; the remembered searches over
 * it, the search for characters that may not be Chars, and the line count (made only when a
 * position is asked for).
 *
 * @module
 */
import { Failure, isWellFormed } from "../_text.ts";
import type { XmlParseError, XmlParseErrorCode } from "./types.ts";
import { ByteDecoder } from "./_encoding.ts";
import { checkChars, firstSuspect, splitSearch } from "./_chars.ts";
import { NONE, RememberedSearch } from "./_search.ts";

/**
 * The buffer and its bookkeeping, which the tokenizer extends (its fields are plain ones, read on
 * every token).
 */
export abstract class TokenizerInput {
  /** The decoded, line-end normalised text not yet dropped. */
  buf: string = "";
  /** Where the next token starts in `buf`. */
  pos: number = 0;
  /** `end()` was called: `buf` holds the rest of the document. */
  finished: boolean = false;
  /** How many characters were dropped from the front of `buf` (0: it starts the document). */
  base: number = 0;
  /** The line of offset `counted` (1-based). */
  line: number = 1;
  /** Where that line starts in `buf`. */
  lineStart: number = 0;
  /** Lines are counted up to here (only when a position is asked for). */
  counted: number = 0;
  /** Non-Chars are searched the split way (see fastWellFormed); decided at the first text. */
  split: boolean | undefined;
  /** In split mode: some appended text has an unpaired surrogate, so search the plain way. */
  lone: boolean = false;
  /** The remembered search for '<'. */
  readonly lt: RememberedSearch = new RememberedSearch("<");
  /** The remembered search for '&'. */
  readonly amp: RememberedSearch = new RememberedSearch("&");
  /** Searched by `findSuspect` with regexes, so it has no needle. */
  readonly suspect: RememberedSearch = new RememberedSearch("");
  /** The remembered search for `]]>`. */
  readonly cdEnd: RememberedSearch = new RememberedSearch("]]>");
  /** The remembered search for tabs. */
  readonly tab: RememberedSearch = new RememberedSearch("\t");
  /** The remembered search for newlines (the line count and attribute values share it). */
  readonly nl: RememberedSearch = new RememberedSearch("\n");
  /** All the remembered searches. */
  readonly searches: RememberedSearch[] = [
    this.lt,
    this.amp,
    this.suspect,
    this.cdEnd,
    this.tab,
    this.nl,
  ];
  /** The first character of the input was looked at for a byte order mark. */
  bomSeen: boolean = false;
  /** A CR or high surrogate at the end of the last chunk, held until the next one. */
  heldBack: string = "";
  /** The decoder of byte input. */
  readonly bytes: ByteDecoder = new ByteDecoder();
  /** Where the input turned out not to be in its encoding: the end of the readable text. */
  encodingFailure: Failure<XmlParseErrorCode> | undefined;
  /** The input is bytes (decoded by `bytes`), not text. */
  byteMode: boolean = false;
  /** The error `next()` threw: every later call throws it again. */
  failed: XmlParseError | undefined;

  /**
   * Appends a chunk of the document (split anywhere). Text and bytes must not be mixed. Bytes
   * that are not valid in the document's encoding end the input there: `next()` reads the
   * tokens before them, then throws an `InvalidEncoding` XmlParseError.
   *
   * @param chunk the next piece of text, or of the encoded bytes
   * @throws {XmlParseError} when an earlier call to `next()` failed
   */
  feed(chunk: string | Uint8Array): void {
    if (this.finished) throw new TypeError("XmlParser.feed() after end()");
    if (this.failed) throw this.failed;
    if (this.encodingFailure) return;
    let text: string;
    if (typeof chunk === "string") {
      text = chunk;
    } else {
      this.byteMode = true;
      text = this.decodeBytes(chunk, false);
    }
    this.append(text);
  }

  /** Marks the end of the input: parsing can complete. */
  end(): void {
    if (this.finished || this.encodingFailure) return;
    if (this.byteMode) {
      const tail = this.decodeBytes(new Uint8Array(0), true);
      if (this.encodingFailure) return;
      if (tail) this.append(tail);
    }
    this.finished = true;
    const held = this.heldBack;
    this.heldBack = "";
    if (held) {
      this.buf += held === "\r" ? "\n" : held;
      if (held !== "\r") this.lone = true;
      this.grown();
    }
  }

  /** Decodes a chunk of bytes; at an invalid sequence, keeps the text before it and fails. */
  decodeBytes(chunk: Uint8Array, final: boolean): string {
    const decoded = this.bytes.decode(chunk, final);
    if (typeof decoded === "string") return decoded;
    // Line ends normalised as append() does, so the error's line and column are right.
    const prefix = (this.heldBack + decoded.readable).replace(/\r\n?/g, "\n");
    const at = this.buf.length + prefix.length;
    this.buf += prefix;
    this.bomSeen = true;
    this.lone = true;
    this.grown();
    this.heldBack = "";
    // The input ends at the bad bytes. next() reads the tokens before them, as it would if
    // they had come in another chunk, and fails where it needs more.
    this.encodingFailure = new Failure(
      "InvalidEncoding",
      `invalid ${decoded.encoding} sequence`,
      at,
    );
    return "";
  }

  /** Appends decoded text to the buffer, its line ends normalised. */
  append(text: string): void {
    if (text.length === 0) return;
    let t = this.heldBack + text;
    this.heldBack = "";
    // A CR or a high surrogate at the end may pair with the next chunk's first character.
    const last = t.charCodeAt(t.length - 1);
    if (last === 13 || (last >= 0xd800 && last <= 0xdbff)) {
      this.heldBack = t.slice(-1);
      t = t.slice(0, -1);
    }
    // A byte order mark is skipped once, at the very start of text input (the decoder takes the
    // one of byte input); any later U+FEFF is a character of the document.
    if (!this.bomSeen && t.length > 0) {
      this.bomSeen = true;
      if (!this.byteMode && t.charCodeAt(0) === 0xfeff) t = t.slice(1);
    }
    // Drop consumed text so a long stream keeps a small buffer.
    if (this.pos > 65536 && this.pos > this.buf.length >> 1) {
      const cut = this.pos;
      this.dropping(cut);
      // Count the lines of the text dropped, or the newlines past `counted` would be lost.
      this.advanceLines(cut);
      this.buf = this.buf.slice(cut);
      this.pos -= cut;
      this.base += cut;
      this.counted -= cut;
      this.lineStart -= cut;
      for (const search of this.searches) search.shift(cut);
    }
    this.split ??= splitSearch(t.length);
    if (this.split && !this.lone && !isWellFormed(t)) this.lone = true;
    const from = this.buf.length;
    this.buf = from === 0 ? t : this.buf + t;
    this.grown();
    // Line ends are normalised before anything is parsed. A carriage return is not a Char, so
    // when the search for those (needed anyway, and remembered) finds none, there is none.
    if (this.findSuspect(from) !== NONE && t.indexOf("\r") >= 0) {
      this.buf = this.buf.slice(0, from) + t.replace(/\r\n?/g, "\n");
      this.suspect.forget();
      this.grown();
    }
  }

  /** The buffer got longer: searches that found nothing must look again. */
  grown(): void {
    for (const search of this.searches) search.grown();
  }

  /** The first SUSPECT character at or after `from`, or NONE. */
  findSuspect(from: number): number {
    const search = this.suspect;
    if (search.knows(from)) return search.at;
    return search.remember(
      from,
      firstSuspect(this.buf, from, this.split === true && !this.lone),
    );
  }

  /** Checks that `s`, found at `at`, holds only Chars (a fast answer when it obviously does). */
  checkText(s: string, at: number): void {
    if (this.findSuspect(at) < at + s.length) checkChars(s, at);
  }

  /**
   * Counts the lines from `counted` up to `to` (only when a position is asked for: an error's, or
   * a token's through `current()` or `line`).
   */
  advanceLines(to: number): void {
    if (to <= this.counted) return;
    const buf = this.buf;
    // The newline search is remembered (attribute values ask it too): a long line with many
    // tokens would otherwise be searched to its end once per token.
    const search = this.nl;
    let nl = search.find(buf, this.counted);
    while (nl < to) {
      this.line++;
      this.lineStart = nl + 1;
      nl = search.find(buf, nl + 1);
    }
    this.counted = to;
  }

  /**
   * The buffer is about to drop its first `cut` characters (the tokenizer counts the position of
   * the current token first, and moves its offset).
   */
  protected abstract dropping(cut: number): void;
}
