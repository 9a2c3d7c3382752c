/**
 * The KVStore plugin (the seed's `mod_kvstore`): a {@linkcode KvStore}
 * exported as APIs. Options: `path` (default `kvstore.bin` in the working
 * directory), `sync` (`"always"` or `"never"`).
 *
 * APIs: `kvstore.get(key)` → bytes or undefined, `kvstore.getString(key)`,
 * `kvstore.set(key, value)`, `kvstore.setBatch([[key, value], ...])`,
 * `kvstore.getBatch(keys)`, `kvstore.delete(key)`, `kvstore.keys()`,
 * `kvstore.stats()`. Writes return promises.
 *
 * @example
 * ```toml
 * [modules]
 * modules = [{ url = "kvstore.ts", options = { path = "/var/lib/iora/kvstore.bin" } }]
 * ```
 *
 * @module
 */
import { Plugin } from "../service/plugin.ts";
import type { IoraService } from "../service/iora_service.ts";
import { KvStore, type KvStoreStats, type KvSyncMode } from "./kv_store.ts";

const decoder = new TextDecoder();

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
    const sync = this.options.sync === "never" ? "never" : "always" as KvSyncMode;
    const store = await KvStore.open(path, { sync });
    this.#store = store;
    this.exportApi("kvstore.get", (key: string) => store.get(key));
    this.exportApi("kvstore.getString", (key: string) => {
      const value = store.get(key);
      return value === undefined ? undefined : decoder.decode(value);
    });
    this.exportApi(
      "kvstore.set",
      (key: string, value: Uint8Array | string) => store.set(key, value),
    );
    this.exportApi(
      "kvstore.setBatch",
      (entries: [string, Uint8Array | string][]) => store.setBatch(entries),
    );
    this.exportApi("kvstore.getBatch", (keys: string[]) => store.getBatch(keys));
    this.exportApi("kvstore.delete", (key: string) => store.delete(key));
    this.exportApi("kvstore.keys", () => store.keys());
    this.exportApi("kvstore.stats", (): KvStoreStats => store.getStats());
    service.logger.info("kvstore opened", { path, keys: store.size });
  }

  /** Flushes and closes the store. */
  override async onUnload(): Promise<void> {
    await this.#store?.close();
    this.#store = undefined;
  }
}
