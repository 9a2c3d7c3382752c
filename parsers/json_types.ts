/**
 * The types of Iora's JSON: the values the parsers build (with
 * {@linkcode JsonRawNumber} for exact big numbers), the limits and options
 * of parsing, and {@linkcode JsonParseError} with the position of a problem.
 *
 * @example
 * ```ts
 * import { DEFAULT_JSON_LIMITS, type JsonParseOptions } from "./json_types.ts";
 * const options: JsonParseOptions = { limits: { ...DEFAULT_JSON_LIMITS, maxDepth: 64 } };
 * console.log(options.limits?.maxDepth); // 64
 * ```
 *
 * @module
 */
import { IoraError } from "../core/errors.ts";

/** A JSON value as plain JavaScript data: what `JSON.parse` returns, plus exact big numbers. */
export type JsonValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | JsonRawNumber
  | JsonValue[]
  | { [key: string]: JsonValue };

/** Stable codes of {@linkcode JsonParseError}. */
export type JsonParseErrorCode =
  | "UnexpectedToken"
  | "UnexpectedEnd"
  | "TrailingData"
  | "InvalidString"
  | "InvalidEscape"
  | "InvalidNumber"
  | "InvalidUtf8"
  | "DuplicateKey"
  | "LoneSurrogate"
  | "NumberPrecision"
  | "LimitExceeded";

/**
 * A JSON number kept as its source text because no JavaScript number holds it exactly
 * (produced when `bigNumbers: "text"`). {@linkcode stringifyJson} writes the text back verbatim.
 *
 * @example
 * ```ts
 * import { parseJson, JsonRawNumber } from "./json.ts";
 * const v = parseJson("12345678901234567890", { bigNumbers: "text" });
 * console.log(v instanceof JsonRawNumber && v.text); // "12345678901234567890"
 * ```
 */
export class JsonRawNumber {
  /** The number exactly as written in the JSON source. */
  readonly text: string;

  /**
   * Wraps a number's source text.
   *
   * @param text the number's source text (must be valid JSON number syntax)
   */
  constructor(text: string) {
    this.text = text;
  }

  /** The source text. */
  toString(): string {
    return this.text;
  }

  /**
   * Refuses `JSON.stringify`, which would round the number; use {@linkcode stringifyJson}.
   */
  toJSON(): never {
    throw new TypeError(
      "JsonRawNumber cannot be written by JSON.stringify without rounding; use stringifyJson",
    );
  }
}

/** Resource limits of the JSON parsers. Every limit is checked before the input is consumed. */
export interface JsonLimits {
  /**
   * Largest input: bytes for byte input, UTF-16 code units for text. Default 64 MiB.
   *
   * @default {67108864}
   */
  maxBytes: number;
  /**
   * Deepest nesting of arrays and objects. Default 1024.
   *
   * @default {1024}
   */
  maxDepth: number;
  /**
   * Longest string (keys included), in UTF-16 code units after unescaping. Default 16 Mi.
   *
   * @default {16777216}
   */
  maxStringLength: number;
  /**
   * Most elements in one array. Default 1,000,000.
   *
   * @default {1000000}
   */
  maxArrayLength: number;
  /**
   * Most distinct keys in one object (a repeated key replaces its value and counts once; the
   * streaming parser counts every member of the containers it does not build). Default 100,000.
   *
   * @default {100000}
   */
  maxObjectKeys: number;
}

/** The default {@linkcode JsonLimits}. */
export const DEFAULT_JSON_LIMITS: Readonly<JsonLimits> = Object.freeze({
  maxBytes: 64 * 1024 * 1024,
  maxDepth: 1024,
  maxStringLength: 16 * 1024 * 1024,
  maxArrayLength: 1_000_000,
  maxObjectKeys: 100_000,
});

/** Options of {@linkcode parseJson}. */
export interface JsonParseOptions {
  /** Limits; missing fields take {@linkcode DEFAULT_JSON_LIMITS}. */
  limits?: Partial<JsonLimits>;
  /**
   * Reject an object with the same key twice (default false: the last one wins).
   *
   * @default {false}
   */
  rejectDuplicateKeys?: boolean;
  /**
   * Reject strings holding an unpaired UTF-16 surrogate (default false).
   *
   * @default {false}
   */
  rejectLoneSurrogates?: boolean;
  /**
   * Keep numbers exact where a JavaScript number cannot: `"bigint"` turns integers beyond
   * 2^53 into `bigint` (however written: `1e23` too) and rejects other numbers that would
   * round (code `NumberPrecision`);
   * `"text"` keeps every such number as a {@linkcode JsonRawNumber}. Default: round like
   * `JSON.parse`.
   */
  bigNumbers?: "bigint" | "text";
  /**
   * For byte input: replace invalid UTF-8 with U+FFFD instead of failing (default false).
   *
   * @default {false}
   */
  replaceInvalidUtf8?: boolean;
}

/**
 * A JSON document that is malformed or breaks a limit, with the position of the problem.
 *
 * @example
 * ```ts
 * import { parseJson, JsonParseError } from "./json.ts";
 * try {
 *   parseJson('{"a": tru}');
 * } catch (e) {
 *   if (e instanceof JsonParseError) console.log(e.code, e.line, e.column);
 * }
 * ```
 */
export class JsonParseError extends IoraError {
  /** The kind of failure. */
  declare readonly code: JsonParseErrorCode;
  /** 1-based line of the problem. */
  readonly line: number;
  /** 1-based column of the problem (in the input's units: code units or bytes). */
  readonly column: number;
  /** 0-based offset of the problem (in the input's units: code units or bytes). */
  readonly offset: number;

  /**
   * Creates the error; the message gets the position appended.
   *
   * @param code the kind of failure
   * @param message what is wrong (the position is appended)
   * @param offset 0-based offset
   * @param line 1-based line
   * @param column 1-based column
   */
  constructor(
    code: JsonParseErrorCode,
    message: string,
    offset: number,
    line: number,
    column: number,
  ) {
    super(code, `${message} at line ${line}, column ${column} (offset ${offset})`);
    this.offset = offset;
    this.line = line;
    this.column = column;
  }
}

/** The result of {@linkcode tryParseJson}. */
export type JsonParseResult =
  | { ok: true; value: JsonValue }
  | { ok: false; error: JsonParseError };

/** Merges user limits over the defaults. @internal */
export function resolveJsonLimits(limits?: Partial<JsonLimits>): JsonLimits {
  if (!limits) return DEFAULT_JSON_LIMITS;
  return { ...DEFAULT_JSON_LIMITS, ...limits };
}
