/**
 * The runtime inside a sandbox worker. The host starts the worker from a
 * tiny boot module that imports this file and the plugin, then calls
 * {@linkcode runSandbox}. Plugin authors only meet {@linkcode SandboxService}:
 * what `onLoad` receives inside a sandbox. Every host service is reached
 * over messages, so each method is async and only what the module's config
 * grants answers.
 *
 * @module
 */
import { platform } from "../core/platform/mod.ts";
import type { ParentPort } from "../core/platform/mod.ts";
import type { ApiFunction } from "./api_registry.ts";
import { ApiUnavailableError, PluginError } from "./errors.ts";
import { type PluginClass, pluginClassOf } from "./plugin.ts";
import { setPluginContext } from "./_plugin_context.ts";
import { RpcPeer } from "./_rpc.ts";

/** Log levels a sandboxed plugin can write at. */
export type SandboxLogLevel = "trace" | "debug" | "info" | "warn" | "error";

/** The host's logger, seen from a sandbox: fire-and-forget. */
export interface SandboxLogger {
  /**
   * Logs at trace level.
   *
   * @param message the text
   */
  trace(message: string): void;
  /**
   * Logs at debug level.
   *
   * @param message the text
   */
  debug(message: string): void;
  /**
   * Logs at info level.
   *
   * @param message the text
   */
  info(message: string): void;
  /**
   * Logs at warn level.
   *
   * @param message the text
   */
  warn(message: string): void;
  /**
   * Logs at error level.
   *
   * @param message the text
   */
  error(message: string): void;
}

/** The host's state store, seen from a sandbox (needs the `state` service grant). */
export interface SandboxStateStore {
  /**
   * The value of `key`, or undefined.
   *
   * @param key the key
   */
  get(key: string): Promise<string | undefined>;
  /**
   * Sets `key` to `value`.
   *
   * @param key the key
   * @param value the value
   */
  set(key: string, value: string): Promise<void>;
  /**
   * Removes `key`; resolves true when it existed.
   *
   * @param key the key
   */
  remove(key: string): Promise<boolean>;
  /** Every key. */
  keys(): Promise<string[]>;
}

/** A JSON route handler inside a sandbox: gets the parsed body, returns the JSON reply. */
export type SandboxJsonHandler = (body: unknown) => unknown;

/** The fluent route builder of {@linkcode SandboxService.on}. */
export interface SandboxRoute {
  /**
   * Serves POSTed JSON at the path with `handler` (needs the `routes` grant).
   *
   * @param handler called with the parsed body; its result is the reply
   */
  handleJson(handler: SandboxJsonHandler): Promise<void>;
}

/**
 * What a sandboxed plugin's `onLoad` receives: the host services it was
 * granted, over messages.
 *
 * @example
 * ```ts
 * import { Plugin } from "./plugin.ts";
 * import type { SandboxService } from "./sandbox_runtime.ts";
 *
 * export default class Untrusted extends Plugin<SandboxService> {
 *   override async onLoad(service: SandboxService): Promise<void> {
 *     service.logger.info("hello from a sandbox");
 *     this.exportApi("untrusted.double", (n: number) => n * 2);
 *     await service.callExportedApi("other.api").catch(() => {});
 *   }
 * }
 * ```
 */
export class SandboxService {
  #rpc: RpcPeer;
  #apis: Map<string, ApiFunction>;
  #routes: Map<string, SandboxJsonHandler>;
  /** The module name the host knows this plugin by. */
  readonly name: string;
  /** The host's logger. */
  readonly logger: SandboxLogger;
  /** The host's state store (rejects unless the `state` service is granted). */
  readonly state: SandboxStateStore;

  /**
   * Made by the sandbox runtime.
   *
   * @param rpc the message channel to the host
   * @param name the module name
   * @param apis this sandbox's exported functions
   * @param routes this sandbox's route handlers
   */
  constructor(
    rpc: RpcPeer,
    name: string,
    apis: Map<string, ApiFunction>,
    routes: Map<string, SandboxJsonHandler>,
  ) {
    this.#rpc = rpc;
    this.#apis = apis;
    this.#routes = routes;
    this.name = name;
    const log = (level: SandboxLogLevel) => (message: string) =>
      rpc.notify("log", [level, String(message)]);
    this.logger = {
      trace: log("trace"),
      debug: log("debug"),
      info: log("info"),
      warn: log("warn"),
      error: log("error"),
    };
    this.state = {
      get: (key) => rpc.request("state.get", [key]) as Promise<string | undefined>,
      set: async (key, value) => {
        await rpc.request("state.set", [key, value]);
      },
      remove: (key) => rpc.request("state.remove", [key]) as Promise<boolean>,
      keys: () => rpc.request("state.keys", []) as Promise<string[]>,
    };
  }

  /**
   * Exports `fn` as `name`; the host registers a proxy that calls it here.
   *
   * @param name the API name
   * @param fn the function (arguments and result must be structured-clonable)
   */
  exportApi(name: string, fn: ApiFunction): void {
    if (typeof name !== "string" || typeof fn !== "function") {
      throw new PluginError("InvalidApi", this.name, "exportApi needs a name and a function");
    }
    this.#apis.set(name, fn);
    this.#rpc.notify("export", [name]);
  }

  /**
   * Calls another plugin's exported API on the host (needs the `apis` grant).
   *
   * @param name the API name
   * @param args its arguments (structured-clonable)
   * @returns its result
   */
  callExportedApi<R = unknown>(name: string, ...args: unknown[]): Promise<R> {
    return this.#rpc.request("api.call", [name, args]) as Promise<R>;
  }

  /**
   * An async function calling the host's API `name` (looked up on each call,
   * so it never goes stale).
   *
   * @param name the API name
   * @returns a function returning a promise of the result
   */
  getExportedApi<R = unknown>(name: string): (...args: unknown[]) => Promise<R> {
    return (...args) => this.callExportedApi<R>(name, ...args);
  }

  /**
   * Same as {@linkcode SandboxService.getExportedApi}: across a message
   * port every call is already checked on the host.
   *
   * @param name the API name
   * @returns a function returning a promise of the result
   */
  getExportedApiSafe<R = unknown>(name: string): (...args: unknown[]) => Promise<R> {
    return this.getExportedApi<R>(name);
  }

  /**
   * Whether the host exports `name` right now (needs the `apis` grant).
   *
   * @param name the API name
   * @returns true when a loaded module exports it
   */
  async hasApi(name: string): Promise<boolean> {
    return (await this.#rpc.request("api.has", [name])) === true;
  }

  /**
   * Registers a route on the host's server (needs the `routes` grant).
   *
   * @param path the route path, such as `"/sandboxed/echo"`
   * @returns the route builder
   */
  on(path: string): SandboxRoute {
    return {
      handleJson: async (handler) => {
        this.#routes.set(path, handler);
        await this.#rpc.request("route.add", [path]);
      },
    };
  }
}

/**
 * Runs a plugin module inside the current worker or sandbox process,
 * answering the host's lifecycle and call messages. Called by the boot
 * module the host generates (or the sandbox process's main); not by plugins.
 *
 * @example
 * ```ts ignore
 * import { runSandbox } from "./sandbox_runtime.ts";
 * import * as plugin from "./my_plugin.ts";
 * runSandbox(plugin);
 * ```
 *
 * @param namespace the plugin module's namespace
 * @param port the channel to the host; default the worker's parent port
 */
export function runSandbox(
  namespace: Record<string, unknown>,
  port: ParentPort | null = platform().parentPort(),
): void {
  if (port === null) {
    throw new PluginError("SandboxProtocol", "?", "runSandbox must run inside a worker");
  }
  const rpc = new RpcPeer((message) => port.postMessage(message));
  // The host's trace context follows a call in and goes back out with the calls it makes, so
  // the host's spans of those calls join the caller's trace.
  const trace = platform().asyncContext<string>();
  rpc.traceIn = (tp, fn) => trace.run(tp, fn);
  rpc.traceOut = () => trace.get() ?? null;
  port.onMessage((message) => rpc.receive(message));
  const apis = new Map<string, ApiFunction>();
  const routes = new Map<string, SandboxJsonHandler>();
  let plugin: InstanceType<PluginClass<SandboxService>> | undefined;

  rpc.handle("load", async ([name, options]) => {
    const moduleName = String(name);
    const PluginCtor = pluginClassOf<SandboxService>(namespace, moduleName);
    const service = new SandboxService(rpc, moduleName, apis, routes);
    const instance = new PluginCtor();
    setPluginContext(instance, {
      name: moduleName,
      service,
      options: (typeof options === "object" && options !== null ? options : {}) as Record<
        string,
        unknown
      >,
      require: async (dependency: string) => {
        await rpc.request("require", [dependency]);
      },
      exportApi: (api, fn) => service.exportApi(api, fn),
    });
    plugin = instance;
    await instance.onLoad(service);
    return [...apis.keys()];
  });
  rpc.handle("call", ([name, args]) => {
    const fn = apis.get(String(name));
    if (fn === undefined) {
      throw new ApiUnavailableError(String(name), "not exported by this sandbox");
    }
    return (fn as unknown as (...a: unknown[]) => unknown)(...(args as unknown[]));
  });
  rpc.handle("route", ([path, body]) => {
    const handler = routes.get(String(path));
    if (handler === undefined) throw new Error(`no handler for ${String(path)}`);
    return handler(body);
  });
  rpc.handle("dep", async ([kind, name]) => {
    if (plugin === undefined) return;
    if (kind === "loaded") await plugin.onDependencyLoaded(String(name));
    else await plugin.onDependencyUnloaded(String(name));
  });
  rpc.handle("ping", () => true);
  rpc.handle("unload", async () => {
    if (plugin !== undefined) await plugin.onUnload();
  });
  rpc.notify("ready", []);
}
