/**
 * Incremental JSON: chunks in (split anywhere), complete values out at a chosen depth.
 *
 * @module
 */
import {
  DEFAULT_JSON_LIMITS,
  type JsonLimits,
  JsonParseError,
  JsonRawNumber,
  type JsonValue,
} from "./json_types.ts";
import { parseJson, tryParseJson } from "./json.ts";
import { engineParse } from "./_json_engine.ts";
import { nodeBuffer } from "./_json_bytes.ts";
import { findInvalidUtf8, incompleteUtf8 } from "./_text.ts";

/** A value completed by {@linkcode JsonStreamParser}. */
export interface JsonStreamItem {
  /** The value. */
  value: JsonValue;
  /** Its key in the parent object, its index in the parent array, or its sequence number. */
  key: string | number;
}

/** A token event of {@linkcode JsonStreamParser} (only when `onToken` is given). */
export interface JsonStreamToken {
  /** What was read. */
  type: "startObject" | "endObject" | "startArray" | "endArray" | "key" | "value";
  /** The key (for `key`) or the scalar (for `value`). */
  value?: JsonValue;
  /** Nesting depth of the token (0 = top level). */
  depth: number;
}

/** Options of {@linkcode JsonStreamParser}. */
export interface JsonStreamOptions {
  /**
   * The depth whose values are emitted: 1 (default) emits the elements of a top-level array
   * (or the members of a top-level object); 0 emits whole top-level values and then accepts
   * any number of them separated by whitespace (NDJSON, concatenated JSON).
   *
   * @default {1}
   */
  depth?: number;
  /**
   * Limits as for parseJson; `maxBytes` bounds each emitted value (the stream itself is
   * unbounded), in UTF-16 code units.
   */
  limits?: Partial<JsonLimits>;
  /**
   * Token events. Tokens above the emit depth arrive as they are read; tokens inside an
   * emitted value arrive when that value completes, just before it is returned.
   */
  onToken?: (token: JsonStreamToken) => void;
}

/** The characters that change a value's nesting outside strings (global, for `lastIndex`). */
const STRUCTURAL = /["[\]{}]/g;

/** Options of the engine's fast path: none, so it parses as parseJson's default does. */
const ENGINE_OPTIONS = Object.freeze({});

/** Values read the slow way, after a line that was not one whole value, before lines are tried again. */
const LINE_RETRY_AFTER = 32;

const enum State {
  Value,
  FirstArray,
  FirstObject,
  Key,
  Colon,
  Comma,
  Done,
}

const enum Capture {
  None,
  Str,
  Container,
  Scalar,
}

interface Level {
  array: boolean;
  count: number;
  key: string;
}

/**
 * An incremental JSON parser. Feed chunks of text or UTF-8 bytes with `write()`, get the
 * values completed so far at the chosen depth; `end()` finishes. Every guarantee of
 * parseJson holds: strict grammar, limits, and errors with line, column and offset
 * (offsets count UTF-16 code units of the decoded text).
 *
 * @example
 * ```ts
 * import { JsonStreamParser } from "./json_stream.ts";
 * const p = new JsonStreamParser();
 * const got = [...p.write('[{"a": 1}, {"a"'), ...p.write(": 2}]"), ...p.end()];
 * console.log(got.map((i) => i.value)); // [{a: 1}, {a: 2}]
 * ```
 */
export class JsonStreamParser {
  #emitDepth: number;
  #limits: JsonLimits;
  #onToken: ((token: JsonStreamToken) => void) | undefined;
  #decoder: TextDecoder | undefined;
  #state = State.Value;
  #stack: Level[] = [];
  #capture = Capture.None;
  #capDepth = 0;
  #inString = false;
  #escaped = false;
  #pieces: string[] = [];
  #capLength = 0;
  #capStart = 0;
  #capLine = 1;
  #capColumn = 1;
  #captureIsKey = false;
  #sequence = 0;
  #offset = 0; // global offset of the current chunk's start
  #line = 1;
  #lineStart = 0; // global offset where the current line starts
  #lastCR = false; // the last character counted was a carriage return (CR LF is one line end)
  #nextCR = Infinity; // the first carriage return of the current chunk not counted yet
  #nextLF = -1; // the first line feed at or after the last search in this chunk (-1: search)
  #utf8Tail: Uint8Array = new Uint8Array(0); // a character split at the last chunk's end
  #ended = false;
  #failed: JsonParseError | undefined;
  #out: JsonStreamItem[] = [];
  /** The limits a value captured at depth `d` is parsed with (maxDepth less `d`), by `d`. */
  #depthLimits: JsonLimits[] = [];
  /** Top-level values still to read the slow way before a whole line is tried again. */
  #lineSkip = 0;

  /**
   * Creates a parser.
   *
   * @param options emit depth, limits and token events
   */
  constructor(options?: JsonStreamOptions) {
    this.#emitDepth = Math.max(0, Math.floor(options?.depth ?? 1));
    this.#limits = { ...DEFAULT_JSON_LIMITS, ...options?.limits };
    this.#onToken = options?.onToken;
  }

  /**
   * Feeds the next chunk (text or UTF-8 bytes; do not mix).
   *
   * @param chunk the next piece of the stream, split anywhere
   * @returns the values completed by this chunk
   * @throws {JsonParseError} on malformed input or a broken limit
   */
  write(chunk: string | Uint8Array): JsonStreamItem[] {
    if (this.#failed) throw this.#failed;
    if (this.#ended) throw new TypeError("JsonStreamParser.write() after end()");
    let text: string;
    if (typeof chunk === "string") text = chunk;
    else {
      // Replacing decoders are several times faster than a fatal one; they write U+FFFD only for
      // an invalid sequence, so text without one proves the bytes valid. Text with one (an error,
      // or a genuine U+FFFD) is decided by a check of the bytes. A character split at the end is
      // held (`utf8Tail`) for the next chunk.
      const tail = this.#utf8Tail;
      const held = incompleteUtf8(tail, chunk);
      let bytes = chunk;
      if (nodeBuffer !== undefined) {
        // Node's own UTF-8 slice of the complete characters: its TextDecoder streams slowly.
        if (tail.length > 0) bytes = concatBytes(tail, chunk);
        const view = nodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
        text = view.utf8Slice(0, bytes.length - held.length);
      } else {
        this.#decoder ??= new TextDecoder("utf-8", { ignoreBOM: true });
        text = this.#decoder.decode(chunk, { stream: true });
        if (tail.length > 0 && text.indexOf("\uFFFD") >= 0) bytes = concatBytes(tail, chunk);
      }
      this.#utf8Tail = held;
      if (
        text.indexOf("\uFFFD") >= 0 &&
        (findInvalidUtf8(bytes, 0, bytes.length - held.length) >= 0 || !utf8Prefix(held))
      ) {
        this.#invalidUtf8(tail, chunk);
      }
    }
    this.#out = [];
    this.#run(text);
    return this.#out;
  }

  /**
   * Ends the stream.
   *
   * @returns the values completed by the end (such as a final top-level number)
   * @throws {JsonParseError} when the stream ends inside a value
   */
  end(): JsonStreamItem[] {
    if (this.#failed) throw this.#failed;
    if (this.#ended) return [];
    this.#out = [];
    // Bytes still held are an incomplete character (write() failed on anything else).
    const held = this.#utf8Tail.length > 0;
    this.#utf8Tail = new Uint8Array(0);
    this.#decoder?.decode();
    if (held) throw this.#error("InvalidUtf8", "invalid UTF-8 sequence at the end", this.#offset);
    this.#ended = true;
    // A value the stream ends in is parsed as far as it goes: parseJson names its first error
    // (a bad token inside it, or the end).
    if (this.#capture !== Capture.None) this.#finishCapture();
    if (this.#capture !== Capture.None || this.#stack.length > 0) {
      throw this.#error("UnexpectedEnd", "unexpected end of input", this.#offset);
    }
    if (this.#state !== State.Done && this.#emitDepth !== 0) {
      throw this.#error("UnexpectedEnd", "unexpected end of input", this.#offset);
    }
    return this.#out;
  }

  /**
   * A Web `TransformStream` over this parser: chunks in, {@linkcode JsonStreamItem}s out.
   *
   * @returns the transform stream
   *
   * @example
   * ```ts
   * import { JsonStreamParser } from "./json_stream.ts";
   * const items = ReadableStream.from(["[1,", "2]"]).pipeThrough(new JsonStreamParser().toTransformStream());
   * for await (const item of items) console.log(item.value);
   * ```
   */
  toTransformStream(): TransformStream<string | Uint8Array, JsonStreamItem> {
    return new TransformStream<string | Uint8Array, JsonStreamItem>({
      transform: (chunk, controller) => {
        for (const item of this.write(chunk)) controller.enqueue(item);
      },
      flush: (controller) => {
        for (const item of this.end()) controller.enqueue(item);
      },
    });
  }

  #error(
    code: JsonParseError["code"],
    message: string,
    offset: number,
    line: number = this.#line,
    column: number = offset - this.#lineStart + 1,
  ): JsonParseError {
    const err = new JsonParseError(code, message, offset, line, column);
    this.#failed = err;
    return err;
  }

  /** Fails at the first invalid byte of `chunk` (after `tail`, the decoder's held bytes). */
  #invalidUtf8(tail: Uint8Array, chunk: Uint8Array): never {
    const bytes = concatBytes(tail, chunk);
    const bad = findInvalidUtf8(bytes);
    // The valid text before it is read first: its lines count, and its errors come first.
    if (bad > 0) {
      this.#out = [];
      this.#run(new TextDecoder().decode(bytes.subarray(0, bad)));
    }
    throw this.#error("InvalidUtf8", "invalid UTF-8 sequence", this.#offset);
  }

  /**
   * Advances the line counter over `s[from..to)` (offsets in chunk `s`). Line ends are counted
   * as parseJson counts them: LF, and CR not followed by LF.
   */
  #countLines(s: string, from: number, to: number): void {
    if (this.#lastCR || this.#nextCR < to) {
      this.#countLinesCR(s, from, to);
      return;
    }
    // The next line feed, remembered: without it, every call on a long line (minified JSON)
    // would search to the line's end again, quadratic in the values on the line.
    let k = this.#nextLF;
    if (k < from) k = lineFeed(s, from);
    while (k < to) {
      this.#line++;
      this.#lineStart = this.#offset + k + 1;
      k = lineFeed(s, k + 1);
    }
    this.#nextLF = k;
  }

  #countLinesCR(s: string, from: number, to: number): void {
    let cr = this.#lastCR;
    for (let k = from; k < to; k++) {
      const c = s.charCodeAt(k);
      if (c === 10 || c === 13) {
        // The LF of a CR LF ends the line the CR already counted.
        if (!(c === 10 && cr)) this.#line++;
        this.#lineStart = this.#offset + k + 1;
      }
      cr = c === 13;
    }
    if (to > from) this.#lastCR = cr;
    const next = s.indexOf("\r", to);
    this.#nextCR = next < 0 ? Infinity : next;
  }

  #run(s: string): void {
    const n = s.length;
    const cr = s.indexOf("\r");
    this.#nextCR = cr < 0 ? Infinity : cr;
    this.#nextLF = -1;
    let i = 0;
    let counted = 0;
    try {
      while (i < n) {
        if (this.#capture !== Capture.None) {
          const end = this.#scan(s, i);
          if (end < 0) {
            this.#append(s, i, n);
            i = n;
            break;
          }
          this.#append(s, i, end);
          this.#countLines(s, counted, end);
          counted = end;
          i = end;
          this.#finishCapture(s, end);
          continue;
        }
        const c = s.charCodeAt(i);
        if (c === 32 || c === 10 || c === 13 || c === 9) {
          i++;
          continue;
        }
        this.#countLines(s, counted, i);
        counted = i;
        const at = this.#offset + i;
        switch (this.#state) {
          case State.Done:
            throw this.#error("TrailingData", "unexpected data after the JSON value", at);
          case State.FirstArray:
            if (c === 93) {
              i++;
              this.#close(true);
              continue;
            }
            this.#state = State.Value;
            break;
          case State.FirstObject:
          case State.Key:
            if (c === 125 && this.#state === State.FirstObject) {
              i++;
              this.#close(false);
              continue;
            }
            if (c !== 34) throw this.#unexpected(s, i);
            this.#startCapture(Capture.Str, s, i, true);
            i++;
            continue;
          case State.Colon:
            if (c !== 58) throw this.#unexpected(s, i);
            i++;
            this.#state = State.Value;
            continue;
          case State.Comma: {
            const top = this.#stack[this.#stack.length - 1];
            if (c === 44) {
              i++;
              this.#state = top.array ? State.Value : State.Key;
              continue;
            }
            if (c === (top.array ? 93 : 125)) {
              i++;
              this.#close(top.array);
              continue;
            }
            throw this.#unexpected(s, i);
          }
        }
        // State.Value
        const depth = this.#stack.length;
        if (depth > 0) {
          // An element beyond maxArrayLength fails where it starts, before it is read.
          const top = this.#stack[depth - 1];
          if (top.array && top.count + 1 > this.#limits.maxArrayLength) {
            throw this.#error(
              "LimitExceeded",
              `array longer than maxArrayLength ${this.#limits.maxArrayLength}`,
              at,
            );
          }
        }
        if ((c === 91 || c === 123) && depth < this.#emitDepth) {
          if (depth + 1 > this.#limits.maxDepth) {
            throw this.#error(
              "LimitExceeded",
              `nesting deeper than maxDepth ${this.#limits.maxDepth}`,
              at,
            );
          }
          this.#stack.push({ array: c === 91, count: 0, key: "" });
          this.#onToken?.({ type: c === 91 ? "startArray" : "startObject", depth });
          this.#state = c === 91 ? State.FirstArray : State.FirstObject;
          i++;
          continue;
        }
        if (depth === 0 && this.#emitDepth === 0) {
          const nl = this.#wholeLine(s, i);
          if (nl >= 0) {
            if (this.#nextCR < nl) {
              i = nl; // a carriage return in the line: the line feed is counted the usual way
            } else {
              // The line ends here, and nothing before it did since `counted` (= i).
              this.#line++;
              i = counted = nl + 1;
              this.#lineStart = this.#offset + i;
              this.#lastCR = false;
            }
            continue;
          }
        }
        if (c === 91 || c === 123) {
          this.#startCapture(Capture.Container, s, i, false);
          this.#capDepth = 1;
          i++;
        } else if (c === 34) {
          this.#startCapture(Capture.Str, s, i, false);
          i++;
        } else if (c === 45 || (c >= 48 && c <= 57) || c === 116 || c === 102 || c === 110) {
          this.#startCapture(Capture.Scalar, s, i, false);
        } else throw this.#unexpected(s, i);
      }
      this.#countLines(s, counted, n);
    } catch (e) {
      if (e instanceof JsonParseError) {
        this.#failed = e;
      }
      throw e;
    } finally {
      this.#offset += n;
    }
  }

  /**
   * NDJSON's common case: a top-level value that fills the rest of its line within this chunk is
   * parsed whole by the engine, without the scan for its end. Returns the offset of the line's
   * end (its line feed) when that value was taken, or -1 when the line is not exactly one value within the limits (a value spread over lines,
   * two values on a line, an error): that value is then read the usual way, which also names any
   * error, and lines are tried again only after LINE_RETRY_AFTER values.
   */
  #wholeLine(s: string, i: number): number {
    if (this.#lineSkip > 0) {
      this.#lineSkip--;
      return -1;
    }
    const nl = s.indexOf("\n", i);
    if (nl < 0 || nl - i > this.#limits.maxBytes) return -1;
    const value = engineParse(s.slice(i, nl), this.#limits, ENGINE_OPTIONS);
    if (value === undefined) {
      this.#lineSkip = LINE_RETRY_AFTER;
      return -1;
    }
    if (this.#onToken) emitTokens(value, 0, this.#onToken);
    this.#out.push({ value, key: this.#sequence });
    this.#afterValue();
    return nl;
  }

  #unexpected(s: string, i: number): JsonParseError {
    return this.#error(
      "UnexpectedToken",
      `unexpected character ${JSON.stringify(s[i])}`,
      this.#offset + i,
    );
  }

  #startCapture(kind: Capture, s: string, i: number, isKey: boolean): void {
    this.#capture = kind;
    this.#captureIsKey = isKey;
    this.#inString = kind === Capture.Str;
    this.#escaped = false;
    this.#pieces = [];
    this.#capLength = 0;
    this.#capStart = this.#offset + i;
    this.#capLine = this.#line;
    this.#capColumn = this.#capStart - this.#lineStart + 1;
    if (kind !== Capture.Scalar) {
      // The opening quote or bracket is consumed by the caller; record it.
      this.#pieces.push(s[i]);
      this.#capLength = 1;
    }
  }

  #append(s: string, from: number, to: number): void {
    if (to <= from) return;
    this.#capLength += to - from;
    if (this.#capLength > this.#limits.maxBytes) {
      throw this.#error(
        "LimitExceeded",
        `value larger than maxBytes ${this.#limits.maxBytes}`,
        this.#capStart,
        this.#capLine,
        this.#capColumn,
      );
    }
    this.#pieces.push(from === 0 && to === s.length ? s : s.slice(from, to));
  }

  /** Scans the captured value from `i`; returns the offset just past its end, or -1. */
  #scan(s: string, i: number): number {
    const n = s.length;
    if (this.#capture === Capture.Scalar) {
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c === 44 || c === 93 || c === 125 || c === 32 || c === 10 || c === 13 || c === 9) {
          return i;
        }
        if (c === 34 || c === 91 || c === 123 || c === 58) return i;
      }
      return -1;
    }
    let depth = this.#capDepth;
    let inString = this.#inString;
    if (this.#escaped) {
      this.#escaped = false;
      i++;
    }
    const maxDepth = this.#limits.maxDepth - this.#stack.length;
    // The next backslash, found once and reused: scanning for it per string would be quadratic.
    let nextBackslash = -2;
    while (i < n) {
      if (inString) {
        const q = s.indexOf('"', i);
        if (nextBackslash !== -1 && nextBackslash < i) nextBackslash = s.indexOf("\\", i);
        if (nextBackslash >= 0 && (q < 0 || nextBackslash < q)) {
          if (nextBackslash + 1 >= n) {
            this.#escaped = true;
            i = n;
            break;
          }
          i = nextBackslash + 2;
          continue;
        }
        if (q < 0) {
          i = n;
          break;
        }
        inString = false;
        i = q + 1;
        if (this.#capture === Capture.Str) {
          this.#inString = false;
          return i;
        }
        continue;
      }
      // Outside strings only quotes and brackets matter. The next one is looked for by hand a
      // few characters ahead (dense nesting), then by the engine's regex, which crosses long
      // runs of numbers and indentation faster than a loop.
      let c = s.charCodeAt(i);
      const near = i + 8 < n ? i + 8 : n;
      while (i < near && c !== 34 && c !== 91 && c !== 93 && c !== 123 && c !== 125) {
        c = s.charCodeAt(++i);
      }
      if (i === near) {
        STRUCTURAL.lastIndex = i;
        if (!STRUCTURAL.test(s)) {
          i = n;
          break;
        }
        i = STRUCTURAL.lastIndex - 1;
        c = s.charCodeAt(i);
      }
      i++;
      if (c === 34) inString = true;
      else if (c === 91 || c === 123) {
        if (++depth > maxDepth) {
          throw this.#error(
            "LimitExceeded",
            `nesting deeper than maxDepth ${this.#limits.maxDepth}`,
            this.#offset + i - 1,
          );
        }
      } else if ((c === 93 || c === 125) && --depth === 0) {
        this.#capDepth = 0;
        this.#inString = false;
        return i;
      }
    }
    this.#capDepth = depth;
    this.#inString = inString;
    return -1;
  }

  /**
   * Parses the captured value and hands it on. `s[end]`, when given, is the character that ended
   * the capture (a scalar ends at the first character that cannot continue it).
   */
  #finishCapture(s?: string, end?: number): void {
    const text = this.#pieces.length === 1 ? this.#pieces[0] : this.#pieces.join("");
    this.#pieces = [];
    const isKey = this.#captureIsKey;
    const kind = this.#capture;
    this.#capture = Capture.None;
    const depth = this.#stack.length;
    const limits = this.#depthLimits[depth] ??= {
      ...this.#limits,
      maxDepth: Math.max(0, this.#limits.maxDepth - depth),
    };
    // The engine's path first (as parseJson takes it), without parseJson's per-call setup; when
    // it declines, parseJson decides and names the error.
    let value = engineParse(text, limits, ENGINE_OPTIONS);
    if (value === undefined) {
      try {
        value = parseJson(text, { limits });
      } catch (first) {
        if (!(first instanceof JsonParseError)) throw first;
        let e = first;
        if (e.code === "UnexpectedEnd" && kind === Capture.Scalar && s !== undefined) {
          // A scalar cut short by the character after it ("-]", "tru,"): parseJson names the
          // error as it would in the whole text, at that character or before.
          const r = tryParseJson(text + s[end!], { limits });
          if (!r.ok) e = r.error;
        }
        const line = e.line === 1 ? this.#capLine : this.#capLine + e.line - 1;
        const column = e.line === 1 ? this.#capColumn + e.column - 1 : e.column;
        const msg = e.message.replace(/ at line \d+, column \d+ \(offset \d+\)$/, "");
        const err = new JsonParseError(e.code, msg, this.#capStart + e.offset, line, column);
        this.#failed = err;
        throw err;
      }
    }
    if (isKey) {
      const top = this.#stack[depth - 1];
      if (top.count + 1 > this.#limits.maxObjectKeys) {
        throw this.#error(
          "LimitExceeded",
          `object with more than maxObjectKeys ${this.#limits.maxObjectKeys}`,
          this.#capStart,
        );
      }
      top.key = value as string;
      this.#onToken?.({ type: "key", value, depth });
      this.#state = State.Colon;
      return;
    }
    if (this.#onToken) emitTokens(value, depth, this.#onToken);
    if (depth === this.#emitDepth) {
      const top = this.#stack[depth - 1];
      const key = top === undefined ? this.#sequence : top.array ? top.count : top.key;
      this.#out.push({ value, key });
    }
    this.#afterValue();
  }

  #afterValue(): void {
    const top = this.#stack[this.#stack.length - 1];
    if (top === undefined) {
      this.#sequence++;
      this.#state = this.#emitDepth === 0 ? State.Value : State.Done;
      return;
    }
    top.count++;
    this.#state = State.Comma;
  }

  #close(array: boolean): void {
    this.#stack.pop();
    this.#onToken?.({ type: array ? "endArray" : "endObject", depth: this.#stack.length });
    this.#afterValue();
  }
}

function emitTokens(v: JsonValue, depth: number, on: (t: JsonStreamToken) => void): void {
  if (Array.isArray(v)) {
    on({ type: "startArray", depth });
    for (const x of v) emitTokens(x, depth + 1, on);
    on({ type: "endArray", depth });
  } else if (typeof v === "object" && v !== null && !(v instanceof JsonRawNumber)) {
    on({ type: "startObject", depth });
    for (const k of Object.keys(v)) {
      on({ type: "key", value: k, depth: depth + 1 });
      emitTokens((v as Record<string, JsonValue>)[k], depth + 1, on);
    }
    on({ type: "endObject", depth });
  } else on({ type: "value", value: v, depth });
}

function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * True when `t` (up to three bytes) can start a UTF-8 sequence that more bytes complete: what a
 * streaming decoder holds back rather than replaces.
 */
function utf8Prefix(t: Uint8Array): boolean {
  if (t.length === 0) return true;
  const b = t[0];
  if (b < 0xc2 || b > 0xf4 || t.length >= (b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2)) return false;
  for (let k = 1; k < t.length; k++) {
    const c = t[k];
    let lo = 0x80;
    let hi = 0xbf;
    if (k === 1) {
      if (b === 0xe0) lo = 0xa0;
      else if (b === 0xed) hi = 0x9f;
      else if (b === 0xf0) lo = 0x90;
      else if (b === 0xf4) hi = 0x8f;
    }
    if (c < lo || c > hi) return false;
  }
  return true;
}

/** The first line feed of `s` at or after `from`, or Infinity. */
function lineFeed(s: string, from: number): number {
  const k = s.indexOf("\n", from);
  return k < 0 ? Infinity : k;
}
