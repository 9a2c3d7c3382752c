/**
 * The write path of a {@linkcode KvStore} (private to `plugins/`): writers
 * queue records; one flush at a time appends all queued records with one
 * write and (in "always" mode) one fsync, so concurrent writers share it
 * (group commit). After a failed write or fsync the file's state is
 * unknown, and the queue takes no more writes (fail-stop).
 *
 * @module
 */
import { platform } from "../../core/platform/mod.ts";
import type { FileHandle } from "../../core/platform/mod.ts";
import { encodeRecord, type EntryInput, entrySize, sealRecord } from "./_format.ts";
import type { Settings } from "./_settings.ts";
import { KvStoreError } from "./store_types.ts";

/** One queued write: its record (sealed when flushed) and the entries it holds. */
export interface Op {
  record: Uint8Array;
  names: string[];
  entries: EntryInput[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** The append end of a store's log, with its queue of writes and its fsync policy. */
export class WriteQueue {
  /** The handle records are appended through (compaction swaps it). */
  writer!: FileHandle;
  /** The file's length. */
  fileBytes = 0;
  /** The sequence number of the last record. */
  seq = 0;
  /** The failure that stopped the writes, once one did. */
  failed: KvStoreError | undefined;
  /** Written since the last fsync. */
  dirty = false;
  /** Writes appended. */
  writes = 0;
  /** Fsyncs done. */
  syncs = 0;
  readonly #path: string;
  readonly #options: Settings;
  readonly #appended: (op: Op, recordAt: number) => void;
  readonly #flushed: () => void;
  #pending: Op[] = [];
  #flushScheduled = false;
  #chain: Promise<void> = Promise.resolve();
  #lastSync: number;
  #syncTimer: ReturnType<typeof setTimeout> | undefined;

  /**
   * @param path the file, for messages
   * @param options the sync mode and interval
   * @param appended called for each write once its record is in the file, at `recordAt`
   * @param flushed called after a flush that appended writes
   */
  constructor(
    path: string,
    options: Settings,
    appended: (op: Op, recordAt: number) => void,
    flushed: () => void,
  ) {
    this.#path = path;
    this.#options = options;
    this.#appended = appended;
    this.#flushed = flushed;
    this.#lastSync = platform().now();
  }

  /** Queues one record holding `entries` (stored under `names`); resolves once appended. */
  submit(names: string[], entries: EntryInput[]): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    let body = 0;
    for (const e of entries) body += entrySize(e.key.length, e.value?.length ?? 0);
    // Encoding copies the values: a caller changing its buffer later changes nothing here.
    const record = encodeRecord(entries, body);
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ record, names, entries, resolve, reject });
      this.schedule();
    });
  }

  /** Starts a flush of the queued writes when none is due yet. */
  schedule(): void {
    if (this.#flushScheduled || this.#pending.length === 0) return;
    this.#flushScheduled = true;
    this.#chain = this.#chain.then(() => this.#flush());
  }

  /** Runs `task` on the write chain: no flush runs while it does. */
  exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(task);
    this.#chain = run.then(() => {}, () => {});
    return run;
  }

  /** Flushes the queued writes, then fsyncs whatever is not on the disk yet. */
  drain(): Promise<void> {
    this.schedule();
    return this.exclusive(() => this.syncIfDirty());
  }

  /** Stops the writes after a failed write or fsync; returns the failure. */
  fail(error: unknown, what: string): KvStoreError {
    // After a failed write or fsync the file's state is unknown: stop writing (fail-stop).
    this.failed ??= new KvStoreError(
      "Io",
      `${what} ${this.#path} failed; the store takes no more writes`,
      {
        cause: error,
      },
    );
    return this.failed;
  }

  async #flush(): Promise<void> {
    this.#flushScheduled = false;
    const group = this.#pending;
    this.#pending = [];
    if (group.length === 0) return;
    if (this.failed) {
      for (const op of group) op.reject(this.failed);
      return;
    }
    let total = 0;
    for (const op of group) total += op.record.length;
    let out: Uint8Array;
    if (group.length === 1) {
      out = group[0].record;
      sealRecord(out, 0, ++this.seq);
    } else {
      out = new Uint8Array(total);
      let at = 0;
      for (const op of group) {
        out.set(op.record, at);
        sealRecord(out, at, ++this.seq);
        at += op.record.length;
      }
    }
    const base = this.fileBytes;
    try {
      this.writer.writeSync(out);
    } catch (error) {
      const failure = this.fail(error, "appending to");
      for (const op of group) op.reject(failure);
      return;
    }
    this.fileBytes += total;
    let at = base;
    for (const op of group) {
      this.#appended(op, at);
      at += op.record.length;
    }
    this.writes += group.length;
    if (this.#options.sync === "always") {
      try {
        await this.writer.sync();
        this.syncs++;
      } catch (error) {
        const failure = this.fail(error, "fsync of");
        for (const op of group) op.reject(failure);
        return;
      }
    } else {
      this.dirty = true;
      if (
        this.#options.sync === "batch" &&
        platform().now() - this.#lastSync >= this.#options.syncIntervalMs
      ) {
        // Overdue: a writer that never yields to the event loop would starve the timer.
        try {
          await this.syncIfDirty();
        } catch (error) {
          for (const op of group) op.reject(error);
          return;
        }
      } else if (this.#options.sync === "batch" && this.#syncTimer === undefined) {
        this.#syncTimer = setTimeout(() => {
          this.#syncTimer = undefined;
          this.exclusive(() => this.syncIfDirty()).catch(() => {});
        }, this.#options.syncIntervalMs);
        platform().unrefTimer(this.#syncTimer);
      }
    }
    for (const op of group) op.resolve();
    this.#flushed();
  }

  /** Fsyncs the file when anything was written since the last fsync. */
  async syncIfDirty(): Promise<void> {
    if (!this.dirty || this.failed) return;
    this.dirty = false;
    this.#lastSync = platform().now();
    try {
      await this.writer.sync();
      this.syncs++;
    } catch (error) {
      throw this.fail(error, "fsync of");
    }
  }

  /** Stops the timer of a pending fsync in "batch" mode. */
  stopTimer(): void {
    clearTimeout(this.#syncTimer);
  }
}
