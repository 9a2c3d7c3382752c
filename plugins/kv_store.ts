/**
 * `KvStore`: a durable binary key-value store on one append-only log file
 * (the write-ahead log is the store). Every write appends checksummed
 * records; opening replays them, and a torn or corrupt tail (a crash in the
 * middle of a write) is cut off, so the store recovers to the last complete
 * write. Batches are atomic: all of a batch survives a crash, or none of it.
 * Compaction rewrites the live data to a new file and swaps it in
 * atomically once the log has grown past `compactRatio` times the live
 * size. Values live in memory (the whole data set is resident), so reads
 * never touch the disk.
 *
 * @module
 */
import { IoraError } from "../core/errors.ts";
import { platform } from "../core/platform/mod.ts";
import type { FileHandle } from "../core/platform/mod.ts";

/** Stable codes of {@linkcode KvStoreError}. */
export type KvStoreErrorCode = "InvalidKey" | "InvalidValue" | "Closed" | "Io";

/**
 * A key-value store failure.
 *
 * @example
 * ```ts
 * import { KvStoreError } from "./kv_store.ts";
 * console.log(new KvStoreError("Closed", "the store is closed").code);
 * ```
 */
export class KvStoreError extends IoraError {
  /** The kind of failure. */
  declare readonly code: KvStoreErrorCode;

  /**
   * Creates a store error.
   *
   * @param code the kind of failure
   * @param message what went wrong
   * @param options standard error options (`cause`)
   */
  constructor(code: KvStoreErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}

/** When writes reach the disk. */
export type KvSyncMode = "always" | "never";

/** Options of {@linkcode KvStore.open}. */
export interface KvStoreOptions {
  /** `"always"` (default): each write resolves after fsync. `"never"`: the OS decides. */
  sync?: KvSyncMode;
  /** Longest key in UTF-8 bytes; default 4096. */
  maxKeyBytes?: number;
  /** Largest value in bytes; default 16 MiB. */
  maxValueBytes?: number;
  /** Compact when the file exceeds this many times the live data; default 2. */
  compactRatio?: number;
  /** Never compact a file smaller than this; default 1 MiB. */
  compactMinBytes?: number;
}

/** Counters of a {@linkcode KvStore}. */
export interface KvStoreStats {
  /** Keys stored now. */
  keys: number;
  /** Bytes of the log file. */
  fileBytes: number;
  /** Bytes the live data would take in a compacted file. */
  liveBytes: number;
  /** Write operations (set, delete, batches) since open. */
  writes: number;
  /** Compactions since open. */
  compactions: number;
  /** Bytes cut off a torn or corrupt tail when the store was opened. */
  recoveredBytes: number;
}

const OP_SET = 1;
const OP_DELETE = 2;
const OP_BATCH = 3;
const HEADER = 9; // op u8, key length u32, value length (or batch count) u32
const TRAILER = 4; // crc32 of header + key + value
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes: Uint8Array, start: number, end: number): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function recordSize(keyBytes: number, valueBytes: number): number {
  return HEADER + keyBytes + valueBytes + TRAILER;
}

function writeRecord(
  out: Uint8Array,
  at: number,
  op: number,
  key: Uint8Array,
  value: Uint8Array | null,
  count = 0,
): number {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const start = at;
  out[at] = op;
  view.setUint32(at + 1, key.length);
  view.setUint32(at + 5, value ? value.length : count);
  at += HEADER;
  out.set(key, at);
  at += key.length;
  if (value) {
    out.set(value, at);
    at += value.length;
  }
  view.setUint32(at, crc32(out, start, at));
  return at + TRAILER;
}

// `name` is the key as given, `key` its UTF-8 bytes: both are needed, so neither is re-derived.
type Write = { name: string; key: Uint8Array; value: Uint8Array | null };

function encode(writes: Write[]): Uint8Array {
  let size = writes.length > 1 ? recordSize(0, 0) : 0;
  for (const w of writes) size += recordSize(w.key.length, w.value?.length ?? 0);
  const out = new Uint8Array(size);
  let at = 0;
  // A batch header announces how many records follow: replay applies all
  // of them or, if any is missing or corrupt, none.
  if (writes.length > 1) {
    at = writeRecord(out, at, OP_BATCH, new Uint8Array(0), null, writes.length);
  }
  for (const w of writes) {
    at = writeRecord(out, at, w.value ? OP_SET : OP_DELETE, w.key, w.value);
  }
  return out;
}

interface Parsed {
  op: number;
  key: Uint8Array;
  value: Uint8Array;
  count: number;
  end: number;
}

function parseRecord(bytes: Uint8Array, at: number): Parsed | null {
  if (bytes.length - at < HEADER + TRAILER) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const op = bytes[at];
  if (op !== OP_SET && op !== OP_DELETE && op !== OP_BATCH) return null;
  const keyLength = view.getUint32(at + 1);
  const second = view.getUint32(at + 5);
  const valueLength = op === OP_SET ? second : 0;
  const end = at + HEADER + keyLength + valueLength;
  if (end + TRAILER > bytes.length) return null;
  if (view.getUint32(end) !== crc32(bytes, at, end)) return null;
  const key = bytes.subarray(at + HEADER, at + HEADER + keyLength);
  return {
    op,
    key,
    value: bytes.slice(at + HEADER + keyLength, end),
    count: op === OP_BATCH ? second : 0,
    end: end + TRAILER,
  };
}

/**
 * A durable binary key-value store. Reads are synchronous (from memory);
 * writes are queued in order and resolve once appended (and fsynced with
 * `sync: "always"`).
 *
 * @example
 * ```ts
 * import { platform } from "../core/platform/mod.ts";
 * import { KvStore } from "./kv_store.ts";
 * const dir = await platform().makeTempDir();
 * const store = await KvStore.open(`${dir}/data.kv`);
 * await store.set("greeting", "hello");
 * console.log(new TextDecoder().decode(store.get("greeting")));
 * await store.setBatch([["a", "1"], ["b", "2"]]);
 * await store.close();
 * ```
 */
export class KvStore implements AsyncDisposable {
  /** The log file's path. */
  readonly path: string;
  #data = new Map<string, Uint8Array>();
  #file: FileHandle;
  #options: Required<KvStoreOptions>;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;
  #fileBytes: number;
  #liveBytes = 0;
  #stats = { writes: 0, compactions: 0, recoveredBytes: 0 };

  private constructor(
    path: string,
    file: FileHandle,
    fileBytes: number,
    options: Required<KvStoreOptions>,
  ) {
    this.path = path;
    this.#file = file;
    this.#fileBytes = fileBytes;
    this.#options = options;
  }

  /**
   * Opens (or creates) the store at `path`, replaying its log and cutting
   * off a torn tail.
   *
   * @param path the log file; its directory must exist
   * @param options durability and limits
   * @returns the open store
   */
  static async open(path: string, options: KvStoreOptions = {}): Promise<KvStore> {
    const full: Required<KvStoreOptions> = {
      sync: options.sync ?? "always",
      maxKeyBytes: options.maxKeyBytes ?? 4096,
      maxValueBytes: options.maxValueBytes ?? 16 * 1024 * 1024,
      compactRatio: options.compactRatio ?? 2,
      compactMinBytes: options.compactMinBytes ?? 1024 * 1024,
    };
    const p = platform();
    let bytes: Uint8Array;
    try {
      bytes = await p.readFile(path);
    } catch (error) {
      if ((error as { code?: string }).code !== "NotFound") {
        throw new KvStoreError("Io", `cannot read ${path}`, { cause: error });
      }
      bytes = new Uint8Array(0);
    }
    const data = new Map<string, Uint8Array>();
    let at = 0;
    while (at < bytes.length) {
      const record = parseRecord(bytes, at);
      if (record === null) break;
      if (record.op === OP_BATCH) {
        const staged: Parsed[] = [];
        let next = record.end;
        for (let i = 0; i < record.count; i++) {
          const inner = parseRecord(bytes, next);
          if (inner === null || inner.op === OP_BATCH) break;
          staged.push(inner);
          next = inner.end;
        }
        if (staged.length !== record.count) break;
        for (const r of staged) apply(data, r);
        at = next;
      } else {
        apply(data, record);
        at = record.end;
      }
    }
    const recovered = bytes.length - at;
    if (recovered > 0) {
      // Rewrite the good prefix: a later append must not follow garbage.
      await p.writeFile(`${path}.recover`, bytes.subarray(0, at));
      await p.rename(`${path}.recover`, path);
    }
    const file = await p.open(path, { write: true, create: true, append: true });
    const store = new KvStore(path, file, at, full);
    store.#data = data;
    store.#stats.recoveredBytes = recovered;
    for (const [k, v] of data) store.#liveBytes += recordSize(encoder.encode(k).length, v.length);
    return store;
  }

  /**
   * The value of `key`, or undefined.
   *
   * @param key the key
   * @returns the value bytes (do not modify them)
   */
  get(key: string): Uint8Array | undefined {
    return this.#data.get(key);
  }

  /**
   * The values of `keys`, in order (undefined for a missing key).
   *
   * @param keys the keys
   * @returns one entry per key
   */
  getBatch(keys: string[]): (Uint8Array | undefined)[] {
    return keys.map((k) => this.#data.get(k));
  }

  /**
   * True when `key` is stored.
   *
   * @param key the key
   * @returns whether it exists
   */
  has(key: string): boolean {
    return this.#data.has(key);
  }

  /**
   * Every key, in insertion order.
   *
   * @returns the keys
   */
  keys(): string[] {
    return [...this.#data.keys()];
  }

  /** The number of keys. */
  get size(): number {
    return this.#data.size;
  }

  /**
   * Stores `value` (bytes, or a string stored as UTF-8) under `key`.
   *
   * @param key the key
   * @param value the value
   */
  async set(key: string, value: Uint8Array | string): Promise<void> {
    await this.#write([this.#entry(key, value)]);
  }

  /**
   * Stores several entries atomically: after a crash, all or none survive.
   *
   * @param entries `[key, value]` pairs
   */
  async setBatch(entries: Iterable<readonly [string, Uint8Array | string]>): Promise<void> {
    const writes: Write[] = [];
    for (const [key, value] of entries) writes.push(this.#entry(key, value));
    if (writes.length > 0) await this.#write(writes);
  }

  /**
   * Removes `key`.
   *
   * @param key the key
   * @returns true when it existed
   */
  async delete(key: string): Promise<boolean> {
    const keyBytes = this.#key(key);
    if (!this.#data.has(key)) return false;
    await this.#write([{ name: key, key: keyBytes, value: null }]);
    return true;
  }

  /** Rewrites the file with only the live data, atomically. */
  compact(): Promise<void> {
    return this.#enqueue(() => this.#compact());
  }

  /**
   * The store's counters.
   *
   * @returns the counters
   */
  getStats(): KvStoreStats {
    return {
      keys: this.#data.size,
      fileBytes: this.#fileBytes,
      liveBytes: this.#liveBytes,
      ...this.#stats,
    };
  }

  /** Zeroes the write and compaction counters. */
  resetStats(): void {
    this.#stats = { writes: 0, compactions: 0, recoveredBytes: 0 };
  }

  /** Finishes queued writes, fsyncs and closes the file. Closing twice is harmless. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#queue.catch(() => {});
    await this.#file.sync().catch(() => {});
    await this.#file.close();
  }

  /** Same as {@linkcode KvStore.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #key(key: string): Uint8Array {
    if (typeof key !== "string" || key === "") {
      throw new KvStoreError("InvalidKey", "keys are non-empty strings");
    }
    const bytes = encoder.encode(key);
    if (bytes.length > this.#options.maxKeyBytes) {
      throw new KvStoreError("InvalidKey", `key exceeds ${this.#options.maxKeyBytes} bytes`);
    }
    return bytes;
  }

  #entry(key: string, value: Uint8Array | string): Write {
    const keyBytes = this.#key(key);
    let bytes: Uint8Array;
    if (typeof value === "string") bytes = encoder.encode(value);
    else if (value instanceof Uint8Array) bytes = value.slice();
    else throw new KvStoreError("InvalidValue", "values are Uint8Array or string");
    if (bytes.length > this.#options.maxValueBytes) {
      throw new KvStoreError("InvalidValue", `value exceeds ${this.#options.maxValueBytes} bytes`);
    }
    return { name: key, key: keyBytes, value: bytes };
  }

  #enqueue<T>(operation: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new KvStoreError("Closed", "the store is closed"));
    const run = this.#queue.then(operation);
    this.#queue = run.catch(() => {});
    return run;
  }

  #write(writes: Write[]): Promise<void> {
    return this.#enqueue(async () => {
      const bytes = encode(writes);
      try {
        await this.#file.write(bytes);
        if (this.#options.sync === "always") await this.#file.sync();
      } catch (error) {
        throw new KvStoreError("Io", `cannot append to ${this.path}`, { cause: error });
      }
      this.#fileBytes += bytes.length;
      this.#stats.writes++;
      // Memory changes only after the append: a failed write changes nothing.
      for (const w of writes) {
        const old = this.#data.get(w.name);
        if (old) this.#liveBytes -= recordSize(w.key.length, old.length);
        if (w.value) {
          this.#data.set(w.name, w.value);
          this.#liveBytes += recordSize(w.key.length, w.value.length);
        } else this.#data.delete(w.name);
      }
      const { compactRatio, compactMinBytes } = this.#options;
      if (this.#fileBytes > compactMinBytes && this.#fileBytes > compactRatio * this.#liveBytes) {
        await this.#compact();
      }
    });
  }

  async #compact(): Promise<void> {
    const p = platform();
    const writes: Write[] = [];
    for (const [name, value] of this.#data) writes.push({ name, key: encoder.encode(name), value });
    const parts = writes.map((w) => encode([w]));
    const total = parts.reduce((n, b) => n + b.length, 0);
    const out = new Uint8Array(total);
    let at = 0;
    for (const part of parts) {
      out.set(part, at);
      at += part.length;
    }
    const temp = `${this.path}.compact`;
    const handle = await p.open(temp, { write: true, create: true, truncate: true });
    try {
      await handle.write(out);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await this.#file.close();
    await p.rename(temp, this.path);
    const slash = this.path.lastIndexOf("/");
    await p.syncDir(slash > 0 ? this.path.slice(0, slash) : slash === 0 ? "/" : ".").catch(
      () => {},
    );
    this.#file = await p.open(this.path, { write: true, append: true });
    this.#fileBytes = total;
    this.#stats.compactions++;
  }
}

function apply(data: Map<string, Uint8Array>, record: Parsed): void {
  let key: string;
  try {
    key = decoder.decode(record.key);
  } catch {
    return; // not UTF-8: cannot have been written by us; skip it
  }
  if (record.op === OP_SET) data.set(key, record.value);
  else data.delete(key);
}
