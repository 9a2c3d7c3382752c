/**
 * The file a compaction of a {@linkcode KvStore} writes (private to
 * `plugins/`): the live values of a snapshot of the index first, in records
 * of about `COMPACT_CHUNK` bytes, then the records appended to the store
 * meanwhile, copied as they are. The store swaps it in (see `store.ts`).
 *
 * @module
 */
import type { FileHandle } from "../../core/platform/mod.ts";
import {
  encodeRecord,
  ENTRY_HEADER,
  type EntryInput,
  entrySize,
  FILE_HEADER,
  fileHeader,
  RECORD_HEADER,
  sealRecord,
} from "./_format.ts";
import { KvStoreError } from "./store_types.ts";

/** Where a value sits: the index's entry for a key. */
export interface Slot {
  pos: number; // file offset of the value
  len: number;
  npos: number; // the value's offset in the file a running compaction writes
}

const encoder = new TextEncoder();
const COMPACT_CHUNK = 256 * 1024;

/** The new file of one compaction, written through a handle the caller opens and closes. */
export class CompactFile {
  /** Bytes written. */
  bytes: number = FILE_HEADER;
  readonly #out: FileHandle;
  readonly #source: FileHandle;
  readonly #path: string;
  readonly #seq: number;
  readonly #tailStart: number;
  #tailAt = -1;
  #copied: number;
  #chunk: EntryInput[] = [];
  #chunkSlots: Slot[] = [];
  #chunkBytes = 0;

  /**
   * @param out the new file, empty
   * @param source a reader of the store's file
   * @param path the store's file, for messages
   * @param seq the sequence number of the snapshot's last record, for the values' records
   * @param tailStart the store file's length at the snapshot: the tail begins there
   */
  constructor(out: FileHandle, source: FileHandle, path: string, seq: number, tailStart: number) {
    this.#out = out;
    this.#source = source;
    this.#path = path;
    this.#seq = seq;
    this.#tailStart = tailStart;
    this.#copied = tailStart;
  }

  /** How far the store's file is copied. */
  get copied(): number {
    return this.#copied;
  }

  /** Writes the file header. */
  async writeHeader(): Promise<void> {
    await this.#out.write(fileHeader());
  }

  /**
   * Adds the live value of `name`, from `cached` or else read from the store's file; sets
   * `slot.npos` once its record is written.
   */
  async add(name: string, slot: Slot, cached: Uint8Array | undefined): Promise<void> {
    let value = cached;
    if (value === undefined) {
      value = new Uint8Array(slot.len);
      if (slot.len > 0 && (await this.#source.readAt(value, slot.pos)) !== slot.len) {
        throw new KvStoreError("Io", `${this.#path}: short read at ${slot.pos}`);
      }
    }
    const key = encoder.encode(name);
    this.#chunk.push({ key, value });
    this.#chunkSlots.push(slot);
    this.#chunkBytes += entrySize(key.length, slot.len);
    if (this.#chunkBytes >= COMPACT_CHUNK) await this.#emit();
  }

  /** Writes the last values' record: what follows is the tail. */
  async endValues(): Promise<void> {
    await this.#emit();
    this.#tailAt = this.bytes;
  }

  async #emit(): Promise<void> {
    const chunk = this.#chunk;
    if (chunk.length === 0) return;
    const record = encodeRecord(chunk, this.#chunkBytes);
    sealRecord(record, 0, this.#seq);
    let at = this.bytes + RECORD_HEADER;
    for (let i = 0; i < chunk.length; i++) {
      at += ENTRY_HEADER + chunk[i].key.length;
      this.#chunkSlots[i].npos = at;
      at += this.#chunkSlots[i].len;
    }
    await this.#out.write(record);
    this.bytes += record.length;
    this.#chunk = [];
    this.#chunkSlots = [];
    this.#chunkBytes = 0;
  }

  /** Copies the records appended to the store's file since the snapshot, up to `end`. */
  async copyTail(end: number): Promise<void> {
    const buffer = new Uint8Array(Math.min(Math.max(end - this.#copied, 0), 1024 * 1024));
    while (this.#copied < end) {
      const n = await this.#source.readAt(
        buffer.subarray(0, Math.min(buffer.length, end - this.#copied)),
        this.#copied,
      );
      if (!n) throw new KvStoreError("Io", `${this.#path}: short read at ${this.#copied}`);
      await this.#out.write(buffer.subarray(0, n));
      this.#copied += n;
      this.bytes += n;
    }
  }

  /** Moves every slot to its value's offset in the new file, once it replaced the old one. */
  relocate(slots: Iterable<Slot>): void {
    const delta = this.#tailAt - this.#tailStart;
    for (const slot of slots) {
      slot.pos = slot.pos >= this.#tailStart ? slot.pos + delta : slot.npos;
      slot.npos = -1;
    }
  }
}
