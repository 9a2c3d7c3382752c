/**
 * The logger's own record: bound fields serialised once per child logger,
 * call fields merged only when someone asks. `formatJson` writes it without
 * merging. Also the one-time stderr report of a failing sink.
 *
 * @module
 */
import { platform } from "./platform/mod.ts";
import type { LogFields, LogLevel, LogRecord } from "./log_types.ts";

/** Fields bound to a logger, with their JSON written once. */
export interface Bound {
  readonly fields: LogFields;
  // `,"k":v` pairs, serialised once per child logger so each record pays nothing for them.
  readonly json: string;
  readonly keys: number;
}

/** No bound fields. */
export const EMPTY_BOUND: Bound = { fields: {}, json: "", keys: 0 };

/** Concrete record: merges the bound and call fields only when someone asks for `fields`. */
export class Record_ implements LogRecord {
  readonly time: number;
  readonly level: LogLevel;
  readonly message: string;
  readonly bound: Bound;
  readonly own: LogFields | undefined;
  #merged: LogFields | undefined;

  constructor(time: number, level: LogLevel, message: string, bound: Bound, own?: LogFields) {
    this.time = time;
    this.level = level;
    this.message = message;
    this.bound = bound;
    this.own = own;
  }

  get fields(): Readonly<LogFields> {
    if (this.#merged === undefined) {
      this.#merged = this.own === undefined
        ? this.bound.fields
        : this.bound.keys === 0
        ? this.own
        : { ...this.bound.fields, ...this.own };
    }
    return this.#merged;
  }
}

function errorToJson(error: Error): LogFields {
  const out: LogFields = { name: error.name, message: error.message };
  if (error.stack) out.stack = error.stack;
  const code = (error as { code?: unknown }).code;
  if (code !== undefined) out.code = code;
  return out;
}

// Never throws: bigints become strings, cycles become "[Circular]", errors keep their message.
export function safeStringify(value: unknown): string {
  const seen = new WeakSet<object>();
  try {
    return JSON.stringify(value, (_key, v: unknown) => {
      if (typeof v === "bigint") return v.toString();
      if (v instanceof Error) return errorToJson(v);
      if (typeof v === "object" && v !== null) {
        if (seen.has(v)) return "[Circular]";
        seen.add(v);
      }
      return v;
    }) ?? "null";
  } catch (error) {
    return JSON.stringify(`[unserialisable: ${(error as Error).message}]`);
  }
}

function needsSafe(fields: LogFields): boolean {
  for (const key in fields) {
    const v = fields[key];
    if (typeof v === "bigint" || v instanceof Error) return true;
  }
  return false;
}

/** `"k":v,"k2":v2` (no braces), or "" when empty. */
export function fieldsJson(fields: LogFields): string {
  let json: string;
  if (needsSafe(fields)) json = safeStringify(fields);
  else {
    try {
      json = JSON.stringify(fields);
    } catch {
      json = safeStringify(fields);
    }
  }
  return json.length > 2 ? json.slice(1, -1) : "";
}

/** `parent`'s fields with `extra` over them. */
export function makeBound(parent: Bound, extra: LogFields): Bound {
  const fields = { ...parent.fields, ...extra };
  const json = fieldsJson(fields);
  return { fields, json: json ? "," + json : "", keys: Object.keys(fields).length };
}

/** The encoder of the sinks' output. */
export const encoder: TextEncoder = new TextEncoder();
const reportedSinks = new WeakSet<object>();

/** Writes a one-time notice about a failing sink to stderr; never throws. */
export function reportOnce(sink: object, what: string, error: unknown): void {
  if (reportedSinks.has(sink)) return;
  reportedSinks.add(sink);
  try {
    const reason = error instanceof Error ? error.message : String(error);
    platform().writeStderr(
      encoder.encode(`iora logger: ${what} failed (reported once): ${reason}\n`),
    );
  } catch { /* stderr itself is gone: nothing left to tell */ }
}
