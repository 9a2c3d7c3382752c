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
import { platform } from "./platform/mod.ts";
import {
  LOG_LEVELS,
  type LogFields,
  LoggerError,
  type LogLevel,
  type LogRecord,
  type LogSink,
  type LogThreshold,
} from "./log_types.ts";
import { ConsoleSink, HandlerSink } from "./log_sinks.ts";
import { type Bound, EMPTY_BOUND, makeBound, Record_, reportOnce } from "./_log_record.ts";

// The vocabulary, the formats and the sinks live in their own modules; this one re-exports
// them, as it held them before (its importers keep working).
export * from "./log_types.ts";
export { formatJson, formatText } from "./log_format.ts";
export * from "./log_sinks.ts";
export * from "./file_sink.ts";

/** Options of {@linkcode Logger}. */
export interface LoggerOptions {
  /**
   * The threshold; records below it are skipped cheaply. Default `"info"`.
   *
   * @default {"info"}
   */
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
