/**
 * Iora's HTTP layer: the strict HTTP/1.1 codec, the router,
 * `WebhookServer`, and `HttpClient` with its pool.
 *
 * @example
 * ```ts
 * import { WebhookServer } from "./mod.ts";
 * const server = new WebhookServer();
 * server.onGet("/health", (_req, res) => res.setContent("OK", "text/plain"));
 * server.on("/api/users").handleJson((body) => ({ received: body }));
 * ```
 *
 * @module
 */
export {
  DEFAULT_HTTP_LIMITS,
  encodeChunk,
  HttpHeaders,
  HttpParseError,
  HttpParserBase,
  HttpRequestParser,
  HttpResponseParser,
  isBodilessStatus,
  LAST_CHUNK,
  serializeRequestHead,
  serializeResponseHead,
  STATUS_TEXT,
} from "./message.ts";
export type {
  BodyKind,
  HttpHeadBase,
  HttpLimits,
  HttpMessageBody,
  HttpParseErrorCode,
  HttpParserOptions,
  HttpRequestHead,
  HttpRequestMessage,
  HttpResponseHead,
  HttpResponseMessage,
} from "./message.ts";
export { type RouteMatch, Router, RouterError } from "./router.ts";
export { type JsonConfig, WebhookRequest } from "./request.ts";
export { type BodyStream, WebhookResponse } from "./response.ts";
export { WebhookServer } from "./server.ts";
export { noResponses, type ResponsesByClass, statusClass } from "./status_class.ts";
export { WebhookServerError } from "./server_error.ts";
export {
  networkServerTransport,
  type ServerTransport,
  type ServerTransportEvents,
  type ServerTransportFactory,
  type WebhookTlsConfig,
} from "./server_transport.ts";
// A module of public types only (options, stats, handler and route shapes).
export type * from "./server_types.ts";
export {
  type HostResolver,
  HttpClient,
  type HttpClientConfig,
  type HttpClientStats,
  type HttpClientTlsConfig,
  type HttpRequestOptions,
  type HttpRetryConfig,
  type HttpStreamResponse,
} from "./client.ts";
export { HttpClientError, type HttpClientErrorCode } from "./client_error.ts";
export { HttpClientResponse } from "./client_response.ts";
export { HttpClientPool, type HttpClientPoolConfig, PooledHttpClient } from "./client_pool.ts";
export {
  encodeJsonRpcError,
  encodeJsonRpcRequest,
  encodeJsonRpcResult,
  idText,
  isJsonRpcId,
  isJsonRpcResponse,
  type JsonRpcId,
  type JsonRpcParams,
  type JsonRpcRequest,
  type JsonRpcResponse,
  jsonText,
} from "./jsonrpc.ts";
export {
  InvalidParamsError,
  JsonRpcError,
  type JsonRpcErrorCode,
  type JsonRpcErrorObject,
  kindOfRpcCode,
  PoolExhaustedError,
  RemoteError,
  RPC_INTERNAL_ERROR,
  RPC_INVALID_PARAMS,
  RPC_INVALID_REQUEST,
  RPC_METHOD_NOT_FOUND,
  RPC_PARSE_ERROR,
  RPC_RATE_LIMITED,
  RPC_TIMEOUT,
  RPC_UNAUTHORIZED,
} from "./jsonrpc_error.ts";
export {
  type HeaderLookup,
  type JsonRpcAuthenticator,
  type JsonRpcAuthRequest,
  type JsonRpcCallContext,
  type JsonRpcHandler,
  type JsonRpcMethodOptions,
  JsonRpcServer,
  type JsonRpcServerOptions,
  type JsonRpcServerStats,
  type JsonRpcTransportInfo,
} from "./jsonrpc_server.ts";
export {
  type JsonRpcBatchItem,
  JsonRpcClient,
  type JsonRpcClientOptions,
  type JsonRpcClientStats,
  type JsonRpcJobResult,
  type JsonRpcOutcome,
} from "./jsonrpc_client.ts";
