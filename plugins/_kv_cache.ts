/**
 * The value cache of {@linkcode KvStore} (private to `plugins/`): least
 * recently used values, bounded in bytes.
 *
 * @module
 */

// A Map keeps insertion order: re-inserting on a hit makes its first key the least recent.
const ENTRY_OVERHEAD = 64;

/** An LRU map of values, holding at most `maxBytes` (values, keys and a per-entry estimate). */
export class ValueCache {
  #map = new Map<string, Uint8Array>();
  #bytes = 0;
  #max: number;
  /** Lookups that found a value. */
  hits = 0;
  /** Lookups that did not. */
  misses = 0;

  constructor(maxBytes: number) {
    this.#max = maxBytes;
  }

  /** Bytes held now. */
  get bytes(): number {
    return this.#bytes;
  }

  #cost(key: string, value: Uint8Array): number {
    return value.length + key.length * 2 + ENTRY_OVERHEAD;
  }

  /** The value, made the most recent; counts a hit or a miss. */
  get(key: string): Uint8Array | undefined {
    const value = this.#map.get(key);
    if (value === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.#map.delete(key);
    this.#map.set(key, value);
    return value;
  }

  /** The value, without touching recency or counters. */
  peek(key: string): Uint8Array | undefined {
    return this.#map.get(key);
  }

  /** Stores `value` (owned by the cache from now on), evicting the least recent. */
  set(key: string, value: Uint8Array): void {
    this.delete(key);
    const cost = this.#cost(key, value);
    if (cost > this.#max / 4) return; // one huge value must not flush everything else
    this.#map.set(key, value);
    this.#bytes += cost;
    for (const [k, v] of this.#map) {
      if (this.#bytes <= this.#max) break;
      this.#map.delete(k);
      this.#bytes -= this.#cost(k, v);
    }
  }

  /** Forgets `key`. */
  delete(key: string): void {
    const old = this.#map.get(key);
    if (old === undefined) return;
    this.#map.delete(key);
    this.#bytes -= this.#cost(key, old);
  }

  /** Forgets everything. */
  clear(): void {
    this.#map.clear();
    this.#bytes = 0;
  }
}
