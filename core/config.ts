/**
 * TOML configuration with embedded defaults, typed getters on dotted paths,
 * environment overrides and hot reload.
 *
 * Environment overrides: a variable named `<PREFIX>__<KEY>__<KEY>...`
 * (prefix `IORA` by default, segments separated by a double underscore)
 * replaces the value at that path, so `IORA__SERVER__PORT=9090` sets
 * `server.port`. Segments match existing keys ignoring ASCII case; new keys
 * are lower-cased. The text is taken as a string when the value it replaces
 * is a string; otherwise it is read as a TOML value (`9090`, `true`,
 * `["a", "b"]`) and falls back to a string when it is not one.
 *
 * Integers beyond ±2^53 are kept exact as `bigint`: `getBigInt` returns
 * them, while `getInt`/`getNumber` refuse them with an `OutOfRange` error
 * instead of rounding.
 *
 * @example
 * ```ts
 * import { ConfigLoader } from "./config.ts";
 * const loader = new ConfigLoader({ defaults: "[server]\nport = 8080\n" });
 * await loader.load("/etc/iora.conf.d/iora.cfg");
 * const port = loader.getInt("server.port");
 * loader.onReload((next) => console.log("port is now", next.getInt("server.port")));
 * loader.watch();
 * ```
 *
 * @module
 */
import { parse, TomlError } from "smol-toml";
import { IoraError } from "./errors.ts";
import { defaultLogger, type Logger } from "./logger.ts";
import { platform } from "./platform/mod.ts";
import type { Watcher } from "./platform/mod.ts";
import { MAX_TIMER_DELAY } from "./_timer_delay.ts";

/** A configuration value as TOML produces it (dates are `Date` objects). */
export type ConfigValue =
  | string
  | number
  | bigint
  | boolean
  | Date
  | ConfigValue[]
  | ConfigTable;

/** A TOML table. */
export interface ConfigTable {
  /** The table's entries. */
  [key: string]: ConfigValue;
}

/** Stable codes of {@linkcode ConfigError}. */
export type ConfigErrorCode =
  | "ParseError"
  | "MissingKey"
  | "TypeMismatch"
  | "OutOfRange"
  | "NotLoaded"
  | "InvalidOption";

/** Details carried by a {@linkcode ConfigError}. */
export interface ConfigErrorDetails {
  /** The file concerned. */
  file?: string;
  /** 1-based line of a parse error. */
  line?: number;
  /** 1-based column of a parse error. */
  column?: number;
  /** The dotted key concerned. */
  key?: string;
  /** The type the caller asked for. */
  expected?: string;
  /** The type found. */
  found?: string;
}

/**
 * A configuration failure: a parse error with file, line and column, or a
 * getter's missing key / wrong type, naming the key, the expected and the
 * found type.
 *
 * @example
 * ```ts
 * import { Config, ConfigError } from "./config.ts";
 * try {
 *   new Config({ port: "80" }).getInt("port");
 * } catch (e) {
 *   if (e instanceof ConfigError) console.log(e.code, e.key, e.expected, e.found);
 * }
 * ```
 */
export class ConfigError extends IoraError {
  /** What went wrong. */
  declare readonly code: ConfigErrorCode;
  /** The file concerned, if any. */
  readonly file: string | undefined;
  /** 1-based line of a parse error. */
  readonly line: number | undefined;
  /** 1-based column of a parse error. */
  readonly column: number | undefined;
  /** The dotted key concerned, if any. */
  readonly key: string | undefined;
  /** The type the caller asked for. */
  readonly expected: string | undefined;
  /** The type found. */
  readonly found: string | undefined;

  /**
   * Creates a configuration error.
   *
   * @param code what went wrong
   * @param message a description naming the file or key
   * @param details file, position, key and types
   * @param options standard error options (`cause`)
   */
  constructor(
    code: ConfigErrorCode,
    message: string,
    details: ConfigErrorDetails = {},
    options?: ErrorOptions,
  ) {
    super(code, message, options);
    this.file = details.file;
    this.line = details.line;
    this.column = details.column;
    this.key = details.key;
    this.expected = details.expected;
    this.found = details.found;
  }
}

function typeName(value: ConfigValue): string {
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "float";
  if (typeof value === "bigint") return "integer beyond 2^53";
  if (typeof value === "string") return "string";
  if (typeof value === "boolean") return "boolean";
  if (value instanceof Date) return "datetime";
  if (Array.isArray(value)) return "array";
  return "table";
}

function isTable(value: ConfigValue | undefined): value is ConfigTable {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    !(value instanceof Date);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !(value instanceof Date)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * Parses TOML text; a syntax error becomes a {@linkcode ConfigError} with
 * the file, line and column. Large integers become `bigint`.
 *
 * @example
 * ```ts
 * import { parseConfigToml } from "./config.ts";
 * console.log(parseConfigToml("a = 9007199254740993").a); // 9007199254740993n
 * ```
 */
export function parseConfigToml(text: string, file = "<string>"): ConfigTable {
  try {
    return parse(text, { integersAsBigInt: "asNeeded" }) as ConfigTable;
  } catch (error) {
    if (error instanceof TomlError) {
      const first = error.message.split("\n")[0];
      throw new ConfigError(
        "ParseError",
        `${file}:${error.line}:${error.column}: ${first}`,
        { file, line: error.line, column: error.column },
        { cause: error },
      );
    }
    throw new ConfigError("ParseError", `${file}: ${(error as Error).message}`, { file }, {
      cause: error,
    });
  }
}

/**
 * Throws a `ParseError` when tables nest deeper than `maxDepth`, walking with a stack of its own
 * (the recursive code after it would overflow the call stack), naming the line of the key.
 */
function checkDepth(table: ConfigTable, text: string, file: string, maxDepth: number): void {
  const stack: [ConfigTable, string[]][] = [[table, []]];
  while (stack.length > 0) {
    const [current, path] = stack.pop()!;
    for (const [key, value] of Object.entries(current)) {
      if (!isTable(value)) continue;
      const next = [...path, key];
      if (next.length > maxDepth) {
        // The key as written starts with the segments that got this deep.
        const lines = text.split("\n");
        const head = next.slice(0, Math.min(next.length, 3)).join(".");
        const index = lines.findIndex((line) => line.includes(head));
        const line = index < 0 ? undefined : index + 1;
        const column = index < 0 ? undefined : lines[index].indexOf(head) + 1;
        const where = line === undefined ? file : `${file}:${line}:${column}`;
        throw new ConfigError(
          "ParseError",
          `${where}: the key ${next.slice(0, 3).join(".")}... is nested more than ${maxDepth} ` +
            `tables deep (maxDepth)`,
          { file, line, column, key: next.slice(0, maxDepth + 1).join(".") },
        );
      }
      stack.push([value, next]);
    }
  }
}

/** Merges `over` onto `base` (tables recursively, everything else replaced); returns a new table. */
function merge(base: ConfigTable, over: ConfigTable): ConfigTable {
  const out: ConfigTable = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = Object.hasOwn(out, key) ? out[key] : undefined;
    const merged = isTable(current) && isTable(value) ? merge(current, value) : value;
    // On Node `out["__proto__"] = v` sets the prototype: the key would be lost.
    if (key === "__proto__") {
      Object.defineProperty(out, key, {
        value: merged,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else out[key] = merged;
  }
  return out;
}

function foldAscii(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

/**
 * An immutable configuration snapshot with typed getters on dotted paths
 * (`"server.tls.port"`). Every getter takes an optional default, used only
 * when the key is missing: a present value of the wrong type is always an
 * error, so a typo in the file never hides behind a default.
 *
 * @example
 * ```ts
 * import { Config } from "./config.ts";
 * const config = new Config({ server: { port: 8080, hosts: ["a", "b"] } });
 * console.log(config.getInt("server.port"), config.getStringArray("server.hosts"));
 * console.log(config.getBool("server.debug", false));
 * ```
 */
export class Config {
  /** The file this snapshot was read from, if any. */
  readonly file: string | undefined;
  #data: ConfigTable;
  #origins: ReadonlyMap<string, string>;

  /**
   * Wraps a table (deep-frozen, so the snapshot cannot change under its readers).
   *
   * @param data the configuration table
   * @param file the file it came from, for error messages
   * @param origins dotted key -> environment variable that set it, for error messages
   */
  constructor(data: ConfigTable, file?: string, origins?: ReadonlyMap<string, string>) {
    this.#data = deepFreeze(data);
    this.file = file;
    this.#origins = origins ?? new Map();
  }

  /** The whole (frozen) table. */
  toObject(): Readonly<ConfigTable> {
    return this.#data;
  }

  /** The raw value at `key`, or undefined. */
  get(key: string): ConfigValue | undefined {
    let node: ConfigValue | undefined = this.#data;
    for (const part of key.split(".")) {
      if (!isTable(node) || !Object.hasOwn(node, part)) return undefined;
      node = node[part];
    }
    return node;
  }

  /** True when `key` is present. */
  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  #where(key: string): string {
    const env = this.#origins.get(key);
    return env ? ` (set by ${env})` : this.file ? ` in ${this.file}` : "";
  }

  #mismatch(key: string, expected: string, value: ConfigValue): ConfigError {
    const found = typeName(value);
    return new ConfigError(
      "TypeMismatch",
      `config key "${key}"${this.#where(key)}: expected ${expected}, found ${found}`,
      { file: this.file, key, expected, found },
    );
  }

  #lookup<T>(
    key: string,
    expected: string,
    fallback: T | undefined,
    hasFallback: boolean,
  ): ConfigValue | T {
    const value = this.get(key);
    if (value !== undefined) return value;
    if (hasFallback) return fallback as T;
    throw new ConfigError(
      "MissingKey",
      `config key "${key}" is missing${this.file ? ` in ${this.file}` : ""} (expected ${expected})`,
      { file: this.file, key, expected },
    );
  }

  /** The string at `key`; `defaultValue` when missing. */
  getString(key: string, defaultValue?: string): string {
    const v = this.#lookup(key, "string", defaultValue, arguments.length > 1);
    if (typeof v !== "string") throw this.#mismatch(key, "string", v);
    return v;
  }

  /** The integer at `key` as a safe `number`; `defaultValue` when missing. */
  getInt(key: string, defaultValue?: number): number {
    const v = this.#lookup(key, "integer", defaultValue, arguments.length > 1);
    if (typeof v === "bigint") {
      throw new ConfigError(
        "OutOfRange",
        `config key "${key}"${
          this.#where(key)
        }: ${v} is beyond ±2^53 and cannot be a number without rounding; use getBigInt`,
        { file: this.file, key, expected: "integer", found: typeName(v) },
      );
    }
    if (typeof v !== "number" || !Number.isInteger(v)) throw this.#mismatch(key, "integer", v);
    return v;
  }

  /** The integer at `key` as a `bigint` (exact at any size); `defaultValue` when missing. */
  getBigInt(key: string, defaultValue?: bigint): bigint {
    const v = this.#lookup(key, "integer", defaultValue, arguments.length > 1);
    if (typeof v === "bigint") return v;
    if (typeof v !== "number" || !Number.isInteger(v)) throw this.#mismatch(key, "integer", v);
    return BigInt(v);
  }

  /** The integer or float at `key`; `defaultValue` when missing. */
  getNumber(key: string, defaultValue?: number): number {
    const v = this.#lookup(key, "number", defaultValue, arguments.length > 1);
    if (typeof v === "bigint") {
      throw new ConfigError(
        "OutOfRange",
        `config key "${key}"${this.#where(key)}: ${v} cannot be a number without rounding`,
        { file: this.file, key, expected: "number", found: typeName(v) },
      );
    }
    if (typeof v !== "number") throw this.#mismatch(key, "number", v);
    return v;
  }

  /** The boolean at `key`; `defaultValue` when missing. */
  getBool(key: string, defaultValue?: boolean): boolean {
    const v = this.#lookup(key, "boolean", defaultValue, arguments.length > 1);
    if (typeof v !== "boolean") throw this.#mismatch(key, "boolean", v);
    return v;
  }

  /** The array of strings at `key`; `defaultValue` when missing. */
  getStringArray(key: string, defaultValue?: string[]): string[] {
    const v = this.#lookup(key, "array of strings", defaultValue, arguments.length > 1);
    if (!Array.isArray(v)) throw this.#mismatch(key, "array of strings", v as ConfigValue);
    v.forEach((item, i) => {
      if (typeof item !== "string") throw this.#mismatch(`${key}[${i}]`, "string", item);
    });
    return [...v] as string[];
  }

  /** The table at `key`; `defaultValue` when missing. */
  getTable(key: string, defaultValue?: ConfigTable): Readonly<ConfigTable> {
    const v = this.#lookup(key, "table", defaultValue, arguments.length > 1);
    if (!isTable(v as ConfigValue)) throw this.#mismatch(key, "table", v as ConfigValue);
    return v as ConfigTable;
  }

  /** The array of tables at `key` (`[[key]]` in TOML); `defaultValue` when missing. */
  getTableArray(key: string, defaultValue?: ConfigTable[]): ReadonlyArray<Readonly<ConfigTable>> {
    const v = this.#lookup(key, "array of tables", defaultValue, arguments.length > 1);
    if (!Array.isArray(v)) throw this.#mismatch(key, "array of tables", v as ConfigValue);
    v.forEach((item, i) => {
      if (!isTable(item)) throw this.#mismatch(`${key}[${i}]`, "table", item);
    });
    return v as ConfigTable[];
  }
}

/** Options of {@linkcode ConfigLoader}. */
export interface ConfigLoaderOptions {
  /** Embedded defaults under the file's values: a table or TOML text. */
  defaults?: ConfigTable | string;
  /** The prefix of override variables (`IORA` gives `IORA__SERVER__PORT`); `false` disables overrides. Default `"IORA"`. */
  envPrefix?: string | false;
  /** The environment to read overrides from; default the process's. */
  env?: Record<string, string>;
  /** Quiet time after the last file event before reloading; default 100 ms, at most 2^31-1. */
  debounceMs?: number;
  /** Where reload failures are logged; default the process-wide logger. */
  logger?: Logger;
  /**
   * How deep tables may nest (a dotted key `a.b.c` is three deep); deeper is a `ParseError`
   * naming the line, instead of exhausting the stack.
   *
   * @default 64
   */
  maxDepth?: number;
}

/** Counters of a {@linkcode ConfigLoader}. */
export interface ConfigLoaderStats {
  /** Successful reloads (changes applied). */
  reloads: number;
  /** Failed reloads (the last good configuration was kept). */
  reloadErrors: number;
}

/**
 * Loads a TOML file over embedded defaults, applies environment overrides,
 * and (after `watch()`) reloads it when it changes: the file's directory is
 * watched (so editors that replace the file are seen), events are
 * debounced, and a successful parse swaps the snapshot atomically and calls
 * the `onReload` handlers with `(newConfig, oldConfig)`. A failed parse
 * keeps the last good configuration, logs the error with its position and
 * calls the `onReloadError` handlers.
 *
 * @example
 * ```ts
 * import { ConfigLoader } from "./config.ts";
 * using loader = new ConfigLoader({ defaults: { log: { level: "info" } } });
 * await loader.load("./iora.toml");
 * loader.onReloadError((e) => console.error("kept the old config:", e.message));
 * loader.watch();
 * console.log(loader.getString("log.level"));
 * ```
 */
export class ConfigLoader implements Disposable {
  #defaults: ConfigTable;
  #maxDepth: number;
  #prefix: string | false;
  #env: Record<string, string> | undefined;
  #debounce: number;
  #logger: Logger | undefined;
  #config: Config | undefined;
  #path: string | undefined;
  #lastText: string | undefined;
  #watcher: Watcher | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #reloading: Promise<unknown> = Promise.resolve();
  #onReload = new Set<(next: Config, previous: Config) => void>();
  #onReloadError = new Set<(error: Error) => void>();
  #stats: ConfigLoaderStats = { reloads: 0, reloadErrors: 0 };

  /**
   * Creates a loader; nothing is read until {@linkcode ConfigLoader.load}.
   *
   * @param options defaults, environment overrides, debounce and logger
   */
  constructor(options: ConfigLoaderOptions = {}) {
    this.#defaults = typeof options.defaults === "string"
      ? parseConfigToml(options.defaults, "<defaults>")
      // A private copy: snapshots are frozen and must not freeze the caller's object.
      : structuredClone(options.defaults ?? {});
    this.#prefix = options.envPrefix ?? "IORA";
    this.#env = options.env;
    this.#debounce = options.debounceMs ?? 100;
    // A longer debounce would be capped, and a capped reload waits less than was asked.
    if (!(this.#debounce >= 0 && this.#debounce <= MAX_TIMER_DELAY)) {
      throw new ConfigError("InvalidOption", "debounceMs must be between 0 and 2^31-1");
    }
    this.#logger = options.logger;
    this.#maxDepth = options.maxDepth ?? 64;
    if (!Number.isInteger(this.#maxDepth) || this.#maxDepth < 1) {
      throw new ConfigError("InvalidOption", "maxDepth must be a positive integer");
    }
  }

  /** The current snapshot; throws `NotLoaded` before the first `load()`. */
  get config(): Config {
    if (!this.#config) throw new ConfigError("NotLoaded", "no configuration loaded yet");
    return this.#config;
  }

  /** The loaded file's path, if any. */
  get path(): string | undefined {
    return this.#path;
  }

  /** Reads and parses `path` over the defaults, with environment overrides, and makes it current. */
  async load(path: string): Promise<Config> {
    const text = await platform().readTextFile(path);
    const config = this.#build(text, path);
    this.#path = path;
    this.#lastText = text;
    this.#config = config;
    return config;
  }

  /** Makes a snapshot from TOML text (no file), over the defaults, with overrides. */
  loadString(text: string, name = "<string>"): Config {
    const config = this.#build(text, name);
    this.#config = config;
    this.#lastText = text;
    return config;
  }

  #build(text: string, file: string): Config {
    const parsed = parseConfigToml(text, file);
    checkDepth(parsed, text, file, this.#maxDepth);
    const data = merge(this.#defaults, parsed);
    const origins = new Map<string, string>();
    if (this.#prefix !== false) this.#applyEnv(data, origins);
    return new Config(data, file, origins);
  }

  #applyEnv(data: ConfigTable, origins: Map<string, string>): void {
    const start = `${this.#prefix}__`;
    let env = this.#env;
    if (!env) {
      try {
        env = platform().envObject();
      } catch {
        return; // No permission to read the environment: no overrides.
      }
    }
    for (const name of Object.keys(env).sort()) {
      if (!name.startsWith(start) || name.length === start.length) continue;
      const parts = name.slice(start.length).split("__");
      if (parts.some((p) => p === "")) continue;
      let table = data;
      const path: string[] = [];
      for (let i = 0; i < parts.length; i++) {
        const wanted = foldAscii(parts[i]);
        const key = Object.keys(table).find((k) => foldAscii(k) === wanted) ?? wanted;
        path.push(key);
        if (i === parts.length - 1) {
          table[key] = envValue(env[name], table[key]);
        } else {
          const next = table[key];
          // Tables on the way are copied, never mutated: they may be shared with the defaults.
          table[key] = isTable(next) ? { ...next } : {};
          table = table[key] as ConfigTable;
        }
      }
      origins.set(path.join("."), name);
    }
  }

  /**
   * Re-reads the file now. On success the snapshot is swapped and the
   * `onReload` handlers run (unless the text did not change); on failure
   * the last good snapshot stays, the error is logged, the `onReloadError`
   * handlers run, and the returned promise rejects.
   */
  reload(): Promise<Config> {
    const run = this.#reloading.catch(() => {}).then(() => this.#reloadNow());
    this.#reloading = run;
    return run;
  }

  async #reloadNow(): Promise<Config> {
    const path = this.#path;
    const previous = this.#config;
    if (path === undefined || previous === undefined) {
      throw new ConfigError("NotLoaded", "reload() needs a configuration loaded from a file");
    }
    let next: Config;
    let text: string;
    try {
      text = await platform().readTextFile(path);
      if (text === this.#lastText) return previous;
      next = this.#build(text, path);
    } catch (error) {
      const err = error instanceof Error ? error : new Error(String(error));
      this.#stats.reloadErrors++;
      const fields: Record<string, unknown> = { file: path, error: err.message };
      if (err instanceof ConfigError && err.line !== undefined) {
        fields.line = err.line;
        fields.column = err.column;
      }
      (this.#logger ?? defaultLogger()).error(
        "configuration reload failed; keeping the last good configuration",
        fields,
      );
      for (const handler of [...this.#onReloadError]) {
        try {
          handler(err);
        } catch { /* a failing handler must not stop the others */ }
      }
      throw err;
    }
    this.#lastText = text;
    this.#config = next;
    this.#stats.reloads++;
    for (const handler of [...this.#onReload]) {
      try {
        handler(next, previous);
      } catch (error) {
        (this.#logger ?? defaultLogger()).error("a config onReload handler threw", {
          error: (error as Error).message,
        });
      }
    }
    return next;
  }

  /** Calls `handler(newConfig, oldConfig)` after each successful reload; returns an unsubscribe function. */
  onReload(handler: (next: Config, previous: Config) => void): () => void {
    this.#onReload.add(handler);
    return () => this.#onReload.delete(handler);
  }

  /** Calls `handler(error)` after each failed reload; returns an unsubscribe function. */
  onReloadError(handler: (error: Error) => void): () => void {
    this.#onReloadError.add(handler);
    return () => this.#onReloadError.delete(handler);
  }

  /** Starts watching the loaded file for changes (idempotent). */
  watch(): void {
    if (this.#watcher) return;
    const path = this.#path;
    if (path === undefined) {
      throw new ConfigError("NotLoaded", "watch() needs a configuration loaded from a file");
    }
    const slash = path.lastIndexOf("/");
    const dir = slash < 0 ? "." : slash === 0 ? "/" : path.slice(0, slash);
    const base = path.slice(slash + 1);
    this.#watcher = platform().watch(dir, (event) => {
      if (!event.paths.some((p) => p.slice(p.lastIndexOf("/") + 1) === base)) return;
      if (this.#timer !== undefined) clearTimeout(this.#timer);
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.reload().catch(() => {/* reported through onReloadError and the log */});
      }, this.#debounce);
    });
  }

  /** Stops watching. */
  close(): void {
    this.#watcher?.close();
    this.#watcher = undefined;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Same as {@linkcode ConfigLoader.close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Reload counters. */
  getStats(): ConfigLoaderStats {
    return { ...this.#stats };
  }

  /** Zeroes the counters. */
  resetStats(): void {
    this.#stats = { reloads: 0, reloadErrors: 0 };
  }

  /** `config.get(key)` on the current snapshot. */
  get(key: string): ConfigValue | undefined {
    return this.config.get(key);
  }

  /** `config.getString` on the current snapshot. */
  getString(key: string, defaultValue?: string): string {
    return arguments.length > 1
      ? this.config.getString(key, defaultValue)
      : this.config.getString(key);
  }

  /** `config.getInt` on the current snapshot. */
  getInt(key: string, defaultValue?: number): number {
    return arguments.length > 1 ? this.config.getInt(key, defaultValue) : this.config.getInt(key);
  }

  /** `config.getBigInt` on the current snapshot. */
  getBigInt(key: string, defaultValue?: bigint): bigint {
    return arguments.length > 1
      ? this.config.getBigInt(key, defaultValue)
      : this.config.getBigInt(key);
  }

  /** `config.getNumber` on the current snapshot. */
  getNumber(key: string, defaultValue?: number): number {
    return arguments.length > 1
      ? this.config.getNumber(key, defaultValue)
      : this.config.getNumber(key);
  }

  /** `config.getBool` on the current snapshot. */
  getBool(key: string, defaultValue?: boolean): boolean {
    return arguments.length > 1 ? this.config.getBool(key, defaultValue) : this.config.getBool(key);
  }

  /** `config.getStringArray` on the current snapshot. */
  getStringArray(key: string, defaultValue?: string[]): string[] {
    return arguments.length > 1
      ? this.config.getStringArray(key, defaultValue)
      : this.config.getStringArray(key);
  }

  /** `config.getTable` on the current snapshot. */
  getTable(key: string, defaultValue?: ConfigTable): Readonly<ConfigTable> {
    return arguments.length > 1
      ? this.config.getTable(key, defaultValue)
      : this.config.getTable(key);
  }

  /** `config.getTableArray` on the current snapshot. */
  getTableArray(
    key: string,
    defaultValue?: ConfigTable[],
  ): ReadonlyArray<Readonly<ConfigTable>> {
    return arguments.length > 1
      ? this.config.getTableArray(key, defaultValue)
      : this.config.getTableArray(key);
  }
}

function envValue(raw: string, current: ConfigValue | undefined): ConfigValue {
  if (typeof current === "string") return raw;
  try {
    const parsed = parse(`v = ${raw}`, { integersAsBigInt: "asNeeded" }) as ConfigTable;
    return parsed.v;
  } catch {
    return raw;
  }
}
