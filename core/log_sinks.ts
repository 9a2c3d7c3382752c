/**
 * The simple log sinks: `ConsoleSink` (standard error, unbuffered) and
 * `HandlerSink` (a function that sees every record, the seed's external
 * logger hook). The batched file sink is in `file_sink.ts`.
 *
 * @example
 * ```ts
 * import { ConsoleSink, HandlerSink } from "./log_sinks.ts";
 * import { Logger } from "./logger.ts";
 * const logger = new Logger({ sinks: [new ConsoleSink(), new HandlerSink((r) => r.message)] });
 * logger.info("to stderr and to the handler");
 * ```
 *
 * @module
 */
import { platform } from "./platform/mod.ts";
import type { LogFormat, LogRecord, LogSink } from "./log_types.ts";
import { formatter } from "./log_format.ts";
import { encoder } from "./_log_record.ts";

/** Options of {@linkcode ConsoleSink}. */
export interface ConsoleSinkOptions {
  /**
   * `"text"` (the default) or `"json"`.
   *
   * @default {"text"}
   */
  format?: LogFormat;
}

/**
 * Writes each record to standard error at once (unbuffered, so a crash
 * loses nothing). Meant for development and modest volumes; use
 * `FileSink` for throughput.
 *
 * @example
 * ```ts
 * import { ConsoleSink } from "./log_sinks.ts";
 * import { Logger } from "./logger.ts";
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
 * import { HandlerSink } from "./log_sinks.ts";
 * import { Logger } from "./logger.ts";
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
