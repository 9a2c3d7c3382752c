/**
 * The KVStore plugin (the seed's `mod_kvstore`): a {@linkcode KvStore}
 * exported as APIs. Options: `path` (default `kvstore.bin` in the working
 * directory), `sync` (`"always"`, `"batch"` or `"never"`), `syncIntervalMs`,
 * `cacheBytes`, `compactRatio`, `compactMinBytes`, `maxKeyBytes`,
 * `maxValueBytes`, `maxBatchBytes` (see {@linkcode KvStoreOptions}).
 *
 * APIs: `kvstore.get(key)` → a copy of the bytes or undefined,
 * `kvstore.getString(key)`, `kvstore.getBatch(keys)`, `kvstore.has(key)`,
 * `kvstore.keys(prefix?)`, `kvstore.set(key, value)`,
 * `kvstore.setString(key, text)`, `kvstore.setBatch([[key, value], ...])`
 * (a `null` value deletes), `kvstore.delete(key)`, `kvstore.compact()`,
 * `kvstore.flush()`, `kvstore.stats()`. Writes return promises. Damaged
 * records found on open are logged as errors.
 *
 * @example
 * ```toml
 * [modules]
 * modules = [{ url = "kvstore.ts", options = { path = "/var/lib/iora/kvstore.bin", sync = "batch" } }]
 * ```
 *
 * @module
 */
import { Plugin } from "../service/plugin.ts";
import type { IoraService } from "../service/iora_service.ts";
import { KvStore, KvStoreError, type KvStoreOptions, type KvStoreStats } from "./kv/store.ts";

const NUMERIC = [
  "syncIntervalMs",
  "cacheBytes",
  "compactRatio",
  "compactMinBytes",
  "maxKeyBytes",
  "maxValueBytes",
  "maxBatchBytes",
] as const;

function storeOptions(options: Record<string, unknown>): KvStoreOptions {
  const out: KvStoreOptions = {};
  if (options.sync !== undefined) out.sync = options.sync as KvStoreOptions["sync"];
  for (const name of NUMERIC) {
    const value = options[name];
    if (value === undefined) continue;
    if (typeof value !== "number") {
      throw new KvStoreError("InvalidOption", `kvstore option ${name} must be a number`);
    }
    out[name] = value;
  }
  return out;
}

/**
 * The KVStore plugin.
 *
 * @example
 * ```ts ignore
 * const set = service.getExportedApiSafe<(k: string, v: string) => Promise<void>>("kvstore.set");
 * await set.call("user:1", JSON.stringify({ name: "Ada" }));
 * ```
 */
export default class KvStorePlugin extends Plugin {
  #store: KvStore | undefined;

  /**
   * Opens the store and exports its APIs.
   *
   * @param service the service
   */
  override async onLoad(service: IoraService): Promise<void> {
    const path = typeof this.options.path === "string" ? this.options.path : "kvstore.bin";
    const store = await KvStore.open(path, {
      ...storeOptions(this.options),
      onCorruption: (error) =>
        service.logger.error(error.message, { path, code: error.code, offset: error.offset }),
    });
    this.#store = store;
    this.exportApi("kvstore.get", (key: string) => store.get(key));
    this.exportApi("kvstore.getString", (key: string) => store.getString(key));
    this.exportApi("kvstore.getBatch", (keys: string[]) => store.getBatch(keys));
    this.exportApi("kvstore.has", (key: string) => store.has(key));
    this.exportApi("kvstore.keys", (prefix?: string) => store.keys(prefix));
    this.exportApi(
      "kvstore.set",
      (key: string, value: Uint8Array | string) => store.set(key, value),
    );
    this.exportApi(
      "kvstore.setString",
      (key: string, value: string) => store.setString(key, value),
    );
    this.exportApi(
      "kvstore.setBatch",
      (entries: [string, Uint8Array | string | null][]) => store.setBatch(entries),
    );
    this.exportApi("kvstore.delete", (key: string) => store.delete(key));
    this.exportApi("kvstore.compact", () => store.compact());
    this.exportApi("kvstore.flush", () => store.flush());
    this.exportApi("kvstore.stats", (): KvStoreStats => store.stats());
    const { damagedCopy, version } = store.recovery;
    service.logger.info("kvstore opened", { path, keys: store.size, damagedCopy, version });
  }

  /** Flushes and closes the store. */
  override async onUnload(): Promise<void> {
    await this.#store?.close();
    this.#store = undefined;
  }
}
