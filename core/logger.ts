/**
 * Structured logging: levels, child loggers with bound fields, JSON-lines or
 * text output, a console sink, a batched file sink with rotation by size and
 * by day, and external handlers that see every record (the seed's external
 * logger hook).
 *
 * The file sink never writes per record: records are formatted into an
 * in-memory batch that is written outside the logging call (a short timer),
 * in one large write. The batch is bounded (`maxBufferBytes`); when a
 * producer never yields and the batch fills up, the `overflow` policy
 * decides: `"block"` (the default) writes the batch out synchronously inside
 * that logging call, so nothing is lost and memory stays bounded;
 * `"drop"` discards new records and counts them (`getStats().dropped`),
 * writing a notice line once there is room again.
 *
 * @example
 * ```ts
 * import { Logger, FileSink } from "./logger.ts";
 * const logger = new Logger({ level: "debug", sinks: [new FileSink({ path: "/tmp/app.log" })] });
 * const requests = logger.child({ component: "http" });
 * requests.info("request served", { status: 200, ms: 3.2 });
 * await logger.close();
 * ```
 *
 * @module
 */
import { IoraError } from "./errors.ts";
import { platform } from "./platform/mod.ts";
import type { FileHandle } from "./platform/mod.ts";
import { timerDelay } from "./_timer_delay.ts";

/** A log level, from the most verbose to the most severe. */
export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal";

/** A logger's threshold: a level, or `"off"` to log nothing. */
export type LogThreshold = LogLevel | "off";

/** The numeric weight of each level (and of `"off"`), for comparisons. */
export const LOG_LEVELS: Readonly<Record<LogThreshold, number>> = Object.freeze({
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  off: Infinity,
});

/** Structured fields attached to a record. Values should be JSON-serialisable. */
export type LogFields = Record<string, unknown>;

/** One log record, as sinks and external handlers receive it. */
export interface LogRecord {
  /** When the record was made, in milliseconds since the epoch. */
  readonly time: number;
  /** Its level. */
  readonly level: LogLevel;
  /** The message. */
  readonly message: string;
  /** The logger's bound fields merged with the call's fields (the call's win). */
  readonly fields: Readonly<LogFields>;
}

/** How records are rendered into lines. */
export type LogFormat = "json" | "text";

/** Where records go. A sink must not throw; if it does, the logger reports it once and goes on. */
export interface LogSink {
  /** Receives one record. Must return quickly: no I/O per record. */
  write(record: LogRecord): void;
  /** Resolves once every record received so far is durable (on disk for files). */
  flush?(): Promise<void>;
  /** Flushes and releases the sink's resources. */
  close?(): Promise<void>;
}

/** Thrown for a bad logger configuration (never from a logging call). */
export class LoggerError extends IoraError {
  /**
   * Creates a logger configuration error.
   *
   * @param code `"InvalidOption"` or `"Closed"`
   * @param message what is wrong
   * @param options standard error options (`cause`)
   */
  constructor(code: "InvalidOption" | "Closed", message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}

interface Bound {
  readonly fields: LogFields;
  // `,"k":v` pairs, serialised once per child logger so each record pays nothing for them.
  readonly json: string;
  readonly keys: number;
}

const EMPTY_BOUND: Bound = { fields: {}, json: "", keys: 0 };

// Concrete record: merges the bound and call fields only when someone asks for `fields`.
class Record_ implements LogRecord {
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
function safeStringify(value: unknown): string {
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
function fieldsJson(fields: LogFields): string {
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

function makeBound(parent: Bound, extra: LogFields): Bound {
  const fields = { ...parent.fields, ...extra };
  const json = fieldsJson(fields);
  return { fields, json: json ? "," + json : "", keys: Object.keys(fields).length };
}

/**
 * Renders a record as one JSON line (with the trailing newline):
 * `{"time":1732550000000,"level":"info","message":"hi","k":1}`.
 *
 * @example
 * ```ts
 * import { formatJson } from "./logger.ts";
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
 * import { formatText } from "./logger.ts";
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

function formatter(format: LogFormat | undefined): (record: LogRecord) => string {
  if (format === undefined || format === "json") return formatJson;
  if (format === "text") return formatText;
  throw new LoggerError("InvalidOption", `unknown log format ${JSON.stringify(format)}`);
}

const encoder = new TextEncoder();
const reportedSinks = new WeakSet<object>();

/** Writes a one-time notice about a failing sink to stderr; never throws. */
function reportOnce(sink: object, what: string, error: unknown): void {
  if (reportedSinks.has(sink)) return;
  reportedSinks.add(sink);
  try {
    const reason = error instanceof Error ? error.message : String(error);
    platform().writeStderr(
      encoder.encode(`iora logger: ${what} failed (reported once): ${reason}\n`),
    );
  } catch { /* stderr itself is gone: nothing left to tell */ }
}

/** Options of {@linkcode ConsoleSink}. */
export interface ConsoleSinkOptions {
  /** `"text"` (the default) or `"json"`. */
  format?: LogFormat;
}

/**
 * Writes each record to standard error at once (unbuffered, so a crash
 * loses nothing). Meant for development and modest volumes; use
 * {@linkcode FileSink} for throughput.
 *
 * @example
 * ```ts
 * import { ConsoleSink, Logger } from "./logger.ts";
 * const logger = new Logger({ sinks: [new ConsoleSink({ format: "json" })] });
 * logger.warn("careful");
 * ```
 */
export class ConsoleSink implements LogSink {
  #format: (record: LogRecord) => string;

  /**
   * Creates a console sink.
   *
   * @param options output format
   */
  constructor(options: ConsoleSinkOptions = {}) {
    this.#format = formatter(options.format ?? "text");
  }

  /** Writes one record to stderr. */
  write(record: LogRecord): void {
    platform().writeStderr(encoder.encode(this.#format(record)));
  }
}

/**
 * Calls a function with every record: the seed's external logger hook, for
 * forwarding records to another system. The function should be quick; if it
 * throws, the failure is reported once and later records still arrive.
 *
 * @example
 * ```ts
 * import { HandlerSink, Logger } from "./logger.ts";
 * const seen: string[] = [];
 * const logger = new Logger({ sinks: [new HandlerSink((r) => seen.push(r.message))] });
 * logger.info("forwarded");
 * ```
 */
export class HandlerSink implements LogSink {
  #handler: (record: LogRecord) => void;

  /**
   * Creates a sink around a handler.
   *
   * @param handler receives each record
   */
  constructor(handler: (record: LogRecord) => void) {
    this.#handler = handler;
  }

  /** Passes the record on. */
  write(record: LogRecord): void {
    this.#handler(record);
  }
}

/** When the file sink starts a new file. */
export interface RotationOptions {
  /** Start a new file before the current one would exceed this many bytes. */
  maxBytes?: number;
  /** Start a new file when the (UTC) day changes. */
  daily?: boolean;
  /** How many rotated files to keep (`app.log.1` newest ... `app.log.N`); default 5. */
  retain?: number;
}

/** What to do when the in-memory batch is full because the disk, or the event loop, is behind. */
export type OverflowPolicy = "block" | "drop";

/** Options of {@linkcode FileSink}. */
export interface FileSinkOptions {
  /** The log file; its directory must exist. */
  path: string;
  /** `"json"` (the default) or `"text"`. */
  format?: LogFormat;
  /** How long a record may wait in memory before the batch is written; default 25 ms; `Infinity`: only a full batch, `flush()` and `close()` write. */
  flushIntervalMs?: number;
  /** The bound of the in-memory batch, in UTF-16 code units (about bytes); default 1 MiB. */
  maxBufferBytes?: number;
  /** `"block"` (default): a full batch is written synchronously by the logging call. `"drop"`: new records are discarded and counted. */
  overflow?: OverflowPolicy;
  /** Rotation by size and/or day, with retention. */
  rotation?: RotationOptions;
  /** Permission bits of created files; default `0o644`. */
  mode?: number;
}

/** Counters of a {@linkcode FileSink}. */
export interface FileSinkStats {
  /** Records written to the file. */
  written: number;
  /** Bytes written to the file. */
  bytes: number;
  /** Records discarded by the `"drop"` policy or after `close()`. */
  dropped: number;
  /** Records lost because a write failed. */
  failed: number;
  /** Files rotated. */
  rotations: number;
  /** Synchronous writes forced by a full batch (the `"block"` policy at work). */
  blockingWrites: number;
}

const DAY_MS = 86_400_000;

/**
 * A log file with batched writes and rotation. `flush()` and `close()`
 * guarantee that every record received before them is written and fsynced.
 * Rotation renames `app.log` to `app.log.1` (shifting older ones up to
 * `retain`) exactly between two records, so a record is never lost or
 * written twice across a rotation.
 *
 * @example
 * ```ts
 * import { FileSink, Logger } from "./logger.ts";
 * const sink = new FileSink({
 *   path: "/tmp/service.log",
 *   rotation: { maxBytes: 10_000_000, daily: true, retain: 7 },
 * });
 * const logger = new Logger({ sinks: [sink] });
 * logger.info("started", { port: 8080 });
 * await logger.close();
 * ```
 */
export class FileSink implements LogSink {
  /** The log file's path. */
  readonly path: string;
  #format: (record: LogRecord) => string;
  #interval: number;
  #maxBuffer: number;
  #overflow: OverflowPolicy;
  #maxBytes: number;
  #daily: boolean;
  #retain: number;
  #mode: number;
  // One formatted line per buffered record.
  #chunks: string[] = [];
  #buffered = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #handle: FileHandle | undefined;
  #size = 0;
  #dayEnd = Infinity;
  #closed = false;
  #droppedSinceNotice = 0;
  #stats: FileSinkStats = FileSink.#zero();

  static #zero(): FileSinkStats {
    return { written: 0, bytes: 0, dropped: 0, failed: 0, rotations: 0, blockingWrites: 0 };
  }

  /**
   * Opens (creating when missing, appending otherwise) the log file.
   *
   * @param options file, format, batching, overflow policy and rotation
   */
  constructor(options: FileSinkOptions) {
    if (!options || typeof options.path !== "string" || options.path === "") {
      throw new LoggerError("InvalidOption", "FileSink needs a non-empty path");
    }
    this.path = options.path;
    this.#format = formatter(options.format);
    this.#interval = positive(options.flushIntervalMs, 25, "flushIntervalMs", true);
    this.#maxBuffer = positive(options.maxBufferBytes, 1 << 20, "maxBufferBytes");
    this.#overflow = options.overflow ?? "block";
    if (this.#overflow !== "block" && this.#overflow !== "drop") {
      throw new LoggerError("InvalidOption", `unknown overflow policy ${String(this.#overflow)}`);
    }
    const rotation = options.rotation ?? {};
    this.#maxBytes = positive(rotation.maxBytes, Infinity, "rotation.maxBytes");
    this.#daily = rotation.daily ?? false;
    this.#retain = rotation.retain ?? 5;
    if (!Number.isInteger(this.#retain) || this.#retain < 0) {
      throw new LoggerError("InvalidOption", "rotation.retain must be an integer >= 0");
    }
    this.#mode = options.mode ?? 0o644;
    // Opening now makes a bad path a constructor error instead of a silent loss later.
    this.#open();
  }

  /** Counters since creation or the last `resetStats()`. */
  getStats(): FileSinkStats {
    return { ...this.#stats };
  }

  /** Zeroes the counters. */
  resetStats(): void {
    this.#stats = FileSink.#zero();
  }

  /** Queues one record; writes happen in batches, outside this call unless the batch is full. */
  write(record: LogRecord): void {
    if (this.#closed) {
      this.#stats.dropped++;
      return;
    }
    if (record.time >= this.#dayEnd) {
      // Once a day: everything before midnight goes to the old file, then a new one starts.
      this.#drain();
      this.#rotate();
      // From the record's time: it says which day this file holds.
      this.#dayEnd = (Math.floor(record.time / DAY_MS) + 1) * DAY_MS;
    }
    if (this.#buffered >= this.#maxBuffer) {
      if (this.#overflow === "drop") {
        this.#stats.dropped++;
        this.#droppedSinceNotice++;
        return;
      }
      this.#stats.blockingWrites++;
      this.#drain();
    }
    const line = this.#format(record);
    this.#chunks.push(line);
    this.#buffered += line.length;
    if (this.#timer === undefined && this.#interval !== Infinity) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#drain();
      }, timerDelay(this.#interval));
    }
  }

  /** Writes the batch and fsyncs the file. */
  async flush(): Promise<void> {
    this.#drain();
    const handle = this.#handle;
    if (handle) {
      try {
        await handle.sync();
      } catch (error) {
        reportOnce(this, `log file ${this.path} (fsync)`, error);
      }
    }
  }

  /** Flushes, closes the file and drops (counting) any later record. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.flush();
    this.#closed = true;
    // Records received while the fsync ran: written now, or a pending batch timer would
    // reopen the file after close and leave that handle open.
    if (this.#chunks.length > 0 || this.#droppedSinceNotice > 0) await this.flush();
    const handle = this.#handle;
    this.#handle = undefined;
    await handle?.close();
  }

  #open(truncate = false): void {
    const p = platform();
    this.#handle = p.openSync(this.path, {
      write: true,
      create: true,
      append: !truncate,
      truncate,
      mode: this.#mode,
    });
    let info;
    try {
      info = p.statSync(this.path);
    } catch {
      info = { size: 0, mtimeMs: null };
    }
    this.#size = truncate ? 0 : info.size;
    if (this.#daily) {
      // An existing file from an earlier day is rotated on the first record of today.
      const start = info.size > 0 && info.mtimeMs !== null ? info.mtimeMs : Date.now();
      this.#dayEnd = (Math.floor(start / DAY_MS) + 1) * DAY_MS;
    }
  }

  #drain(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#chunks.length === 0 && this.#droppedSinceNotice === 0) return;
    let text = this.#chunks.length === 1 ? this.#chunks[0] : this.#chunks.join("");
    const records = this.#chunks.length;
    this.#chunks = [];
    this.#buffered = 0;
    if (this.#droppedSinceNotice > 0) {
      text += formatJson(
        new Record_(Date.now(), "warn", "log records dropped: the batch was full", EMPTY_BOUND, {
          dropped: this.#droppedSinceNotice,
        }),
      );
      this.#droppedSinceNotice = 0;
    }
    const data = encoder.encode(text);
    try {
      this.#writeRotating(data);
      this.#stats.written += records;
    } catch (error) {
      this.#stats.failed += records;
      reportOnce(this, `log file ${this.path}`, error);
    }
  }

  #writeRotating(data: Uint8Array): void {
    let pos = 0;
    while (pos < data.length) {
      if (!this.#handle) this.#open();
      const room = this.#maxBytes - this.#size;
      let end = data.length;
      if (end - pos > room) {
        // Cut after the last whole line that fits, so each line lands in exactly one file.
        const cut = room > 0 ? data.subarray(pos, pos + room).lastIndexOf(10) : -1;
        if (cut >= 0) end = pos + cut + 1;
        else if (this.#size > 0) {
          this.#rotate();
          continue;
        } else {
          // A single line longer than maxBytes: write it whole into a fresh file.
          const nl = data.indexOf(10, pos);
          end = nl < 0 ? data.length : nl + 1;
        }
      }
      const n = this.#handle!.writeSync(data.subarray(pos, end));
      this.#size += n;
      this.#stats.bytes += n;
      pos = end;
      if (pos < data.length) this.#rotate();
    }
  }

  #rotate(): void {
    const p = platform();
    const handle = this.#handle;
    this.#handle = undefined;
    // Every write so far was synchronous, so closing here cannot lose data.
    handle?.close().catch(() => {});
    if (this.#retain > 0) {
      for (let i = this.#retain - 1; i >= 1; i--) {
        try {
          p.renameSync(`${this.path}.${i}`, `${this.path}.${i + 1}`);
        } catch { /* that generation does not exist yet */ }
      }
      try {
        p.renameSync(this.path, `${this.path}.1`);
      } catch (error) {
        // Someone removed the live file: there is nothing to keep, start afresh.
        if ((error as { code?: string }).code !== "NotFound") throw error;
      }
    }
    this.#stats.rotations++;
    // A rotation by size keeps the day; a daily one is given the new day by write().
    const dayEnd = this.#dayEnd;
    this.#open(true);
    this.#dayEnd = dayEnd;
  }
}

function positive(
  value: number | undefined,
  fallback: number,
  name: string,
  allowZero = false,
): number {
  if (value === undefined) return fallback;
  if (
    typeof value !== "number" || Number.isNaN(value) || value < 0 || (!allowZero && value === 0)
  ) {
    throw new LoggerError("InvalidOption", `${name} must be a positive number, got ${value}`);
  }
  return value;
}

/** Options of {@linkcode Logger}. */
export interface LoggerOptions {
  /** The threshold; records below it are skipped cheaply. Default `"info"`. */
  level?: LogThreshold;
  /** Where records go; default a single {@linkcode ConsoleSink}. */
  sinks?: LogSink[];
  /** Fields bound to every record of this logger. */
  fields?: LogFields;
}

/** Counters of a {@linkcode Logger} (shared with its children). */
export interface LoggerStats {
  /** Records per level that passed the threshold. */
  logged: Record<LogLevel, number>;
  /** Sink calls that threw (each failing sink is also reported once on stderr). */
  sinkErrors: number;
}

interface Core {
  threshold: number;
  level: LogThreshold;
  sinks: LogSink[];
  stats: LoggerStats;
  closed: boolean;
}

function zeroStats(): LoggerStats {
  return {
    logged: { trace: 0, debug: 0, info: 0, warn: 0, error: 0, fatal: 0 },
    sinkErrors: 0,
  };
}

function checkLevel(level: LogThreshold): number {
  const n = LOG_LEVELS[level];
  if (n === undefined) throw new LoggerError("InvalidOption", `unknown log level ${String(level)}`);
  return n;
}

/**
 * A structured logger. Children made with `child(fields)` share the
 * parent's sinks, threshold and counters and add bound fields. Logging
 * never throws: a failing sink is reported once on stderr.
 *
 * @example
 * ```ts
 * import { HandlerSink, Logger } from "./logger.ts";
 * const logger = new Logger({ level: "debug", sinks: [new HandlerSink((r) => console.log(r))] });
 * const db = logger.child({ component: "db" });
 * db.debug("query", { sql: "select 1", ms: 0.4 });
 * await logger.close();
 * ```
 */
export class Logger implements AsyncDisposable {
  #core: Core;
  #bound: Bound;

  /**
   * Creates a root logger.
   *
   * @param options threshold, sinks and bound fields
   */
  constructor(options: LoggerOptions = {}) {
    const level = options.level ?? "info";
    this.#core = {
      threshold: checkLevel(level),
      level,
      sinks: options.sinks ? [...options.sinks] : [new ConsoleSink()],
      stats: zeroStats(),
      closed: false,
    };
    this.#bound = options.fields ? makeBound(EMPTY_BOUND, options.fields) : EMPTY_BOUND;
  }

  /** A logger sharing this one's sinks and threshold, with `fields` bound to each record. */
  child(fields: LogFields): Logger {
    const child = new Logger({ sinks: [] });
    child.#core = this.#core;
    child.#bound = makeBound(this.#bound, fields);
    return child;
  }

  /** The fields bound to this logger's records. */
  get boundFields(): Readonly<LogFields> {
    return this.#bound.fields;
  }

  /** The current threshold (shared with parent and children). */
  get level(): LogThreshold {
    return this.#core.level;
  }

  /** Changes the threshold for this logger, its parent and its children. */
  setLevel(level: LogThreshold): void {
    this.#core.threshold = checkLevel(level);
    this.#core.level = level;
  }

  /** True when records at `level` would be logged: guard expensive field building with it. */
  isLevelEnabled(level: LogLevel): boolean {
    return LOG_LEVELS[level] >= this.#core.threshold;
  }

  /** Adds a sink; returns a function that removes it. */
  addSink(sink: LogSink): () => void {
    this.#core.sinks = [...this.#core.sinks, sink];
    return () => {
      this.#core.sinks = this.#core.sinks.filter((s) => s !== sink);
    };
  }

  /** Adds an external handler that receives every record; returns a function that removes it. */
  addHandler(handler: (record: LogRecord) => void): () => void {
    return this.addSink(new HandlerSink(handler));
  }

  /** Logs at `level`. */
  log(level: LogLevel, message: string, fields?: LogFields): void {
    const weight = LOG_LEVELS[level];
    if (weight === undefined || weight < this.#core.threshold) return;
    this.#emit(level, message, fields);
  }

  /** Logs at trace level. */
  trace(message: string, fields?: LogFields): void {
    if (10 >= this.#core.threshold) this.#emit("trace", message, fields);
  }

  /** Logs at debug level. */
  debug(message: string, fields?: LogFields): void {
    if (20 >= this.#core.threshold) this.#emit("debug", message, fields);
  }

  /** Logs at info level. */
  info(message: string, fields?: LogFields): void {
    if (30 >= this.#core.threshold) this.#emit("info", message, fields);
  }

  /** Logs at warn level. */
  warn(message: string, fields?: LogFields): void {
    if (40 >= this.#core.threshold) this.#emit("warn", message, fields);
  }

  /** Logs at error level. */
  error(message: string, fields?: LogFields): void {
    if (50 >= this.#core.threshold) this.#emit("error", message, fields);
  }

  /** Logs at fatal level. */
  fatal(message: string, fields?: LogFields): void {
    if (60 >= this.#core.threshold) this.#emit("fatal", message, fields);
  }

  #emit(level: LogLevel, message: unknown, fields: LogFields | undefined): void {
    const core = this.#core;
    core.stats.logged[level]++;
    const text = typeof message === "string" ? message : String(message);
    const own = fields !== undefined && fields !== null && typeof fields === "object"
      ? fields
      : undefined;
    const record = new Record_(Date.now(), level, text, this.#bound, own);
    const sinks = core.sinks;
    for (let i = 0; i < sinks.length; i++) {
      try {
        sinks[i].write(record);
      } catch (error) {
        core.stats.sinkErrors++;
        reportOnce(sinks[i], `log sink ${sinks[i].constructor?.name ?? "sink"}`, error);
      }
    }
  }

  /** Counters shared by this logger's family. */
  getStats(): LoggerStats {
    const s = this.#core.stats;
    return { logged: { ...s.logged }, sinkErrors: s.sinkErrors };
  }

  /** Zeroes the counters. */
  resetStats(): void {
    this.#core.stats = zeroStats();
  }

  /** Resolves once every record logged before the call is durable in every sink. */
  async flush(): Promise<void> {
    await Promise.all(this.#core.sinks.map(async (sink) => {
      try {
        await sink.flush?.();
      } catch (error) {
        reportOnce(sink, "log sink flush", error);
      }
    }));
  }

  /** Flushes and closes every sink (for the whole family). Later records are dropped by the sinks. */
  async close(): Promise<void> {
    if (this.#core.closed) return;
    this.#core.closed = true;
    await Promise.all(this.#core.sinks.map(async (sink) => {
      try {
        await (sink.close ? sink.close() : sink.flush?.());
      } catch (error) {
        reportOnce(sink, "log sink close", error);
      }
    }));
  }

  /** Same as {@linkcode Logger.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function envLevel(): LogThreshold {
  let value: string | undefined;
  try {
    value = platform().getEnv("IORA_LOG_LEVEL")?.toLowerCase();
  } catch { /* no env permission: use the default */ }
  return value !== undefined && value in LOG_LEVELS ? value as LogThreshold : "info";
}

let defaultLoggerInstance: Logger | undefined;

/**
 * The process-wide logger: text to stderr at the level named by the
 * `IORA_LOG_LEVEL` environment variable (default `info`), unless replaced
 * with {@linkcode setDefaultLogger}.
 *
 * @example
 * ```ts
 * import { defaultLogger } from "./logger.ts";
 * defaultLogger().info("hello");
 * ```
 */
export function defaultLogger(): Logger {
  defaultLoggerInstance ??= new Logger({ level: envLevel() });
  return defaultLoggerInstance;
}

/**
 * Replaces the process-wide logger; returns the previous one.
 *
 * @example
 * ```ts
 * import { FileSink, Logger, setDefaultLogger } from "./logger.ts";
 * setDefaultLogger(new Logger({ sinks: [new FileSink({ path: "/tmp/iora.log" })] }));
 * ```
 */
export function setDefaultLogger(logger: Logger): Logger {
  const previous = defaultLogger();
  defaultLoggerInstance = logger;
  return previous;
}

/** The shape of {@linkcode log}: one function per level, writing to the default logger. */
export interface LogFunctions {
  /** Logs at trace level to the default logger. */
  trace(message: string, fields?: LogFields): void;
  /** Logs at debug level to the default logger. */
  debug(message: string, fields?: LogFields): void;
  /** Logs at info level to the default logger. */
  info(message: string, fields?: LogFields): void;
  /** Logs at warn level to the default logger. */
  warn(message: string, fields?: LogFields): void;
  /** Logs at error level to the default logger. */
  error(message: string, fields?: LogFields): void;
  /** Logs at fatal level to the default logger. */
  fatal(message: string, fields?: LogFields): void;
}

/**
 * Shorthands in the spirit of the seed's `IORA_LOG_*` macros, always
 * writing to the current default logger.
 *
 * @example
 * ```ts
 * import { log } from "./logger.ts";
 * log.info("listening", { port: 8080 });
 * log.error("request failed", { error: new Error("boom") });
 * ```
 */
export const log: LogFunctions = Object.freeze({
  trace: (message: string, fields?: LogFields) => defaultLogger().trace(message, fields),
  debug: (message: string, fields?: LogFields) => defaultLogger().debug(message, fields),
  info: (message: string, fields?: LogFields) => defaultLogger().info(message, fields),
  warn: (message: string, fields?: LogFields) => defaultLogger().warn(message, fields),
  error: (message: string, fields?: LogFields) => defaultLogger().error(message, fields),
  fatal: (message: string, fields?: LogFields) => defaultLogger().fatal(message, fields),
});
