/**
 * Splits a byte stream into frames that each start with their length, big-endian, in
 * 2 bytes (DNS over TCP, RFC 1035 4.2.2) or 4 (the sandbox wire). Bytes are copied once
 * into a buffer that grows to at most one largest frame and one chunk, so a peer that
 * trickles a frame byte by byte costs linear, not quadratic, work.
 *
 * @example
 * ```ts
 * import { LengthPrefixedFrames } from "./length_prefixed_frames.ts";
 * const frames = new LengthPrefixedFrames(2, 65_535);
 * frames.push(new Uint8Array([0, 2, 7]), () => {});
 * frames.push(new Uint8Array([9]), (frame) => console.log(frame)); // Uint8Array [7, 9]
 * ```
 *
 * @module
 */
import { IoraError } from "../core/errors.ts";

/** A frame announced a length over the limit. */
export class FrameTooLargeError extends IoraError {
  /** The length the frame announced. */
  readonly size: number;
  /** The limit. */
  readonly maxBytes: number;

  /**
   * Creates the error.
   *
   * @param size the length the frame announced
   * @param maxBytes the limit
   */
  constructor(size: number, maxBytes: number) {
    super("FrameTooLarge", `a frame of ${size} bytes exceeds the ${maxBytes}-byte limit`);
    this.size = size;
    this.maxBytes = maxBytes;
  }
}

/** Collects stream chunks and hands out each length-prefixed frame they complete. */
export class LengthPrefixedFrames {
  readonly #prefixBytes: 2 | 4;
  readonly #maxBytes: number;
  #buffer = new Uint8Array(0);
  #length = 0;

  /**
   * Creates a reassembler with nothing buffered.
   *
   * @param prefixBytes the size of the length prefix
   * @param maxBytes the longest frame accepted
   */
  constructor(prefixBytes: 2 | 4, maxBytes: number) {
    this.#prefixBytes = prefixBytes;
    this.#maxBytes = maxBytes;
  }

  /** Bytes held for an incomplete frame. */
  get buffered(): number {
    return this.#length;
  }

  /**
   * Adds `chunk` and calls `onFrame` with each frame it completes, in order. A frame is a
   * view into the buffer, valid only during the call: copy it to keep it.
   *
   * @param chunk the bytes that arrived
   * @param onFrame called once per completed frame
   * @throws {FrameTooLargeError} when a frame announces more than the limit
   */
  push(chunk: Uint8Array, onFrame: (frame: Uint8Array) => void): void {
    this.#append(chunk);
    const buf = this.#buffer;
    const prefix = this.#prefixBytes;
    let offset = 0;
    try {
      while (this.#length - offset >= prefix) {
        const size = prefix === 2
          ? (buf[offset] << 8) | buf[offset + 1]
          : ((buf[offset] << 24) >>> 0) + (buf[offset + 1] << 16) + (buf[offset + 2] << 8) +
            buf[offset + 3];
        if (size > this.#maxBytes) throw new FrameTooLargeError(size, this.#maxBytes);
        if (this.#length - offset - prefix < size) break;
        const frame = buf.subarray(offset + prefix, offset + prefix + size);
        offset += prefix + size;
        onFrame(frame);
      }
    } finally {
      if (offset > 0) {
        buf.copyWithin(0, offset, this.#length);
        this.#length -= offset;
      }
    }
  }

  #append(chunk: Uint8Array): void {
    const needed = this.#length + chunk.length;
    if (needed > this.#buffer.length) {
      // Never grow beyond one largest frame and one chunk.
      const grown = new Uint8Array(
        Math.max(needed, Math.min(this.#buffer.length * 2, this.#maxBytes + this.#prefixBytes)),
      );
      grown.set(this.#buffer.subarray(0, this.#length));
      this.#buffer = grown;
    }
    this.#buffer.set(chunk, this.#length);
    this.#length = needed;
  }
}
