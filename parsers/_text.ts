/**
 * Text helpers shared by the parsers (JSON and XML): UTF-8 validation and
 * the bytes a streaming decoder holds back, surrogate checks, the failure a
 * parser throws internally with an offset, and line/column positions.
 *
 * @module
 */

/**
 * Thrown inside a parser with an offset into its input; the parser turns it into its public
 * error (`JsonParseError`, `XmlParseError`) with the line and column of that offset.
 */
export class Failure<Code extends string = string> {
  /**
   * @param code the public error's code
   * @param message what is wrong
   * @param offset where, in the parser's own units
   */
  constructor(
    readonly code: Code,
    readonly message: string,
    readonly offset: number,
  ) {}
}

/**
 * The 1-based line and column of `offset` in `text`. A line ends at LF, CR LF or a lone CR
 * (the line ends JSON allows as whitespace, and those XML normalises to LF).
 */
export function lineColumnAt(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(offset, text.length);
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 || (c === 13 && text.charCodeAt(i + 1) !== 10)) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/** {@linkcode lineColumnAt} for UTF-8 bytes: the column counts bytes. */
export function byteLineColumn(
  bytes: Uint8Array,
  offset: number,
): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    const c = bytes[i];
    if (c === 10 || (c === 13 && bytes[i + 1] !== 10)) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/** Whether the engine has String.prototype.isWellFormed (ES2024; Node 20 and Deno do). */
const hasWellFormed = typeof (String.prototype as { isWellFormed?: unknown }).isWellFormed ===
  "function";

/** True when `s` holds no unpaired surrogate. */
export function isWellFormed(s: string): boolean {
  if (hasWellFormed) return (s as { isWellFormed(): boolean }).isWellFormed();
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
}

/** An empty byte array, shared. */
export const NO_BYTES: Uint8Array = new Uint8Array(0);

/** Byte offset of the first invalid UTF-8 sequence in `bytes[start..end)` (or -1). */
export function findInvalidUtf8(
  bytes: Uint8Array,
  start: number = 0,
  end: number = bytes.length,
): number {
  let i = start;
  while (i < end) {
    const b = bytes[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let min: number;
    let cp: number;
    if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
      min = 0x80;
      cp = b & 0x1f;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      min = 0x800;
      cp = b & 0x0f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      min = 0x10000;
      cp = b & 0x07;
    } else return i;
    for (let k = 1; k <= need; k++) {
      if (i + k >= end) return i;
      const c = bytes[i + k];
      if ((c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return -1;
}

/**
 * The bytes a streaming UTF-8 decoder holds back after `tail` (what it held before) and then
 * `bytes` (both decoded without error): the start of a character that `bytes` ends inside.
 */
export function incompleteUtf8(tail: Uint8Array, bytes: Uint8Array): Uint8Array {
  const n = bytes.length;
  if (n === 0) return tail;
  if (bytes[n - 1] < 0x80) return NO_BYTES;
  let all = bytes;
  if (tail.length > 0 && n < 4) {
    all = new Uint8Array(tail.length + n);
    all.set(tail);
    all.set(bytes, tail.length);
  }
  const m = all.length;
  // The lead byte of the last character, at most three bytes back.
  for (let k = m - 1; k >= 0 && k >= m - 4; k--) {
    const b = all[k];
    if (b < 0x80) return NO_BYTES;
    if (b >= 0xc0) {
      const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
      return m - k < need ? all.slice(k) : NO_BYTES;
    }
  }
  return NO_BYTES;
}
