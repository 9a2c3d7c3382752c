/**
 * `FileSink`: a log file with batched writes and rotation by size and by
 * day. Records are formatted into an in-memory batch that is written outside
 * the logging call (a short timer), in one large write. The batch is bounded
 * (`maxBufferBytes`); when a producer never yields and the batch fills up,
 * the `overflow` policy decides: `"block"` (the default) writes the batch out
 * synchronously inside that logging call, so nothing is lost and memory stays
 * bounded; `"drop"` discards new records and counts them
 * (`getStats().dropped`), writing a notice line once there is room again.
 *
 * @example
 * ```ts
 * import { FileSink } from "./file_sink.ts";
 * import { Logger } from "./logger.ts";
 * const logger = new Logger({ sinks: [new FileSink({ path: "/tmp/app.log" })] });
 * logger.info("started");
 * await logger.close();
 * ```
 *
 * @module
 */
import { platform } from "./platform/mod.ts";
import type { FileHandle } from "./platform/mod.ts";
import { timerDelay } from "./_timer_delay.ts";
import { type LogFormat, LoggerError, type LogRecord, type LogSink } from "./log_types.ts";
import { formatJson, formatter } from "./log_format.ts";
import { EMPTY_BOUND, encoder, Record_, reportOnce } from "./_log_record.ts";

/** When the file sink starts a new file. */
export interface RotationOptions {
  /**
   * Start a new file before the current one would exceed this many bytes.
   *
   * @default {Infinity}
   */
  maxBytes?: number;
  /**
   * Start a new file when the (UTC) day changes.
   *
   * @default {false}
   */
  daily?: boolean;
  /**
   * How many rotated files to keep (`app.log.1` newest ... `app.log.N`); default 5.
   *
   * @default {5}
   */
  retain?: number;
}

/** What to do when the in-memory batch is full because the disk, or the event loop, is behind. */
export type OverflowPolicy = "block" | "drop";

/** Options of {@linkcode FileSink}. */
export interface FileSinkOptions {
  /** The log file; its directory must exist. */
  path: string;
  /**
   * `"json"` (the default) or `"text"`.
   *
   * @default {"json"}
   */
  format?: LogFormat;
  /**
   * How long a record may wait in memory before the batch is written; default 25 ms; `Infinity`: only a full batch, `flush()` and `close()` write.
   *
   * @default {25}
   */
  flushIntervalMs?: number;
  /**
   * The bound of the in-memory batch, in UTF-16 code units (about bytes); default 1 MiB.
   *
   * @default {1048576}
   */
  maxBufferBytes?: number;
  /**
   * `"block"` (default): a full batch is written synchronously by the logging call. `"drop"`: new records are discarded and counted.
   *
   * @default {"block"}
   */
  overflow?: OverflowPolicy;
  /** Rotation by size and/or day, with retention. */
  rotation?: RotationOptions;
  /**
   * Permission bits of created files; default `0o644`.
   *
   * @default {0o644}
   */
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
 * import { FileSink } from "./file_sink.ts";
 * import { Logger } from "./logger.ts";
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
