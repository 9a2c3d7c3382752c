/**
 * Strict RFC 8259 JSON parsing with limits and positions, and stable pretty printing.
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
  /** Largest input: bytes for byte input, UTF-16 code units for text. Default 64 MiB. */
  maxBytes: number;
  /** Deepest nesting of arrays and objects. Default 1024. */
  maxDepth: number;
  /** Longest string (keys included), in UTF-16 code units after unescaping. Default 16 Mi. */
  maxStringLength: number;
  /** Most elements in one array. Default 1,000,000. */
  maxArrayLength: number;
  /**
   * Most distinct keys in one object (a repeated key replaces its value and counts once; the
   * streaming parser counts every member of the containers it does not build). Default 100,000.
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
  /** Reject an object with the same key twice (default false: the last one wins). */
  rejectDuplicateKeys?: boolean;
  /** Reject strings holding an unpaired UTF-16 surrogate (default false). */
  rejectLoneSurrogates?: boolean;
  /**
   * Keep numbers exact where a JavaScript number cannot: `"bigint"` turns integers beyond
   * 2^53 into `bigint` (however written: `1e23` too) and rejects other numbers that would
   * round (code `NumberPrecision`);
   * `"text"` keeps every such number as a {@linkcode JsonRawNumber}. Default: round like
   * `JSON.parse`.
   */
  bigNumbers?: "bigint" | "text";
  /** For byte input: replace invalid UTF-8 with U+FFFD instead of failing (default false). */
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

/** Computes line and column of `offset` in `text`. @internal */
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

/** Thrown internally with a text offset; converted to a JsonParseError by the caller. */
class Failure {
  constructor(
    readonly code: JsonParseErrorCode,
    readonly message: string,
    readonly offset: number,
  ) {}
}

const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const lenientDecoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

/** Byte offset of the first invalid UTF-8 sequence (or -1). @internal */
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
 * @internal
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

const NO_BYTES = new Uint8Array(0);

/** The part of Node's `Buffer` the byte path uses. */
interface NodeBufferView {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
}

/** Node's `Buffer` constructor, as far as the byte path uses it. */
interface NodeBufferClass {
  from(buffer: ArrayBufferLike, byteOffset: number, length: number): NodeBufferView;
  prototype: Partial<NodeBufferView>;
}

/**
 * Node's `Buffer`, whose native latin1Slice copies bytes into a string several times faster than
 * Node 20's TextDecoder decodes UTF-8. Not under Deno: its TextDecoder is the fast one there, and
 * its `Buffer` a compatibility layer whose utf8Slice is slow.
 */
const nodeBuffer: NodeBufferClass | undefined = (() => {
  const g = globalThis as unknown as { Deno?: unknown; Buffer?: NodeBufferClass };
  const b = g.Deno === undefined ? g.Buffer : undefined;
  return typeof b?.from === "function" && typeof b.prototype?.latin1Slice === "function" &&
      typeof b.prototype.utf8Slice === "function"
    ? b
    : undefined;
})();

/** Inputs from this many bytes on try {@linkcode asciiJsonText} (on Node). */
const ASCII_TEXT_MIN = 16 * 1024;

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
function asciiJsonText(bytes: Uint8Array, B: NodeBufferClass): string | undefined {
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

/** Decodes strict UTF-8 or fails with a JsonParseError at the offending byte. @internal */
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

function byteLineColumn(bytes: Uint8Array, offset: number): { line: number; column: number } {
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

/**
 * The offset in `bytes` where their decoding, with each invalid sequence replaced by one U+FFFD
 * as TextDecoder replaces it (the maximal subpart of a sequence), reaches `units` code units.
 */
function replacedByteOffset(bytes: Uint8Array, units: number): number {
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

/** Converts a failure at a text offset into a positioned error, in bytes for byte input. */
function toError(
  f: Failure,
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

// ---------------------------------------------------------------------------------------------
// Fast path: a structural pre-pass proves the limits hold, then the engine's JSON.parse (which
// is strict RFC 8259) builds the value. Anything unusual falls through to the exact parser.

const depthCounts: Int32Array[] = [];

/** Inputs up to this many code units are limit-checked after the engine's parse. */
const POST_CHECK_MAX = 4 * 1024 * 1024;

/** True when the structure of `text` certainly stays within `limits`. */
function prepass(text: string, limits: JsonLimits): boolean {
  const n = text.length;
  const maxDepth = limits.maxDepth;
  const checkStrings = n > limits.maxStringLength;
  const maxArr = limits.maxArrayLength;
  const maxObj = limits.maxObjectKeys;
  // Members are counted at commas, so a first member is never counted: a limit of zero (no
  // member at all) is left to the exact parser.
  if (maxArr < 1 || maxObj < 1) return false;
  // A container with k elements needs at least 2k - 1 characters between its brackets.
  const checkCounts = n >= 2 * Math.min(maxArr, maxObj);
  let counts = depthCounts[0];
  if (!counts || counts.length < maxDepth + 2) {
    counts = new Int32Array(Math.min(maxDepth, 1 << 16) + 2);
    depthCounts[0] = counts;
  }
  let depth = 0;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      let j = text.indexOf('"', i + 1);
      for (;;) {
        if (j < 0) return false;
        // An escaped quote has an odd run of backslashes before it.
        let k = j - 1;
        while (text.charCodeAt(k) === 92) k--;
        if (((j - k) & 1) === 1) break;
        j = text.indexOf('"', j + 1);
      }
      if (checkStrings && j - i - 1 > limits.maxStringLength) return false;
      i = j + 1;
      continue;
    }
    if (c === 123 || c === 91) {
      if (++depth > maxDepth || depth >= counts.length) return false;
      counts[depth] = c === 91 ? 1 : -1;
    } else if (c === 125 || c === 93) {
      if (depth === 0) return false;
      depth--;
    } else if (c === 44 && checkCounts && depth > 0) {
      const v = counts[depth];
      if (v > 0) {
        if (v + 1 > maxArr) return false;
        counts[depth] = v + 1;
      } else {
        if (1 - v > maxObj) return false;
        counts[depth] = v - 1;
      }
    }
    i++;
  }
  return true;
}

/**
 * True when a value built by JSON.parse stays within the limits (and has no lone surrogate
 * when asked). Recursion is bounded by maxDepth; a RangeError sends the caller to the exact
 * parser.
 */
function withinLimits(
  v: unknown,
  depth: number,
  limits: JsonLimits,
  strings: boolean,
  surrogates: boolean,
): boolean {
  if (typeof v === "string") {
    return !((strings && v.length > limits.maxStringLength) || (surrogates && !isWellFormed(v)));
  }
  if (typeof v !== "object" || v === null) return true;
  if (depth >= limits.maxDepth) return false;
  if (Array.isArray(v)) {
    if (v.length > limits.maxArrayLength) return false;
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      if (typeof x === "object" || typeof x === "string") {
        if (x !== null && !withinLimits(x, depth + 1, limits, strings, surrogates)) return false;
      }
    }
    return true;
  }
  let n = 0;
  const max = limits.maxObjectKeys;
  const checkKeys = strings || surrogates;
  for (const k in v) {
    if (++n > max) return false;
    if (checkKeys && !withinLimits(k, depth, limits, strings, surrogates)) return false;
    const x = (v as Record<string, unknown>)[k];
    if (typeof x === "object" || typeof x === "string") {
      if (x !== null && !withinLimits(x, depth + 1, limits, strings, surrogates)) return false;
    }
  }
  return true;
}

/**
 * True when no container in `v` (an object or array) is nested deeper than `left` levels or has
 * more members than the limits: the post-check of the common case, where strings need none.
 * (A for-in walk allocates nothing, which beats Object.values right after JSON.parse's own
 * garbage.)
 */
function fitsShape(v: object, left: number, maxArr: number, maxObj: number): boolean {
  if (left === 0) return false;
  if (Array.isArray(v)) {
    if (v.length > maxArr) return false;
    // Runs of numbers (coordinates, vectors) are skipped in a loop of their own.
    let i = typeof v[0] === "number" ? numbersFrom(v, 1) : 0;
    for (; i < v.length; i++) {
      const x = v[i];
      if (typeof x === "object" && x !== null && !fitsShape(x, left - 1, maxArr, maxObj)) {
        return false;
      }
    }
    return true;
  }
  let n = 0;
  for (const k in v) {
    if (++n > maxObj) return false;
    const x = (v as Record<string, unknown>)[k];
    if (typeof x === "object" && x !== null) {
      // Empty arrays ("tags": []) are common and fit wherever a level is left: no call.
      if (Array.isArray(x) && x.length === 0 && left > 1) continue;
      if (!fitsShape(x, left - 1, maxArr, maxObj)) return false;
    }
  }
  return true;
}

/** The index of the first element from `i` on that is not a number. */
function numbersFrom(a: unknown[], i: number): number {
  for (; i < a.length; i++) if (typeof a[i] !== "number") return i;
  return i;
}

function isWellFormed(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c > 0xdbff) return false;
    const d = s.charCodeAt(i + 1);
    if (!(d >= 0xdc00 && d <= 0xdfff)) return false;
    i++;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// The exact parser: iterative (no recursion, so maxDepth is only bounded by memory), checking
// every limit at the token that would break it.

interface Frame {
  array: JsonValue[] | null;
  object: Record<string, JsonValue> | null;
  key: string;
  /** Offset of the current key, for duplicate-key errors. */
  keyAt: number;
  count: number;
}

const WS = new Uint8Array(128);
WS[32] =
  WS[9] =
  WS[10] =
  WS[13] =
    1;

class ExactParser {
  i = 0;
  constructor(
    readonly s: string,
    readonly limits: JsonLimits,
    readonly opts: JsonParseOptions,
  ) {}

  fail(code: JsonParseErrorCode, message: string, offset = this.i): never {
    throw new Failure(code, message, offset);
  }

  ws(): number {
    const s = this.s;
    let i = this.i;
    let c = s.charCodeAt(i);
    while (c < 128 && WS[c] === 1) c = s.charCodeAt(++i);
    this.i = i;
    return c;
  }

  unexpected(): never {
    if (this.i >= this.s.length) this.fail("UnexpectedEnd", "unexpected end of input");
    const ch = this.s[this.i];
    this.fail("UnexpectedToken", `unexpected character ${JSON.stringify(ch)}`);
  }

  parse(): JsonValue {
    const stack: Frame[] = [];
    const { maxDepth, maxArrayLength, maxObjectKeys } = this.limits;
    const dup = this.opts.rejectDuplicateKeys === true;
    let value: JsonValue;
    for (;;) {
      // Parse one value (containers open a frame and loop back here for their first member).
      let c = this.ws();
      if (c === 123 || c === 91) {
        if (stack.length + 1 > maxDepth) {
          this.fail("LimitExceeded", `nesting deeper than maxDepth ${maxDepth}`);
        }
        this.i++;
        const close = c === 123 ? 125 : 93;
        const next = this.ws();
        if (next === close) {
          this.i++;
          value = c === 123 ? {} : [];
        } else if (c === 91) {
          if (maxArrayLength < 1) {
            this.fail("LimitExceeded", `array longer than maxArrayLength ${maxArrayLength}`);
          }
          stack.push({ array: [], object: null, key: "", keyAt: 0, count: 0 });
          continue;
        } else {
          const frame: Frame = { array: null, object: {}, key: "", keyAt: 0, count: 0 };
          stack.push(frame);
          this.memberKey(frame, maxObjectKeys);
          continue;
        }
      } else if (c === 34) {
        value = this.string();
      } else if (c === 45 || (c >= 48 && c <= 57)) {
        value = this.number();
      } else if (c === 116) value = this.literal("true", true);
      else if (c === 102) value = this.literal("false", false);
      else if (c === 110) value = this.literal("null", null);
      else this.unexpected();

      // Attach the value to its container, closing containers as far as they end.
      for (;;) {
        const top = stack[stack.length - 1];
        if (top === undefined) {
          this.ws();
          if (this.i < this.s.length) {
            this.fail("TrailingData", "unexpected data after the JSON value");
          }
          return value;
        }
        if (top.array !== null) {
          top.array.push(value);
          top.count++;
          c = this.ws();
          if (c === 44) {
            this.i++;
            if (top.count + 1 > maxArrayLength) {
              this.ws();
              this.fail("LimitExceeded", `array longer than maxArrayLength ${maxArrayLength}`);
            }
            break;
          }
          if (c !== 93) this.unexpected();
          this.i++;
          value = top.array;
          stack.pop();
        } else {
          const obj = top.object!;
          if (dup && Object.hasOwn(obj, top.key)) {
            this.fail("DuplicateKey", `duplicate key ${JSON.stringify(top.key)}`, top.keyAt);
          }
          if (top.key === "__proto__") {
            Object.defineProperty(obj, "__proto__", {
              value,
              writable: true,
              enumerable: true,
              configurable: true,
            });
          } else obj[top.key] = value;
          c = this.ws();
          if (c === 44) {
            this.i++;
            this.ws();
            this.memberKey(top, maxObjectKeys);
            break;
          }
          if (c !== 125) this.unexpected();
          this.i++;
          value = obj;
          stack.pop();
        }
      }
    }
  }

  /** Reads `"key" :` of the next member. */
  memberKey(frame: Frame, maxObjectKeys: number): void {
    if (this.s.charCodeAt(this.i) !== 34) this.unexpected();
    const start = this.i;
    const key = this.string();
    // A repeated key replaces its value: only a new key makes the object larger, as it does
    // on the engine's fast path, which never sees the repeats.
    if (!Object.hasOwn(frame.object!, key) && ++frame.count > maxObjectKeys) {
      this.fail("LimitExceeded", `object with more than maxObjectKeys ${maxObjectKeys}`, start);
    }
    frame.key = key;
    frame.keyAt = start;
    if (this.ws() !== 58) this.unexpected();
    this.i++;
  }

  literal<T extends JsonValue>(word: string, v: T): T {
    const s = this.s;
    for (let k = 0; k < word.length; k++) {
      if (s.charCodeAt(this.i + k) !== word.charCodeAt(k)) {
        this.i += k;
        this.unexpected();
      }
    }
    this.i += word.length;
    return v;
  }

  string(): string {
    const s = this.s;
    const start = this.i;
    const max = this.limits.maxStringLength;
    let i = start + 1;
    let out = "";
    let runStart = i;
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === 34) break;
      if (c === 92) {
        out += s.slice(runStart, i);
        const e = s.charCodeAt(i + 1);
        switch (e) {
          case 34:
            out += '"';
            break;
          case 92:
            out += "\\";
            break;
          case 47:
            out += "/";
            break;
          case 98:
            out += "\b";
            break;
          case 102:
            out += "\f";
            break;
          case 110:
            out += "\n";
            break;
          case 114:
            out += "\r";
            break;
          case 116:
            out += "\t";
            break;
          case 117: {
            let code = 0;
            for (let k = 2; k < 6; k++) {
              const h = s.charCodeAt(i + k);
              const d = h >= 48 && h <= 57
                ? h - 48
                : h >= 97 && h <= 102
                ? h - 87
                : h >= 65 && h <= 70
                ? h - 55
                : -1;
              if (d < 0) {
                if (i + k >= s.length) this.fail("UnexpectedEnd", "unterminated string", start);
                this.fail("InvalidEscape", "invalid \\u escape", i);
              }
              code = code * 16 + d;
            }
            out += String.fromCharCode(code);
            i += 4;
            break;
          }
          default:
            if (i + 1 >= s.length) this.fail("UnexpectedEnd", "unterminated string", start);
            this.fail("InvalidEscape", "invalid escape sequence", i);
        }
        i += 2;
        runStart = i;
        if (out.length > max) {
          this.fail("LimitExceeded", `string longer than maxStringLength ${max}`, start);
        }
        continue;
      }
      if (c < 32 || c !== c) {
        if (i >= s.length) this.fail("UnexpectedEnd", "unterminated string", start);
        this.fail("InvalidString", "control character in string", i);
      }
      i++;
      if (i - runStart + out.length > max) {
        this.fail("LimitExceeded", `string longer than maxStringLength ${max}`, start);
      }
    }
    out += s.slice(runStart, i);
    this.i = i + 1;
    if (this.opts.rejectLoneSurrogates && !isWellFormed(out)) {
      this.fail("LoneSurrogate", "string holds an unpaired surrogate", start);
    }
    return out;
  }

  number(): JsonValue {
    const s = this.s;
    const start = this.i;
    let i = start;
    if (s.charCodeAt(i) === 45) i++;
    let c = s.charCodeAt(i);
    if (c === 48) {
      i++;
    } else if (c >= 49 && c <= 57) {
      do c = s.charCodeAt(++i); while (c >= 48 && c <= 57);
    } else {
      this.i = i;
      if (i >= s.length) this.fail("UnexpectedEnd", "unexpected end of input");
      this.fail("InvalidNumber", "invalid number", start);
    }
    let integer = true;
    c = s.charCodeAt(i);
    if (c === 46) {
      integer = false;
      c = s.charCodeAt(++i);
      if (!(c >= 48 && c <= 57)) {
        this.i = i;
        this.fail("InvalidNumber", "expected a digit after the decimal point", i);
      }
      do c = s.charCodeAt(++i); while (c >= 48 && c <= 57);
    }
    if (c === 101 || c === 69) {
      integer = false;
      c = s.charCodeAt(++i);
      if (c === 43 || c === 45) c = s.charCodeAt(++i);
      if (!(c >= 48 && c <= 57)) {
        this.i = i;
        this.fail("InvalidNumber", "expected a digit in the exponent", i);
      }
      do c = s.charCodeAt(++i); while (c >= 48 && c <= 57);
    }
    this.i = i;
    const text = s.slice(start, i);
    const n = Number(text);
    const mode = this.opts.bigNumbers;
    if (mode === undefined) return n;
    if (integer) {
      if (Number.isSafeInteger(n)) return n === 0 && text[0] === "-" ? -0 : n;
      return mode === "bigint" ? BigInt(text) : new JsonRawNumber(text);
    }
    if (Number.isInteger(n) && !Number.isSafeInteger(n)) {
      // An integer beyond 2^53 written with an exponent or a fraction ("1e23", "1.5e16") is
      // kept exact like one written plainly: the double nearest it may not be it.
      const exact = decimalInteger(text);
      if (exact !== undefined) return mode === "bigint" ? exact : new JsonRawNumber(text);
    }
    if (isExactDecimal(text, n)) return n;
    if (mode === "text") return new JsonRawNumber(text);
    this.fail("NumberPrecision", `number ${text} cannot be held exactly`, start);
  }
}

/** Splits a JSON number into its significant digits and decimal exponent. */
function decimalParts(text: string): { neg: boolean; digits: string; exp: number } {
  let neg = false;
  let i = 0;
  if (text[0] === "-") {
    neg = true;
    i = 1;
  }
  let mant = "";
  let exp = 0;
  let seenDot = false;
  for (; i < text.length; i++) {
    const ch = text[i];
    if (ch === ".") seenDot = true;
    else if (ch === "e" || ch === "E") {
      exp += Number(text.slice(i + 1));
      break;
    } else {
      mant += ch;
      if (seenDot) exp--;
    }
  }
  const lead = mant.search(/[1-9]/);
  if (lead < 0) return { neg, digits: "", exp: 0 };
  let digits = mant.slice(lead);
  const trimmed = digits.replace(/0+$/, "");
  exp += digits.length - trimmed.length;
  digits = trimmed;
  return { neg, digits, exp };
}

/** The value of the JSON number `text` (a finite one) as a bigint when it is an integer. */
function decimalInteger(text: string): bigint | undefined {
  const { neg, digits, exp } = decimalParts(text);
  if (exp < 0) return undefined;
  return BigInt((neg ? "-" : "") + (digits === "" ? "0" : digits) + "0".repeat(exp));
}

/** True when the double `n` denotes exactly the decimal `text` as the shortest round trip. */
function isExactDecimal(text: string, n: number): boolean {
  if (!Number.isFinite(n)) return false;
  const a = decimalParts(text);
  if (a.digits === "") return true; // zero of any spelling
  if (n === 0) return false; // underflow
  const b = decimalParts(String(n));
  return a.digits === b.digits && a.exp === b.exp;
}

/** The options of a call without any (shared: a call allocates nothing for them). */
const NO_OPTIONS: JsonParseOptions = Object.freeze({});

/** True when the options leave the engine's JSON.parse fit to build the value. */
function engineCanParse(opts: JsonParseOptions): boolean {
  return opts.rejectDuplicateKeys !== true && opts.bigNumbers === undefined;
}

/**
 * True when `n` code units are too few to break the depth, array or object limits: nesting
 * `d` deep takes `2d` characters, an array of `m` elements `2m + 1`, an object of `k` members
 * `5k + 1` (`"":0` and a comma each).
 */
function shapeProven(n: number, limits: JsonLimits): boolean {
  return n < 2 * limits.maxDepth + 2 && n < 2 * limits.maxArrayLength + 3 &&
    n < 5 * limits.maxObjectKeys + 6;
}

/**
 * The engine's parse of `text` when it is valid JSON within the limits (and free of lone
 * surrogates when asked), else undefined: the exact parser then decides and positions the error.
 */
function engineParse(
  text: string,
  limits: JsonLimits,
  opts: JsonParseOptions,
): JsonValue | undefined {
  const n = text.length;
  // Small inputs: the engine parses first and the value is checked after; the transient memory
  // is a small multiple of POST_CHECK_MAX. Larger inputs are pre-scanned so no value is built
  // unless every structural limit holds.
  const small = n <= POST_CHECK_MAX;
  if (!small && !prepass(text, limits)) return undefined;
  let v: JsonValue;
  try {
    v = JSON.parse(text) as JsonValue;
  } catch {
    return undefined;
  }
  try {
    const strings = small && n > limits.maxStringLength;
    const surrogates = opts.rejectLoneSurrogates === true;
    if (strings || surrogates) {
      return withinLimits(v, 0, limits, strings, surrogates) ? v : undefined;
    }
    if (!small || typeof v !== "object" || v === null || shapeProven(n, limits)) return v;
    return fitsShape(v, limits.maxDepth, limits.maxArrayLength, limits.maxObjectKeys)
      ? v
      : undefined;
  } catch {
    // A RangeError from a walk too deep for the stack: the exact parser has no recursion.
    return undefined;
  }
}

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
    return new ExactParser(text, limits, opts).parse();
  } catch (e) {
    const replaced = opts.replaceInvalidUtf8 === true;
    if (e instanceof Failure) throw toError(e, text, bytes, replaced);
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

// ---------------------------------------------------------------------------------------------
// Stringify

/** Options of {@linkcode stringifyJson}. */
export interface JsonStringifyOptions {
  /** Spaces per level (a number, capped at 10) or the indent string itself; default compact. */
  indent?: number | string;
  /** Write object keys in code-unit order, for stable output (default false). */
  sortKeys?: boolean;
}

/** Stable codes of {@linkcode JsonStringifyError}. */
export type JsonStringifyErrorCode = "Cycle" | "Unsupported" | "TooDeep";

/**
 * A value that cannot be written as JSON: a cycle, nesting beyond the call stack, or a
 * symbol/function at the top level.
 *
 * @example
 * ```ts
 * import { stringifyJson, JsonStringifyError } from "./json.ts";
 * const a: unknown[] = [];
 * a.push(a);
 * try { stringifyJson(a as never); } catch (e) { console.log(e instanceof JsonStringifyError); }
 * ```
 */
export class JsonStringifyError extends IoraError {
  /** The kind of failure. */
  declare readonly code: JsonStringifyErrorCode;

  /**
   * Creates the error.
   *
   * @param code the kind of failure
   * @param message what is wrong
   */
  constructor(code: JsonStringifyErrorCode, message: string) {
    super(code, message);
  }
}

// deno-lint-ignore no-control-regex
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

function quote(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : '"' + s + '"';
}

/** Deepest subtree handed whole to the engine's `JSON.stringify`. */
const NATIVE_MAX_DEPTH = 48;
/** Deepest level where pretty printing hands a subtree to the engine and re-indents it. */
const NATIVE_PRETTY_LEVEL = 16;
/**
 * Pretty printing of a value whose first path runs deeper than this is written by our writer:
 * `JSON.stringify` builds every line's indentation anew, which costs more than our rope of
 * shared indentation strings once the lines are deep.
 */
const DEEP_PRETTY = 64;
/** Ancestors up to this level are checked for cycles by a scan, deeper ones by a set. */
const PATH_SCAN = 32;

/** True when `keys` are in code-unit order. */
function inOrder(keys: string[]): boolean {
  for (let i = 1; i < keys.length; i++) if (!(keys[i - 1] < keys[i])) return false;
  return true;
}

/** The sorted order of one object shape's keys, with each key already quoted. */
interface KeyOrder {
  /** The keys in `Object.keys` order (the shape). */
  keys: string[];
  /** The keys in code-unit order. */
  sorted: string[];
  /** `quote(key) + colon` for each of `sorted`. */
  prefixes: string[];
}

class Writer {
  /** Ancestors at levels below PATH_SCAN, by level. */
  readonly path: object[] = [];
  /** Ancestors at levels from PATH_SCAN on. */
  readonly seen = new Set<object>();
  /** Key orders of recently seen object shapes, by first key. */
  readonly orders = new Map<string, KeyOrder[]>();
  readonly colon: string;
  /** Levels below this one do not try the native path (a check above already failed deep). */
  nativeFrom = 0;
  /** `"\n"` plus the indentation of each level, built on first use (pretty mode). */
  readonly lines: string[] = ["\n"];
  /**
   * The pretty output so far. Appending builds a rope that the engine flattens once, copying
   * each shared indentation string into place: no per-line indentation is built or copied twice.
   */
  out = "";

  constructor(readonly unit: string, readonly sort: boolean) {
    this.colon = unit !== "" ? ": " : ":";
  }

  lineAt(level: number): string {
    const lines = this.lines;
    for (let l = lines.length; l <= level; l++) {
      // join builds a flat string where + would build a rope as deep as the level: the final
      // flatten then copies each line with one block copy instead of walking that rope (5x).
      lines[l] = [lines[l - 1], this.unit].join("");
    }
    return lines[level];
  }

  /**
   * -1 when `JSON.stringify` writes `v` exactly as this writer would: plain objects and arrays
   * only (no toJSON, bigint or JsonRawNumber), keys already in order when sorting, at most
   * `budget` levels deep (which also rules out cycles). Otherwise the level (relative to `v`)
   * where the check failed.
   */
  native(v: unknown, budget: number): number {
    if (typeof v !== "object") return typeof v === "bigint" ? 0 : -1;
    if (v === null) return -1;
    if (budget === 0) return 0;
    if (Array.isArray(v)) {
      // An array can have a toJSON too (the engine would call it and write its result as is).
      if (Object.getPrototypeOf(v) !== Array.prototype || "toJSON" in v) return 0;
      for (let i = 0; i < v.length; i++) {
        const x = v[i];
        if (typeof x === "object" ? x !== null : typeof x === "bigint") {
          const r = this.native(x, budget - 1);
          if (r >= 0) return r + 1;
        }
      }
      return -1;
    }
    const proto = Object.getPrototypeOf(v);
    if ((proto !== Object.prototype && proto !== null) || "toJSON" in v) return 0;
    const keys = Object.keys(v);
    if (this.sort && !inOrder(keys)) return 0;
    for (let i = 0; i < keys.length; i++) {
      const x = (v as Record<string, unknown>)[keys[i]];
      if (typeof x === "object" ? x !== null : typeof x === "bigint") {
        const r = this.native(x, budget - 1);
        if (r >= 0) return r + 1;
      }
    }
    return -1;
  }

  /** The sorted order of `keys`, cached per shape. */
  order(keys: string[]): KeyOrder {
    const n = keys.length;
    let bucket = this.orders.get(keys[0]);
    if (bucket === undefined) {
      bucket = [];
      this.orders.set(keys[0], bucket);
    }
    search: for (let b = 0; b < bucket.length; b++) {
      const o = bucket[b];
      const k = o.keys;
      if (k.length !== n) continue;
      for (let i = 1; i < n; i++) if (k[i] !== keys[i]) continue search;
      return o;
    }
    const sorted = keys.slice().sort();
    const prefixes = sorted.map((k) => quote(k) + this.colon);
    const o: KeyOrder = { keys, sorted, prefixes };
    // A handful of shapes per first key; beyond that the oldest gives way.
    if (bucket.length >= 8) bucket.shift();
    bucket.push(o);
    return o;
  }

  /**
   * Appends `v` pretty printed at `level` to {@linkcode out}; false (and nothing appended) for
   * values JSON omits (undefined, functions, symbols). `fromToJSON`: `v` is what a toJSON
   * returned, whose own toJSON is not called (as JSON.stringify does).
   */
  append(v: unknown, level: number, key: string | number, fromToJSON?: boolean): boolean {
    switch (typeof v) {
      case "string":
        this.out += quote(v);
        return true;
      case "number":
        this.out += Number.isFinite(v) ? String(v) : "null";
        return true;
      case "boolean":
        this.out += v ? "true" : "false";
        return true;
      case "bigint":
        this.out += v.toString();
        return true;
      case "object":
        break;
      default:
        return false;
    }
    if (v === null) {
      this.out += "null";
      return true;
    }
    if (v instanceof JsonRawNumber) {
      this.out += v.text;
      return true;
    }
    const toJSON = (v as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === "function" && fromToJSON !== true) {
      return this.append(toJSON.call(v, String(key)), level, key, true);
    }
    const primitive = unbox(v);
    if (primitive !== v) return this.append(primitive, level, key, true);
    const nativeFrom = this.nativeFrom;
    let keys: string[] | undefined;
    // Near the top, a plain subtree goes to the engine whole and is re-indented; deeper down the
    // re-indenting copy costs more than it saves.
    if (level >= nativeFrom && level <= NATIVE_PRETTY_LEVEL) {
      let r: number;
      if (this.sort && !Array.isArray(v)) {
        keys = Object.keys(v);
        r = inOrder(keys) ? this.native(v, NATIVE_MAX_DEPTH) : 0;
      } else r = this.native(v, NATIVE_MAX_DEPTH);
      if (r < 0) {
        const s = JSON.stringify(v, null, this.unit);
        this.out += level === 0 ? s : s.replaceAll("\n", this.lineAt(level));
        return true;
      }
      if (r > 8) this.nativeFrom = level + (r >> 1);
    }
    this.enter(v, level);
    const inner = this.lineAt(level + 1);
    if (Array.isArray(v)) {
      if (v.length === 0) this.out += "[]";
      else {
        this.out += "[" + inner;
        const sep = "," + inner;
        for (let i = 0; i < v.length; i++) {
          if (i > 0) this.out += sep;
          if (!this.append(v[i], level + 1, i)) this.out += "null";
        }
        this.out += this.lineAt(level) + "]";
      }
    } else {
      if (keys === undefined) keys = Object.keys(v);
      const before = this.out;
      this.out += "{";
      let sep = inner;
      let first = true;
      if (keys.length === 0) {
        // nothing to write
      } else if (this.sort) {
        const { sorted, prefixes } = this.order(keys);
        for (let i = 0; i < sorted.length; i++) {
          const mark = this.out;
          this.out += sep + prefixes[i];
          // A member JSON omits is taken back off the rope (strings are immutable: the mark is
          // the text before it).
          const k = sorted[i];
          if (!this.append((v as Record<string, unknown>)[k], level + 1, k)) this.out = mark;
          else if (first) {
            first = false;
            sep = "," + inner;
          }
        }
      } else {
        for (let i = 0; i < keys.length; i++) {
          const k = keys[i];
          const mark = this.out;
          this.out += sep + quote(k) + ": ";
          if (!this.append((v as Record<string, unknown>)[k], level + 1, k)) this.out = mark;
          else if (first) {
            first = false;
            sep = "," + inner;
          }
        }
      }
      if (first) this.out = before + "{}";
      else this.out += this.lineAt(level) + "}";
    }
    if (level >= PATH_SCAN) this.seen.delete(v);
    this.nativeFrom = nativeFrom;
    return true;
  }

  /** Records `v` as an ancestor of what is written next, failing on a cycle. */
  enter(v: object, level: number): void {
    if (level < PATH_SCAN) {
      const path = this.path;
      for (let i = 0; i < level; i++) {
        if (path[i] === v) throw new JsonStringifyError("Cycle", "cannot stringify a cyclic value");
      }
      path[level] = v;
    } else {
      if (this.seen.has(v)) {
        throw new JsonStringifyError("Cycle", "cannot stringify a cyclic value");
      }
      this.seen.add(v);
    }
  }

  /**
   * Writes `v` compact (the sortKeys path); undefined for values JSON omits (undefined,
   * functions, symbols). `fromToJSON` as for {@linkcode append}.
   */
  write(v: unknown, level: number, key: string | number, fromToJSON?: boolean): string | undefined {
    switch (typeof v) {
      case "string":
        return quote(v);
      case "number":
        return Number.isFinite(v) ? String(v) : "null";
      case "boolean":
        return v ? "true" : "false";
      case "bigint":
        return v.toString();
      case "object":
        break;
      default:
        return undefined;
    }
    if (v === null) return "null";
    if (v instanceof JsonRawNumber) return v.text;
    const toJSON = (v as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === "function" && fromToJSON !== true) {
      return this.write(toJSON.call(v, String(key)), level, key, true);
    }
    const primitive = unbox(v);
    if (primitive !== v) return this.write(primitive, level, key, true);
    const nativeFrom = this.nativeFrom;
    let keys: string[] | undefined;
    if (level >= nativeFrom) {
      let r: number;
      if (this.sort && !Array.isArray(v)) {
        // An object whose keys are out of order is written here; its keys are needed anyway.
        keys = Object.keys(v);
        r = inOrder(keys) ? this.native(v, NATIVE_MAX_DEPTH) : 0;
      } else r = this.native(v, NATIVE_MAX_DEPTH);
      if (r < 0) return JSON.stringify(v);
      // Children on the failing path would fail again: skip the check for a while below.
      if (r > 8) this.nativeFrom = level + (r >> 1);
    }
    this.enter(v, level);
    let out: string;
    if (Array.isArray(v)) {
      if (v.length === 0) out = "[]";
      else {
        out = "[";
        for (let i = 0; i < v.length; i++) {
          if (i > 0) out += ",";
          out += this.write(v[i], level + 1, i) ?? "null";
        }
        out += "]";
      }
    } else {
      if (keys === undefined) keys = Object.keys(v);
      out = "{";
      let first = true;
      if (keys.length === 0) {
        // nothing to write
      } else if (this.sort) {
        const { sorted, prefixes } = this.order(keys);
        for (let i = 0; i < sorted.length; i++) {
          const s = this.write((v as Record<string, unknown>)[sorted[i]], level + 1, sorted[i]);
          if (s === undefined) continue;
          if (first) first = false;
          else out += ",";
          out += prefixes[i] + s;
        }
      } else {
        for (let i = 0; i < keys.length; i++) {
          const k = keys[i];
          const s = this.write((v as Record<string, unknown>)[k], level + 1, k);
          if (s === undefined) continue;
          if (first) first = false;
          else out += ",";
          out += quote(k) + ":" + s;
        }
      }
      out = first ? "{}" : out + "}";
    }
    if (level >= PATH_SCAN) this.seen.delete(v);
    this.nativeFrom = nativeFrom;
    return out;
  }
}

/**
 * True when following the first nested object or array from `v` downwards (a cheap probe of the
 * value's shape) goes more than `levels` levels deep.
 */
function deepPath(v: unknown, levels: number): boolean {
  for (let d = 0; d <= levels; d++) {
    if (typeof v !== "object" || v === null) return false;
    let next: unknown = undefined;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const x = v[i];
        if (typeof x === "object" && x !== null) {
          next = x;
          break;
        }
      }
    } else {
      for (const k in v) {
        const x = (v as Record<string, unknown>)[k];
        if (typeof x === "object" && x !== null) {
          next = x;
          break;
        }
      }
    }
    v = next;
  }
  return true;
}

/**
 * Writes a value as JSON, optionally pretty printed and with sorted keys (stable output).
 * Like `JSON.stringify`, but also writes `bigint` and {@linkcode JsonRawNumber} exactly,
 * stays linear on deep nesting, and throws {@linkcode JsonStringifyError} on cycles.
 *
 * @param value the value to write
 * @param options indentation and key order
 * @returns the JSON text
 *
 * @example
 * ```ts
 * import { stringifyJson } from "./json.ts";
 * console.log(stringifyJson({ b: 1, a: [true] }, { indent: 2, sortKeys: true }));
 * ```
 */
export function stringifyJson(value: JsonValue, options?: JsonStringifyOptions): string {
  const ind = options?.indent;
  const unit = typeof ind === "number"
    ? " ".repeat(Math.max(0, Math.min(10, Math.floor(ind))))
    : (ind ?? "").slice(0, 10);
  const sort = options?.sortKeys === true;
  if (!sort && (unit === "" || !deepPath(value, DEEP_PRETTY))) {
    try {
      const s = unit === "" ? JSON.stringify(value) : JSON.stringify(value, null, unit);
      if (s !== undefined) return s;
    } catch {
      // bigint, JsonRawNumber or a cycle: our writer handles or names them.
    }
  }
  let out: string | undefined;
  try {
    const w = new Writer(unit, sort);
    if (unit === "") out = w.write(value, 0, "");
    else if (w.append(value, 0, "")) out = w.out;
  } catch (e) {
    if (e instanceof RangeError) {
      throw new JsonStringifyError("TooDeep", "value nested too deeply to stringify");
    }
    throw e;
  }
  if (out === undefined) {
    throw new JsonStringifyError("Unsupported", `cannot stringify a ${typeof value}`);
  }
  return out;
}

/** The primitive inside a `new Number`, `new String` or `new Boolean` (JSON writes that), else `v`. */
function unbox(v: object): unknown {
  return v instanceof Number || v instanceof String || v instanceof Boolean ? v.valueOf() : v;
}
