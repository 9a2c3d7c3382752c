// KvStore's options with their defaults applied and checked. Private to plugins/kv/.
import { KvStoreError, type KvStoreOptions } from "./store_types.ts";

function positive(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (typeof v !== "number" || !(v >= 0) || !Number.isFinite(v)) {
    throw new KvStoreError("InvalidOption", `${name} must be a finite number >= 0, got ${v}`);
  }
  return v;
}

export type Settings = Required<Omit<KvStoreOptions, "onCorruption">> & {
  onCorruption: ((error: KvStoreError) => void) | undefined;
};

export function settings(options: KvStoreOptions): Settings {
  const sync = options.sync ?? "always";
  if (sync !== "always" && sync !== "batch" && sync !== "never") {
    throw new KvStoreError("InvalidOption", `sync must be "always", "batch" or "never"`);
  }
  const s: Settings = {
    sync,
    syncIntervalMs: positive("syncIntervalMs", options.syncIntervalMs, 100),
    cacheBytes: positive("cacheBytes", options.cacheBytes, 16 * 1024 * 1024),
    maxKeyBytes: positive("maxKeyBytes", options.maxKeyBytes, 4096),
    maxValueBytes: positive("maxValueBytes", options.maxValueBytes, 16 * 1024 * 1024),
    maxBatchBytes: positive("maxBatchBytes", options.maxBatchBytes, 64 * 1024 * 1024),
    compactRatio: positive("compactRatio", options.compactRatio, 2),
    compactMinBytes: positive("compactMinBytes", options.compactMinBytes, 1024 * 1024),
    onCorruption: options.onCorruption,
  };
  if (s.compactRatio < 1) throw new KvStoreError("InvalidOption", "compactRatio must be >= 1");
  if (s.maxBatchBytes > 512 * 1024 * 1024 || s.maxValueBytes > s.maxBatchBytes) {
    throw new KvStoreError("InvalidOption", "maxValueBytes <= maxBatchBytes <= 512 MiB");
  }
  return s;
}
