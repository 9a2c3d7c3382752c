/**
 * The fast path of `parseJson`: the engine's `JSON.parse` (strict RFC 8259) builds the value
 * once a structural pre-pass (large input) or a walk of the result (small input) proves the
 * limits hold. Anything unusual falls through to the exact parser.
 *
 * @module
 */
import type { JsonLimits, JsonParseOptions, JsonValue } from "./json_types.ts";
import { isWellFormed } from "./_text.ts";

const depthCounts: Int32Array[] = [];

/** Inputs up to this many code units are limit-checked after the engine's parse. */
const POST_CHECK_MAX = 4 * 1024 * 1024;

/**
 * The index of the quote that ends the string whose text runs from `from` (a quote after an even
 * run of backslashes; an escaped one has an odd run), or -1.
 */
function closingQuote(text: string, from: number): number {
  let j = text.indexOf('"', from);
  while (j >= 0) {
    let k = j - 1;
    while (text.charCodeAt(k) === 92) k--;
    if (((j - k) & 1) === 1) return j;
    j = text.indexOf('"', j + 1);
  }
  return -1;
}

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
      const j = closingQuote(text, i + 1);
      if (j < 0) return false;
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

/** True when the options leave the engine's JSON.parse fit to build the value. */
export function engineCanParse(opts: JsonParseOptions): boolean {
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
 * True when an object key of `text` holds an escape. The engine's JSON.parse in V8 15 (Deno
 * 2.9.6) can give such a key the spelling of an earlier key with an escaped backslash at the same
 * place (`{"x":1,"\\":2}` then `{"x":1,"\"":2}` yields the key `\`): those inputs go to the
 * exact parser. Only strings holding a backslash are looked at, each once: about 5% of
 * JSON.parse's time on twitter.json, whose strings are full of escapes.
 */
function hasEscapedKey(text: string): boolean {
  let from = 0;
  for (;;) {
    const slash = text.indexOf("\\", from);
    if (slash < 0) return false;
    const j = closingQuote(text, slash + 1);
    if (j < 0) return false;
    let next = j + 1;
    for (let c = text.charCodeAt(next); c === 32 || c === 10 || c === 13 || c === 9;) {
      c = text.charCodeAt(++next);
    }
    if (text.charCodeAt(next) === 58) return true; // a ':' after it: the string is a key
    from = j + 1;
  }
}

/**
 * The engine's parse of `text` when it is valid JSON within the limits (and free of lone
 * surrogates when asked), else undefined: the exact parser then decides and positions the error.
 */
export function engineParse(
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
  if (hasEscapedKey(text)) return undefined;
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
