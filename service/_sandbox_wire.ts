// The byte framing between the host and a sandbox process: each message is
// a 4-byte big-endian length and that many bytes of UTF-8 JSON. Values
// cross as copies: JSON, plus byte arrays (tagged, base64) and a top-level
// undefined. Functions, symbols, Maps and Sets are refused rather than
// silently dropped or turned into `{}`. Both sides bound the frame size,
// so a flood cannot grow the reader's memory past one frame.
import { IoraError } from "../core/errors.ts";
import { parseJson } from "../parsers/json.ts";
import { FrameTooLargeError, LengthPrefixedFrames } from "../network/length_prefixed_frames.ts";

/** The default largest message, in bytes, either way. */
export const DEFAULT_MAX_MESSAGE_BYTES: number = 4 * 1024 * 1024;

const BYTES_TAG = "\u0000iora:bytes";
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** A message that cannot cross: too large, not serializable, or not a frame. */
export class SandboxWireError extends IoraError {
  constructor(message: string) {
    super("SandboxWire", message);
  }
}

function toBase64(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

function fromBase64(text: string): Uint8Array {
  const raw = atob(text);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

function replacer(this: unknown, _key: string, value: unknown): unknown {
  switch (typeof value) {
    case "function":
    case "symbol":
      throw new SandboxWireError(`a ${typeof value} cannot cross the sandbox boundary`);
    case "object":
      if (value === null || Array.isArray(value)) return value;
      if (ArrayBuffer.isView(value)) {
        const view = value as ArrayBufferView;
        return {
          [BYTES_TAG]: toBase64(new Uint8Array(view.buffer, view.byteOffset, view.byteLength)),
        };
      }
      if (value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) {
        return { [BYTES_TAG]: toBase64(new Uint8Array(value)) };
      }
      if (value instanceof Map || value instanceof Set || value instanceof WeakMap) {
        throw new SandboxWireError(
          `a ${value.constructor.name} cannot cross the sandbox boundary (send an array or object)`,
        );
      }
  }
  return value;
}

// Turns the tagged byte arrays of a parsed message back into Uint8Arrays.
function revive(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = revive(value[i]);
    return value;
  }
  const record = value as Record<string, unknown>;
  if (BYTES_TAG in record) {
    const encoded = record[BYTES_TAG];
    if (typeof encoded !== "string") throw new SandboxWireError("malformed byte array");
    return fromBase64(encoded);
  }
  for (const key of Object.keys(record)) {
    // An own "__proto__" key is data: assigning it would set the prototype instead.
    Object.defineProperty(record, key, {
      value: revive(record[key]),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return record;
}

/**
 * Encodes one message as a frame; throws {@linkcode SandboxWireError} when
 * it cannot be serialized or its frame would exceed `maxBytes`.
 */
export function encodeFrame(message: unknown, maxBytes: number): Uint8Array {
  let json: string;
  try {
    json = JSON.stringify(message, replacer);
  } catch (error) {
    if (error instanceof SandboxWireError) throw error;
    throw new SandboxWireError(`cannot serialize: ${(error as Error).message}`);
  }
  // A UTF-16 length over the limit may still fit (ASCII is one byte), but
  // three bytes per unit is the worst case: skip the encode when hopeless.
  if (json.length > maxBytes) {
    throw new SandboxWireError(
      `a message of ${json.length} bytes exceeds the ${maxBytes}-byte limit`,
    );
  }
  const frame = new Uint8Array(4 + json.length * 3);
  const { written } = encoder.encodeInto(json, frame.subarray(4));
  if (written > maxBytes) {
    throw new SandboxWireError(`a message of ${written} bytes exceeds the ${maxBytes}-byte limit`);
  }
  new DataView(frame.buffer).setUint32(0, written);
  return frame.subarray(0, 4 + written);
}

/**
 * Reassembles frames from a byte stream cut anywhere. A frame announcing
 * more than `maxBytes`, or holding invalid UTF-8 or JSON, is a
 * {@linkcode SandboxWireError}: the stream cannot be trusted after it.
 */
export class FrameReader {
  #frames: LengthPrefixedFrames;

  constructor(maxBytes: number) {
    this.#frames = new LengthPrefixedFrames(4, maxBytes);
  }

  /** Bytes held for an incomplete frame. */
  get buffered(): number {
    return this.#frames.buffered;
  }

  /** Adds bytes; returns the messages they completed. */
  push(chunk: Uint8Array): unknown[] {
    const messages: unknown[] = [];
    try {
      this.#frames.push(chunk, (body) => messages.push(decodeFrame(body)));
    } catch (error) {
      if (error instanceof FrameTooLargeError) throw new SandboxWireError(error.message);
      throw error;
    }
    return messages;
  }
}

// The message one frame's body holds.
function decodeFrame(body: Uint8Array): unknown {
  let text: string;
  try {
    text = decoder.decode(body);
  } catch {
    throw new SandboxWireError("a frame is not valid UTF-8");
  }
  try {
    // parseJson, not JSON.parse, for text with escapes: it avoids the engine's key bug (see
    // parsers/_json_engine.ts). JSON escapes the tag's NUL, so look for the rest of it.
    const value = text.includes("\\") ? parseJson(text) : JSON.parse(text);
    return text.includes("iora:bytes") ? revive(value) : value;
  } catch (error) {
    throw new SandboxWireError(`a frame is not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * Collects frames written in one turn of the event loop and hands them to
 * `write` as one buffer, one write at a time: fewer system calls under load.
 */
export class FrameWriter {
  #write: (bytes: Uint8Array) => Promise<void> | void;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #scheduled = false;
  #writing = false;
  #onError: (error: unknown) => void;

  constructor(
    write: (bytes: Uint8Array) => Promise<void> | void,
    onError: (error: unknown) => void,
  ) {
    this.#write = write;
    this.#onError = onError;
  }

  /** Bytes queued and not yet handed to `write`. */
  get queuedBytes(): number {
    return this.#pendingBytes;
  }

  enqueue(frame: Uint8Array): void {
    this.#pending.push(frame);
    this.#pendingBytes += frame.length;
    if (!this.#scheduled && !this.#writing) {
      this.#scheduled = true;
      queueMicrotask(() => this.#flush());
    }
  }

  async #flush(): Promise<void> {
    this.#scheduled = false;
    if (this.#writing) return;
    this.#writing = true;
    try {
      while (this.#pending.length > 0) {
        const frames = this.#pending;
        const size = this.#pendingBytes;
        this.#pending = [];
        this.#pendingBytes = 0;
        let bytes: Uint8Array;
        if (frames.length === 1) bytes = frames[0];
        else {
          bytes = new Uint8Array(size);
          let at = 0;
          for (const frame of frames) {
            bytes.set(frame, at);
            at += frame.length;
          }
        }
        await this.#write(bytes);
      }
    } catch (error) {
      this.#pending = [];
      this.#pendingBytes = 0;
      this.#onError(error);
    } finally {
      this.#writing = false;
    }
  }
}
