/**
 * The key-value store behind the KVStore plugin (`plugins/kvstore.ts`):
 * {@linkcode KvStore}, a durable binary store on one append-only log with
 * an in-memory index, a bounded value cache, group commit, background
 * compaction and recovery that skips damaged records.
 *
 * @example
 * ```ts
 * import { KvStore } from "./mod.ts";
 * console.log(typeof KvStore.open);
 * ```
 *
 * @module
 */
export * from "./store.ts";
