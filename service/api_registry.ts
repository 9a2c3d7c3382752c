/**
 * The exported-API registry: plugins publish named functions, everyone
 * else reaches them through one of three accessors that trade speed for
 * safety across unloads and reloads.
 *
 * @module
 */
import { Tracing } from "../core/tracing.ts";
import { ApiUnavailableError, PluginError } from "./errors.ts";

/**
 * Any function. `never[]` parameters make every function type assignable
 * to it without `any`.
 */
export type ApiFunction = (...args: never[]) => unknown;

/** Longest accepted API name, in characters. */
export const MAX_API_NAME_LENGTH = 256;

function inside(name: string, namespace: string): boolean {
  return name === namespace ||
    (name.startsWith(namespace) && name.charCodeAt(namespace.length) === 46 /* "." */);
}

/** One published function. Replaced, never mutated, except for `valid`. */
interface ApiEntry {
  readonly name: string;
  readonly owner: string;
  readonly fn: ApiFunction;
  valid: boolean;
  /** The name's counters, shared by every export of the name (they survive reloads). */
  readonly stats: ApiCallStats;
  /** What `getExportedApi` hands out: `fn` with counting, made on the first request. */
  raw: ApiFunction | null;
}

/** Calls of one API name through the registry, since it was first exported. */
export interface ApiCallStats {
  /** The API name. */
  readonly name: string;
  /** Calls through every accessor: `callExportedApi`, safe handles and `getExportedApi`'s functions. */
  calls: number;
  /** Of those, the ones that threw or whose promise rejected. */
  errors: number;
}

/** Calls `entry`'s function in a span, counting the call and its failure. */
function traced<R>(entry: ApiEntry, args: unknown[], tracing: Tracing): R {
  const span = tracing.start(`api ${entry.name}`, "internal", {
    "iora.api": entry.name,
    "iora.plugin": entry.owner,
  });
  let out: R;
  try {
    out = tracing.run(span, () => counted<R>(entry, ...args));
  } catch (error) {
    Tracing.fail(span, error);
    throw error;
  }
  if (out instanceof Promise) {
    return out.then((value) => {
      span.end();
      return value;
    }, (error) => {
      Tracing.fail(span, error);
      throw error;
    }) as R;
  }
  span.end();
  return out;
}

/**
 * Calls `entry`'s function, counting the call and its failure (a throw or a rejection), for
 * the traced path; the untraced accessors do the same inline (a call through here costs them
 * about 3x).
 */
function counted<R>(entry: ApiEntry, ...args: unknown[]): R {
  const stats = entry.stats;
  stats.calls++;
  let out: unknown;
  try {
    out = (entry.fn as unknown as (...a: unknown[]) => unknown)(...args);
  } catch (error) {
    stats.errors++;
    throw error;
  }
  return (out instanceof Promise ? countRejection(out, stats) : out) as R;
}

/**
 * The function `getExportedApi` returns for `entry`: calls its function as it is (a stale one
 * keeps running the old code, as documented), counting the call and its failure the way the
 * other accessors do, traced when the registry traces. Inline, as in `callExportedApi`.
 */
function countingFunction(entry: ApiEntry, registry: ApiRegistry): ApiFunction {
  const fn = entry.fn as unknown as (...a: unknown[]) => unknown;
  const stats = entry.stats;
  return (...args: unknown[]): unknown => {
    const tracing = registry.tracing;
    if (tracing !== null) return traced(entry, args, tracing);
    stats.calls++;
    try {
      const out = fn(...args);
      return out instanceof Promise ? countRejection(out, stats) : out;
    } catch (error) {
      stats.errors++;
      throw error;
    }
  };
}

function countRejection(promise: Promise<unknown>, stats: ApiCallStats): Promise<unknown> {
  return promise.then(undefined, (error) => {
    stats.errors++;
    throw error;
  });
}

/** What {@linkcode ApiRegistry.listApis} reports about one API. */
export interface ApiInfo {
  /** The API name, such as `"kvstore.get"`. */
  name: string;
  /** The plugin that exported it. */
  owner: string;
}

/**
 * A handle on an exported API that stays safe across unloads and reloads:
 * `call` throws {@linkcode ApiUnavailableError} while no plugin exports the
 * name, and picks up the new function after a reload. The fast path is one
 * property check on a cached entry; the registry is consulted only after
 * the entry was invalidated.
 *
 * @example
 * ```ts
 * import { ApiRegistry } from "./api_registry.ts";
 * const registry = new ApiRegistry();
 * registry.exportApi("math", "math.add", (a: number, b: number) => a + b);
 * const add = registry.getExportedApiSafe<(a: number, b: number) => number>("math.add");
 * console.log(add.call(1, 2)); // 3
 * registry.removeOwner("math");
 * console.log(add.isAvailable()); // false
 * ```
 */
export class SafeApiFunction<F extends ApiFunction> {
  #registry: ApiRegistry;
  #name: string;
  #entry: ApiEntry | undefined;
  #lastOwner = "";

  /**
   * Made by {@linkcode ApiRegistry.getExportedApiSafe}; not meant to be
   * constructed directly.
   *
   * @param registry the registry to look the name up in
   * @param name the API name
   */
  constructor(registry: ApiRegistry, name: string) {
    this.#registry = registry;
    this.#name = name;
    this.#entry = registry._entry(name);
    if (this.#entry) this.#lastOwner = this.#entry.owner;
  }

  /**
   * Calls the API. Throws {@linkcode ApiUnavailableError} when no loaded
   * plugin exports it.
   *
   * @param args the API's arguments
   * @returns what the API returns
   */
  call(...args: Parameters<F>): ReturnType<F> {
    let entry = this.#entry;
    if (entry === undefined || !entry.valid) entry = this.#refresh();
    const tracing = this.#registry.tracing;
    if (tracing !== null) return traced<ReturnType<F>>(entry, args, tracing);
    const stats = entry.stats;
    stats.calls++;
    try {
      const out = (entry.fn as unknown as (...a: Parameters<F>) => ReturnType<F>)(...args);
      return out instanceof Promise ? countRejection(out, stats) as ReturnType<F> : out;
    } catch (error) {
      stats.errors++;
      throw error;
    }
  }

  /**
   * A plain function that forwards to {@linkcode SafeApiFunction.call}, for
   * code that wants a callable.
   *
   * @returns a function with the API's signature
   */
  bind(): (...args: Parameters<F>) => ReturnType<F> {
    return (...args) => this.call(...args);
  }

  /**
   * True when a loaded plugin exports the name right now.
   *
   * @returns whether a call would reach a function
   */
  isAvailable(): boolean {
    const entry = this.#entry;
    if (entry !== undefined && entry.valid) return true;
    const fresh = this.#registry._entry(this.#name);
    if (fresh === undefined) return false;
    this.#entry = fresh;
    this.#lastOwner = fresh.owner;
    return true;
  }

  /**
   * The plugin that exports (or last exported) the API; empty when none
   * ever did.
   *
   * @returns the owning module's name
   */
  getModuleName(): string {
    this.isAvailable();
    return this.#lastOwner;
  }

  /**
   * The API name this handle calls.
   *
   * @returns the API name
   */
  getApiName(): string {
    return this.#name;
  }

  #refresh(): ApiEntry {
    const fresh = this.#registry._entry(this.#name);
    if (fresh === undefined) {
      this.#entry = undefined;
      throw new ApiUnavailableError(
        this.#name,
        this.#lastOwner ? `module "${this.#lastOwner}" is not loaded` : "no module exports it",
      );
    }
    this.#entry = fresh;
    this.#lastOwner = fresh.owner;
    return fresh;
  }
}

/**
 * Named functions published by plugins, each owned by the plugin that
 * exported it and removed when that plugin unloads.
 *
 * @example
 * ```ts
 * import { ApiRegistry } from "./api_registry.ts";
 * const registry = new ApiRegistry();
 * registry.exportApi("greeter", "greet", (who: string) => `hello ${who}`);
 * console.log(registry.callExportedApi<string>("greet", "you"));
 * ```
 */
export class ApiRegistry {
  #entries = new Map<string, ApiEntry>();
  #stats = new Map<string, ApiCallStats>();
  /**
   * Emits a span per call through `callExportedApi` and safe handles (a child of the active
   * span) when set; null (the default) costs nothing.
   */
  tracing: Tracing | null = null;
  #namespaces = new Map<string, string>();

  /**
   * Gives `owner` the namespace `namespace`: from now on only `owner` may
   * export `namespace` and the names under it (`namespace.*`), except
   * under a longer namespace another owner holds (`jsonrpc.client` inside
   * `jsonrpc`). An owner holding namespaces exports only inside them. A
   * namespace has one owner at a time; it is released by
   * {@linkcode ApiRegistry.removeOwner}.
   *
   * @example
   * ```ts
   * import { ApiRegistry } from "./api_registry.ts";
   * const registry = new ApiRegistry();
   * registry.claimNamespace("auth", "auth");
   * registry.exportApi("auth", "auth.check", (token: string) => token === "ok");
   * // registry.exportApi("evil", "auth.check", () => true) throws ApiConflict
   * ```
   *
   * @param owner the module claiming it
   * @param namespace a dotted name such as `"kvstore"` or `"jsonrpc.client"`
   */
  claimNamespace(owner: string, namespace: string): void {
    if (
      typeof namespace !== "string" || namespace.length === 0 ||
      namespace.length > MAX_API_NAME_LENGTH || namespace.startsWith(".") ||
      namespace.endsWith(".")
    ) {
      throw new PluginError("InvalidApi", owner, `"${namespace}" is not a valid API namespace`);
    }
    const holder = this.#namespaces.get(namespace);
    if (holder !== undefined && holder !== owner) {
      throw new PluginError(
        "NamespaceConflict",
        owner,
        `API namespace "${namespace}" belongs to module "${holder}"`,
      );
    }
    for (const entry of this.#entries.values()) {
      // Names under a longer namespace of their own owner (jsonrpc.client.* inside jsonrpc) stay theirs.
      const nested = (this.#longestNamespace(entry.name)?.length ?? 0) > namespace.length;
      if (entry.owner !== owner && inside(entry.name, namespace) && !nested) {
        throw new PluginError(
          "NamespaceConflict",
          owner,
          `API namespace "${namespace}" holds "${entry.name}", exported by module "${entry.owner}"`,
        );
      }
    }
    this.#namespaces.set(namespace, owner);
  }

  /**
   * The namespaces `owner` holds.
   *
   * @param owner the module name
   * @returns its namespaces, in claim order
   */
  namespacesOf(owner: string): string[] {
    return [...this.#namespaces].filter(([, o]) => o === owner).map(([ns]) => ns);
  }

  // The longest claimed namespace that contains `name`.
  #longestNamespace(name: string): string | undefined {
    for (let end = name.length; end > 0; end = name.lastIndexOf(".", end - 1)) {
      const namespace = name.slice(0, end);
      if (this.#namespaces.has(namespace)) return namespace;
    }
    return undefined;
  }

  #namespaceOwner(name: string): string | undefined {
    const namespace = this.#longestNamespace(name);
    return namespace === undefined ? undefined : this.#namespaces.get(namespace);
  }

  /**
   * Publishes `fn` as `name`, owned by the module `owner`. The same owner
   * may replace its own export; another owner's name is refused.
   *
   * @param owner the exporting module's name
   * @param name the API name, 1 to {@linkcode MAX_API_NAME_LENGTH} characters
   * @param fn the function
   */
  exportApi(owner: string, name: string, fn: ApiFunction): void {
    if (typeof name !== "string" || name.length === 0 || name.length > MAX_API_NAME_LENGTH) {
      throw new PluginError(
        "InvalidApi",
        owner,
        `API names are strings of 1 to ${MAX_API_NAME_LENGTH} characters`,
      );
    }
    if (typeof fn !== "function") {
      throw new PluginError("InvalidApi", owner, `API "${name}" must be a function`);
    }
    const holder = this.#namespaceOwner(name);
    if (holder !== undefined && holder !== owner) {
      throw new PluginError(
        "ApiConflict",
        owner,
        `API "${name}" lies in a namespace of module "${holder}"`,
      );
    }
    if (holder === undefined) {
      const own = this.namespacesOf(owner);
      if (own.length > 0) {
        throw new PluginError(
          "ApiConflict",
          owner,
          `module "${owner}" may export only under its namespaces (${own.join(", ")}), ` +
            `not "${name}"`,
        );
      }
    }
    const existing = this.#entries.get(name);
    if (existing !== undefined) {
      if (existing.owner !== owner) {
        throw new PluginError(
          "ApiConflict",
          owner,
          `API "${name}" is already exported by module "${existing.owner}"`,
        );
      }
      existing.valid = false;
    }
    let stats = this.#stats.get(name);
    if (stats === undefined) {
      stats = { name, calls: 0, errors: 0 };
      this.#stats.set(name, stats);
    }
    this.#entries.set(name, { name, owner, fn, valid: true, stats, raw: null });
  }

  /**
   * Withdraws one API of `owner`; returns false when it had no such API.
   *
   * @param owner the exporting module's name
   * @param name the API name
   * @returns whether an API was removed
   */
  unexportApi(owner: string, name: string): boolean {
    const entry = this.#entries.get(name);
    if (entry === undefined || entry.owner !== owner) return false;
    entry.valid = false;
    this.#entries.delete(name);
    return true;
  }

  /**
   * Withdraws every API of `owner` and releases its namespaces (used when it unloads).
   *
   * @param owner the module's name
   * @returns the names removed
   */
  removeOwner(owner: string): string[] {
    for (const [namespace, holder] of this.#namespaces) {
      if (holder === owner) this.#namespaces.delete(namespace);
    }
    const removed: string[] = [];
    for (const [name, entry] of this.#entries) {
      if (entry.owner === owner) {
        entry.valid = false;
        this.#entries.delete(name);
        removed.push(name);
      }
    }
    return removed;
  }

  /**
   * The function, bound to the export of now: the fastest accessor, but it goes stale when its
   * plugin unloads (calling it then runs the old code against a plugin that has cleaned up).
   * Its calls are counted in {@linkcode ApiRegistry.getCallStats} like the other accessors'
   * (and traced when the registry traces): it is a thin wrapper made once per export, so two
   * requests for the same export get the same function. Throws
   * {@linkcode ApiUnavailableError} when nobody exports `name` now.
   *
   * @param name the API name
   * @returns the exported function
   */
  getExportedApi<F extends ApiFunction>(name: string): F {
    const entry = this.#entries.get(name);
    if (entry === undefined) throw new ApiUnavailableError(name, "no module exports it");
    return (entry.raw ??= countingFunction(entry, this)) as F;
  }

  /**
   * A {@linkcode SafeApiFunction}: checks availability on each call and
   * follows reloads. It can be made before the API exists.
   *
   * @param name the API name
   * @returns a safe handle on the API
   */
  getExportedApiSafe<F extends ApiFunction>(name: string): SafeApiFunction<F> {
    return new SafeApiFunction<F>(this, name);
  }

  /**
   * Looks `name` up and calls it, every time.
   *
   * @param name the API name
   * @param args the API's arguments
   * @returns what the API returns
   */
  callExportedApi<R = unknown>(name: string, ...args: unknown[]): R {
    const entry = this.#entries.get(name);
    if (entry === undefined) throw new ApiUnavailableError(name, "no module exports it");
    const tracing = this.tracing;
    if (tracing !== null) return traced<R>(entry, args, tracing);
    // Inline, as in SafeApiFunction.call: a helper taking the arguments on costs ~3x per call.
    const stats = entry.stats;
    stats.calls++;
    try {
      const out = (entry.fn as unknown as (...a: unknown[]) => R)(...args);
      return out instanceof Promise ? countRejection(out, stats) as R : out;
    } catch (error) {
      stats.errors++;
      throw error;
    }
  }

  /**
   * Calls and failures of every API name ever exported, sorted by name. Calls through every
   * accessor count: `callExportedApi`, safe handles and the functions of `getExportedApi`.
   *
   * @returns one snapshot per name
   *
   * @example
   * ```ts
   * import { ApiRegistry } from "./api_registry.ts";
   * const registry = new ApiRegistry();
   * registry.exportApi("math", "math.half", (n: number) => n / 2);
   * registry.callExportedApi("math.half", 4);
   * console.log(registry.getCallStats()); // [{ name: "math.half", calls: 1, errors: 0 }]
   * ```
   */
  getCallStats(): ApiCallStats[] {
    return [...this.#stats.values()]
      .map((s) => ({ ...s }))
      .sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  }

  /**
   * True when `name` is exported now.
   *
   * @param name the API name
   * @returns whether a module exports it
   */
  hasApi(name: string): boolean {
    return this.#entries.has(name);
  }

  /**
   * Every exported API with its owner, sorted by name.
   *
   * @returns the API list
   */
  listApis(): ApiInfo[] {
    return [...this.#entries.values()]
      .map((e) => ({ name: e.name, owner: e.owner }))
      .sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  }

  /**
   * Internal: the live entry for `name`, for {@linkcode SafeApiFunction}.
   *
   * @param name the API name
   * @returns the entry, or undefined
   * @internal
   */
  _entry(name: string): ApiEntry | undefined {
    return this.#entries.get(name);
  }
}
