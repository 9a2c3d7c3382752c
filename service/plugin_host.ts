/**
 * The plugin host: loads plugin modules in-process (trusted) or sandboxed
 * (a child process of their own with exactly their grants, or a
 * permission-scoped worker), gives each the API namespaces it owns, tracks
 * their dependencies, notifies dependents, and unloads them in reverse
 * dependency order within a time budget.
 *
 * @module
 */
import { platform } from "../core/platform/mod.ts";
import type { ApiFunction, ApiRegistry } from "./api_registry.ts";
import { PluginError } from "./errors.ts";
import {
  DEFAULT_SANDBOX_LIMITS,
  type ModuleSpec,
  type SandboxIsolation,
  type SandboxLimits,
  type SandboxServiceName,
} from "./module_spec.ts";
import { type Plugin, pluginClassOf } from "./plugin.ts";
import { checkModuleGraph } from "./_module_graph.ts";
import { setPluginContext } from "./_plugin_context.ts";
import type { LoadedModuleInfo } from "./service_context.ts";
import { SandboxConnection } from "./_sandbox_host.ts";

export type { ModuleSpec, SandboxServiceName };

/** Why a module was unloaded. */
export type UnloadReason = "requested" | "reload" | "crashed" | "timeout" | "shutdown";

/** Something that happened to a module. */
export type PluginEvent =
  | { type: "loaded"; name: string }
  | { type: "loadFailed"; name: string; error: Error }
  | { type: "unloaded"; name: string; reason: UnloadReason; error?: Error };

/** Log levels the host writes at. */
export type PluginHostLogLevel = "debug" | "info" | "warn" | "error";

/** The host services sandboxes may be granted, provided by the service. */
export interface SandboxHostServices {
  /**
   * Runs a state-store operation for a sandbox.
   *
   * @param owner the sandboxed module
   * @param op the operation
   * @param args its arguments
   * @param limits the sandbox's limits (`maxStateBytes`)
   */
  state?(
    owner: string,
    op: "get" | "set" | "remove" | "keys",
    args: unknown[],
    limits: SandboxLimits,
  ): Promise<unknown>;
  /**
   * Serves POSTed JSON at `path` by calling `handler`.
   *
   * @param owner the sandboxed module
   * @param path the route path
   * @param handler forwards the parsed body into the sandbox
   */
  addRoute?(owner: string, path: string, handler: (body: unknown) => Promise<unknown>): void;
  /**
   * Removes every route of `owner`.
   *
   * @param owner the module being unloaded
   */
  removeRoutes?(owner: string): void;
}

/** Options of {@linkcode PluginHost}. */
export interface PluginHostOptions {
  /** What trusted plugins receive in `onLoad`. */
  service: unknown;
  /** The API registry plugins export into. */
  registry: ApiRegistry;
  /** Where relative module paths resolve; default the working directory. */
  directory?: string;
  /**
   * Where the host logs; default nowhere.
   *
   * @param level the level
   * @param message the text
   */
  log?(level: PluginHostLogLevel, message: string): void;
  /** Host services offered to sandboxes. */
  sandboxServices?: SandboxHostServices;
  /** Default deadline of calls into sandboxes, in milliseconds (default 5000). */
  sandboxTimeoutMs?: number;
  /** Deadline of a sandbox's start and `onLoad`, in milliseconds (default 10000). */
  sandboxLoadTimeoutMs?: number;
  /**
   * Where sandboxes run when their spec does not say.
   *
   * @default "process"
   */
  sandboxIsolation?: SandboxIsolation;
}

interface ModuleRecord {
  name: string;
  spec: ModuleSpec;
  url: string;
  state: "loading" | "loaded" | "unloading";
  loadedAt: number;
  plugin?: Plugin<unknown>;
  sandbox?: SandboxConnection;
}

const SCHEME = /^[a-zA-Z][a-zA-Z0-9+.-]*:/;
const WINDOWS_DRIVE = /^[a-zA-Z]:[\\/]/;

function joinPath(base: string, path: string): string {
  if (path.startsWith("/") || WINDOWS_DRIVE.test(path)) return path;
  return `${base.replace(/[\\/]+$/, "")}/${path}`;
}

function pathToFileUrl(path: string): string {
  const normalized = path.replace(/\\/g, "/");
  const url = new URL("file://");
  url.pathname = normalized.startsWith("/") ? normalized : `/${normalized}`;
  return url.href;
}

/**
 * Resolves a module location to the URL the host imports: a path becomes a
 * `file:` URL (relative ones against `directory`, itself relative to the
 * working directory), anything with a scheme stays as it is.
 *
 * @example
 * ```ts
 * import { resolveModuleUrl } from "./plugin_host.ts";
 * console.log(resolveModuleUrl("kv.ts", "/opt/iora/plugins")); // file:///opt/iora/plugins/kv.ts
 * ```
 *
 * @param location the module's location
 * @param directory the directory relative paths resolve against
 * @returns the URL or specifier to import
 */
export function resolveModuleUrl(location: string, directory?: string): string {
  if (SCHEME.test(location) && !WINDOWS_DRIVE.test(location)) return location;
  const base = joinPath(platform().cwd(), directory ?? ".");
  return pathToFileUrl(joinPath(base, location));
}

/**
 * The default module name of a URL: its last path segment without the
 * extension (`file:///p/kvstore.ts` → `kvstore`).
 *
 * @example
 * ```ts
 * import { moduleNameOf } from "./plugin_host.ts";
 * console.log(moduleNameOf("file:///p/kvstore.ts")); // "kvstore"
 * ```
 *
 * @param url the module URL or specifier
 * @returns the name
 */
export function moduleNameOf(url: string): string {
  const path = url.replace(/[?#].*$/, "");
  const last = path.split(/[\\/:]/).filter((s) => s !== "").pop() ?? path;
  const dot = last.indexOf(".");
  return dot > 0 ? last.slice(0, dot) : last;
}

function withReloadQuery(url: string, generation: number): string {
  if (generation === 0 || !/^(file|https?):/.test(url)) return url;
  const parsed = new URL(url);
  parsed.searchParams.set("iora_reload", String(generation));
  return parsed.href;
}

// The folder a sandbox's code must lie in, as a file URL ending in "/".
function rootOf(url: string, root: string | undefined, directory: string | undefined): string {
  if (root !== undefined) {
    const resolved = resolveModuleUrl(root, directory);
    return resolved.endsWith("/") ? resolved : `${resolved}/`;
  }
  return url.replace(/[?#].*$/, "").replace(/[^/]*$/, "");
}

// Waits for `work` at most `budgetMs`; past it rejects (the work goes on unobserved).
async function withinBudget(work: Promise<unknown>, budgetMs: number, name: string): Promise<void> {
  if (!Number.isFinite(budgetMs)) {
    await work;
    return;
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(new Error(`onUnload of "${name}" did not finish within ${Math.round(budgetMs)} ms`)),
      Math.max(1, budgetMs),
    );
  });
  try {
    await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

function errorOf(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * Loads, unloads and reloads plugin modules. Operations run one at a time;
 * a plugin hook that itself asks to load or unload a module gets a
 * `Reentrant` error instead of a deadlock.
 *
 * @example
 * ```ts ignore
 * import { ApiRegistry } from "./api_registry.ts";
 * import { PluginHost } from "./plugin_host.ts";
 * const registry = new ApiRegistry();
 * const host = new PluginHost({ service: {}, registry, directory: "plugins" });
 * const name = await host.loadSingleModule("kvstore.ts");
 * await host.unloadSingleModule(name);
 * ```
 */
export class PluginHost {
  #options: PluginHostOptions;
  #records = new Map<string, ModuleRecord>();
  #requires = new Map<string, Set<string>>();
  #generations = new Map<string, number>();
  #listeners = new Set<(event: PluginEvent) => void>();
  #queue: Promise<unknown> = Promise.resolve();
  #hookDepth = 0;
  #loading: string[] = [];

  /**
   * Creates a host with no module loaded.
   *
   * @param options the host's collaborators and limits
   */
  constructor(options: PluginHostOptions) {
    this.#options = options;
  }

  /**
   * The registry plugins export into.
   *
   * @returns the registry
   */
  get registry(): ApiRegistry {
    return this.#options.registry;
  }

  /**
   * Subscribes to module events.
   *
   * @param listener called on every event
   * @returns a function that unsubscribes
   */
  onEvent(listener: (event: PluginEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Loads one module; resolves with its name. Fails with a
   * {@linkcode PluginError} when the module cannot be imported, is not a
   * plugin, its `onLoad` throws, or a `require` fails.
   *
   * @param spec the module's location, or its full spec
   * @returns the module name
   */
  loadSingleModule(spec: string | ModuleSpec): Promise<string> {
    const full: ModuleSpec = typeof spec === "string" ? { url: spec } : spec;
    return this.#exclusive(() => this.#load(full));
  }

  /**
   * Loads modules in order; one that fails is logged and skipped.
   *
   * @param specs the modules
   * @returns the names loaded and the failures
   */
  async loadModules(
    specs: (string | ModuleSpec)[],
  ): Promise<{ loaded: string[]; failed: { spec: ModuleSpec; error: Error }[] }> {
    const loaded: string[] = [];
    const failed: { spec: ModuleSpec; error: Error }[] = [];
    for (const spec of specs) {
      const full: ModuleSpec = typeof spec === "string" ? { url: spec } : spec;
      try {
        loaded.push(await this.loadSingleModule(full));
      } catch (error) {
        failed.push({ spec: full, error: errorOf(error) });
      }
    }
    return { loaded, failed };
  }

  /**
   * Unloads a module: its dependents are told first, its APIs withdrawn,
   * then its `onUnload` runs (a sandbox's worker is terminated).
   *
   * @param name the module name
   */
  unloadSingleModule(name: string): Promise<void> {
    return this.#exclusive(() => this.#unload(name, "requested"));
  }

  /**
   * Unloads a module and loads it again from the same place with fresh
   * code (`file:` and `http(s):` URLs get a cache-busting query; the
   * module's own static imports are not re-fetched).
   *
   * @param name the module name
   */
  reloadModule(name: string): Promise<void> {
    return this.#exclusive(async () => {
      const record = this.#loaded(name);
      const spec = record.spec;
      await this.#unload(name, "reload");
      this.#generations.set(record.url, (this.#generations.get(record.url) ?? 0) + 1);
      await this.#load(spec);
    });
  }

  /**
   * Unloads every module, dependents before their dependencies, later
   * loads before earlier ones, within `budgetMs`: each plugin's `onUnload`
   * gets an equal share of the time left (a sandbox past its share is
   * stopped; a trusted plugin is left behind with an error logged).
   *
   * @param budgetMs the time the whole unload may take, in milliseconds
   */
  unloadAll(budgetMs: number = Infinity): Promise<void> {
    // Shutdown waits behind a running hook rather than failing: a signal may
    // arrive while a plugin's onLoad is awaiting something.
    return this.#exclusive(async () => {
      const deadline = performance.now() + budgetMs;
      while (this.#records.size > 0) {
        const names = [...this.#records.keys()];
        const free = names.filter((n) => !names.some((o) => this.#requires.get(o)?.has(n)));
        const next = (free.length > 0 ? free : names).at(-1)!;
        // Each plugin gets an equal share of what is left, so one that hangs in onUnload
        // cannot take the time of those after it.
        const share = (deadline - performance.now()) / names.length;
        await this.#unload(next, "shutdown", undefined, share).catch((error) =>
          this.#log("error", `unloading "${next}" failed: ${errorOf(error).message}`)
        );
      }
    }, true);
  }

  /**
   * Stops every sandbox at once, without its `onUnload`: what a shutdown
   * that ran out of time does last, so no sandbox outlives the host.
   */
  async terminateSandboxes(): Promise<void> {
    await Promise.all([...this.#records.values()].map((r) => r.sandbox?.terminate()));
  }

  /**
   * True when `name` is loaded (not loading or unloading).
   *
   * @param name the module name
   * @returns whether it is loaded
   */
  isLoaded(name: string): boolean {
    return this.#records.get(name)?.state === "loaded";
  }

  /**
   * The loaded modules in load order.
   *
   * @returns one entry per loaded module
   */
  listModules(): LoadedModuleInfo[] {
    const apis = this.#options.registry.listApis();
    return [...this.#records.values()]
      .filter((r) => r.state === "loaded")
      .map((r) => ({
        name: r.name,
        url: r.url,
        sandboxed: r.sandbox !== undefined,
        loadedAt: r.loadedAt,
        dependencies: [...(this.#requires.get(r.name) ?? [])],
        apis: apis.filter((a) => a.owner === r.name).map((a) => a.name),
      }));
  }

  /**
   * The module whose `onLoad` is running, if any: what
   * `IoraService.exportApi` attributes an export to.
   *
   * @returns the module name, or undefined
   */
  currentlyLoading(): string | undefined {
    return this.#loading.at(-1);
  }

  #emit(event: PluginEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        this.#log("error", `a plugin event listener failed: ${errorOf(error).message}`);
      }
    }
  }

  #log(level: PluginHostLogLevel, message: string): void {
    this.#options.log?.(level, message);
  }

  #exclusive<T>(operation: () => Promise<T>, duringHook = false): Promise<T> {
    if (this.#hookDepth > 0 && !duringHook) {
      return Promise.reject(
        new PluginError(
          "Reentrant",
          this.#loading.at(-1) ?? "?",
          "modules cannot be loaded or unloaded from inside a plugin hook; " +
            "schedule it after the hook returns",
        ),
      );
    }
    const run = this.#queue.then(operation, operation);
    this.#queue = run.catch(() => {});
    return run;
  }

  async #hook<T>(fn: () => T | Promise<T>): Promise<T> {
    this.#hookDepth++;
    try {
      return await fn();
    } finally {
      this.#hookDepth--;
    }
  }

  #loaded(name: string): ModuleRecord {
    const record = this.#records.get(name);
    if (record === undefined) {
      throw new PluginError("PluginNotLoaded", name, `module "${name}" is not loaded`);
    }
    if (record.state !== "loaded") {
      throw new PluginError("PluginBusy", name, `module "${name}" is ${record.state}`);
    }
    return record;
  }

  #dependentsOf(name: string): ModuleRecord[] {
    const result: ModuleRecord[] = [];
    for (const [dependent, deps] of this.#requires) {
      const record = this.#records.get(dependent);
      if (dependent !== name && deps.has(name) && record?.state === "loaded") result.push(record);
    }
    return result;
  }

  #require(dependent: string, dependency: string): void {
    if (typeof dependency !== "string" || dependency === "") {
      throw new PluginError("DependencyMissing", dependent, "require() needs a module name");
    }
    if (dependency === dependent) {
      throw new PluginError("DependencyCycle", dependent, `module "${dependent}" requires itself`);
    }
    const target = this.#records.get(dependency);
    if (target === undefined || target.state !== "loaded") {
      throw new PluginError(
        "DependencyMissing",
        dependent,
        `module "${dependent}" requires "${dependency}", which is not loaded ` +
          `(list it before "${dependent}" in modules)`,
      );
    }
    const path = this.#pathBetween(dependency, dependent);
    if (path !== undefined) {
      throw new PluginError(
        "DependencyCycle",
        dependent,
        `dependency cycle: ${[dependent, ...path].join(" -> ")}`,
      );
    }
    let deps = this.#requires.get(dependent);
    if (deps === undefined) this.#requires.set(dependent, deps = new Set());
    deps.add(dependency);
  }

  // A path from `from` to `to` along "requires" edges, or undefined.
  #pathBetween(from: string, to: string): string[] | undefined {
    const seen = new Set<string>();
    const visit = (node: string): string[] | undefined => {
      if (node === to) return [node];
      if (seen.has(node)) return undefined;
      seen.add(node);
      for (const next of this.#requires.get(node) ?? []) {
        const rest = visit(next);
        if (rest) return [node, ...rest];
      }
      return undefined;
    };
    return visit(from);
  }

  async #load(spec: ModuleSpec): Promise<string> {
    if (typeof spec?.url !== "string" || spec.url === "") {
      throw new PluginError("InvalidPlugin", "?", "a module needs a url");
    }
    const url = resolveModuleUrl(spec.url, this.#options.directory);
    const name = spec.name ?? moduleNameOf(url);
    if (this.#records.has(name)) {
      throw new PluginError("PluginAlreadyLoaded", name, `module "${name}" is already loaded`);
    }
    const record: ModuleRecord = { name, spec, url, state: "loading", loadedAt: 0 };
    this.#records.set(name, record);
    const importUrl = withReloadQuery(url, this.#generations.get(url) ?? 0);
    try {
      if (spec.sandbox) await this.#loadSandboxed(record, importUrl);
      else await this.#loadTrusted(record, importUrl);
    } catch (cause) {
      this.#records.delete(name);
      this.#options.registry.removeOwner(name);
      this.#options.sandboxServices?.removeRoutes?.(name);
      this.#requires.delete(name);
      await record.sandbox?.terminate().catch(() => {});
      const error = cause instanceof PluginError && cause.plugin === name ? cause : new PluginError(
        "PluginLoadFailed",
        name,
        `module "${name}" failed to load: ${errorOf(cause).message}`,
        { cause },
      );
      this.#log("error", error.message);
      this.#emit({ type: "loadFailed", name, error });
      throw error;
    }
    record.state = "loaded";
    record.loadedAt = Date.now();
    this.#log("info", `module "${name}" loaded${record.sandbox ? " (sandboxed)" : ""}`);
    this.#emit({ type: "loaded", name });
    for (const dependent of this.#dependentsOf(name)) {
      await this.#notify(dependent, "loaded", name);
    }
    return name;
  }

  #claimNamespaces(name: string, namespaces: readonly string[]): void {
    for (const namespace of new Set([name, ...namespaces])) {
      this.#options.registry.claimNamespace(name, namespace);
    }
  }

  async #loadTrusted(record: ModuleRecord, importUrl: string): Promise<void> {
    const namespace = await import(importUrl) as Record<string, unknown>;
    const PluginCtor = pluginClassOf<unknown>(namespace, record.name);
    const declared = (PluginCtor as { namespaces?: unknown }).namespaces;
    this.#claimNamespaces(
      record.name,
      Array.isArray(declared) ? declared.filter((n) => typeof n === "string") : [],
    );
    const plugin = new PluginCtor();
    const { registry, service } = this.#options;
    setPluginContext(plugin, {
      name: record.name,
      service,
      options: record.spec.options ?? {},
      require: (dependency) => this.#require(record.name, dependency),
      exportApi: (api, fn) => registry.exportApi(record.name, api, fn),
    });
    record.plugin = plugin;
    this.#loading.push(record.name);
    try {
      await this.#hook(() => plugin.onLoad(service));
    } finally {
      this.#loading.pop();
    }
  }

  async #loadSandboxed(record: ModuleRecord, importUrl: string): Promise<void> {
    const { spec, name } = record;
    const { registry, sandboxServices } = this.#options;
    const onNode = platform().name === "node";
    if (onNode && spec.allowUnsandboxed !== true) {
      throw new PluginError(
        "SandboxRefused",
        name,
        `module "${name}" is marked sandbox = true, but sandboxes are not supported on node ` +
          `(it cannot keep a plugin from the network, the environment or signalling the host); ` +
          `set allowUnsandboxed = true for it to run it with the host's permissions`,
      );
    }
    const isolation = spec.isolation ?? this.#options.sandboxIsolation ?? "process";
    const permissions = onNode && isolation === "worker" ? "inherit" : spec.permissions ?? {};
    if (onNode) {
      this.#log(
        "warn",
        isolation === "worker"
          ? `module "${name}" runs UNSANDBOXED in a worker with the host's permissions (node)`
          : `module "${name}" runs UNSANDBOXED in a process of its own: node's permission model ` +
            `limits its files and child processes only, not its network, environment or signals`,
      );
    }
    this.#claimNamespaces(name, spec.namespaces ?? []);
    const limits: SandboxLimits = { ...DEFAULT_SANDBOX_LIMITS, ...spec.limits };
    const root = rootOf(record.url, spec.root, this.#options.directory);
    const graph = onNode
      ? { localFiles: [] }
      : await checkModuleGraph(record.url, { name, root, importGrant: spec.permissions?.import });
    const connection: SandboxConnection = new SandboxConnection({
      name,
      importUrl,
      isolation,
      permissions,
      graphFiles: graph.localFiles,
      root,
      services: new Set(spec.services ?? ["logger"]),
      apis: spec.apis,
      routePrefixes: spec.routePrefixes ?? [`/${name}`],
      limits,
      timeoutMs: spec.timeoutMs ?? this.#options.sandboxTimeoutMs ?? 5000,
      loadTimeoutMs: this.#options.sandboxLoadTimeoutMs ?? 10_000,
      onFailure: (error) => this.#sandboxFailed(name, connection, error),
      tracing: registry.tracing,
      bridge: {
        require: (dependency) => this.#require(name, dependency),
        exportApi: (api) =>
          registry.exportApi(
            name,
            api,
            ((...args: unknown[]) => connection.call(api, args)) as ApiFunction,
          ),
        log: (level, message) => {
          const known = ["debug", "info", "warn", "error"].includes(level);
          this.#log(known ? level as PluginHostLogLevel : "info", `[${name}] ${message}`);
        },
        callApi: async (api, args) => await registry.callExportedApi<unknown>(api, ...args),
        hasApi: (api) => registry.hasApi(api),
        state: (op, args) => {
          if (!sandboxServices?.state) throw new Error("this host has no state store");
          return sandboxServices.state(name, op, args, limits);
        },
        addRoute: (path) => {
          if (!sandboxServices?.addRoute) throw new Error("this host has no HTTP server");
          sandboxServices.addRoute(name, path, (body) => connection.route(path, body));
        },
      },
    });
    record.sandbox = connection;
    await connection.start();
    await this.#hook(() => connection.load(spec.options ?? {}));
    if (connection.exportErrors.length > 0) throw connection.exportErrors[0];
  }

  #sandboxFailed(name: string, connection: SandboxConnection, error: PluginError): void {
    this.#log("error", error.message);
    const record = this.#records.get(name);
    // During a load or an unload the pending request fails and that path cleans up.
    if (record?.sandbox !== connection || record.state !== "loaded") return;
    const reason: UnloadReason = error.code === "SandboxTimeout" ? "timeout" : "crashed";
    const run = this.#queue.then(() => {
      const current = this.#records.get(name);
      if (current?.sandbox === connection && current.state === "loaded") {
        return this.#unload(name, reason, error);
      }
    });
    this.#queue = run.catch((e) =>
      this.#log("error", `unloading "${name}": ${errorOf(e).message}`)
    );
  }

  async #notify(
    record: ModuleRecord,
    kind: "loaded" | "unloaded",
    dependency: string,
  ): Promise<void> {
    try {
      if (record.sandbox) {
        if (record.sandbox.alive) await record.sandbox.dependency(kind, dependency);
      } else if (record.plugin) {
        const plugin = record.plugin;
        await this.#hook(() =>
          kind === "loaded"
            ? plugin.onDependencyLoaded(dependency)
            : plugin.onDependencyUnloaded(dependency)
        );
      }
    } catch (error) {
      this.#log(
        "error",
        `module "${record.name}" failed handling "${dependency}" ${kind}: ${
          errorOf(error).message
        }`,
      );
    }
  }

  async #unload(
    name: string,
    reason: UnloadReason,
    cause?: Error,
    budgetMs = Infinity,
  ): Promise<void> {
    const record = this.#loaded(name);
    record.state = "unloading";
    for (const dependent of this.#dependentsOf(name)) {
      await this.#notify(dependent, "unloaded", name);
    }
    // Withdraw the APIs before onUnload, so no new call reaches a plugin
    // that is tearing down: safe accessors throw ApiUnavailableError from here.
    this.#options.registry.removeOwner(name);
    this.#options.sandboxServices?.removeRoutes?.(name);
    try {
      if (record.sandbox) await record.sandbox.unload(budgetMs);
      else if (record.plugin) {
        const plugin = record.plugin;
        await withinBudget(this.#hook(() => plugin.onUnload()), budgetMs, name);
      }
    } catch (error) {
      this.#log("error", `module "${name}" failed in onUnload: ${errorOf(error).message}`);
    } finally {
      this.#requires.delete(name);
      this.#records.delete(name);
    }
    this.#log("info", `module "${name}" unloaded (${reason})`);
    this.#emit({ type: "unloaded", name, reason, error: cause });
  }
}
