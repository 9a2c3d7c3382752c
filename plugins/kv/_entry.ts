/**
 * Keys and values on their way into a {@linkcode KvStore} (private to
 * `plugins/`): checked against the limits and encoded as the bytes a record
 * holds.
 *
 * @module
 */
import type { EntryInput } from "./_format.ts";
import type { Settings } from "./_settings.ts";
import { KvStoreError } from "./store_types.ts";

const encoder = new TextEncoder();
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * The UTF-8 bytes of `key`.
 *
 * @throws {KvStoreError} `InvalidKey` for an empty or ill-formed key, or one over `maxKeyBytes`
 */
export function keyBytes(key: string, options: Settings): Uint8Array {
  if (typeof key !== "string" || key === "" || LONE_SURROGATE.test(key)) {
    throw new KvStoreError("InvalidKey", "keys are non-empty, well-formed strings");
  }
  const bytes = encoder.encode(key);
  if (bytes.length > options.maxKeyBytes) {
    throw new KvStoreError("InvalidKey", `key exceeds ${options.maxKeyBytes} bytes`);
  }
  return bytes;
}

/**
 * The entry that stores `value` (bytes, or a string as UTF-8) under `key`.
 *
 * @throws {KvStoreError} `InvalidKey`, or `InvalidValue` for another type, an ill-formed
 *   string or a value over `maxValueBytes`
 */
export function entryInput(key: string, value: Uint8Array | string, options: Settings): EntryInput {
  const keyEncoded = keyBytes(key, options);
  let bytes: Uint8Array;
  if (typeof value === "string") {
    // A lone surrogate would be stored as U+FFFD: a silent change, refused instead.
    if (LONE_SURROGATE.test(value)) {
      throw new KvStoreError("InvalidValue", "string values must be well-formed UTF-16");
    }
    bytes = encoder.encode(value);
  } else if (value instanceof Uint8Array) bytes = value;
  else throw new KvStoreError("InvalidValue", "values are Uint8Array or string");
  if (bytes.length > options.maxValueBytes) {
    throw new KvStoreError("InvalidValue", `value exceeds ${options.maxValueBytes} bytes`);
  }
  return { key: keyEncoded, value: bytes };
}
