/**
 * Byte input of `parseJson`: strict UTF-8 decoding with the position of a bad byte, the
 * all-ASCII text the engine parses fastest on Node, and the mapping of a text offset back to
 * a byte offset after invalid sequences were replaced.
 *
 * @module
 */
import { JsonParseError } from "./json_types.ts";
import { byteLineColumn, findInvalidUtf8 } from "./_text.ts";

const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const lenientDecoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

/** The part of Node's `Buffer` the byte path uses. */
export interface NodeBufferView {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
}

/** Node's `Buffer` constructor, as far as the byte path uses it. */
export interface NodeBufferClass {
  from(buffer: ArrayBufferLike, byteOffset: number, length: number): NodeBufferView;
  prototype: Partial<NodeBufferView>;
}

/**
 * Node's `Buffer`, whose native latin1Slice copies bytes into a string several times faster than
 * Node 20's TextDecoder decodes UTF-8. Not under Deno: its TextDecoder is the fast one there, and
 * its `Buffer` a compatibility layer whose utf8Slice is slow.
 */
export const nodeBuffer: NodeBufferClass | undefined = (() => {
  const g = globalThis as unknown as { Deno?: unknown; Buffer?: NodeBufferClass };
  const b = g.Deno === undefined ? g.Buffer : undefined;
  return typeof b?.from === "function" && typeof b.prototype?.latin1Slice === "function" &&
      typeof b.prototype.utf8Slice === "function"
    ? b
    : undefined;
})();

/** Inputs from this many bytes on try {@linkcode asciiJsonText} (on Node). */
export const ASCII_TEXT_MIN: number = 16 * 1024;

const HIGH_BITS = 0x80808080 | 0;

/**
 * The JSON text of `bytes` in ASCII only, for the engine's parse on Node: ASCII spans are copied
 * as Latin-1 (one block copy each) and every non-ASCII character is written as a `\uXXXX`
 * escape, which JSON.parse turns back into the same UTF-16 code units. Non-ASCII characters are
 * only legal inside strings, where the escape means the same; anywhere else both texts are
 * invalid. Undefined (use the decoder) when a non-ASCII run is invalid UTF-8, follows a
 * backslash (the escape would pair with it), or when non-ASCII input is too common for the
 * escapes to pay. The text's offsets are not the input's: errors must be found on the decoded text.
 */
export function asciiJsonText(bytes: Uint8Array, B: NodeBufferClass): string | undefined {
  const n = bytes.length;
  const buf = B.from(bytes.buffer, bytes.byteOffset, n);
  // Whole 32-bit words are tested for a high bit; the bytes around them one at a time.
  const head = Math.min(n, (4 - (bytes.byteOffset & 3)) & 3);
  const words = new Int32Array(bytes.buffer, bytes.byteOffset + head, (n - head) >> 2);
  const nw = words.length;
  const tail = head + nw * 4;
  // The escapes pay (and the text stays under a tenth larger than the input) only while
  // non-ASCII input is rare: up to any point, a run per 4 KiB and a byte in 32 (plus some slack
  // for a cluster). Input where it is common gives up within its first few KiB.
  let runs = 0;
  let nonAscii = 0;
  let out = "";
  let from = 0;
  let i = 0;
  for (;;) {
    // Find the next non-ASCII byte at or after i.
    while (i < n) {
      if (i >= head && i < tail && ((i - head) & 3) === 0) {
        let k = (i - head) >> 2;
        while (k < nw && (words[k] & HIGH_BITS) === 0) k++;
        i = head + k * 4;
        if (k === nw) continue;
      }
      if (bytes[i] >= 0x80) break;
      i++;
    }
    if (i >= n) break;
    let j = i + 1;
    while (j < n && bytes[j] >= 0x80) j++;
    nonAscii += j - i;
    if (
      ++runs > 64 + (i >> 12) || nonAscii > 1024 + (i >> 5) || bytes[i - 1] === 92 ||
      findInvalidUtf8(bytes, i, j) >= 0
    ) {
      return undefined;
    }
    const chars = buf.utf8Slice(i, j);
    out += buf.latin1Slice(from, i);
    for (let k = 0; k < chars.length; k++) out += unicodeEscape(chars.charCodeAt(k));
    from = i = j;
  }
  return from === 0 ? buf.latin1Slice(0, n) : out + buf.latin1Slice(from, n);
}

function unicodeEscape(c: number): string {
  return "\\u" + (c < 0x1000 ? (c < 0x100 ? "00" : "0") : "") + c.toString(16);
}

/** Decodes strict UTF-8 or fails with a JsonParseError at the offending byte. */
export function decodeJsonBytes(bytes: Uint8Array, lenient: boolean): string {
  if (lenient) return lenientDecoder.decode(bytes);
  // The replacing decoder is several times faster than the fatal one (Deno); it only ever writes
  // U+FFFD for an invalid sequence, so output without one proves the input valid. Output with
  // one (an error, or a genuine U+FFFD) is decided by the fatal decoder.
  const text = lenientDecoder.decode(bytes);
  if (text.indexOf("\uFFFD") < 0) return text;
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    const at = findInvalidUtf8(bytes);
    const off = at < 0 ? bytes.length : at;
    const { line, column } = byteLineColumn(bytes, off);
    throw new JsonParseError("InvalidUtf8", "invalid UTF-8 sequence", off, line, column);
  }
}

/**
 * The offset in `bytes` where their decoding, with each invalid sequence replaced by one U+FFFD
 * as TextDecoder replaces it (the maximal subpart of a sequence), reaches `units` code units.
 */
export function replacedByteOffset(bytes: Uint8Array, units: number): number {
  const n = bytes.length;
  let i = 0;
  let u = 0;
  while (i < n && u < units) {
    const b = bytes[i];
    let need = 0;
    let lower = 0x80;
    let upper = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lower = 0xa0;
      else if (b === 0xed) upper = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lower = 0x90;
      else if (b === 0xf4) upper = 0x8f;
    }
    if (need === 0) {
      // ASCII, or a byte that starts nothing: one code unit either way.
      i++;
      u++;
      continue;
    }
    let k = 1;
    for (; k <= need; k++) {
      const c = bytes[i + k];
      if (!(c >= lower && c <= upper)) break;
      lower = 0x80;
      upper = 0xbf;
    }
    // A broken sequence is one U+FFFD; the byte that broke it starts the next one.
    i += k <= need ? k : need + 1;
    u += k <= need || need < 3 ? 1 : 2;
  }
  return i;
}
