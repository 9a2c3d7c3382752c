// The DNS transport's query ids: each query gets a random 16-bit id (drawn from
// crypto.getRandomValues in batches) that no other query in flight holds, and keeps it until it
// settles; a reply finds its query by id. Private to dns/.

/** Random ids drawn per crypto.getRandomValues call. */
const ID_POOL = 1024;
/** Queries allowed in flight at once: a few ids stay free, so a draw finds one soon. */
const MAX_INFLIGHT = 65000;

/** Something that holds an id while it is in flight. */
export interface HoldsId {
  id: number;
}

/** The ids in use, each with the query holding it. */
export class QueryIds<T extends HoldsId> {
  #slots: (T | undefined)[] = new Array(65536);
  #inflight = 0;
  #ids = new Uint16Array(ID_POOL);
  #idAt = ID_POOL;

  /** Queries holding an id. */
  get inflight(): number {
    return this.#inflight;
  }

  /** Gives `item` a random free id; false when too many are in flight. */
  allocate(item: T): boolean {
    if (this.#inflight >= MAX_INFLIGHT) return false;
    for (;;) {
      if (this.#idAt >= ID_POOL) {
        crypto.getRandomValues(this.#ids);
        this.#idAt = 0;
      }
      const id = this.#ids[this.#idAt++];
      if (this.#slots[id] === undefined) {
        this.#slots[id] = item;
        item.id = id;
        this.#inflight++;
        return true;
      }
    }
  }

  /** The query holding `id`, if any. */
  get(id: number): T | undefined {
    return this.#slots[id];
  }

  /** Frees the id `item` holds (a no-op when it holds none). */
  release(item: T): void {
    if (item.id >= 0 && this.#slots[item.id] === item) {
      this.#slots[item.id] = undefined;
      this.#inflight--;
    }
  }

  /** Calls `fn` for every query holding an id; `fn` may release it. */
  forEach(fn: (item: T) => void): void {
    for (const item of this.#slots) if (item) fn(item);
  }
}
