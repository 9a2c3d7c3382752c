/**
 * The JSON-RPC client plugin (the seed's `mod_jsonrpc_client`): a
 * {@linkcode JsonRpcClient} on an HTTP client of its own (made with the
 * service's `[http.client]` settings), driven through exported APIs.
 *
 * APIs: `jsonrpc.client.call(endpoint, method, params?, headers?)` → the
 * result, `jsonrpc.client.notify(...)`,
 * `jsonrpc.client.callBatch(endpoint, items, headers?)` → one outcome per
 * item, `jsonrpc.client.callAsync(...)` and
 * `jsonrpc.client.callBatchAsync(...)` → a job id,
 * `jsonrpc.client.result(jobId)` → `{ done, result | error }`,
 * `jsonrpc.client.getStats()` (with retriedRequests, poolExhaustions,
 * connectionsCreated and connectionsEvicted), `jsonrpc.client.resetStats()`,
 * `jsonrpc.client.purgeIdle()`, `jsonrpc.client.version()` → 1. Failures
 * reject with `JsonRpcError`, `RemoteError` or `PoolExhaustedError`.
 *
 * Options: `timeoutMs` (30000), `retries` (2, connection failures only),
 * `maxInFlight` (1024), `jobTtlMs` (60000), `maxJobs` (10000), `maxResponseBytes`
 * (16777216; reading stops past it),
 * `maxConnectionsPerHost` (64), `connectionIdleTimeout` (4000), `headers`
 * (a table sent with every call), `bearerTokenEnv` (an environment variable
 * holding a bearer token).
 *
 * @example
 * ```toml
 * [modules]
 * modules = [{ url = "jsonrpc_client.ts", options = { timeoutMs = 2000, maxJobs = 1000 } }]
 * ```
 *
 * @module
 */
import { platform } from "../core/platform/mod.ts";
import type { IoraService } from "../service/iora_service.ts";
import { Plugin } from "../service/plugin.ts";
import type { HttpClient } from "../http/client.ts";
import type { JsonRpcParams } from "../http/jsonrpc.ts";
import { type JsonRpcBatchItem, JsonRpcClient } from "../http/jsonrpc_client.ts";
import { JsonRpcError } from "../http/jsonrpc_error.ts";

/** The version `jsonrpc.client.version()` reports. */
export const JSONRPC_CLIENT_VERSION = 1;

type Headers = Record<string, string> | undefined;

function num(options: Readonly<Record<string, unknown>>, name: string): number | undefined {
  const value = options[name];
  if (value === undefined) return undefined;
  if (typeof value !== "number") {
    throw new JsonRpcError(0, `jsonrpc_client option ${name} must be a number`, undefined, {
      code: "InvalidRegistration",
    });
  }
  return value;
}

/**
 * The JSON-RPC client plugin.
 *
 * @example
 * ```ts ignore
 * await service.loadSingleModule("plugins/jsonrpc_client.ts");
 * const sum = await service.callExportedApi<Promise<number>>(
 *   "jsonrpc.client.call", "http://127.0.0.1:8080/rpc", "add", [1, 2],
 * );
 * ```
 */
export default class JsonRpcClientPlugin extends Plugin {
  /** Exports under `jsonrpc.client` (the seed's names). */
  static override readonly namespaces: readonly string[] = ["jsonrpc.client"];
  #client: JsonRpcClient | undefined;
  #http: HttpClient | undefined;

  /**
   * Makes the client and exports the APIs.
   *
   * @param service the service
   */
  override onLoad(service: IoraService): void {
    const o = this.options;
    const headers: Record<string, string> = {};
    if (typeof o.headers === "object" && o.headers !== null) {
      for (const [k, v] of Object.entries(o.headers)) if (typeof v === "string") headers[k] = v;
    }
    const token = typeof o.bearerTokenEnv === "string"
      ? platform().getEnv(o.bearerTokenEnv)
      : undefined;
    const http = service.makeHttpClient({
      maxConnectionsPerHost: num(o, "maxConnectionsPerHost") ?? 64,
      connectionIdleTimeout: num(o, "connectionIdleTimeout"),
      maxResponseBytes: num(o, "maxResponseBytes") ?? 16 << 20,
    });
    this.#http = http;
    const client = new JsonRpcClient({
      httpClient: http,
      timeoutMs: num(o, "timeoutMs"),
      retries: num(o, "retries"),
      maxInFlight: num(o, "maxInFlight"),
      jobTtlMs: num(o, "jobTtlMs"),
      maxJobs: num(o, "maxJobs"),
      maxResponseBytes: num(o, "maxResponseBytes"),
      headers,
      bearerToken: token || undefined,
    });
    this.#client = client;
    const p = "jsonrpc.client.";
    this.exportApi(`${p}version`, () => JSONRPC_CLIENT_VERSION);
    this.exportApi(
      `${p}call`,
      (endpoint: string, method: string, params?: JsonRpcParams, h?: Headers) =>
        client.call(endpoint, method, params, h),
    );
    this.exportApi(
      `${p}notify`,
      (endpoint: string, method: string, params?: JsonRpcParams, h?: Headers) =>
        client.notify(endpoint, method, params, h),
    );
    this.exportApi(
      `${p}callBatch`,
      (endpoint: string, items: JsonRpcBatchItem[], h?: Headers) =>
        client.callBatch(endpoint, items, h),
    );
    this.exportApi(
      `${p}callAsync`,
      (endpoint: string, method: string, params?: JsonRpcParams, h?: Headers) =>
        client.callAsync(endpoint, method, params, h),
    );
    this.exportApi(
      `${p}callBatchAsync`,
      (endpoint: string, items: JsonRpcBatchItem[], h?: Headers) =>
        client.callBatchAsync(endpoint, items, h),
    );
    this.exportApi(`${p}result`, (jobId: string) => client.result(jobId));
    this.exportApi(`${p}getStats`, () => client.getStats());
    this.exportApi(`${p}resetStats`, () => client.resetStats());
    this.exportApi(`${p}purgeIdle`, () => client.purgeIdle());
  }

  /** Closes the client's connections (calls still running fail with `Closed`). */
  override async onUnload(): Promise<void> {
    const client = this.#client;
    const http = this.#http;
    this.#client = this.#http = undefined;
    await client?.close();
    // The HTTP client came from the service for this plugin alone: close it too.
    await http?.close();
  }
}
