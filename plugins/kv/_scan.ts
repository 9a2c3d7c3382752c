/**
 * Replay of a {@linkcode KvStore} file (private to `plugins/`): streams the
 * file through a window of positional reads, hands every intact record to
 * the caller, resynchronises after a damaged one on the next record marker,
 * and tells where a tail with no intact record after it begins.
 *
 * @module
 */
import type { FileHandle } from "../../core/platform/mod.ts";
import {
  type EntryRef,
  FILE_HEADER,
  MAGIC_FIRST,
  parseRecord,
  parseV0,
  readFileHeader,
  RECORD_HEADER,
} from "./_format.ts";

const CHUNK = 1024 * 1024;

/** A region of the file that recovery skipped. */
export interface DamagedRegion {
  /** Byte offset of the region in the file. */
  offset: number;
  /** Its length in bytes. */
  length: number;
}

/** What a scan found. */
export interface ScanResult {
  /** The format of the file: 0 (old, upgraded on open) or 1. */
  version: 0 | 1;
  /** Damaged regions in the middle that were skipped (a damaged header is one at offset 0). */
  damaged: DamagedRegion[];
  /** Where the cut tail starts (no intact record after it), or -1. */
  tailAt: number;
  /** True when the tail is a record cut short by the end of the file (a torn write). */
  tailTorn: boolean;
  /** The highest sequence number seen. */
  lastSeq: number;
}

/** One intact record: its entries, with offsets into `bytes`, which starts at file offset `base`. */
export type RecordSink = (entries: EntryRef[], bytes: Uint8Array, base: number) => void;

/** The file's bytes through a moving window of positional reads. */
class Window {
  bytes: Uint8Array = new Uint8Array(0);
  start = 0;
  #handle: FileHandle;
  readonly size: number;

  constructor(handle: FileHandle, size: number) {
    this.#handle = handle;
    this.size = size;
  }

  /** Loads `[offset, offset + length)` (as much as exists); false when the file ends before. */
  async load(offset: number, length: number): Promise<boolean> {
    const have = offset >= this.start && offset + length <= this.start + this.bytes.length;
    if (!have) {
      const want = Math.min(Math.max(length, CHUNK), this.size - offset);
      const buffer = new Uint8Array(Math.max(want, 0));
      const got = want > 0 ? (await this.#handle.readAt(buffer, offset)) ?? 0 : 0;
      this.bytes = buffer.subarray(0, got);
      this.start = offset;
    }
    return offset + length <= this.start + this.bytes.length;
  }
}

type Attempt =
  | { ok: true; size: number; seq: number; entries: EntryRef[] }
  | { ok: false; short: boolean; examined: number };

async function attempt(w: Window, at: number, minSeq: number, v0: boolean): Promise<Attempt> {
  let need = 32;
  for (;;) {
    await w.load(at, need);
    const rel = at - w.start;
    const r = v0 ? parseV0(w.bytes, rel) : parseRecord(w.bytes, rel, minSeq);
    if (r.ok) return r;
    if (r.need === 0) return { ok: false, short: false, examined: r.checked ?? RECORD_HEADER };
    // More bytes are needed: either the file has them, or the record runs past its end.
    if (r.need > w.size - at || r.need <= need) {
      return { ok: false, short: true, examined: RECORD_HEADER };
    }
    need = r.need;
  }
}

/**
 * How many bytes the failed candidates of a resync may examine in all: twice the file, and
 * 1 MiB at least. A random byte that looks like a record start fails on its magic or size,
 * after a few bytes; only headers crafted to claim long bodies spend this. Without it, a file
 * packed with them (each claiming a body to the end) cost work quadratic in its size.
 */
function resyncBudget(size: number): { left: number } {
  return { left: Math.max(2 * size, 1 << 20) };
}

// The next intact record at or after `from`, or -1 (also once `budget` is spent).
async function findNext(
  w: Window,
  from: number,
  minSeq: number,
  budget: { left: number },
): Promise<number> {
  let p = from;
  while (p < w.size) {
    await w.load(p, 1);
    const i = w.bytes.indexOf(MAGIC_FIRST, p - w.start);
    if (i < 0) {
      p = w.start + w.bytes.length;
      continue;
    }
    const candidate = w.start + i;
    const r = await attempt(w, candidate, minSeq, false);
    if (r.ok) return candidate;
    budget.left -= r.examined;
    if (budget.left < 0) return -1;
    p = candidate + 1;
  }
  return -1;
}

/** Thrown by {@linkcode scanFile} for a file that is no store at all. */
export class NotAStore extends Error {}

/**
 * Replays the file of `size` bytes behind `handle` into `sink`.
 *
 * @throws {NotAStore} when the file has neither a header nor any record of either format
 */
export async function scanFile(
  handle: FileHandle,
  size: number,
  sink: RecordSink,
): Promise<ScanResult> {
  const w = new Window(handle, size);
  await w.load(0, FILE_HEADER);
  const head = readFileHeader(w.bytes.subarray(0, FILE_HEADER));
  const result: ScanResult = { version: 1, damaged: [], tailAt: -1, tailTorn: false, lastSeq: 0 };
  const budget = resyncBudget(size);
  let at = FILE_HEADER;
  if (typeof head === "object") {
    if (head.version !== 1) throw new RangeError(`format version ${head.version}`);
  } else if (
    (w.bytes[0] === 1 || w.bytes[0] === 2 || w.bytes[0] === 3) && (await attempt(w, 0, 0, true)).ok
  ) {
    result.version = 0;
    at = 0;
  } else {
    // A damaged header: the records after it are still good.
    const next = await findNext(w, 0, 0, budget);
    if (next < 0 && head !== "near") throw new NotAStore();
    const end = next < 0 ? Math.min(FILE_HEADER, size) : next;
    result.damaged.push({ offset: 0, length: end });
    at = next < 0 ? end : next;
  }
  const v0 = result.version === 0;
  while (at < size) {
    const r = await attempt(w, at, result.lastSeq, v0);
    if (r.ok) {
      sink(r.entries, w.bytes, w.start);
      at += r.size;
      result.lastSeq = r.seq;
      continue;
    }
    const next = v0 ? -1 : await findNext(w, at + 1, result.lastSeq, budget);
    if (next < 0) {
      result.tailAt = at;
      result.tailTorn = r.short;
      break;
    }
    result.damaged.push({ offset: at, length: next - at });
    at = next;
  }
  return result;
}
