/**
 * Ready plugins: the KVStore plugin (`kvstore.ts`, over {@linkcode KvStore} from `kv/`)
 * and the sample microservice (`microservice.ts`). A plugin is loaded by
 * location (`modules = ["kvstore.ts"]` with `directory` pointing here);
 * this entry exports the reusable building blocks.
 *
 * @example
 * ```ts
 * import { KvStore } from "./mod.ts";
 * console.log(typeof KvStore.open);
 * ```
 *
 * @module
 */
export * from "./kv/mod.ts";
export { localSummary, MAX_TEXT_LENGTH, type SummaryJob } from "./microservice.ts";
export {
  JSONRPC_SERVER_VERSION,
  type JsonRpcPluginMethodOptions,
  jsonRpcServerOptions,
} from "./jsonrpc_server.ts";
export { JSONRPC_CLIENT_VERSION } from "./jsonrpc_client.ts";
