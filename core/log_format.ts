/**
 * The two renderings of a log record: one JSON line (`formatJson`) or one
 * readable text line (`formatText`).
 *
 * @example
 * ```ts
 * import { formatJson, formatText } from "./log_format.ts";
 * const record = { time: 0, level: "info" as const, message: "hi", fields: { a: 1 } };
 * console.log(formatJson(record)); // {"time":0,"level":"info","message":"hi","a":1}
 * console.log(formatText(record)); // 1970-01-01T00:00:00.000Z INFO  hi a=1
 * ```
 *
 * @module
 */
import {
  type LogFields,
  type LogFormat,
  LoggerError,
  type LogLevel,
  type LogRecord,
} from "./log_types.ts";
import { fieldsJson, Record_, safeStringify } from "./_log_record.ts";

/**
 * Renders a record as one JSON line (with the trailing newline):
 * `{"time":1732550000000,"level":"info","message":"hi","k":1}`.
 *
 * @example
 * ```ts
 * import { formatJson } from "./log_format.ts";
 * const line = formatJson({ time: 0, level: "info", message: "hi", fields: { a: 1 } });
 * console.log(line); // {"time":0,"level":"info","message":"hi","a":1}\n
 * ```
 */
export function formatJson(record: LogRecord): string {
  let rest: string;
  if (record instanceof Record_) {
    rest = record.bound.json;
    if (record.own !== undefined) {
      const own = fieldsJson(record.own);
      if (own) rest += "," + own;
    }
  } else {
    const all = fieldsJson(record.fields as LogFields);
    rest = all ? "," + all : "";
  }
  return `{"time":${record.time},"level":"${record.level}","message":${
    JSON.stringify(record.message)
  }${rest}}\n`;
}

const TEXT_LEVELS: Record<LogLevel, string> = {
  trace: "TRACE",
  debug: "DEBUG",
  info: "INFO ",
  warn: "WARN ",
  error: "ERROR",
  fatal: "FATAL",
};

function textValue(v: unknown): string {
  if (typeof v === "string") return /^[\w.:/@+-]*$/.test(v) && v !== "" ? v : JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean" || v === null) return String(v);
  return safeStringify(v);
}

/**
 * Renders a record as one readable line: ISO time, level, message (newlines
 * escaped, so a record is always one line) and `key=value` fields.
 *
 * @example
 * ```ts
 * import { formatText } from "./log_format.ts";
 * console.log(formatText({ time: 0, level: "warn", message: "disk low", fields: { free: 3 } }));
 * // 1970-01-01T00:00:00.000Z WARN  disk low free=3
 * ```
 */
export function formatText(record: LogRecord): string {
  let line = `${new Date(record.time).toISOString()} ${TEXT_LEVELS[record.level]} ${
    record.message.replace(/\r?\n|\r/g, "\\n")
  }`;
  const fields = record.fields;
  for (const key in fields) line += ` ${key}=${textValue(fields[key])}`;
  return line + "\n";
}

/** The renderer named by `format` (JSON when absent); throws `InvalidOption` for another name. */
export function formatter(format: LogFormat | undefined): (record: LogRecord) => string {
  if (format === undefined || format === "json") return formatJson;
  if (format === "text") return formatText;
  throw new LoggerError("InvalidOption", `unknown log format ${JSON.stringify(format)}`);
}
