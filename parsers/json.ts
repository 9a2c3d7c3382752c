/**
 * Strict RFC 8259 JSON parsing with limits and positions, and stable pretty printing.
 *
 * `parseJson` takes the engine's fast path (`_json_engine.ts`) when the options allow and the
 * limits provably hold, and the exact parser (`_json_exact.ts`) otherwise, which also places the
 * error of invalid input; byte input is decoded by `_json_bytes.ts`. The value and error types
 * are in `json_types.ts`, `stringifyJson` in `json_stringify.ts`; this module re-exports them.
 *
 * @example
 * ```ts
 * import { parseJson, stringifyJson } from "./json.ts";
 * const v = parseJson('{"b": 1, "a": [true]}');
 * console.log(stringifyJson(v, { sortKeys: true })); // {"a":[true],"b":1}
 * ```
 *
 * @module
 */
import {
  JsonParseError,
  type JsonParseErrorCode,
  type JsonParseOptions,
  type JsonParseResult,
  type JsonValue,
  resolveJsonLimits,
} from "./json_types.ts";
import { byteLineColumn, Failure, lineColumnAt } from "./_text.ts";
import {
  ASCII_TEXT_MIN,
  asciiJsonText,
  decodeJsonBytes,
  nodeBuffer,
  replacedByteOffset,
} from "./_json_bytes.ts";
import { engineCanParse, engineParse } from "./_json_engine.ts";
import { parseExact } from "./_json_exact.ts";

export {
  DEFAULT_JSON_LIMITS,
  type JsonLimits,
  JsonParseError,
  type JsonParseErrorCode,
  type JsonParseOptions,
  type JsonParseResult,
  JsonRawNumber,
  type JsonValue,
  resolveJsonLimits,
} from "./json_types.ts";
export {
  JsonStringifyError,
  type JsonStringifyErrorCode,
  type JsonStringifyOptions,
  stringifyJson,
} from "./json_stringify.ts";
// The strict decoder alone, for the json_parse benchmark's "strict decode + JSON.parse" row.
export { decodeJsonBytes } from "./_json_bytes.ts";

const utf8Encoder = new TextEncoder();

/** The error for an input over `maxBytes`, positioned where the limit falls. */
function inputTooLarge(maxBytes: number, at: { line: number; column: number }): JsonParseError {
  return new JsonParseError(
    "LimitExceeded",
    `input larger than maxBytes ${maxBytes}`,
    maxBytes,
    at.line,
    at.column,
  );
}

/** Converts a failure at a text offset into a positioned error, in bytes for byte input. */
function toError(
  f: Failure<JsonParseErrorCode>,
  text: string,
  bytes: Uint8Array | undefined,
  replaced = false,
): JsonParseError {
  if (bytes) {
    const byteOffset = replaced
      ? replacedByteOffset(bytes, f.offset)
      : utf8Encoder.encode(text.slice(0, f.offset)).length;
    const { line, column } = byteLineColumn(bytes, byteOffset);
    return new JsonParseError(f.code, f.message, byteOffset, line, column);
  }
  const { line, column } = lineColumnAt(text, f.offset);
  return new JsonParseError(f.code, f.message, f.offset, line, column);
}

/** The options of a call without any (shared: a call allocates nothing for them). */
const NO_OPTIONS: JsonParseOptions = Object.freeze({});

function parseText(
  text: string,
  options: JsonParseOptions | undefined,
  bytes?: Uint8Array,
): JsonValue {
  const limits = resolveJsonLimits(options?.limits);
  const opts = options ?? NO_OPTIONS;
  if (!bytes && text.length > limits.maxBytes) {
    throw inputTooLarge(limits.maxBytes, lineColumnAt(text, limits.maxBytes));
  }
  if (engineCanParse(opts)) {
    const v = engineParse(text, limits, opts);
    if (v !== undefined) return v;
  }
  try {
    return parseExact(text, limits, opts);
  } catch (e) {
    const replaced = opts.replaceInvalidUtf8 === true;
    if (e instanceof Failure) {
      throw toError(e as Failure<JsonParseErrorCode>, text, bytes, replaced);
    }
    if (e instanceof RangeError) {
      throw toError(new Failure("LimitExceeded", "out of memory or stack", 0), text, bytes);
    }
    throw e;
  }
}

/**
 * Parses strict RFC 8259 JSON from text or UTF-8 bytes into plain values.
 *
 * Exactly what `JSON.parse` accepts is accepted; on top, limits are enforced and every error is
 * a {@linkcode JsonParseError} with line, column and offset.
 *
 * @param input JSON text, or UTF-8 bytes (invalid sequences are an error)
 * @param options limits and strictness options
 * @returns the parsed value
 * @throws {JsonParseError} on malformed input or a broken limit
 *
 * @example
 * ```ts
 * import { parseJson } from "./json.ts";
 * const v = parseJson('{"users": [{"name": "Alice"}]}') as { users: { name: string }[] };
 * console.log(v.users[0].name); // "Alice"
 * ```
 */
export function parseJson(input: string | Uint8Array, options?: JsonParseOptions): JsonValue {
  if (typeof input === "string") return parseText(input, options);
  const limits = resolveJsonLimits(options?.limits);
  if (input.length > limits.maxBytes) {
    throw inputTooLarge(limits.maxBytes, byteLineColumn(input, limits.maxBytes));
  }
  const opts = options ?? NO_OPTIONS;
  if (nodeBuffer !== undefined && input.length >= ASCII_TEXT_MIN && engineCanParse(opts)) {
    const ascii = asciiJsonText(input, nodeBuffer);
    if (ascii !== undefined) {
      const v = engineParse(ascii, limits, opts);
      if (v !== undefined) return v;
    }
  }
  const text = decodeJsonBytes(input, opts.replaceInvalidUtf8 === true);
  return parseText(text, options, input);
}

/**
 * Like {@linkcode parseJson} but never throws for bad input: returns `{ok, value}` or
 * `{ok: false, error}`.
 *
 * @param input JSON text or UTF-8 bytes
 * @param options limits and strictness options
 * @returns the value or the parse error
 *
 * @example
 * ```ts
 * import { tryParseJson } from "./json.ts";
 * const r = tryParseJson("[1, 2");
 * if (!r.ok) console.log(r.error.code); // "UnexpectedEnd"
 * ```
 */
export function tryParseJson(
  input: string | Uint8Array,
  options?: JsonParseOptions,
): JsonParseResult {
  try {
    return { ok: true, value: parseJson(input, options) };
  } catch (e) {
    if (e instanceof JsonParseError) return { ok: false, error: e };
    throw e;
  }
}
