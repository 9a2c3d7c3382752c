/**
 * The vocabulary of Iora's logging: levels and thresholds, records and
 * their fields, the output formats, the sink interface and the
 * configuration error.
 *
 * @example
 * ```ts
 * import { LOG_LEVELS, type LogSink } from "./log_types.ts";
 * const warnings: string[] = [];
 * const sink: LogSink = {
 *   write: (r) => void (LOG_LEVELS[r.level] >= LOG_LEVELS.warn && warnings.push(r.message)),
 * };
 * sink.write({ time: 0, level: "warn", message: "disk low", fields: {} });
 * ```
 *
 * @module
 */
import { IoraError } from "./errors.ts";

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
