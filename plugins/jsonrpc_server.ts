/**
 * The JSON-RPC server plugin (the seed's `mod_jsonrpc_server`): a
 * {@linkcode JsonRpcServer} served over HTTP POST on the service's
 * `WebhookServer` and driven through exported APIs.
 *
 * APIs (the seed's names): `jsonrpc.version()` → 1,
 * `jsonrpc.register(method, handler)`,
 * `jsonrpc.registerWithOptions(method, handler, { requireAuth, timeout, maxRequestSize })`,
 * `jsonrpc.unregister(method)` → boolean, `jsonrpc.has(method)`,
 * `jsonrpc.getMethods()`, `jsonrpc.getStats()` (totalRequests,
 * successfulRequests, failedRequests, timeoutRequests, batchRequests,
 * notificationRequests), `jsonrpc.resetStats()`; and
 * `jsonrpc.registerApi(method, apiName, options?)` (serve an exported API as
 * a method), `jsonrpc.setAuthenticator(fn)` (a custom verifier).
 *
 * Methods registered while a plugin's `onLoad` runs (or with `{ owner }`)
 * belong to that plugin and go when it unloads. A reload of this plugin
 * starts with no methods: a plugin that registers methods should
 * `this.require("jsonrpc_server")` and register again in
 * `onDependencyLoaded` (passing `{ owner: this.name }`).
 *
 * Sandboxed plugins cannot pass a handler (functions do not cross the
 * sandbox boundary): they export an API and call
 * `jsonrpc.registerApi(method, "their.api")`; the API receives
 * `(params, { method, id, remoteAddress })` and its result is the answer.
 *
 * Options (the module's `options` table): `path` (default `/rpc`),
 * `maxRequestBytes` (1048576), `maxBatchItems` (50), `maxDepth` (64),
 * `requireAuth` (false), `bearerTokens` (list), `bearerTokenEnv` (the name
 * of an environment variable holding one more token), `timeoutMs` (5000),
 * `maxInFlight`, `rateLimit` (`{ requests, windowMs }` per remote host).
 *
 * @example
 * ```toml
 * [modules]
 * modules = [{ url = "jsonrpc_server.ts", options = { path = "/rpc", timeoutMs = 5000 } }]
 * ```
 *
 * @module
 */
import { platform } from "../core/platform/mod.ts";
import { ApiUnavailableError } from "../service/errors.ts";
import type { IoraService } from "../service/iora_service.ts";
import { Plugin } from "../service/plugin.ts";
import { JsonRpcError, RPC_METHOD_NOT_FOUND } from "../http/jsonrpc_error.ts";
import {
  type JsonRpcAuthenticator,
  type JsonRpcHandler,
  type JsonRpcMethodOptions,
  JsonRpcServer,
  type JsonRpcServerOptions,
} from "../http/jsonrpc_server.ts";

/**
 * The options of `jsonrpc.registerWithOptions` and `jsonrpc.registerApi`:
 * the seed's, and `owner`, the plugin whose unload removes the method
 * (default: the plugin whose `onLoad` is running, if any).
 */
export interface JsonRpcPluginMethodOptions extends JsonRpcMethodOptions {
  /** The module that owns the method. */
  owner?: string;
}

/** The version `jsonrpc.version()` reports. */
export const JSONRPC_SERVER_VERSION = 1;

function num(options: Readonly<Record<string, unknown>>, name: string): number | undefined {
  const value = options[name];
  if (value === undefined) return undefined;
  if (typeof value !== "number") {
    throw new JsonRpcError(0, `jsonrpc_server option ${name} must be a number`, undefined, {
      code: "InvalidRegistration",
    });
  }
  return value;
}

/**
 * Reads the plugin's options into {@linkcode JsonRpcServerOptions}.
 *
 * @example
 * ```ts
 * import { jsonRpcServerOptions } from "./jsonrpc_server.ts";
 * console.log(jsonRpcServerOptions({ timeoutMs: 100 }, () => undefined).timeoutMs); // 100
 * ```
 *
 * @param options the module's options
 * @param env reads an environment variable
 * @returns the server options
 */
export function jsonRpcServerOptions(
  options: Readonly<Record<string, unknown>>,
  env: (name: string) => string | undefined,
): JsonRpcServerOptions {
  const tokens: string[] = [];
  if (Array.isArray(options.bearerTokens)) {
    for (const t of options.bearerTokens) if (typeof t === "string" && t !== "") tokens.push(t);
  }
  if (typeof options.bearerTokenEnv === "string") {
    const t = env(options.bearerTokenEnv);
    if (t) tokens.push(t);
  }
  const rate = options.rateLimit as { requests?: unknown; windowMs?: unknown } | undefined;
  return {
    maxRequestBytes: num(options, "maxRequestBytes"),
    maxBatchItems: num(options, "maxBatchItems"),
    maxDepth: num(options, "maxDepth"),
    requireAuth: options.requireAuth === true,
    bearerTokens: tokens,
    timeoutMs: num(options, "timeoutMs"),
    maxInFlight: num(options, "maxInFlight"),
    rateLimit: typeof rate === "object" && rate !== null
      ? { requests: Number(rate.requests), windowMs: Number(rate.windowMs) }
      : undefined,
  };
}

/**
 * The JSON-RPC server plugin.
 *
 * @example
 * ```ts ignore
 * await service.loadSingleModule("plugins/jsonrpc_server.ts");
 * service.callExportedApi("jsonrpc.register", "add", (p: number[]) => p[0] + p[1]);
 * // POST /rpc {"jsonrpc":"2.0","method":"add","params":[1,2],"id":1} → {"result":3,...}
 * ```
 */
export default class JsonRpcServerPlugin extends Plugin {
  /** Exports under `jsonrpc` (the seed's names). */
  static override readonly namespaces: readonly string[] = ["jsonrpc"];
  #off: (() => void) | undefined;

  /**
   * Serves the route and exports the APIs.
   *
   * @param service the service
   */
  override onLoad(service: IoraService): void {
    const log = service.logger.child({ plugin: this.name });
    const rpc = new JsonRpcServer({
      ...jsonRpcServerOptions(this.options, (name) => platform().getEnv(name)),
      onError: (error, method) =>
        log.error("JSON-RPC handler failed", {
          method,
          error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
        }),
    });
    const path = typeof this.options.path === "string" ? this.options.path : "/rpc";
    service.webhookServer.route("POST", path, rpc.routeHandler());
    // Methods belong to the plugin that registered them while loading: they go with it.
    this.#off = service.pluginHost.onEvent((event) => {
      if (event.type === "unloaded") rpc.unregisterOwner(event.name);
    });
    const owner = () => service.pluginHost.currentlyLoading();

    this.exportApi("jsonrpc.version", () => JSONRPC_SERVER_VERSION);
    this.exportApi(
      "jsonrpc.register",
      (method: string, handler: JsonRpcHandler) => rpc.register(method, handler, owner()),
    );
    this.exportApi(
      "jsonrpc.registerWithOptions",
      (method: string, handler: JsonRpcHandler, options?: JsonRpcPluginMethodOptions) =>
        rpc.registerWithOptions(method, handler, options, options?.owner ?? owner()),
    );
    this.exportApi(
      "jsonrpc.registerApi",
      (method: string, apiName: string, options?: JsonRpcPluginMethodOptions) => {
        const api = service.getExportedApiSafe<(...args: unknown[]) => unknown>(apiName);
        const apiOwner = options?.owner ?? (api.isAvailable() ? api.getModuleName() : owner());
        rpc.registerWithOptions(
          method,
          async (params, context) => {
            try {
              return await api.call(params, {
                method: context.method,
                id: context.id ?? null,
                remoteAddress: context.remoteAddress ?? null,
              });
            } catch (e) {
              if (e instanceof ApiUnavailableError) {
                throw new JsonRpcError(RPC_METHOD_NOT_FOUND, "Method not found");
              }
              throw e;
            }
          },
          options,
          apiOwner,
        );
      },
    );
    this.exportApi("jsonrpc.unregister", (method: string) => rpc.unregister(method));
    this.exportApi("jsonrpc.has", (method: string) => rpc.has(method));
    this.exportApi("jsonrpc.getMethods", () => rpc.getMethods());
    this.exportApi("jsonrpc.getStats", () => rpc.getStats());
    this.exportApi("jsonrpc.resetStats", () => rpc.resetStats());
    this.exportApi(
      "jsonrpc.setAuthenticator",
      (fn: JsonRpcAuthenticator | undefined) => rpc.setAuthenticator(fn),
    );
    log.info("JSON-RPC server ready", { path });
  }

  /** Stops following other plugins' unloads (the route and APIs are withdrawn by the host). */
  override onUnload(): void {
    this.#off?.();
    this.#off = undefined;
  }
}
