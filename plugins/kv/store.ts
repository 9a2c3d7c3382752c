/**
 * `KvStore`: a durable binary key-value store on one append-only log file
 * (the write-ahead log is the store), with an in-memory index of where each
 * value sits and an LRU cache of values bounded in bytes.
 *
 * - Format v1 (see `_format.ts`): a versioned file header, then records
 *   with a marker, a sequence number, lengths and a CRC-32C. Opening replays
 *   the records; a damaged record in the middle is reported (an
 *   `onCorruption` call, `stats().corruptRecords`) and skipped, and every
 *   intact record after it is served. Only a tail with no intact record
 *   after it is cut. The search for the next intact record stops once
 *   rejected candidates cost twice the file's size (a file packed with
 *   forged record headers); what follows counts as the cut tail. Whenever
 *   anything is dropped, the original file is
 *   first kept as `<path>.damaged` (or `.damaged.N`), then the store is
 *   rewritten clean. v0 files (the first format) open and are upgraded.
 * - Durability (`sync`): `"always"` resolves a write after fsync, and
 *   concurrent writers share one fsync (group commit); `"batch"` resolves
 *   after the write reaches the OS and fsyncs at most every
 *   `syncIntervalMs` (a crash of the machine loses at most that window;
 *   a crash of the process loses nothing); `"never"` leaves fsync to the OS.
 *   A batch is one record: after a crash all of it is there, or none.
 * - Compaction runs in the background once the file exceeds `compactRatio`
 *   times the live data (or on `compact()`): it streams the live values into
 *   a new file while reads and writes go on, copies the writes made
 *   meanwhile, and swaps the files in a short pause of the writers. Every
 *   rename is preceded by an fsync of the file and followed by one of the
 *   directory.
 * - Reads are synchronous: from the cache, else one positional read.
 *
 * @module
 */
import { platform } from "../../core/platform/mod.ts";
import type { FileHandle } from "../../core/platform/mod.ts";
import { ValueCache } from "./_cache.ts";
import {
  ENTRY_HEADER,
  type EntryInput,
  entrySize,
  FILE_HEADER,
  OP_SET,
  RECORD_HEADER,
} from "./_format.ts";
import { type DamagedRegion, NotAStore, scanFile } from "./_scan.ts";
import { createStoreFile, dirOf, exists, keepDamagedCopy } from "./_files.ts";
import { entryInput, keyBytes } from "./_entry.ts";
import { type Op, WriteQueue } from "./_write_queue.ts";
import { CompactFile, type Slot } from "./_compact.ts";

export type { DamagedRegion };
export * from "./store_types.ts";
import {
  type KvRecovery,
  KvStoreError,
  type KvStoreOptions,
  type KvStoreStats,
} from "./store_types.ts";
import { type Settings, settings } from "./_settings.ts";

const decoder = new TextDecoder("utf-8", { fatal: true });
const TAIL_PAUSE_BYTES = 64 * 1024;

/**
 * A durable binary key-value store. Reads are synchronous (cache, else one
 * positional read); writes resolve once appended (and fsynced with
 * `sync: "always"`). Values handed out are copies.
 *
 * @example
 * ```ts
 * import { platform } from "../../core/platform/mod.ts";
 * import { KvStore } from "./store.ts";
 * const dir = await platform().makeTempDir();
 * const store = await KvStore.open(`${dir}/data.kv`, { sync: "batch", cacheBytes: 1 << 20 });
 * await store.set("user:1", "Ada");
 * await store.setBatch([["user:2", "Grace"], ["user:3", "Edsger"]]);
 * console.log(store.getString("user:1"), store.keys("user:").length);
 * console.log(store.stats().cacheHitRatio);
 * await store.close();
 * ```
 */
export class KvStore implements AsyncDisposable {
  /** The log file's path. */
  readonly path: string;
  /** What opening found (damaged regions, a cut tail, the kept copy, the format). */
  readonly recovery: KvRecovery;
  #index = new Map<string, Slot>();
  #cache: ValueCache;
  #reader!: FileHandle;
  #queue: WriteQueue;
  #options: Settings;
  #liveBytes = FILE_HEADER;
  #compacting: Promise<void> | undefined;
  #closing = false;
  #closed = false;
  #compactions = 0;

  private constructor(path: string, options: Settings, recovery: KvRecovery) {
    this.path = path;
    this.#options = options;
    this.#cache = new ValueCache(options.cacheBytes);
    this.recovery = recovery;
    this.#queue = new WriteQueue(
      path,
      options,
      (op, recordAt) => this.#apply(op, recordAt),
      () => this.#maybeCompact(),
    );
  }

  /**
   * Opens (or creates) the store at `path`. Replays the log, skipping and
   * reporting damaged records; when anything is dropped, keeps the original
   * as `<path>.damaged` and rewrites the file clean. A v0 file is upgraded.
   *
   * @param path the log file; its directory must exist
   * @param options durability, cache size, limits
   * @returns the open store
   * @throws {KvStoreError} `NotAStore` for a file that holds no store, `UnsupportedVersion`, `Io`
   */
  static async open(path: string, options: KvStoreOptions = {}): Promise<KvStore> {
    const full = settings(options);
    const p = platform();
    await p.remove(`${path}.compact`).catch(() => {}); // a compaction a crash interrupted
    try {
      if (!(await exists(path))) await createStoreFile(path);
    } catch (error) {
      throw new KvStoreError("Io", `cannot create ${path}`, { cause: error });
    }
    const recovery: KvRecovery = {
      version: 1,
      damaged: [],
      tailBytes: 0,
      tailTorn: false,
      damagedCopy: undefined,
    };
    const store = new KvStore(path, full, recovery);
    try {
      store.#reader = await p.open(path, { read: true });
      store.#queue.writer = await p.open(path, { write: true, append: true });
      const size = (await p.stat(path)).size;
      if (size === 0) {
        // Only a file someone else made empty: ours start with a header, written before the rename.
        await store.#closeHandles();
        await createStoreFile(path);
        return KvStore.open(path, options);
      }
      await store.#replay(size);
    } catch (error) {
      await store.#closeHandles();
      if (error instanceof KvStoreError) throw error;
      throw new KvStoreError("Io", `cannot open ${path}`, { cause: error });
    }
    return store;
  }

  async #replay(size: number): Promise<void> {
    const index = this.#index;
    let live = FILE_HEADER;
    let scan;
    try {
      scan = await scanFile(this.#reader, size, (entries, bytes, base) => {
        for (const e of entries) {
          let name: string;
          try {
            name = decoder.decode(bytes.subarray(e.keyStart, e.keyStart + e.keyLength));
          } catch {
            continue; // not UTF-8: cannot have been written by us
          }
          const old = index.get(name);
          if (old) live -= entrySize(e.keyLength, old.len);
          if (e.op === OP_SET) {
            index.set(name, { pos: base + e.valueStart, len: e.valueLength, npos: -1 });
            live += entrySize(e.keyLength, e.valueLength);
          } else index.delete(name);
        }
      });
    } catch (error) {
      if (error instanceof NotAStore) {
        throw new KvStoreError(
          "NotAStore",
          `${this.path} is not a KvStore file (no header, no intact record); it was left untouched`,
        );
      }
      if (error instanceof RangeError) {
        throw new KvStoreError("UnsupportedVersion", `${this.path}: ${error.message} is unknown`);
      }
      throw error;
    }
    this.#liveBytes = live;
    this.#queue.fileBytes = size;
    this.#queue.seq = scan.lastSeq;
    const r = this.recovery;
    r.version = scan.version;
    r.damaged = scan.damaged;
    r.tailBytes = scan.tailAt < 0 ? 0 : size - scan.tailAt;
    r.tailTorn = scan.tailTorn;
    for (const d of scan.damaged) {
      this.#options.onCorruption?.(
        new KvStoreError(
          "Corrupt",
          `${this.path}: damaged record at offset ${d.offset} (${d.length} bytes) skipped`,
          d,
        ),
      );
    }
    if (r.tailBytes > 0 && !r.tailTorn) {
      this.#options.onCorruption?.(
        new KvStoreError(
          "Corrupt",
          `${this.path}: damaged tail at offset ${scan.tailAt} (${r.tailBytes} bytes) cut`,
          { offset: scan.tailAt, length: r.tailBytes },
        ),
      );
    }
    if (r.damaged.length > 0 || r.tailBytes > 0) {
      r.damagedCopy = await keepDamagedCopy(this.path, this.#reader, size);
    }
    if (r.damaged.length > 0 || r.tailBytes > 0 || r.version === 0) {
      // Rewrite clean (and in format v1): nothing is appended after garbage or to a v0 file.
      await this.#compactOnce();
    }
  }

  // Reads.

  /**
   * The value of `key` (a copy), or undefined.
   *
   * @param key the key
   * @returns the value bytes
   */
  get(key: string): Uint8Array | undefined {
    const value = this.#read(key);
    return value === undefined ? undefined : value.slice();
  }

  #read(key: string): Uint8Array | undefined {
    if (this.#closed) throw new KvStoreError("Closed", "the store is closed");
    const slot = this.#index.get(key);
    if (slot === undefined) return undefined;
    const cached = this.#cache.get(key);
    if (cached !== undefined) return cached;
    const value = new Uint8Array(slot.len);
    let n: number | null;
    try {
      n = slot.len === 0 ? 0 : this.#reader.readAtSync(value, slot.pos);
    } catch (error) {
      throw new KvStoreError("Io", `cannot read ${this.path}`, { cause: error });
    }
    if ((n ?? 0) !== slot.len) {
      throw new KvStoreError("Io", `${this.path}: short read at ${slot.pos} (file changed?)`);
    }
    this.#cache.add(key, value);
    return value;
  }

  /**
   * The value of `key` decoded as UTF-8, or undefined.
   *
   * @param key the key
   * @returns the text
   */
  getString(key: string): string | undefined {
    const value = this.#read(key);
    return value === undefined ? undefined : new TextDecoder().decode(value);
  }

  /**
   * The values of `keys`, in order (undefined for a missing key).
   *
   * @param keys the keys
   * @returns one entry per key
   */
  getBatch(keys: readonly string[]): (Uint8Array | undefined)[] {
    return keys.map((k) => this.get(k));
  }

  /**
   * True when `key` is stored.
   *
   * @param key the key
   * @returns whether it exists
   */
  has(key: string): boolean {
    return this.#index.has(key);
  }

  /**
   * The keys starting with `prefix` (all keys without one), in the order first written.
   *
   * @param prefix keep only keys starting with it
   * @returns the keys
   */
  keys(prefix = ""): string[] {
    const out: string[] = [];
    for (const k of this.#index.keys()) if (k.startsWith(prefix)) out.push(k);
    return out;
  }

  /** The number of keys. */
  get size(): number {
    return this.#index.size;
  }

  // Writes.

  /**
   * Stores `value` (bytes, or a string stored as UTF-8) under `key`.
   *
   * @param key the key
   * @param value the value
   */
  set(key: string, value: Uint8Array | string): Promise<void> {
    try {
      return this.#submit([key], [entryInput(key, value, this.#options)]);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Stores `value` as UTF-8 under `key`.
   *
   * @param key the key
   * @param value the text
   */
  setString(key: string, value: string): Promise<void> {
    if (typeof value !== "string") {
      return Promise.reject(new KvStoreError("InvalidValue", "setString takes a string"));
    }
    return this.set(key, value);
  }

  /**
   * Stores several entries atomically: after a crash, all or none survive.
   * A `null` value deletes its key.
   *
   * @param entries `[key, value]` pairs
   */
  setBatch(entries: Iterable<readonly [string, Uint8Array | string | null]>): Promise<void> {
    try {
      const names: string[] = [];
      const inputs: EntryInput[] = [];
      let bytes = 0;
      for (const [key, value] of entries) {
        const e = value === null
          ? { key: keyBytes(key, this.#options), value: null }
          : entryInput(key, value, this.#options);
        bytes += entrySize(e.key.length, e.value?.length ?? 0);
        if (bytes > this.#options.maxBatchBytes) {
          throw new KvStoreError(
            "InvalidValue",
            `batch exceeds ${this.#options.maxBatchBytes} bytes`,
          );
        }
        names.push(key);
        inputs.push(e);
      }
      return inputs.length === 0 ? Promise.resolve() : this.#submit(names, inputs);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Removes `key`.
   *
   * @param key the key
   * @returns true when it existed
   */
  async delete(key: string): Promise<boolean> {
    const encoded = keyBytes(key, this.#options);
    if (!this.#index.has(key)) {
      if (this.#closed) throw new KvStoreError("Closed", "the store is closed");
      return false;
    }
    await this.#submit([key], [{ key: encoded, value: null }]);
    return true;
  }

  /**
   * Resolves once every write made before the call is on the disk (fsync),
   * whatever the sync mode.
   */
  async flush(): Promise<void> {
    if (this.#closed) throw new KvStoreError("Closed", "the store is closed");
    await this.#queue.drain();
    if (this.#queue.failed) throw this.#queue.failed;
  }

  /**
   * Rewrites the file with only the live data, in the background: reads go
   * on, writes pause only for the final swap. Resolves when done (a second
   * call while one runs joins it).
   */
  compact(): Promise<void> {
    if (this.#closed) return Promise.reject(new KvStoreError("Closed", "the store is closed"));
    this.#compacting ??= this.#compactOnce().finally(() => {
      this.#compacting = undefined;
    });
    return this.#compacting;
  }

  /**
   * The store's counters.
   *
   * @returns the counters
   */
  stats(): KvStoreStats {
    const { hits, misses } = this.#cache;
    return {
      keys: this.#index.size,
      fileBytes: this.#queue.fileBytes,
      liveBytes: this.#liveBytes,
      cacheBytes: this.#cache.bytes,
      cacheHitRatio: hits + misses === 0 ? 0 : hits / (hits + misses),
      cacheHits: hits,
      cacheMisses: misses,
      writes: this.#queue.writes,
      syncs: this.#queue.syncs,
      compactions: this.#compactions,
      corruptRecords: this.recovery.damaged.length,
      recoveredBytes: this.recovery.damaged.reduce((n, d) => n + d.length, 0) +
        this.recovery.tailBytes,
    };
  }

  /**
   * Same as {@linkcode KvStore.stats} (the house name for counters).
   *
   * @returns the counters
   */
  getStats(): KvStoreStats {
    return this.stats();
  }

  /** Zeroes the write, sync, compaction and cache counters. */
  resetStats(): void {
    this.#queue.writes = 0;
    this.#queue.syncs = 0;
    this.#compactions = 0;
    this.#cache.hits = 0;
    this.#cache.misses = 0;
  }

  /**
   * Stops a running compaction, finishes queued writes, fsyncs and closes the
   * file. Closing twice is harmless.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closing = true;
    this.#closed = true;
    await this.#compacting?.catch(() => {});
    await this.#queue.drain().catch(() => {});
    this.#queue.stopTimer();
    await this.#closeHandles();
    this.#cache.clear();
  }

  /** Same as {@linkcode KvStore.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #closeHandles(): Promise<void> {
    await this.#reader?.close();
    await this.#queue.writer?.close();
  }

  // The write path (`_write_queue.ts`): a closed store takes no more writes.

  #submit(names: string[], entries: EntryInput[]): Promise<void> {
    if (this.#closed) return Promise.reject(new KvStoreError("Closed", "the store is closed"));
    return this.#queue.submit(names, entries);
  }

  #apply(op: Op, recordAt: number): void {
    let at = recordAt + RECORD_HEADER;
    for (let i = 0; i < op.entries.length; i++) {
      const { key, value } = op.entries[i];
      const name = op.names[i];
      const old = this.#index.get(name);
      if (old) this.#liveBytes -= entrySize(key.length, old.len);
      const valueAt = at + ENTRY_HEADER + key.length;
      if (value) {
        this.#index.set(name, { pos: valueAt, len: value.length, npos: -1 });
        this.#liveBytes += entrySize(key.length, value.length);
        if (op.entries.length === 1) {
          // A single write's record is ours alone (the caller never sees it): the cache keeps a
          // view of it, charged for the whole record. Batches write around the cache: a view
          // would pin the whole batch, a copy costs more than the read it may save.
          const start = valueAt - recordAt;
          this.#cache.set(name, op.record.subarray(start, start + value.length), op.record.length);
        } else this.#cache.delete(name);
        at = valueAt + value.length;
      } else {
        this.#index.delete(name);
        this.#cache.delete(name);
        at = valueAt;
      }
    }
  }

  #maybeCompact(): void {
    const { compactRatio, compactMinBytes } = this.#options;
    if (
      this.#compacting === undefined && !this.#closing &&
      this.#queue.fileBytes > compactMinBytes &&
      this.#queue.fileBytes > compactRatio * this.#liveBytes
    ) {
      this.compact().catch((error) => {
        if (this.#closing) return;
        this.#options.onCorruption?.(
          new KvStoreError("Io", `background compaction of ${this.path} failed`, { cause: error }),
        );
      });
    }
  }

  // Compaction: stream the live values of a snapshot of the index into `<path>.compact`,
  // copy the records appended meanwhile verbatim, then swap files in a short writer pause.

  async #compactOnce(): Promise<void> {
    const p = platform();
    const temp = `${this.path}.compact`;
    const snapshot = [...this.#index];
    const tailStart = this.#queue.fileBytes;
    const seq = this.#queue.seq;
    const source = await p.open(this.path, { read: true });
    let out: FileHandle | undefined;
    let swapped = false;
    try {
      out = await p.open(temp, { write: true, create: true, truncate: true });
      const file = new CompactFile(out, source, this.path, seq, tailStart);
      await file.writeHeader();
      for (const [name, slot] of snapshot) {
        if (this.#closing) throw new KvStoreError("Closed", "closed during compaction");
        if (this.#index.get(name) !== slot) continue; // changed since: the tail has it
        await file.add(name, slot, this.#cache.peek(name));
      }
      await file.endValues();
      // The tail: records appended since the snapshot, copied as they are.
      for (
        let round = 0;
        round < 8 && this.#queue.fileBytes - file.copied > TAIL_PAUSE_BYTES;
        round++
      ) {
        if (this.#closing) throw new KvStoreError("Closed", "closed during compaction");
        await file.copyTail(this.#queue.fileBytes);
      }
      await out.sync(); // most of it, before the writers pause
      await this.#queue.exclusive(async () => {
        if (this.#queue.failed) throw this.#queue.failed;
        await file.copyTail(this.#queue.fileBytes);
        await out!.sync();
        // Handles on the new file before the rename: nothing can fail between swap and use.
        const reader = await p.open(temp, { read: true });
        const writer = await p.open(temp, { write: true, append: true });
        try {
          await p.rename(temp, this.path);
        } catch (error) {
          await reader.close();
          await writer.close();
          throw error;
        }
        swapped = true;
        await p.syncDir(dirOf(this.path)).catch((error) => {
          throw this.#queue.fail(error, "fsync of the directory of");
        });
        file.relocate(this.#index.values());
        const oldReader = this.#reader;
        const oldWriter = this.#queue.writer;
        this.#reader = reader;
        this.#queue.writer = writer;
        this.#queue.fileBytes = file.bytes;
        this.#queue.dirty = false;
        this.#compactions++;
        await oldReader.close();
        await oldWriter.close();
      });
    } finally {
      await source.close();
      await out?.close();
      if (!swapped) await p.remove(temp).catch(() => {});
    }
  }
}
