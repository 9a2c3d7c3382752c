/**
 * The byte input of the XML parser: the encoding named by the byte order mark, a streaming
 * decoder that stops at the first invalid sequence, and the UTF-16 counterparts of the shared
 * UTF-8 helpers (what a streaming decoder holds back, where the first invalid sequence is).
 *
 * @module
 */
import { findInvalidUtf8, incompleteUtf8, NO_BYTES } from "../_text.ts";

/**
 * The bytes a streaming UTF-16 decoder holds back after `tail` (what it held before) and then
 * `bytes` (both decoded without error): an odd last byte, after a high surrogate still unpaired.
 */
export function incompleteUtf16(tail: Uint8Array, bytes: Uint8Array, le: boolean): Uint8Array {
  const t = tail.length;
  const m = t + bytes.length;
  const at = (k: number): number => k < t ? tail[k] : bytes[k - t];
  const odd = m & 1;
  let keep = odd;
  const u = m - odd - 2;
  if (u >= 0) {
    const unit = le ? at(u) | (at(u + 1) << 8) : (at(u) << 8) | at(u + 1);
    if (unit >= 0xd800 && unit <= 0xdbff) keep += 2;
  }
  if (keep === 0) return NO_BYTES;
  const out = new Uint8Array(keep);
  for (let k = 0; k < keep; k++) out[k] = at(m - keep + k);
  return out;
}

/** Byte offset of the first unpaired surrogate or odd last byte of UTF-16 `bytes` (or -1). */
export function findInvalidUtf16(bytes: Uint8Array, le: boolean): number {
  const n = bytes.length;
  for (let i = 0; i < n; i += 2) {
    if (i + 1 >= n) return i;
    const unit = le ? bytes[i] | (bytes[i + 1] << 8) : (bytes[i] << 8) | bytes[i + 1];
    if (unit < 0xd800 || unit > 0xdfff) continue;
    if (unit > 0xdbff || i + 3 >= n) return i;
    const next = le ? bytes[i + 2] | (bytes[i + 3] << 8) : (bytes[i + 2] << 8) | bytes[i + 3];
    if (next < 0xdc00 || next > 0xdfff) return i;
    i += 2;
  }
  return -1;
}

/** The encoding of a document from its byte order mark (UTF-8 without one). */
export function encodingOf(bytes: Uint8Array): { label: string; bomLength: number } {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    return { label: "utf-8", bomLength: 3 };
  }
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return { label: "utf-16be", bomLength: 2 };
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return { label: "utf-16le", bomLength: 2 };
  return { label: "utf-8", bomLength: 0 };
}

/** The readable text before the first bytes that are not valid in the document's encoding. */
export interface InvalidBytes {
  /** The text decoded up to the bad bytes. */
  readable: string;
  /** The encoding they are invalid in. */
  encoding: string;
}

/**
 * Decodes a document's bytes chunk by chunk in the encoding its byte order mark names (UTF-8
 * without one), holding back a character split between chunks.
 */
export class ByteDecoder {
  #decoder: TextDecoder | undefined;
  #pendingBytes: Uint8Array | undefined;
  /** The bytes of a character the decoder holds until the next chunk completes it. */
  #heldBytes: Uint8Array = NO_BYTES;
  /** The decoder has decoded a chunk (the only one that may start with a byte order mark). */
  #decodedOnce = false;

  /** The document's encoding (`"utf-8"` until the first bytes are seen). */
  get encoding(): string {
    return this.#decoder?.encoding ?? "utf-8";
  }

  /**
   * The text of the next chunk (`final` for the end of the input), or, at bytes that are not
   * valid in the encoding, the text before them: the input ends there.
   */
  decode(chunk: Uint8Array, final: boolean): string | InvalidBytes {
    let bytes = chunk;
    if (!this.#decoder) {
      if (this.#pendingBytes) {
        const joined = new Uint8Array(this.#pendingBytes.length + chunk.length);
        joined.set(this.#pendingBytes);
        joined.set(chunk, this.#pendingBytes.length);
        bytes = joined;
      }
      if (bytes.length < 3 && !final) {
        // Kept past this call: a copy, as the caller may reuse its buffer for the next chunk.
        this.#pendingBytes = bytes.slice();
        return "";
      }
      this.#pendingBytes = undefined;
      const { label } = encodingOf(bytes);
      this.#decoder = new TextDecoder(label, { fatal: true });
    }
    const tail = this.#heldBytes;
    const encoding = this.#decoder.encoding;
    const first = !this.#decodedOnce;
    this.#decodedOnce = true;
    try {
      const text = this.#decoder.decode(bytes, { stream: !final });
      this.#heldBytes = encoding === "utf-8"
        ? incompleteUtf8(tail, bytes)
        : incompleteUtf16(tail, bytes, encoding === "utf-16le");
      return text;
    } catch {
      // The decoder held back the start of a character split at the last chunk's end: the
      // bad sequence is searched from there, so its position counts that character.
      if (tail.length > 0) {
        const joined = new Uint8Array(tail.length + bytes.length);
        joined.set(tail);
        joined.set(bytes, tail.length);
        bytes = joined;
      }
      const bad = encoding === "utf-8"
        ? findInvalidUtf8(bytes)
        : findInvalidUtf16(bytes, encoding === "utf-16le");
      let readable = "";
      if (bad > 0) {
        // Only the first bytes of the input can hold a byte order mark (which the decoder took).
        readable = new TextDecoder(encoding, { ignoreBOM: !first }).decode(bytes.subarray(0, bad));
      }
      return { readable, encoding };
    }
  }
}
