/**
 * The types `WebhookServer` takes and gives: its options, where to listen,
 * how to stop, its counters, and the shapes of route, JSON and fetch
 * handlers.
 *
 * @example
 * ```ts
 * import type { RouteHandler, WebhookServerOptions } from "./server_types.ts";
 * import { WebhookServer } from "./server.ts";
 * const options: WebhookServerOptions = { headerTimeoutMs: 5_000, maxConnections: 1_000 };
 * const hello: RouteHandler = (_req, res) => res.setContent("hello", "text/plain");
 * new WebhookServer(options).onGet("/", hello);
 * ```
 *
 * @module
 */
import type { LogFields } from "../core/logger.ts";
import type { MetricsRegistry } from "../core/metrics.ts";
import type { Tracing } from "../core/tracing.ts";
import type { JsonValue } from "../parsers/json.ts";
import type { HttpLimits } from "./message.ts";
import type { TransportConfig } from "../network/transport.ts";
import type { JsonConfig, WebhookRequest } from "./request.ts";
import type { WebhookResponse } from "./response.ts";
import type { ServerTransportFactory, WebhookTlsConfig } from "./server_transport.ts";
import type { ResponsesByClass } from "./status_class.ts";

/** The minimal logger the access log needs; Iora's `Logger` fits. */
export interface AccessLogger {
  /** Logs one line per response. */
  info(message: string, fields?: LogFields): void;
  /** Logs handler failures. */
  error(message: string, fields?: LogFields): void;
}

/** Options of {@linkcode WebhookServer}. */
export interface WebhookServerOptions {
  /** Parser limits; missing fields take {@linkcode DEFAULT_HTTP_LIMITS}. */
  limits?: Partial<HttpLimits>;
  /**
   * Time allowed to receive a complete request head (slowloris guard). Default 10 s.
   *
   * @default {10000}
   */
  headerTimeoutMs?: number;
  /**
   * Time an idle keep-alive connection stays open. Default 5 s.
   *
   * @default {5000}
   */
  keepAliveTimeoutMs?: number;
  /**
   * Time allowed from the first byte of a request to the end of its response, streamed bodies
   * included (raise it, or `Infinity`, for server-sent events). Default 30 s.
   *
   * @default {30000}
   */
  requestTimeoutMs?: number;
  /**
   * Open connections beyond this are answered 503 and closed. Default 10,000.
   *
   * @default {10000}
   */
  maxConnections?: number;
  /**
   * Requests served on one connection before it is closed. Default unlimited.
   *
   * @default {Infinity}
   */
  maxRequestsPerConnection?: number;
  /**
   * Request bytes held across all connections at once (bodies still arriving, pipelined
   * requests waiting). A request that would pass it is answered 503 with `Retry-After` and its
   * connection closed, so many slow uploads cannot pin `maxConnections` x `maxBodyBytes`.
   *
   * @default {268435456}
   */
  maxBufferedBytes?: number;
  /** Where to write the access log and handler errors; none when absent. */
  logger?: AccessLogger;
  /**
   * Where to count requests by route pattern, method and status class
   * (`iora_http_server_route_requests_total`) and their latency
   * (`iora_http_server_request_duration_seconds`); requests no route matched share the route
   * label `(unmatched)`. None when absent (no cost per request). The latency starts at the
   * request's dispatch, read from a clock reading shared by the event-loop turn that dispatches
   * it: taken after the request's bytes arrived and no later than its dispatch, so a request
   * that waited behind others of its turn has that wait counted. It ends when the response has
   * been handed to the transport (a streamed body: its last chunk), read once for all the
   * responses of a turn when the turn ends: a figure may include the rest of its turn's work,
   * and none is ever recorded as shorter than it took. Where turns hold one request each (Node)
   * or an access log is kept, each end is read at once.
   */
  metrics?: MetricsRegistry;
  /**
   * Emits a server span per request (a child of the request's `traceparent`, when it has a valid
   * one), active while its handler runs. None when absent (no cost per request).
   */
  tracing?: Tracing;
  /**
   * Answer with a `Date` header (RFC 9110 asks origin servers to). Default true.
   *
   * @default {true}
   */
  dateHeader?: boolean;
  /** The transport to serve on; default Iora's network transport (`SharedTransport`). */
  transport?: ServerTransportFactory;
  /**
   * Names the owner of each route as it is added (a plugin host answers with the plugin being
   * loaded), so that `removeRoutesOf(owner)` can take them away. Default: routes have no owner.
   */
  routeOwner?: () => string | undefined;
  /**
   * Settings of the default transport (adapter `runtime`, write-queue
   * limits, backpressure...). TLS comes from `enableTls`. Ignored with `transport`.
   */
  network?: Omit<TransportConfig, "tls">;
}

/** Requests of one route pattern and method, as {@linkcode WebhookServer.getRouteStats} reports them. */
export interface RouteStats {
  /** The route pattern, or `(unmatched)` for requests no route matched. */
  route: string;
  /** The method (`OTHER` for any method outside the usual seven). */
  method: string;
  /** Responses sent. */
  requests: number;
  /** Responses by status class. */
  responses: ResponsesByClass;
  /** Total time from the requests' dispatch to their responses, in seconds. */
  seconds: number;
}

/** What {@linkcode WebhookServer.listRoutes} reports about one route. */
export interface RouteInfo {
  /** The method, or `"*"` for every method. */
  method: string;
  /** The path pattern as it was added, such as `/users/{id}`. */
  pattern: string;
  /** Who added it, when the server was given a `routeOwner`. */
  owner: string | undefined;
}

/** Where to listen. */
export interface ListenOptions {
  /**
   * Interface to bind. Default `"0.0.0.0"`.
   *
   * @default {"0.0.0.0"}
   */
  hostname?: string;
  /**
   * Port; 0 picks a free one. Default the `setPort` value, else 8080.
   *
   * @default {8080}
   */
  port?: number;
  /**
   * Serve HTTPS with this certificate and key: the same as `enableTls(tls)` before `start()`.
   *
   * @default {the enableTls value, else plain HTTP}
   */
  tls?: WebhookTlsConfig;
  /**
   * JSON limits of `handleJson` and `req.json()`: the same as `setJsonConfig(json)`.
   *
   * @default {the setJsonConfig value}
   */
  json?: Partial<JsonConfig>;
  /**
   * Aborting it stops the server gracefully (as `stop()`); already aborted, `start()` rejects
   * with its reason and binds nothing.
   */
  signal?: AbortSignal;
}

/** Options of {@linkcode WebhookServer.stop}. */
export interface StopOptions {
  /**
   * How long in-flight requests may take before connections are cut. Default 10 s.
   *
   * @default {10000}
   */
  timeoutMs?: number;
}

/** The counters of {@linkcode WebhookServer.getStats}. */
export interface WebhookServerStats {
  /** Requests parsed and dispatched. */
  requests: number;
  /** Responses by status class. */
  responses: ResponsesByClass;
  /** Bytes received. */
  bytesIn: number;
  /** Bytes sent. */
  bytesOut: number;
  /** Connections open now. */
  activeConnections: number;
  /** Connections accepted since start (or reset). */
  totalConnections: number;
  /** Connections refused because of `maxConnections`. */
  rejectedConnections: number;
  /** Requests refused by the codec (4xx/5xx before any handler). */
  parseErrors: number;
  /** Header, request and idle timeouts that closed a connection. */
  timeouts: number;
  /** Handlers that threw or rejected. */
  handlerErrors: number;
  /** Request bytes held now across all connections (see `maxBufferedBytes`). */
  bufferedBytes: number;
  /** Requests refused because `maxBufferedBytes` was reached. */
  bufferRefusals: number;
}

/** Tells long-running handlers that the server is stopping. */
export interface ShutdownChecker {
  /** True once `stop()` has begun. */
  isShuttingDown(): boolean;
}

/** A route handler; may be sync or async. */
export type RouteHandler = (req: WebhookRequest, res: WebhookResponse) => void | Promise<void>;

/** A JSON handler: receives the parsed body, returns the value to serialize. */
export type JsonHandler = (
  body: JsonValue,
  req: WebhookRequest,
) => unknown | Promise<unknown>;

/** A standard fetch handler, as `Deno.serve` or Hono's `app.fetch` take. */
export type FetchHandler = (request: Request) => Response | Promise<Response>;

/** The fluent builder returned by {@linkcode WebhookServer.on}. */
export interface RouteBuilder {
  /**
   * Serves JSON: the body is parsed with the JSON limits (400 with the
   * position on bad JSON, 415 on a non-JSON content type, 413 when too
   * large) and the return value is serialized (`undefined` gives 204).
   * `methods` defaults to `["POST"]`.
   */
  handleJson(fn: JsonHandler, options?: { methods?: string[] }): RouteBuilder;
  /** Registers a handler for `method` on this path. */
  handle(method: string, handler: RouteHandler): RouteBuilder;
}
