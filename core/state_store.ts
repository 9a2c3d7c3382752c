/**
 * String key/value state: {@linkcode StateStore} in memory (the seed's
 * ConcreteStateStore) and {@linkcode JsonFileStore}, the same API persisted
 * to a JSON file with atomic, durable writes.
 *
 * Keys are case-insensitive by ASCII case folding only (`A`-`Z` to
 * `a`-`z`), so the same keys match whatever the locale; a key keeps the
 * spelling it was last set with.
 *
 * @example
 * ```ts
 * import { JsonFileStore } from "./state_store.ts";
 * await using store = await JsonFileStore.open("/tmp/iora_state.json");
 * store.set("Session.User", "ada");
 * console.log(store.get("session.user")); // "ada"
 * ```
 *
 * @module
 */
import { IoraError } from "./errors.ts";
import { defaultLogger } from "./logger.ts";
import { platform } from "./platform/mod.ts";
import { timerDelay } from "./_timer_delay.ts";

/** Stable codes of {@linkcode StateStoreError}. */
export type StateStoreErrorCode = "CorruptFile" | "InvalidValue" | "Closed";

/** A state store failure: a corrupt file (named), a non-string value, or use after close. */
export class StateStoreError extends IoraError {
  /** What went wrong. */
  declare readonly code: StateStoreErrorCode;
  /** The file concerned, when there is one. */
  readonly path: string | undefined;

  /**
   * Creates a state store error.
   *
   * @param code what went wrong
   * @param message a description naming the file or key
   * @param path the file concerned, if any
   * @param options standard error options (`cause`)
   */
  constructor(
    code: StateStoreErrorCode,
    message: string,
    path?: string,
    options?: ErrorOptions,
  ) {
    super(code, message, options);
    this.path = path;
  }
}

/**
 * Folds ASCII capitals to lower case and nothing else, so `"I"` matches
 * `"i"` in every locale and non-ASCII letters are compared exactly.
 *
 * @example
 * ```ts
 * import { foldKey } from "./state_store.ts";
 * console.log(foldKey("Content-TYPE")); // "content-type"
 * ```
 */
export function foldKey(key: string): string {
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c >= 65 && c <= 90) return key.replace(/[A-Z]+/g, (m) => m.toLowerCase());
  }
  return key;
}

function checkString(what: string, value: unknown): asserts value is string {
  if (typeof value !== "string") {
    throw new StateStoreError("InvalidValue", `${what} must be a string, got ${typeof value}`);
  }
}

// The key is named in the message: quoted only when the check fails, not on every set.
function checkValue(key: string, value: unknown): asserts value is string {
  if (typeof value !== "string") checkString(`value of ${JSON.stringify(key)}`, value);
}

/**
 * An in-memory string key/value store with case-insensitive keys (the
 * seed's ConcreteStateStore).
 *
 * @example
 * ```ts
 * import { StateStore } from "./state_store.ts";
 * const store = new StateStore();
 * store.set("Region", "eu-west");
 * console.log(store.get("REGION"), store.findKeysWithPrefix("reg")); // "eu-west" ["Region"]
 * ```
 */
export class StateStore {
  // folded key -> [key as last set, value]
  #entries = new Map<string, [string, string]>();

  /**
   * Creates a store, optionally filled from `initial`.
   *
   * @param initial key/value pairs to start with
   */
  constructor(initial?: Iterable<readonly [string, string]> | Record<string, string>) {
    if (initial) {
      const pairs = Symbol.iterator in initial
        ? initial as Iterable<readonly [string, string]>
        : Object.entries(initial);
      for (const [k, v] of pairs) this.set(k, v);
    }
  }

  /** The value for `key` (any case), or undefined. */
  get(key: string): string | undefined {
    return this.#entries.get(foldKey(key))?.[1];
  }

  /** Sets `key` to `value`; the key keeps this spelling. */
  set(key: string, value: string): void {
    checkString("key", key);
    checkValue(key, value);
    this.checkWritable();
    const folded = foldKey(key);
    const entry = this.#entries.get(folded);
    // An entry rewritten in place keeps its objects: no garbage per set of a known key.
    if (entry === undefined) this.#entries.set(folded, [key, value]);
    else {
      if (entry[0] !== key) entry[0] = key;
      entry[1] = value;
    }
    this.changed();
  }

  /** Removes `key`; true when it was there. */
  remove(key: string): boolean {
    this.checkWritable();
    const removed = this.#entries.delete(foldKey(key));
    if (removed) this.changed();
    return removed;
  }

  /** True when `key` (any case) is present. */
  has(key: string): boolean {
    return this.#entries.has(foldKey(key));
  }

  /** All keys, as last set, in insertion order. */
  keys(): string[] {
    return Array.from(this.#entries.values(), (e) => e[0]);
  }

  /** Keys starting with `prefix`, compared case-insensitively. */
  findKeysWithPrefix(prefix: string): string[] {
    const folded = foldKey(prefix);
    const found: string[] = [];
    for (const [k, e] of this.#entries) if (k.startsWith(folded)) found.push(e[0]);
    return found;
  }

  /** The number of keys. */
  get size(): number {
    return this.#entries.size;
  }

  /** Removes every key. */
  clear(): void {
    this.checkWritable();
    if (this.#entries.size === 0) return;
    this.#entries.clear();
    this.changed();
  }

  /** A plain object copy of the content, keys as last set. */
  toObject(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [key, value] of this.#entries.values()) {
      // On Node `out["__proto__"] = v` calls the prototype setter and the key is lost.
      if (key === "__proto__") {
        Object.defineProperty(out, key, {
          value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      } else out[key] = value;
    }
    return out;
  }

  /** Called before every change; subclasses throw here to refuse it. */
  protected checkWritable(): void {}

  /** Called after every change; subclasses hook persistence here. */
  protected changed(): void {}
}

/** Options of {@linkcode JsonFileStore.open}. */
export interface JsonFileStoreOptions {
  /** Wait this long after the first unsaved change before writing, collecting later changes; default 200 ms; `Infinity`: only `flush()`/`close()` write. */
  flushDelayMs?: number;
  /** Permission bits of the file; default `0o600` (state may hold secrets). */
  mode?: number;
  /** Called when a background flush fails (default: logged); the data stays dirty and is retried on the next change or flush. */
  onFlushError?: (error: Error) => void;
}

/** Counters of a {@linkcode JsonFileStore}. */
export interface JsonFileStoreStats {
  /** Files written (each an atomic replacement). */
  flushes: number;
  /** Flushes that failed. */
  flushErrors: number;
}

function dirOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "." : i === 0 ? "/" : path.slice(0, i);
}

function baseOf(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/**
 * Writes `text` to `path` so that a crash at any instant leaves either the
 * old file or the new one: a temporary file in the same directory is
 * written and fsynced, renamed over `path`, and the directory is fsynced so
 * the rename itself survives a power loss.
 *
 * @example
 * ```ts
 * import { writeFileAtomic } from "./state_store.ts";
 * await writeFileAtomic("/tmp/settings.json", '{"a":"1"}');
 * ```
 */
export async function writeFileAtomic(
  path: string,
  text: string,
  options: { mode?: number } = {},
): Promise<void> {
  const p = platform();
  // An unpredictable name, created exclusively: a file or link planted at it fails the open
  // instead of being followed (and its target overwritten).
  const random = crypto.getRandomValues(new Uint8Array(12));
  const suffix = [...random].map((b) => b.toString(16).padStart(2, "0")).join("");
  const temp = `${dirOf(path)}/.${baseOf(path)}.tmp-${suffix}`;
  const file = await p.open(temp, { write: true, createNew: true, mode: options.mode ?? 0o600 });
  try {
    try {
      await file.write(new TextEncoder().encode(text));
      await file.sync();
    } finally {
      await file.close();
    }
    await p.rename(temp, path);
  } catch (error) {
    await p.remove(temp).catch(() => {});
    throw error;
  }
  await p.syncDir(dirOf(path));
}

/**
 * A {@linkcode StateStore} persisted to a JSON object file (`{"key":
 * "value"}`). Loaded on open; changes are written in the background
 * `flushDelayMs` after the first unsaved one (batching those made meanwhile)
 * and on `flush()`/`close()`, always through {@linkcode writeFileAtomic},
 * so the file is never torn. A corrupt file is
 * a {@linkcode StateStoreError} naming it, and the file is left untouched.
 *
 * @example
 * ```ts
 * import { JsonFileStore } from "./state_store.ts";
 * const store = await JsonFileStore.open("/tmp/state.json", { flushDelayMs: 50 });
 * store.set("leader", "node-2");
 * await store.flush(); // durable now
 * await store.close();
 * ```
 */
export class JsonFileStore extends StateStore implements AsyncDisposable {
  /** The file's path. */
  readonly path: string;
  #delay: number;
  #mode: number;
  #onFlushError: (error: Error) => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #dirty = false;
  #version = 0;
  #writing: Promise<void> = Promise.resolve();
  #loading = true;
  #closed = false;
  #stats: JsonFileStoreStats = { flushes: 0, flushErrors: 0 };

  /**
   * Creates an empty store bound to `path`; use {@linkcode JsonFileStore.open} to load it.
   *
   * @param path the JSON file
   * @param options flush delay, file mode and error handler
   */
  protected constructor(path: string, options: JsonFileStoreOptions = {}) {
    super();
    this.path = path;
    this.#delay = options.flushDelayMs ?? 200;
    if (!(this.#delay >= 0)) {
      throw new StateStoreError("InvalidValue", "flushDelayMs must be >= 0", path);
    }
    this.#mode = options.mode ?? 0o600;
    this.#onFlushError = options.onFlushError ??
      ((error) =>
        defaultLogger().error("state store flush failed", { path, error: error.message }));
  }

  /**
   * Opens the store at `path`, loading the file when it exists (a missing
   * file is an empty store, created on the first flush).
   *
   * @example
   * ```ts
   * import { JsonFileStore } from "./state_store.ts";
   * const store = await JsonFileStore.open("/tmp/state.json");
   * console.log(store.keys());
   * await store.close();
   * ```
   */
  static async open(path: string, options: JsonFileStoreOptions = {}): Promise<JsonFileStore> {
    const store = new JsonFileStore(path, options);
    let text: string | undefined;
    try {
      text = await platform().readTextFile(path);
    } catch (error) {
      if ((error as { code?: string }).code !== "NotFound") throw error;
    }
    if (text !== undefined) {
      let data: unknown;
      try {
        data = JSON.parse(text);
      } catch (error) {
        throw new StateStoreError(
          "CorruptFile",
          `state file ${path} is not valid JSON (${
            (error as Error).message
          }); it was left untouched`,
          path,
          { cause: error },
        );
      }
      if (typeof data !== "object" || data === null || Array.isArray(data)) {
        throw new StateStoreError(
          "CorruptFile",
          `state file ${path} must hold a JSON object of strings; it was left untouched`,
          path,
        );
      }
      for (const [key, value] of Object.entries(data)) {
        if (typeof value !== "string") {
          throw new StateStoreError(
            "CorruptFile",
            `state file ${path}: the value of ${
              JSON.stringify(key)
            } is not a string; the file was left untouched`,
            path,
          );
        }
        if (store.has(key)) {
          const other = store.keys().find((k) => foldKey(k) === foldKey(key));
          throw new StateStoreError(
            "CorruptFile",
            `state file ${path} holds keys that differ only in case (${JSON.stringify(other)} ` +
              `and ${JSON.stringify(key)}), and keys are case-insensitive: merge them by hand; ` +
              `the file was left untouched`,
            path,
          );
        }
        store.set(key, value);
      }
    }
    store.#loading = false;
    await store.#removeStaleTemps();
    return store;
  }

  /** Counters since open or the last `resetStats()`. */
  getStats(): JsonFileStoreStats {
    return { ...this.#stats };
  }

  /** Zeroes the counters. */
  resetStats(): void {
    this.#stats = { flushes: 0, flushErrors: 0 };
  }

  /** True while changes are not yet on disk. */
  get dirty(): boolean {
    return this.#dirty;
  }

  /** Refuses changes after `close()`, before anything is modified. */
  protected override checkWritable(): void {
    if (this.#closed) {
      throw new StateStoreError("Closed", `state store ${this.path} is closed`, this.path);
    }
  }

  /** Schedules the background write, unless one is already scheduled. */
  protected override changed(): void {
    if (this.#loading) return;
    this.#dirty = true;
    this.#version++;
    // The first unsaved change starts the clock and later ones ride along:
    // no timer churn per set(), and a steady stream of changes still gets
    // written every `flushDelayMs` instead of never.
    if (this.#timer !== undefined || this.#delay === Infinity) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.flush().catch((error) => this.#onFlushError(error));
    }, timerDelay(this.#delay));
  }

  /** Writes the current content atomically; resolves once it is durable. */
  flush(): Promise<void> {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    // Writes are chained so two flushes never race on the file.
    const next = this.#writing.catch(() => {}).then(() => this.#write());
    this.#writing = next;
    return next;
  }

  async #write(): Promise<void> {
    if (!this.#dirty) return;
    const version = this.#version;
    const text = JSON.stringify(this.toObject());
    try {
      await writeFileAtomic(this.path, text, { mode: this.#mode });
    } catch (error) {
      this.#stats.flushErrors++;
      throw error;
    }
    this.#stats.flushes++;
    // A change made while writing keeps the store dirty for the next flush.
    if (this.#version === version) this.#dirty = false;
  }

  /** Flushes and stops; later changes throw a `Closed` error. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.flush();
    this.#closed = true;
    // Changes made while that write ran were accepted: write them too, or they would wait for
    // a background timer armed after close (or be lost if the process exits first).
    if (this.#dirty) await this.flush();
  }

  /** Same as {@linkcode JsonFileStore.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // Temporary files left by a crash mid-flush are garbage: the real file is intact.
  async #removeStaleTemps(): Promise<void> {
    const p = platform();
    const prefix = `.${baseOf(this.path)}.tmp-`;
    try {
      for (const entry of await p.readDir(dirOf(this.path))) {
        if (entry.isFile && entry.name.startsWith(prefix)) {
          await p.remove(`${dirOf(this.path)}/${entry.name}`).catch(() => {});
        }
      }
    } catch { /* an unreadable directory only means no cleanup */ }
  }
}
