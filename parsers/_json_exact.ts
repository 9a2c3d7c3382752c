/**
 * The exact JSON parser: iterative (no recursion, so maxDepth is only bounded by memory),
 * checking every limit at the token that would break it; for the inputs and options the
 * engine's `JSON.parse` cannot serve, and to place the error of invalid input.
 *
 * @module
 */
import {
  type JsonLimits,
  type JsonParseErrorCode,
  type JsonParseOptions,
  JsonRawNumber,
  type JsonValue,
} from "./json_types.ts";
import { Failure, isWellFormed } from "./_text.ts";

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

/** Parses one document; throws a {@linkcode Failure} at the first problem. */
export function parseExact(text: string, limits: JsonLimits, opts: JsonParseOptions): JsonValue {
  return new ExactParser(text, limits, opts).parse();
}
