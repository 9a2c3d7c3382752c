/**
 * `stringifyJson`: JSON text from values, like `JSON.stringify` but exact for `bigint` and
 * {@linkcode JsonRawNumber}, stable with sorted keys, linear on deep nesting, and with a typed
 * error for cycles.
 *
 * @example
 * ```ts
 * import { stringifyJson } from "./json_stringify.ts";
 * console.log(stringifyJson({ b: 1n, a: [true] }, { sortKeys: true })); // {"a":[true],"b":1}
 * ```
 *
 * @module
 */
import { IoraError } from "../core/errors.ts";
import { JsonRawNumber, type JsonValue } from "./json_types.ts";

/** Options of {@linkcode stringifyJson}. */
export interface JsonStringifyOptions {
  /**
   * Spaces per level (a number, capped at 10) or the indent string itself; default compact.
   *
   * @default {""}
   */
  indent?: number | string;
  /**
   * Write object keys in code-unit order, for stable output (default false).
   *
   * @default {false}
   */
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
 * import { stringifyJson, JsonStringifyError } from "./json_stringify.ts";
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

/**
 * `s` as a JSON string literal, the same text `JSON.stringify(s)` gives (lone surrogates
 * escaped), built without the engine's call when nothing in `s` needs escaping: on Node 20
 * that call costs about 0.3 µs for 100 characters, the check and concatenation a third of it.
 *
 * @example
 * ```ts
 * import { quoteJsonString } from "./json_stringify.ts";
 * console.log(quoteJsonString('say "hi"')); // "say \"hi\""
 * ```
 */
export function quoteJsonString(s: string): string {
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
  /** `quoteJsonString(key) + colon` for each of `sorted`. */
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
    const prefixes = sorted.map((k) => quoteJsonString(k) + this.colon);
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
        this.out += quoteJsonString(v);
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
          this.out += sep + quoteJsonString(k) + ": ";
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
        return quoteJsonString(v);
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
          out += quoteJsonString(k) + ":" + s;
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
 * import { stringifyJson } from "./json_stringify.ts";
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
