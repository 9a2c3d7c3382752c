/**
 * What {@linkcode KvStore} takes and gives: its error and codes, its options,
 * its counters and what recovery found. Re-exported by `store.ts`.
 *
 * @example
 * ```ts
 * import type { KvStoreOptions } from "./store_types.ts";
 * const options: KvStoreOptions = { sync: "batch", cacheBytes: 1 << 20 };
 * ```
 *
 * @module
 */
import { IoraError } from "../../core/errors.ts";
import type { DamagedRegion } from "./_scan.ts";
/** Stable codes of {@linkcode KvStoreError}. */
export type KvStoreErrorCode =
  | "InvalidKey"
  | "InvalidValue"
  | "InvalidOption"
  | "Closed"
  | "Io"
  | "Corrupt"
  | "NotAStore"
  | "UnsupportedVersion";

/**
 * A key-value store failure. `Corrupt` carries the byte `offset` and
 * `length` of the damaged region.
 *
 * @example
 * ```ts
 * import { KvStoreError } from "./store.ts";
 * console.log(new KvStoreError("Closed", "the store is closed").code);
 * ```
 */
export class KvStoreError extends IoraError {
  /** The kind of failure. */
  declare readonly code: KvStoreErrorCode;
  /** For `Corrupt`: where the damaged region starts in the file. */
  readonly offset: number | undefined;
  /** For `Corrupt`: the damaged region's length in bytes. */
  readonly length: number | undefined;

  /**
   * Creates a store error.
   *
   * @param code the kind of failure
   * @param message what went wrong
   * @param options standard error options (`cause`), and the damaged region
   */
  constructor(
    code: KvStoreErrorCode,
    message: string,
    options?: ErrorOptions & { offset?: number; length?: number },
  ) {
    super(code, message, options);
    this.offset = options?.offset;
    this.length = options?.length;
  }
}

/** When writes reach the disk: see the module documentation. */
export type KvSyncMode = "always" | "batch" | "never";

/** Options of {@linkcode KvStore.open}. */
export interface KvStoreOptions {
  /**
   * `"always"`: a write resolves after fsync (concurrent writers share one).
   * `"batch"`: fsync at most every `syncIntervalMs`. `"never"`: the OS decides.
   * @default {"always"}
   */
  sync?: KvSyncMode;
  /**
   * With `sync: "batch"`, the longest time between a write and its fsync.
   * @default {100}
   */
  syncIntervalMs?: number;
  /**
   * Bytes of values kept in memory (least recently used are evicted).
   * @default {16777216}
   */
  cacheBytes?: number;
  /**
   * Longest key in UTF-8 bytes.
   * @default {4096}
   */
  maxKeyBytes?: number;
  /**
   * Largest value in bytes.
   * @default {16777216}
   */
  maxValueBytes?: number;
  /**
   * Largest batch (keys and values together) in bytes.
   * @default {67108864}
   */
  maxBatchBytes?: number;
  /**
   * Compact when the file exceeds this many times the live data.
   * @default {2}
   */
  compactRatio?: number;
  /**
   * Never compact by ratio a file smaller than this.
   * @default {1048576}
   */
  compactMinBytes?: number;
  /**
   * Called for every damaged region found on open (code `Corrupt`, with its
   * `offset`) and for a background compaction that failed (code `Io`).
   */
  onCorruption?: (error: KvStoreError) => void;
}

/** Counters of a {@linkcode KvStore}. */
export interface KvStoreStats {
  /** Keys stored now. */
  keys: number;
  /** Bytes of the log file. */
  fileBytes: number;
  /** Bytes the live data takes in a compacted file. */
  liveBytes: number;
  /** Bytes of values in the cache. */
  cacheBytes: number;
  /** Cache hits / (hits + misses) since the last reset; 0 before any read. */
  cacheHitRatio: number;
  /** Reads answered from the cache. */
  cacheHits: number;
  /** Reads that went to the file. */
  cacheMisses: number;
  /** Write operations (set, delete, batch) since open. */
  writes: number;
  /** fsync calls of the log since open (group commit makes them fewer than writes). */
  syncs: number;
  /** Compactions since open. */
  compactions: number;
  /** Damaged records (regions) skipped when the store was opened. */
  corruptRecords: number;
  /** Bytes dropped when the store was opened (damaged regions and a cut tail). */
  recoveredBytes: number;
}

/** What opening the store found and did. */
export interface KvRecovery {
  /** The format the file was in: 0 files are upgraded to 1 on open. */
  version: 0 | 1;
  /** Damaged regions skipped (a damaged header is the one at offset 0). */
  damaged: DamagedRegion[];
  /** Bytes of the cut tail (no intact record after them). */
  tailBytes: number;
  /** True when the tail was a record cut short by the end of the file (a torn write). */
  tailTorn: boolean;
  /** Where the original file was kept before anything was dropped, if it was. */
  damagedCopy: string | undefined;
}
