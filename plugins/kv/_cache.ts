/**
 * The value cache of {@linkcode KvStore} (private to `plugins/`): least
 * recently used values, bounded in bytes.
 *
 * @module
 */

// A doubly linked list in recency order beside a Map: every operation is O(1). (A Map alone,
// re-inserting on a hit and evicting its first key, slows down as deleted slots pile up at the
// front of V8's hash table, which each eviction's iterator has to skip.)
const ENTRY_OVERHEAD = 64;

interface Node {
  key: string;
  value: Uint8Array;
  cost: number;
  prev: Node | null;
  next: Node | null;
}

/** An LRU map of values, holding at most `maxBytes` (values, keys and a per-entry estimate). */
export class ValueCache {
  #map = new Map<string, Node>();
  #head: Node | null = null; // most recent
  #tail: Node | null = null; // least recent
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

  #unlink(node: Node): void {
    if (node.prev) node.prev.next = node.next;
    else this.#head = node.next;
    if (node.next) node.next.prev = node.prev;
    else this.#tail = node.prev;
    node.prev = node.next = null;
  }

  #pushFront(node: Node): void {
    node.next = this.#head;
    if (this.#head) this.#head.prev = node;
    this.#head = node;
    this.#tail ??= node;
  }

  /** The value, made the most recent; counts a hit or a miss. */
  get(key: string): Uint8Array | undefined {
    const node = this.#map.get(key);
    if (node === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    if (node !== this.#head) {
      this.#unlink(node);
      this.#pushFront(node);
    }
    return node.value;
  }

  /** The value, without touching recency or counters. */
  peek(key: string): Uint8Array | undefined {
    return this.#map.get(key)?.value;
  }

  /**
   * Stores `value` (owned by the cache from now on), evicting the least recent. `retained` is
   * the bytes the value keeps alive (more than its length when it is a view of a larger buffer).
   */
  set(key: string, value: Uint8Array, retained: number = value.length): void {
    this.delete(key);
    this.add(key, value, retained);
  }

  /** {@linkcode ValueCache.set} for a key known to be absent (a miss just seen). */
  add(key: string, value: Uint8Array, retained: number = value.length): void {
    const cost = retained + key.length * 2 + ENTRY_OVERHEAD;
    if (cost > this.#max / 4) return; // one huge value must not flush everything else
    const node: Node = { key, value, cost, prev: null, next: null };
    this.#map.set(key, node);
    this.#pushFront(node);
    this.#bytes += cost;
    while (this.#bytes > this.#max && this.#tail) this.#drop(this.#tail);
  }

  /** Forgets `key`. */
  delete(key: string): void {
    const node = this.#map.get(key);
    if (node !== undefined) this.#drop(node);
  }

  #drop(node: Node): void {
    this.#map.delete(node.key);
    this.#unlink(node);
    this.#bytes -= node.cost;
  }

  /** Forgets everything. */
  clear(): void {
    this.#map.clear();
    this.#head = this.#tail = null;
    this.#bytes = 0;
  }
}
