/**
 * The on-disk format of {@linkcode KvStore} (private to `plugins/`).
 *
 * Format v1: a 16-byte file header (8 magic bytes, u32 version, u32 CRC-32C
 * of the first 12 bytes), then records. A record is one commit: a single
 * write, an atomic batch, or a chunk of a compacted file.
 *
 * ```
 * u32 magic   u32 crc32c(bytes 8..end)   u64 seq   u32 count   u32 bodyLength
 * body: count × (u8 op, u32 keyLength, u32 valueLength, key, value)
 * ```
 *
 * The magic lets recovery find the next record after a damaged one; the
 * CRC covers everything after itself; sequence numbers never go down in a
 * file, so a stale record found by resynchronising is told apart. All
 * integers are big-endian.
 *
 * Format v0 (read only, upgraded on open): records of `u8 op, u32 keyLength,
 * u32 valueLength-or-count, key, value, u32 crc32` with batches announced by
 * an op-3 record.
 *
 * @module
 */

/** Bytes of the file header. */
export const FILE_HEADER = 16;
/** Bytes of a record header. */
export const RECORD_HEADER = 24;
/** Bytes of an entry header inside a record body. */
export const ENTRY_HEADER = 9;
/** The record marker. */
export const RECORD_MAGIC = 0xd94b5631;
/** The format version this code writes. */
export const VERSION = 1;
/** Entry ops. */
export const OP_SET = 1;
/** Entry ops. */
export const OP_DELETE = 2;
/** No record body is ever larger than this, whatever a damaged header claims. */
export const MAX_BODY: number = 1024 * 1024 * 1024;

const FILE_MAGIC = new Uint8Array([0x89, 0x49, 0x4b, 0x56, 0x0d, 0x0a, 0x1a, 0x0a]); // \x89IKV\r\n\x1a\n

function table(poly: number): Uint32Array[] {
  const t = Array.from({ length: 8 }, () => new Uint32Array(256));
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? poly ^ (c >>> 1) : c >>> 1;
    t[0][n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    for (let k = 1; k < 8; k++) t[k][n] = (t[k - 1][n] >>> 8) ^ t[0][t[k - 1][n] & 0xff];
  }
  return t;
}

const C = table(0x82f63b78); // Castagnoli
const [C0, C1, C2, C3, C4, C5, C6, C7] = C;
const V0 = table(0xedb88320)[0]; // the classic CRC-32 of format v0

/** CRC-32C of `bytes[start, end)` (slicing by 8). */
export function crc32c(bytes: Uint8Array, start: number, end: number): number {
  let c = 0xffffffff;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const a = c ^ (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24));
    c = C7[a & 0xff] ^ C6[(a >>> 8) & 0xff] ^ C5[(a >>> 16) & 0xff] ^ C4[a >>> 24] ^
      C3[bytes[i + 4]] ^ C2[bytes[i + 5]] ^ C1[bytes[i + 6]] ^ C0[bytes[i + 7]];
  }
  for (; i < end; i++) c = C0[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function crc32v0(bytes: Uint8Array, start: number, end: number): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = V0[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** A fresh v1 file header. */
export function fileHeader(): Uint8Array {
  const out = new Uint8Array(FILE_HEADER);
  out.set(FILE_MAGIC);
  view(out).setUint32(8, VERSION);
  view(out).setUint32(12, crc32c(out, 0, 12));
  return out;
}

/**
 * What the first bytes of a file say: `{ version }` for an intact header,
 * `"near"` when the magic is mostly there (a damaged v1 header), else `"none"`.
 */
export function readFileHeader(b: Uint8Array): { version: number } | "near" | "none" {
  if (b.length < FILE_HEADER) return "none";
  let same = 0;
  for (let i = 0; i < FILE_MAGIC.length; i++) if (b[i] === FILE_MAGIC[i]) same++;
  if (same === FILE_MAGIC.length && view(b).getUint32(12) === crc32c(b, 0, 12)) {
    return { version: view(b).getUint32(8) };
  }
  return same >= FILE_MAGIC.length - 2 ? "near" : "none";
}

/** One entry of a write: `value` null deletes. */
export interface EntryInput {
  key: Uint8Array;
  value: Uint8Array | null;
}

/** Bytes one entry takes in a record body. */
export function entrySize(keyBytes: number, valueBytes: number): number {
  return ENTRY_HEADER + keyBytes + valueBytes;
}

/**
 * Encodes one record with `seq` 0 and no CRC yet: {@linkcode sealRecord}
 * fills both once the record's place in the file is known.
 */
export function encodeRecord(entries: readonly EntryInput[], bodyBytes: number): Uint8Array {
  const out = new Uint8Array(RECORD_HEADER + bodyBytes);
  const v = view(out);
  v.setUint32(0, RECORD_MAGIC);
  v.setUint32(16, entries.length);
  v.setUint32(20, bodyBytes);
  let at = RECORD_HEADER;
  for (const { key, value } of entries) {
    out[at] = value ? OP_SET : OP_DELETE;
    v.setUint32(at + 1, key.length);
    v.setUint32(at + 5, value ? value.length : 0);
    out.set(key, at + ENTRY_HEADER);
    if (value) out.set(value, at + ENTRY_HEADER + key.length);
    at += ENTRY_HEADER + key.length + (value ? value.length : 0);
  }
  return out;
}

/** Writes `seq` and the CRC into the record at `at` of `out`. */
export function sealRecord(out: Uint8Array, at: number, seq: number): void {
  const v = view(out);
  v.setUint32(at + 8, Math.floor(seq / 0x100000000));
  v.setUint32(at + 12, seq >>> 0);
  const end = at + RECORD_HEADER + v.getUint32(at + 20);
  v.setUint32(at + 4, crc32c(out, at + 8, end));
}

/** Offsets of one entry's parts inside a buffer. */
export interface EntryRef {
  op: number;
  keyStart: number;
  keyLength: number;
  valueStart: number;
  valueLength: number;
}

/** The result of {@linkcode parseRecord}. */
export type ParsedRecord =
  | { ok: true; size: number; seq: number; entries: EntryRef[] }
  | {
    ok: false;
    need: number;
    /** Bytes read to reject it, when more than the header (its checksum was computed). */
    checked?: number;
  };

/**
 * Parses the v1 record at `b[at]`. `{ ok: false, need }` with `need` larger
 * than what `b` holds asks for more bytes (`need` counted from `at`);
 * `need` 0 means the bytes there are no valid record.
 */
export function parseRecord(b: Uint8Array, at: number, minSeq: number): ParsedRecord {
  if (b.length - at < RECORD_HEADER) return { ok: false, need: RECORD_HEADER };
  const v = view(b);
  if (v.getUint32(at) !== RECORD_MAGIC) return { ok: false, need: 0 };
  const count = v.getUint32(at + 16);
  const bodyBytes = v.getUint32(at + 20);
  if (bodyBytes > MAX_BODY || count * ENTRY_HEADER > bodyBytes) return { ok: false, need: 0 };
  const size = RECORD_HEADER + bodyBytes;
  if (b.length - at < size) return { ok: false, need: size };
  if (v.getUint32(at + 4) !== crc32c(b, at + 8, at + size)) {
    return { ok: false, need: 0, checked: size };
  }
  const seq = v.getUint32(at + 8) * 0x100000000 + v.getUint32(at + 12);
  if (seq < minSeq) return { ok: false, need: 0, checked: size };
  const entries: EntryRef[] = [];
  let p = at + RECORD_HEADER;
  const end = at + size;
  for (let i = 0; i < count; i++) {
    if (end - p < ENTRY_HEADER) return { ok: false, need: 0, checked: size };
    const op = b[p];
    const keyLength = v.getUint32(p + 1);
    const valueLength = v.getUint32(p + 5);
    if ((op !== OP_SET && op !== OP_DELETE) || (op === OP_DELETE && valueLength !== 0)) {
      return { ok: false, need: 0, checked: size };
    }
    const keyStart = p + ENTRY_HEADER;
    const valueStart = keyStart + keyLength;
    if (keyLength === 0 || valueStart + valueLength > end) {
      return { ok: false, need: 0, checked: size };
    }
    entries.push({ op, keyStart, keyLength, valueStart, valueLength });
    p = valueStart + valueLength;
  }
  if (p !== end) return { ok: false, need: 0, checked: size };
  return { ok: true, size, seq, entries };
}

/** The first byte of a record's magic, for scanning. */
export const MAGIC_FIRST: number = RECORD_MAGIC >>> 24;

// Format v0.
const V0_HEADER = 9;
const V0_BATCH = 3;

/**
 * Parses the v0 write (a single record, or a batch header and its records)
 * at `b[at]`, like {@linkcode parseRecord}.
 */
export function parseV0(b: Uint8Array, at: number): ParsedRecord {
  const one = (p: number): { ref: EntryRef; end: number; count: number } | number => {
    if (b.length - p < V0_HEADER + 4) return V0_HEADER + 4 + (p - at);
    const v = view(b);
    const op = b[p];
    if (op !== OP_SET && op !== OP_DELETE && op !== V0_BATCH) return 0;
    const keyLength = v.getUint32(p + 1);
    const second = v.getUint32(p + 5);
    const valueLength = op === OP_SET ? second : 0;
    const end = p + V0_HEADER + keyLength + valueLength;
    if (keyLength + valueLength > MAX_BODY) return 0;
    if (end + 4 > b.length) return end + 4 - at;
    if (v.getUint32(end) !== crc32v0(b, p, end)) return 0;
    const ref = {
      op,
      keyStart: p + V0_HEADER,
      keyLength,
      valueStart: p + V0_HEADER + keyLength,
      valueLength,
    };
    return { ref, end: end + 4, count: op === V0_BATCH ? second : 0 };
  };
  const first = one(at);
  if (typeof first === "number") return { ok: false, need: first };
  if (first.ref.op !== V0_BATCH) {
    return { ok: true, size: first.end - at, seq: 0, entries: [first.ref] };
  }
  const entries: EntryRef[] = [];
  let p = first.end;
  for (let i = 0; i < first.count; i++) {
    const inner = one(p);
    if (typeof inner === "number") return { ok: false, need: inner };
    if (inner.ref.op === V0_BATCH) return { ok: false, need: 0 };
    entries.push(inner.ref);
    p = inner.end;
  }
  return { ok: true, size: p - at, seq: 0, entries };
}
