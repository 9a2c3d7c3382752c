/**
 * Which characters an XML document may hold (the Char production of XML 1.0), and the searches
 * that find the first one it may not, over a whole buffer at a time.
 *
 * @module
 */
import { Failure, isWellFormed } from "../_text.ts";
import { NONE } from "./_search.ts";

// Characters outside XML's Char production, and unpaired surrogates.
const BAD_CHAR =
  // deno-lint-ignore no-control-regex
  /[\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
// The non-surrogate part of BAD_CHAR as one character class, which the regexp engine scans
// quickly; unpaired surrogates are found by String.prototype.isWellFormed.
// deno-lint-ignore no-control-regex
const BAD_CONTROL = /[\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]/;

/**
 * SUSPECT characters are those that may not be a Char: control characters, U+FFFE/U+FFFF and
 * every surrogate (a paired one is fine; the exact check decides). This sticky run of all the
 * others stops at the first of them: one character class, searched once over the buffer, not per
 * token (V8 runs a greedy loop over a class about a quarter faster than it searches for one).
 */
const UNSUSPECT_RUN = /[\t\n\x20-\uD7FF\uE000-\uFFFD]*/y;
/** The control characters among SUSPECT (a carriage return included: see Tokenizer.append). */
// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x08\x0B-\x1F]/g;

/**
 * Whether String.prototype.isWellFormed is much faster than a regexp scan (engines that
 * vectorise it), decided once, timing both on a sample, by the first large document. Then the
 * non-Chars are searched as control characters by a narrower (faster) regexp, U+FFFE/U+FFFF by
 * indexOf, and unpaired surrogates are ruled out per appended text by isWellFormed. Both ways
 * find the same characters; only the time differs.
 */
let fastWellFormed: boolean | undefined;

function probeWellFormed(): boolean {
  if (typeof (String.prototype as { isWellFormed?: unknown }).isWellFormed !== "function") {
    return false;
  }
  const sample = "\u0100a".repeat(1 << 15);
  isWellFormed(sample);
  CONTROL.lastIndex = 0;
  CONTROL.test(sample);
  const t0 = performance.now();
  for (let k = 0; k < 4; k++) isWellFormed(sample);
  const t1 = performance.now();
  for (let k = 0; k < 4; k++) {
    CONTROL.lastIndex = 0;
    CONTROL.test(sample);
  }
  const t2 = performance.now();
  return (t1 - t0) * 4 < t2 - t1;
}

/**
 * True when non-Chars are best searched the split way (see fastWellFormed): decided once, by the
 * first text of at least 64 Ki characters; false until then.
 */
export function splitSearch(length: number): boolean {
  if (fastWellFormed === undefined && length >= 65536) fastWellFormed = probeWellFormed();
  return fastWellFormed === true;
}

/**
 * The first character of `buf` at or after `from` that may not be a Char, or NONE. With `split`
 * (the text was checked for unpaired surrogates as it came), control characters and
 * U+FFFE/U+FFFF only; else any of SUSPECT (every surrogate too: the exact check decides).
 */
export function firstSuspect(buf: string, from: number, split: boolean): number {
  if (split) {
    CONTROL.lastIndex = from;
    let r = CONTROL.test(buf) ? CONTROL.lastIndex - 1 : NONE;
    let f = buf.indexOf("\uFFFE", from);
    if (f >= 0 && f < r) r = f;
    f = buf.indexOf("\uFFFF", from);
    if (f >= 0 && f < r) r = f;
    return r;
  }
  UNSUSPECT_RUN.lastIndex = from;
  UNSUSPECT_RUN.test(buf);
  const end = UNSUSPECT_RUN.lastIndex;
  return end < buf.length ? end : NONE;
}

/** Checks that `s`, found at offset `at`, holds only Chars; fails at the first that is not. */
export function checkChars(s: string, at: number): void {
  if (!BAD_CONTROL.test(s) && isWellFormed(s)) return;
  const m = BAD_CHAR.exec(s);
  if (m) {
    throw new Failure(
      "InvalidCharacter",
      `character U+${
        s.charCodeAt(m.index).toString(16).toUpperCase().padStart(4, "0")
      } not allowed`,
      at + m.index,
    );
  }
}
