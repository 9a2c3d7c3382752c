/**
 * `WebhookServer`: a production HTTP/1.1 server on Iora's own transport,
 * with a segment-tree router, JSON-first handlers, TLS, timeouts against
 * slow clients, a connection cap, graceful shutdown, stats and an access
 * log, and `mount` for standard fetch handlers (apps written for
 * `Deno.serve` or Hono).
 *
 * @example
 * ```ts
 * import { WebhookServer } from "./server.ts";
 * const server = new WebhookServer();
 * server.onGet("/health", (_req, res) => res.setContent("OK", "text/plain"));
 * server.on("/api/users").handleJson((body) => ({ status: "success", got: body }));
 * await server.start({ hostname: "127.0.0.1", port: 0 });
 * console.log(`listening on ${server.port}`);
 * await server.stop();
 * ```
 *
 * @module
 */
import { IoraError } from "../core/errors.ts";
import type { LogFields } from "../core/logger.ts";
import { platform } from "../core/platform/mod.ts";
import {
  JsonParseError,
  type JsonParseOptions,
  type JsonValue,
  parseJson,
} from "../parsers/json.ts";
import {
  DEFAULT_HTTP_LIMITS,
  encodeChunk,
  HttpHeaders,
  type HttpLimits,
  HttpParseError,
  type HttpRequestMessage,
  HttpRequestParser,
  LAST_CHUNK,
  STATUS_TEXT,
} from "./message.ts";
import { normalizePath, Router } from "./router.ts";
import {
  type TlsConfig,
  TlsMode,
  type Transport,
  type TransportConfig,
} from "../network/transport.ts";
import { SharedTransport } from "../network/shared_transport.ts";

/** Thrown for misuse of the server (starting twice, TLS on an unsupported runtime...). */
export class WebhookServerError extends IoraError {
  /**
   * Creates the error.
   *
   * @param code stable identifier, such as `"AlreadyStarted"` or `"InvalidConfig"`
   * @param message what went wrong
   * @param options standard error options (`cause`)
   */
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}

/** The TLS settings of {@linkcode WebhookServer.enableTls}. */
export interface WebhookTlsConfig {
  /** Certificate chain, PEM text. Either this or `certFile`. */
  cert?: string;
  /** Path of the certificate chain (PEM). */
  certFile?: string;
  /** Private key, PEM text. Either this or `keyFile`. */
  key?: string;
  /** Path of the private key (PEM). */
  keyFile?: string;
  /** CA certificates (PEM) trusted for client certificates. */
  ca?: string;
  /** Path of the CA bundle trusted for client certificates. */
  caFile?: string;
  /** Require and verify a client certificate (Node only; Deno fails with a clear error). */
  requireClientCert?: boolean;
}

/** What a {@linkcode ServerTransport} reports to the server. */
export interface ServerTransportEvents {
  /** A connection was accepted; `remoteAddress` is `host:port`. */
  onAccept(sid: number, remoteAddress: string): void;
  /** Bytes arrived; the server may keep a reference to `data`. */
  onData(sid: number, data: Uint8Array): void;
  /** The connection is gone (either side closed it, or it failed). */
  onClose(sid: number): void;
}

/**
 * The byte transport the server stands on: a listener whose sessions are
 * numbered. The default is Iora's network transport; tests and embedders
 * may pass another through {@linkcode WebhookServerOptions.transport}.
 */
export interface ServerTransport {
  /** Binds and listens (TLS when `tls` is set); resolves with the bound port. */
  listen(hostname: string, port: number, tls: WebhookTlsConfig | null): Promise<number>;
  /** Queues bytes on a session, in order; never interleaves with other sends. */
  send(sid: number, bytes: Uint8Array): void;
  /** Like `send`, resolving once the session's write queue has room again (backpressure). */
  sendAsync(sid: number, bytes: Uint8Array): Promise<void>;
  /** Closes a session after its queued bytes are written. Harmless when already closed. */
  close(sid: number): void;
  /** Stops accepting; open sessions stay. */
  stopListening(): Promise<void>;
  /** Closes everything. */
  stop(): Promise<void>;
}

/** Creates the transport for one `start()`, wired to the server's events. */
export type ServerTransportFactory = (events: ServerTransportEvents) => ServerTransport;

/** JSON limits of `handleJson` and `req.json()`. */
export interface JsonConfig {
  /** Largest JSON body in bytes (413 beyond it). Default 10 MiB. */
  maxPayloadSize: number;
  /** Limits passed to the JSON parser (depth, string length...). */
  parseLimits: NonNullable<JsonParseOptions["limits"]>;
}

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
  /** Time allowed to receive a complete request head (slowloris guard). Default 10 s. */
  headerTimeoutMs?: number;
  /** Time an idle keep-alive connection stays open. Default 5 s. */
  keepAliveTimeoutMs?: number;
  /**
   * Time allowed from the first byte of a request to the end of its response, streamed bodies
   * included (raise it, or `Infinity`, for server-sent events). Default 30 s.
   */
  requestTimeoutMs?: number;
  /** Open connections beyond this are answered 503 and closed. Default 10,000. */
  maxConnections?: number;
  /** Requests served on one connection before it is closed. Default unlimited. */
  maxRequestsPerConnection?: number;
  /** Where to write the access log and handler errors; none when absent. */
  logger?: AccessLogger;
  /** Answer with a `Date` header (RFC 9110 asks origin servers to). Default true. */
  dateHeader?: boolean;
  /** The transport to serve on; default Iora's network transport (`SharedTransport`). */
  transport?: ServerTransportFactory;
  /**
   * Settings of the default transport (adapter `runtime`, write-queue
   * limits, backpressure...). TLS comes from `enableTls`. Ignored with `transport`.
   */
  network?: Omit<TransportConfig, "tls">;
}

/** Where to listen. */
export interface ListenOptions {
  /** Interface to bind. Default `"0.0.0.0"`. */
  hostname?: string;
  /** Port; 0 picks a free one. Default the `setPort` value, else 8080. */
  port?: number;
}

/** Options of {@linkcode WebhookServer.stop}. */
export interface StopOptions {
  /** How long in-flight requests may take before connections are cut. Default 10 s. */
  timeoutMs?: number;
}

/** The counters of {@linkcode WebhookServer.getStats}. */
export interface WebhookServerStats {
  /** Requests parsed and dispatched. */
  requests: number;
  /** Responses by status class. */
  responses: { "1xx": number; "2xx": number; "3xx": number; "4xx": number; "5xx": number };
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
}

/** Tells long-running handlers that the server is stopping. */
export interface ShutdownChecker {
  /** True once `stop()` has begun. */
  isShuttingDown(): boolean;
}

/**
 * A request as handlers see it. Query and text are computed on first use.
 *
 * @example
 * ```ts
 * import { WebhookServer } from "./server.ts";
 * new WebhookServer().onGet("/users/{id}", (req, res) => {
 *   res.json({ id: req.params.id, q: req.query.get("q"), from: req.remoteAddress });
 * });
 * ```
 */
export class WebhookRequest {
  /** The method (`GET`, `POST`...). */
  readonly method: string;
  /** The path, still percent-encoded, without the query string. */
  readonly path: string;
  /** The raw query string without `?` (empty when absent). */
  readonly queryString: string;
  /** Route parameters, percent-decoded; a trailing wildcard is under `"*"`. */
  params: Record<string, string>;
  /** The request's header fields. */
  readonly headers: HttpHeaders;
  /** The body bytes (empty when there is none). */
  readonly body: Uint8Array;
  /** The trailer fields of a chunked body, or null when it had none. */
  readonly trailers: HttpHeaders | null;
  /** The peer's address, `host:port`. */
  readonly remoteAddress: string;
  /** `"1.1"` or `"1.0"`. */
  readonly version: "1.0" | "1.1";
  /** The raw request target. */
  readonly target: string;
  #query: URLSearchParams | null = null;
  #json: JsonConfig;

  /**
   * Wraps a parsed message.
   *
   * @param message the parsed message
   * @param remoteAddress the peer's `host:port`
   * @param json limits used by `json()`
   */
  constructor(message: HttpRequestMessage, remoteAddress: string, json: JsonConfig) {
    this.method = message.method;
    this.target = message.target;
    let target = message.target;
    if (target.charCodeAt(0) !== 47) {
      // absolute-form: keep the path part only
      const m = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*/.exec(target);
      target = m ? target.slice(m[0].length) : "";
      // An empty path is "/" (RFC 9112 section 3.2.2), also before a query.
      if (target.charCodeAt(0) !== 47) target = `/${target}`;
    }
    const q = target.indexOf("?");
    this.path = q === -1 ? target : target.slice(0, q);
    this.queryString = q === -1 ? "" : target.slice(q + 1);
    this.params = EMPTY_PARAMS;
    this.headers = message.headers;
    this.body = message.body;
    this.trailers = message.trailers;
    this.remoteAddress = remoteAddress;
    this.version = message.version;
    this.#json = json;
  }

  /** The parsed query string. */
  get query(): URLSearchParams {
    return this.#query ??= new URLSearchParams(this.queryString);
  }

  /** The body decoded as UTF-8. */
  text(): string {
    return DECODER.decode(this.body);
  }

  /**
   * The body parsed by Iora's JSON parser with the server's JSON limits.
   * Throws `JsonParseError` (with line, column and offset) on bad JSON.
   */
  json(): JsonValue {
    if (this.body.length > this.#json.maxPayloadSize) {
      throw new WebhookServerError(
        "PayloadTooLarge",
        `JSON body exceeds ${this.#json.maxPayloadSize} bytes`,
      );
    }
    try {
      return parseJson(this.body, { limits: this.#json.parseLimits });
    } catch (e) {
      if (e instanceof JsonParseError) BAD_BODIES.add(e);
      throw e;
    }
  }
}

/** A body source for {@linkcode WebhookResponse.stream}. */
export type BodyStream = ReadableStream<Uint8Array> | AsyncIterable<Uint8Array | string>;

/**
 * The response a handler fills in. Nothing is sent until the handler
 * returns (or its promise settles); `stream` sends the body as it comes.
 *
 * @example
 * ```ts
 * import { WebhookServer } from "./server.ts";
 * new WebhookServer().onPost("/echo", (req, res) => {
 *   res.status = 201;
 *   res.headers.set("x-echo", "1");
 *   res.setContent(req.body, "application/octet-stream");
 * });
 * ```
 */
export class WebhookResponse {
  /** The status code; default 200. */
  status = 200;
  /** Response header fields (`content-length` and framing are set by the server). */
  readonly headers: HttpHeaders = new HttpHeaders();
  /** The body: bytes, text (sent as UTF-8) or null for none. */
  body: Uint8Array | string | null = null;
  /** A streamed body, sent chunked, set through `stream`. */
  streamBody: BodyStream | null = null;

  /** Sets the body and its content type. */
  setContent(body: string | Uint8Array, contentType: string): void {
    this.body = body;
    this.headers._setLower("content-type", contentType);
  }

  /** Sets a header field (replacing earlier ones of that name). */
  setHeader(name: string, value: string): void {
    this.headers.set(name, value);
  }

  /** Serializes `value` as the JSON body (`application/json`). */
  json(value: unknown, status?: number): void {
    if (status !== undefined) this.status = status;
    this.body = JSON.stringify(value) ?? "null";
    this.headers._setTrusted("content-type", "application/json");
  }

  /** Streams the body from a `ReadableStream` or async iterable (chunked on HTTP/1.1). */
  stream(source: BodyStream, contentType?: string): void {
    this.streamBody = source;
    if (contentType !== undefined) this.headers.set("content-type", contentType);
  }
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

const DECODER = new TextDecoder();
const ENCODER = new TextEncoder();
/**
 * The JSON errors of request bodies (`req.json()`): those are the client's, a 400 with the
 * position. Any other JSON error a handler lets escape is the server's: a 500.
 */
const BAD_BODIES = new WeakSet<JsonParseError>();
const EMPTY_PARAMS: Record<string, string> = Object.freeze({}) as Record<string, string>;
const EMPTY = new Uint8Array(0);
/** String bodies up to this length are checked and copied in JS; longer ones take the encoder. */
const SHORT_TEXT = 2048;
const STATUS_LINES: Uint8Array[] = [];
const CONTINUE = ENCODER.encode("HTTP/1.1 100 Continue\r\n\r\n");

interface Conn {
  sid: number;
  remote: string;
  parser: HttpRequestParser;
  busy: boolean;
  closing: boolean;
  requests: number;
  /** When the current request's first byte arrived, or -1 while idle. */
  requestStart: number;
  /** True once the current request's head is complete. */
  headDone: boolean;
  lastActivity: number;
  continueSent: boolean;
  /** When the request being handled began (valid while busy). */
  busySince: number;
  /** Cancels the body being streamed on this connection, once it closes; else null. */
  cancelStream: (() => void) | null;
  /** When the connection began discarding input after a refused request, or -1. */
  lingerSince: number;
}

interface Route {
  handler: RouteHandler;
}

function statusClass(s: number): "1xx" | "2xx" | "3xx" | "4xx" | "5xx" {
  return s < 200 ? "1xx" : s < 300 ? "2xx" : s < 400 ? "3xx" : s < 500 ? "4xx" : "5xx";
}

function zeroStats(): WebhookServerStats {
  return {
    requests: 0,
    responses: { "1xx": 0, "2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0 },
    bytesIn: 0,
    bytesOut: 0,
    activeConnections: 0,
    totalConnections: 0,
    rejectedConnections: 0,
    parseErrors: 0,
    timeouts: 0,
    handlerErrors: 0,
  };
}

// Writes `s` (code units <= 255, as validated by HttpHeaders) as latin1 bytes.
function writeLatin1(s: string, out: Uint8Array, at: number): number {
  for (let i = 0; i < s.length; i++) out[at + i] = s.charCodeAt(i);
  return at + s.length;
}

const CONTENT_LENGTH = ENCODER.encode("content-length: ");
const CONNECTION_CLOSE = ENCODER.encode("connection: close\r\n");
const KEEP_ALIVE = ENCODER.encode("connection: keep-alive\r\n");
/** Responses up to this size are carved out of a shared slab instead of allocated each. */
const SLAB_PIECE = 4096;
const SLAB_SIZE = 64 * 1024;
/** After a refused request, input is dropped until the client is quiet this long... */
const LINGER_QUIET_MS = 2_000;
/** ...or for this long at most. */
const LINGER_MAX_MS = 10_000;

// Small copies in a loop: cheaper than TypedArray.prototype.set's checks at these sizes.
function copyBytes(src: Uint8Array, out: Uint8Array, at: number): number {
  if (src.length > 64) {
    out.set(src, at);
    return at + src.length;
  }
  for (let i = 0; i < src.length; i++) out[at++] = src[i];
  return at;
}

function decimalLength(n: number): number {
  let digits = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    digits++;
  }
  return digits;
}

function writeDecimal(n: number, digits: number, out: Uint8Array, at: number): void {
  for (let i = at + digits - 1; i >= at; i--) {
    out[i] = 48 + n % 10;
    n = Math.floor(n / 10);
  }
}

// Copies `s` as bytes while every code unit is ASCII; false at the first that is not.
function writeAscii(s: string, out: Uint8Array, at: number): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 127) return false;
    out[at + i] = c;
  }
  return true;
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 127) return false;
  return true;
}

// The status line's bytes, built once per status code.
/** Methods the Fetch standard's `Request` refuses to carry, so no mounted app can see them. */
const FETCH_FORBIDDEN_METHODS: ReadonlySet<string> = new Set(["CONNECT", "TRACE", "TRACK"]);

/** An option that must be a positive number (`Infinity` for no limit), or its default. */
function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!(value > 0)) {
    throw new RangeError(`${name} must be a positive number (Infinity for no limit), got ${value}`);
  }
  return value;
}

function statusLine(status: number): Uint8Array {
  let line = STATUS_LINES[status];
  if (line === undefined) {
    const text = `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Unknown"}\r\n`;
    line = new Uint8Array(text.length);
    writeLatin1(text, line, 0);
    STATUS_LINES[status] = line;
  }
  return line;
}

function isJsonContentType(ct: string | null): boolean {
  if (ct === null) return false;
  const semi = ct.indexOf(";");
  const base = (semi === -1 ? ct : ct.slice(0, semi)).trim().toLowerCase();
  return base === "application/json" || (base.startsWith("application/") && base.endsWith("+json"));
}

/**
 * The HTTP server. Register routes, then `start`; `stop` shuts down
 * gracefully. See the module documentation for an example.
 *
 * @example
 * ```ts
 * import { WebhookServer } from "./server.ts";
 * await using server = new WebhookServer({ headerTimeoutMs: 5_000 });
 * server.onPost("/webhook", (req, res) => res.json({ received: req.body.length }));
 * await server.start({ hostname: "127.0.0.1", port: 0 });
 * ```
 */
export class WebhookServer implements AsyncDisposable {
  readonly #router = new Router<Route>();
  readonly #limits: HttpLimits;
  readonly #headerTimeout: number;
  readonly #idleTimeout: number;
  readonly #requestTimeout: number;
  readonly #maxConnections: number;
  readonly #maxRequests: number;
  readonly #logger: AccessLogger | undefined;
  readonly #dateHeader: boolean;
  #json: JsonConfig = { maxPayloadSize: 10 * 1024 * 1024, parseLimits: {} };
  #tls: WebhookTlsConfig | null = null;
  #port = 8080;
  #boundPort = 0;
  #hostname = "0.0.0.0";
  #io: ServerTransport | null = null;
  #conns = new Map<number, Conn>();
  #stats = zeroStats();
  #shuttingDown = false;
  #sweep: ReturnType<typeof setInterval> | null = null;
  #date = "";
  #dateBytes: Uint8Array = EMPTY;
  #slab: Uint8Array = EMPTY;
  #slabUsed = 0;
  /** The session whose sends are being held while its requests are driven, or -1. */
  #corkSid = -1;
  #corked: Uint8Array | null = null;
  /**
   * The coarse clock the timeout stamps come from: the time of the last sweep. Timeouts are only
   * checked by the sweep anyway, so a stamp up to one period old costs no precision the sweep
   * has, and saves a clock read per request (the clock costs more than a request's framing).
   * The sweeps allow for that age (`#slack`) so a timeout never fires early.
   */
  #now = 0;
  /** One sweep period: how much older than the event a stamp can be. */
  #slack = 0;
  /** Stamps read the real clock when the access log reports durations. */
  readonly #precise: boolean;
  #allClosed: (() => void) | null = null;
  #stopping: Promise<void> | null = null;
  #starting: Promise<void> | null = null;
  #ioFactory: ServerTransportFactory;

  /**
   * Creates a server; nothing listens until `start()`.
   *
   * @param options limits, timeouts, connection cap and logger
   */
  constructor(options: WebhookServerOptions = {}) {
    this.#limits = { ...DEFAULT_HTTP_LIMITS, ...options.limits };
    this.#headerTimeout = positive("headerTimeoutMs", options.headerTimeoutMs, 10_000);
    this.#idleTimeout = positive("keepAliveTimeoutMs", options.keepAliveTimeoutMs, 5_000);
    this.#requestTimeout = positive("requestTimeoutMs", options.requestTimeoutMs, 30_000);
    this.#maxConnections = positive("maxConnections", options.maxConnections, 10_000);
    this.#maxRequests = options.maxRequestsPerConnection ?? Infinity;
    this.#logger = options.logger;
    this.#precise = options.logger !== undefined;
    this.#dateHeader = options.dateHeader ?? true;
    const network = options.network ?? {};
    this.#ioFactory = options.transport ??
      networkServerTransport((tls) => new SharedTransport({ ...network, tls }));
    this.#json.maxPayloadSize = Math.min(this.#json.maxPayloadSize, this.#limits.maxBodyBytes);
  }

  /** Sets the port `start()` uses when none is given. */
  setPort(port: number): void {
    this.#port = port;
  }

  /** The bound port once started (useful with port 0), else the configured one. */
  get port(): number {
    return this.#boundPort || this.#port;
  }

  /** True between `start()` and the end of `stop()`. */
  get running(): boolean {
    return this.#io !== null;
  }

  /** Sets the JSON limits of `handleJson` and `req.json()`. */
  setJsonConfig(config: Partial<JsonConfig>): void {
    this.#json = {
      maxPayloadSize: config.maxPayloadSize ?? this.#json.maxPayloadSize,
      parseLimits: config.parseLimits ?? this.#json.parseLimits,
    };
  }

  /**
   * Serves HTTPS from the next `start()`. Needs `cert`/`certFile` and
   * `key`/`keyFile`. `requireClientCert` works on Node only; on Deno
   * `start()` fails with an `UnsupportedError` naming the runtime.
   */
  enableTls(config: WebhookTlsConfig): void {
    if (!(config.cert || config.certFile) || !(config.key || config.keyFile)) {
      throw new WebhookServerError("InvalidConfig", "TLS needs a certificate and a private key");
    }
    this.#tls = { ...config };
  }

  /** Registers a handler for `GET` (and so `HEAD`). */
  onGet(path: string, handler: RouteHandler): this {
    return this.route("GET", path, handler);
  }
  /** Registers a handler for `POST`. */
  onPost(path: string, handler: RouteHandler): this {
    return this.route("POST", path, handler);
  }
  /** Registers a handler for `PUT`. */
  onPut(path: string, handler: RouteHandler): this {
    return this.route("PUT", path, handler);
  }
  /** Registers a handler for `DELETE`. */
  onDelete(path: string, handler: RouteHandler): this {
    return this.route("DELETE", path, handler);
  }
  /** Registers a handler for `PATCH`. */
  onPatch(path: string, handler: RouteHandler): this {
    return this.route("PATCH", path, handler);
  }

  /** Registers a handler for any method name (`"*"` for every method). */
  route(method: string, path: string, handler: RouteHandler): this {
    this.#router.add(method, path, { handler });
    return this;
  }

  /** A fluent builder for `path`: `server.on("/api").handleJson(fn)`. */
  on(path: string): RouteBuilder {
    const builder: RouteBuilder = {
      handleJson: (fn, options) => {
        for (const m of options?.methods ?? ["POST"]) this.route(m, path, this.#jsonRoute(fn));
        return builder;
      },
      handle: (method, handler) => {
        this.route(method, path, handler);
        return builder;
      },
    };
    return builder;
  }

  /**
   * Serves a standard fetch handler under `pathPrefix` (every method). The
   * handler sees the URL with the prefix removed, so an app written for the
   * root can be mounted anywhere.
   *
   * @example
   * ```ts
   * import { WebhookServer } from "./server.ts";
   * const server = new WebhookServer();
   * server.mount("/app", (request) => new Response(new URL(request.url).pathname));
   * ```
   */
  mount(pathPrefix: string, handler: FetchHandler): this {
    const prefix = pathPrefix.endsWith("/") ? pathPrefix.slice(0, -1) : pathPrefix;
    const route = this.#fetchRoute(prefix, handler);
    this.route("*", prefix === "" ? "/*" : `${prefix}/*`, route);
    if (prefix !== "") this.route("*", prefix, route);
    return this;
  }

  /** Tells handlers whether a shutdown has begun. */
  getShutdownChecker(): ShutdownChecker {
    return { isShuttingDown: () => this.#shuttingDown };
  }

  /** A snapshot of the counters. */
  getStats(): WebhookServerStats {
    return {
      ...this.#stats,
      responses: { ...this.#stats.responses },
      activeConnections: this.#conns.size,
    };
  }

  /** Zeroes the counters (active connections stay as they are). */
  resetStats(): void {
    this.#stats = zeroStats();
  }

  /**
   * Binds and starts serving. Throws `AlreadyStarted` when running, and the
   * transport's error when the port cannot be bound.
   */
  start(options: ListenOptions = {}): Promise<void> {
    if (this.#io !== null || this.#starting !== null) {
      return Promise.reject(new WebhookServerError("AlreadyStarted", "server already started"));
    }
    // Until the port is bound #io is null: a second start would bind a second listener, and a
    // stop would find nothing to stop and leave the first running.
    return this.#starting = this.#start(options).finally(() => (this.#starting = null));
  }

  async #start(options: ListenOptions): Promise<void> {
    this.#hostname = options.hostname ?? this.#hostname;
    const port = options.port ?? this.#port;
    this.#shuttingDown = false;
    const io = this.#ioFactory({
      onAccept: (sid, remote) => this.#onAccept(sid, remote),
      onData: (sid, data) => this.#onData(sid, data),
      onClose: (sid) => this.#onClose(sid),
    });
    this.#boundPort = await io.listen(this.#hostname, port, this.#tls);
    this.#io = io;
    this.#updateDate();
    this.#now = platform().now();
    const period = Math.max(
      20,
      Math.min(1000, this.#headerTimeout / 4, this.#idleTimeout / 4, this.#requestTimeout / 4),
    );
    this.#slack = period;
    this.#sweep = setInterval(() => this.#onSweep(), period);
    platform().unrefTimer(this.#sweep);
  }

  /**
   * Graceful shutdown: stops accepting, closes idle keep-alive connections,
   * lets in-flight requests finish (their responses carry
   * `Connection: close`) until `timeoutMs`, then cuts what is left. A call
   * made while a shutdown is under way waits for that one to end.
   */
  stop(options: StopOptions = {}): Promise<void> {
    const starting = this.#starting;
    if (starting !== null) return starting.then(() => this.stop(options), () => {});
    if (this.#io === null) return Promise.resolve();
    return this.#stopping ??= this.#stop(options).finally(() => (this.#stopping = null));
  }

  async #stop(options: StopOptions): Promise<void> {
    const io = this.#io!;
    this.#shuttingDown = true;
    // Not awaited before draining: on the Node adapter the listener's close settles only once
    // every connection is gone (net.Server.close semantics). It stops accepting at once.
    const listenerClosed = io.stopListening().catch(() => {});
    for (const conn of this.#conns.values()) {
      if (!conn.busy && (conn.parser.idle || conn.lingerSince >= 0)) this.#closeConn(conn);
    }
    if (this.#conns.size > 0) {
      const done = new Promise<void>((resolve) => (this.#allClosed = resolve));
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, options.timeoutMs ?? 10_000);
      });
      await Promise.race([done, deadline]);
      clearTimeout(timer);
      this.#allClosed = null;
    }
    for (const conn of this.#conns.values()) this.#closeConn(conn);
    if (this.#sweep !== null) clearInterval(this.#sweep);
    this.#sweep = null;
    await io.stop();
    await listenerClosed;
    this.#conns.clear();
    this.#io = null;
    this.#boundPort = 0;
  }

  /** Same as `stop()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  // ---------------------------------------------------------------- connections

  #onAccept(sid: number, remote: string): void {
    this.#stats.totalConnections++;
    if (this.#conns.size >= this.#maxConnections || this.#shuttingDown) {
      this.#stats.rejectedConnections++;
      const body = this.#shuttingDown ? "server is shutting down" : "too many connections";
      this.#send(sid, this.#errorBytes(503, "ServiceUnavailable", body));
      this.#io?.close(sid);
      return;
    }
    const now = this.#time();
    this.#conns.set(sid, {
      sid,
      remote,
      parser: new HttpRequestParser({ limits: this.#limits }),
      busy: false,
      closing: false,
      requests: 0,
      requestStart: now,
      headDone: false,
      lastActivity: now,
      continueSent: false,
      busySince: now,
      cancelStream: null,
      lingerSince: -1,
    });
  }

  #onClose(sid: number): void {
    const conn = this.#conns.get(sid);
    if (conn === undefined) return;
    conn.closing = true;
    conn.cancelStream?.();
    this.#conns.delete(sid);
    if (this.#conns.size === 0) this.#allClosed?.();
  }

  #onData(sid: number, data: Uint8Array): void {
    const conn = this.#conns.get(sid);
    this.#stats.bytesIn += data.length;
    if (conn === undefined || conn.closing) return;
    const now = this.#time();
    conn.lastActivity = now;
    if (conn.lingerSince >= 0) return; // the rest of a refused request: dropped
    if (conn.requestStart < 0) conn.requestStart = now;
    conn.parser.push(data);
    if (conn.busy) {
      // Pipelined bytes wait in the parser; refuse a client that floods while we work.
      if (conn.parser.bufferedBytes > this.#limits.maxHeaderBytes + this.#limits.maxBodyBytes) {
        this.#closeConn(conn);
      }
      return;
    }
    this.#drive(conn);
  }

  #closeConn(conn: Conn): void {
    if (conn.closing) return;
    conn.closing = true;
    conn.cancelStream?.();
    if (this.#corkSid === conn.sid) this.#flushCork();
    this.#io?.close(conn.sid);
    this.#conns.delete(conn.sid);
    if (this.#conns.size === 0) this.#allClosed?.();
  }

  #send(sid: number, bytes: Uint8Array): void {
    this.#stats.bytesOut += bytes.length;
    if (sid === this.#corkSid) {
      // Responses to pipelined requests leave in one write. Consecutive slab views are
      // adjacent in memory, so joining them is only a wider view.
      const held = this.#corked;
      if (held === null) {
        this.#corked = bytes;
        return;
      }
      if (held.buffer === bytes.buffer && held.byteOffset + held.length === bytes.byteOffset) {
        this.#corked = new Uint8Array(held.buffer, held.byteOffset, held.length + bytes.length);
        return;
      }
      this.#io?.send(sid, held);
      this.#corked = bytes;
      return;
    }
    this.#io?.send(sid, bytes);
  }

  #flushCork(): void {
    const held = this.#corked;
    const sid = this.#corkSid;
    this.#corked = null;
    this.#corkSid = -1;
    if (held !== null) this.#io?.send(sid, held);
  }

  // Parses and dispatches as many requests as are complete, one at a time; what they send
  // synchronously is held and written once at the end.
  #drive(conn: Conn): void {
    if (this.#corkSid !== -1) {
      // Never nested in practice; if it were, the outer drive keeps its own held bytes.
      this.#driveCorked(conn);
      return;
    }
    this.#corkSid = conn.sid;
    try {
      this.#driveCorked(conn);
    } finally {
      this.#flushCork();
    }
  }

  #driveCorked(conn: Conn): void {
    while (!conn.busy && !conn.closing) {
      let msg: HttpRequestMessage | null;
      try {
        msg = conn.parser.next();
      } catch (e) {
        if (!(e instanceof HttpParseError)) throw e;
        this.#stats.parseErrors++;
        this.#stats.responses[statusClass(e.status)]++;
        this.#send(conn.sid, this.#errorBytes(e.status, e.code, e.message));
        if (e.status === 413) {
          // A body over the limit: the client may well still be sending it, and a socket
          // closed with input pending answers with a reset, which clients report instead of
          // the response (RFC 9112 section 9.6). Read and drop input for a while first.
          // (Other refusals come from broken clients: those connections close at once.)
          conn.lingerSince = this.#time();
        } else {
          this.#closeConn(conn);
        }
        return;
      }
      if (msg === null) {
        const head = conn.parser.pendingHead;
        if (head !== null) {
          conn.headDone = true;
          if (head.expectContinue && !conn.continueSent) {
            conn.continueSent = true;
            this.#send(conn.sid, CONTINUE);
          }
        } else if (conn.parser.idle) {
          conn.requestStart = -1;
          conn.headDone = false;
        } else {
          conn.headDone = false;
        }
        return;
      }
      conn.continueSent = false;
      conn.requests++;
      this.#stats.requests++;
      const started = conn.requestStart < 0 ? this.#time() : conn.requestStart;
      conn.requestStart = conn.parser.bufferedBytes > 0 ? this.#time() : -1;
      conn.headDone = false;
      const pending = this.#dispatch(conn, msg, started);
      if (pending !== null) {
        conn.busy = true;
        conn.busySince = started;
        pending.then(() => {
          conn.busy = false;
          if (!conn.closing) {
            if (conn.requestStart < 0 && conn.parser.bufferedBytes > 0) {
              conn.requestStart = this.#time();
            }
            this.#drive(conn);
          }
        }).catch((e) => {
          // Only a bug of ours lands here; never let it become an unhandled rejection.
          this.#logger?.error("connection failed", { error: String(e) });
          this.#closeConn(conn);
        });
      }
    }
  }

  // Runs the route; returns null when the response was written synchronously.
  #dispatch(conn: Conn, msg: HttpRequestMessage, started: number): Promise<void> | null {
    const req = new WebhookRequest(msg, conn.remote, this.#json);
    const res = new WebhookResponse();
    if (msg.unsupportedExpect !== null) {
      res.json({ error: `unsupported expectation: ${msg.unsupportedExpect}` }, 417);
      this.#finish(conn, msg, req, res, started);
      return null;
    }
    const match = this.#router.lookup(msg.method, req.path);
    if (match.kind !== "found") {
      if (match.kind === "notFound") res.json({ error: "Not Found" }, 404);
      else {
        res.json({ error: "Method Not Allowed" }, 405);
        res.headers.set("allow", match.allow.join(", "));
      }
      this.#finish(conn, msg, req, res, started);
      return null;
    }
    req.params = match.params;
    let result: void | Promise<void>;
    try {
      result = match.handler.handler(req, res);
    } catch (e) {
      this.#handlerFailed(res, e, req);
      this.#finish(conn, msg, req, res, started);
      return null;
    }
    if (result instanceof Promise) {
      return result.then(
        () => {
          return this.#finish(conn, msg, req, res, started) ?? undefined;
        },
        (e) => {
          this.#handlerFailed(res, e, req);
          return this.#finish(conn, msg, req, res, started) ?? undefined;
        },
      );
    }
    const finished = this.#finish(conn, msg, req, res, started);
    return finished;
  }

  #handlerFailed(res: WebhookResponse, e: unknown, req: WebhookRequest): void {
    if (res.streamBody instanceof ReadableStream) res.streamBody.cancel().catch(() => {});
    res.streamBody = null;
    res.headers.delete("content-type");
    if (e instanceof WebhookServerError && e.code === "PayloadTooLarge") {
      res.json({ error: e.message, code: e.code }, 413);
      return;
    }
    if (e instanceof JsonParseError && BAD_BODIES.has(e)) {
      res.json({
        error: e.message,
        code: e.code,
        line: e.line,
        column: e.column,
        offset: e.offset,
      }, 400);
      return;
    }
    this.#stats.handlerErrors++;
    // No stack or message in the response: it may carry internals.
    res.json({ error: "Internal Server Error" }, 500);
    this.#logger?.error("handler failed", {
      method: req.method,
      path: req.path,
      error: e instanceof Error ? `${e.name}: ${e.message}` : String(e),
    });
  }

  // Writes the response; returns a promise only for streamed bodies.
  #finish(
    conn: Conn,
    msg: HttpRequestMessage,
    req: WebhookRequest,
    res: WebhookResponse,
    started: number,
  ): Promise<void> | null {
    if (conn.closing) return null;
    let keepAlive = msg.keepAlive && !this.#shuttingDown && conn.requests < this.#maxRequests;
    if (keepAlive && res.headers.size !== 0) {
      // The framing fields are the server's to write, but a handler's (or a fetch app's)
      // request to close the connection after this response is honoured.
      const connection = res.headers.get("connection");
      if (connection !== null && /(?:^|,)[ \t]*close[ \t]*(?:,|$)/i.test(connection)) {
        keepAlive = false;
      }
    }
    if (
      !Number.isInteger(res.status) || res.status < 200 || res.status > 999 ||
      (res.body !== null && typeof res.body !== "string" && !(res.body instanceof Uint8Array))
    ) {
      this.#handlerFailed(res, new TypeError(`invalid response (status ${res.status})`), req);
    }
    const status = res.status;
    const bodiless = status < 200 || status === 204 || status === 304;
    const isHead = msg.method === "HEAD";
    if (res.streamBody !== null) {
      if (!bodiless) return this.#stream(conn, msg, req, res, keepAlive, started);
      if (res.streamBody instanceof ReadableStream) res.streamBody.cancel().catch(() => {});
    }
    // HEAD without a body: the length the handler declares (a fetch app answering HEAD), or
    // none, rather than a zero the GET response would contradict (RFC 9110 section 8.6).
    let noLength = bodiless;
    let declared = -1;
    if (isHead && res.body === null && !bodiless) {
      const value = res.headers.get("content-length");
      if (value !== null && /^[0-9]{1,15}$/.test(value)) declared = Number(value);
      else noLength = true;
    }
    // One buffer per response, written in place: the cached status line, the fields (latin1:
    // HttpHeaders allows no code unit above 255), the framing, then the body. A short ASCII
    // text body is copied in the same pass; anything else goes through the encoder.
    let text: string | null = null;
    let body: Uint8Array = EMPTY;
    if (!bodiless && res.body !== null) {
      const b = res.body;
      if (typeof b !== "string") body = b;
      else if (b.length <= SHORT_TEXT && (!isHead || isAscii(b))) text = b;
      else body = ENCODER.encode(b);
    }
    let out: Uint8Array;
    for (;;) {
      const length = declared >= 0 ? declared : text !== null ? text.length : body.length;
      const line = statusLine(status);
      const digits = noLength ? 0 : decimalLength(length);
      // Date is a singleton field: a handler's own (a proxied response's) replaces ours.
      const date = this.#dateHeader && !res.headers.has("date") ? this.#dateBytes : EMPTY;
      const connection = !keepAlive ? CONNECTION_CLOSE : msg.version === "1.0" ? KEEP_ALIVE : EMPTY;
      const headEnd = line.length + res.headers._lengthExceptFraming() +
        (noLength ? 0 : CONTENT_LENGTH.length + digits + 2) + date.length + connection.length + 2;
      out = this.#allocate(isHead ? headEnd : headEnd + length);
      if (!isHead) {
        // Text is assumed ASCII and copied in the same pass that checks it; on the first
        // other character it goes through the encoder and the layout starts over.
        if (text !== null) {
          if (!writeAscii(text, out, headEnd)) {
            body = ENCODER.encode(text);
            text = null;
            continue;
          }
        } else if (length > 0) out.set(body, headEnd);
      }
      let at = copyBytes(line, out, 0);
      at = res.headers._writeExceptFraming(out, at);
      if (!noLength) {
        at = copyBytes(CONTENT_LENGTH, out, at);
        writeDecimal(length, digits, out, at);
        at += digits;
        out[at++] = 13;
        out[at++] = 10;
      }
      at = copyBytes(date, out, at);
      at = copyBytes(connection, out, at);
      out[at++] = 13;
      out[at++] = 10;
      break;
    }
    this.#send(conn.sid, out);
    this.#afterResponse(conn, req, status, out.length, keepAlive, started);
    return null;
  }

  async #stream(
    conn: Conn,
    msg: HttpRequestMessage,
    req: WebhookRequest,
    res: WebhookResponse,
    keepAlive: boolean,
    started: number,
  ): Promise<void> {
    // HTTP/1.0 has no chunked coding: the body ends with the connection.
    const chunked = msg.version === "1.1";
    if (!chunked) keepAlive = false;
    let head = `HTTP/1.1 ${res.status} ${STATUS_TEXT[res.status] ?? "Unknown"}\r\n` +
      res.headers._serializeExceptFraming();
    if (chunked) head += "transfer-encoding: chunked\r\n";
    if (this.#dateHeader && !res.headers.has("date")) head += this.#date;
    if (!keepAlive) head += "connection: close\r\n";
    head += "\r\n";
    const headBytes = new Uint8Array(head.length);
    writeLatin1(head, headBytes, 0);
    this.#send(conn.sid, headBytes);
    let total = headBytes.length;
    const source = res.streamBody!;
    const isHead = msg.method === "HEAD";
    try {
      if (!isHead) {
        let iterable: AsyncIterable<Uint8Array | string> = source as AsyncIterable<Uint8Array>;
        if (source instanceof ReadableStream) {
          const reader = source.getReader();
          // A client that goes away cancels the source, which may be waiting for data that
          // never comes (server-sent events): its pending read then ends.
          conn.cancelStream = () => void reader.cancel().catch(() => {});
          iterable = readerChunks(reader);
        }
        for await (const piece of iterable) {
          if (conn.closing) break;
          const bytes = typeof piece === "string" ? ENCODER.encode(piece) : piece;
          if (bytes.length === 0) continue;
          const framed = chunked ? encodeChunk(bytes) : bytes;
          total += framed.length;
          await this.#sendAsync(conn.sid, framed);
        }
      } else if (source instanceof ReadableStream) {
        await source.cancel().catch(() => {});
      }
      if (chunked && !isHead && !conn.closing) {
        this.#send(conn.sid, LAST_CHUNK);
        total += LAST_CHUNK.length;
      }
    } catch (e) {
      // The head is gone already: the only honest signal left is cutting the connection.
      this.#stats.handlerErrors++;
      this.#logger?.error("response stream failed", {
        path: req.path,
        error: e instanceof Error ? e.message : String(e),
      });
      keepAlive = false;
    }
    conn.cancelStream = null;
    this.#afterResponse(conn, req, res.status, total, keepAlive, started);
  }

  #sendAsync(sid: number, bytes: Uint8Array): Promise<void> {
    if (sid === this.#corkSid) this.#flushCork();
    this.#stats.bytesOut += bytes.length;
    return this.#io?.sendAsync(sid, bytes) ?? Promise.resolve();
  }

  #afterResponse(
    conn: Conn,
    req: WebhookRequest,
    status: number,
    bytes: number,
    keepAlive: boolean,
    started: number,
  ): void {
    this.#stats.responses[statusClass(status)]++;
    if (this.#logger !== undefined) {
      this.#logger.info("request", {
        method: req.method,
        path: req.path,
        status,
        bytes,
        ms: Math.round((platform().now() - started) * 100) / 100,
        remote: req.remoteAddress,
      });
    }
    // A response begun before a shutdown (a stream) may have promised keep-alive; close anyway.
    if (!keepAlive || this.#shuttingDown) this.#closeConn(conn);
    else conn.lastActivity = this.#time();
  }

  #errorBytes(status: number, code: string, message: string): Uint8Array {
    const body = ENCODER.encode(JSON.stringify({ error: message, code }));
    const head = `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Error"}\r\n` +
      `content-type: application/json\r\ncontent-length: ${body.length}\r\n` +
      `${this.#dateHeader ? this.#date : ""}connection: close\r\n\r\n`;
    const out = new Uint8Array(head.length + body.length);
    writeLatin1(head, out, 0);
    out.set(body, head.length);
    return out;
  }

  // A buffer for one response. Small ones are views of a shared slab: a region once handed out
  // is never written again (the transport owns it), and a view costs no allocation of its own.
  #allocate(size: number): Uint8Array {
    if (size > SLAB_PIECE) return new Uint8Array(size);
    let used = this.#slabUsed;
    if (SLAB_SIZE - used < size || this.#slab === EMPTY) {
      this.#slab = new Uint8Array(SLAB_SIZE);
      used = 0;
    }
    this.#slabUsed = used + size;
    return this.#slab.subarray(used, used + size);
  }

  #updateDate(): void {
    this.#date = `date: ${new Date().toUTCString()}\r\n`;
    this.#dateBytes = ENCODER.encode(this.#date);
  }

  // A stamp for timeouts (and, with an access log, durations).
  #time(): number {
    return this.#precise ? platform().now() : this.#now;
  }

  #onSweep(): void {
    this.#updateDate();
    this.#now = platform().now();
    // Ages are measured against a stamp that may be one period old: allow for it.
    const now = this.#now - this.#slack;
    for (const conn of this.#conns.values()) {
      if (conn.closing) continue;
      if (conn.lingerSince >= 0) {
        // Done once the client is quiet for a moment, and in any case after a few seconds.
        if (
          now - conn.lastActivity > Math.min(LINGER_QUIET_MS, this.#idleTimeout) ||
          now - conn.lingerSince > Math.min(LINGER_MAX_MS, this.#requestTimeout)
        ) {
          this.#closeConn(conn);
        }
        continue;
      }
      if (conn.busy) {
        if (now - conn.busySince > this.#requestTimeout) {
          // A handler still running past the request deadline: give up on the connection.
          this.#stats.timeouts++;
          this.#closeConn(conn);
        }
        continue;
      }
      if (conn.requestStart < 0) {
        if (now - conn.lastActivity > this.#idleTimeout) {
          this.#stats.timeouts++;
          this.#closeConn(conn);
        }
        continue;
      }
      const age = now - conn.requestStart;
      if ((!conn.headDone && age > this.#headerTimeout) || age > this.#requestTimeout) {
        this.#stats.timeouts++;
        this.#stats.responses["4xx"]++;
        this.#send(conn.sid, this.#errorBytes(408, "RequestTimeout", "request timed out"));
        this.#closeConn(conn);
      }
    }
  }

  // ---------------------------------------------------------------- adapters

  #jsonRoute(fn: JsonHandler): RouteHandler {
    return (req, res) => {
      let value: JsonValue = null;
      if (req.body.length > 0 || req.headers.has("content-type")) {
        if (!isJsonContentType(req.headers.get("content-type"))) {
          res.json({ error: "expected an application/json body" }, 415);
          return;
        }
        if (req.body.length > this.#json.maxPayloadSize) {
          res.json({ error: `JSON body exceeds ${this.#json.maxPayloadSize} bytes` }, 413);
          return;
        }
        value = req.json();
      }
      const out = fn(value, req);
      if (out instanceof Promise) {
        return out.then((v) => {
          if (v === undefined) res.status = 204;
          else res.json(v);
        });
      }
      if (out === undefined) res.status = 204;
      else res.json(out);
    };
  }

  #fetchRoute(prefix: string, handler: FetchHandler): RouteHandler {
    return async (req, res) => {
      if (FETCH_FORBIDDEN_METHODS.has(req.method)) {
        res.json({ error: `${req.method} cannot be passed to a fetch handler` }, 501);
        return;
      }
      // The router matched the normalized path (`/%61pp/x` is `/app/x`): cut the prefix there.
      const rest = normalizePath(req.path).slice(normalizePath(prefix).length) || "/";
      // An empty Host is valid (RFC 9112 section 3.2) but would make the path the URL's host
      // ("http:///x" parses as host "x"); an IPv6 address needs its brackets.
      const host = req.headers.get("host") ||
        `${this.#hostname.includes(":") ? `[${this.#hostname}]` : this.#hostname}:${this.port}`;
      const url = `${this.#tls ? "https" : "http"}://${host}${rest}${
        req.queryString ? `?${req.queryString}` : ""
      }`;
      const headers = req.headers.toHeaders();
      const hasBody = req.method !== "GET" && req.method !== "HEAD" && req.body.length > 0;
      const request = new Request(url, {
        method: req.method,
        headers,
        body: hasBody ? (req.body as BodyInit) : undefined,
      });
      const response = await handler(request);
      res.status = response.status;
      response.headers.forEach((value, name) => {
        if (name !== "set-cookie") res.headers.append(name, value);
      });
      for (const cookie of response.headers.getSetCookie()) {
        res.headers.append("set-cookie", cookie);
      }
      if (response.body === null) return;
      // A body whose pieces are already there (a string, JSON) goes out with a length. One that
      // is still being produced streams at once: its next piece may come much later
      // (server-sent events), and the client must not wait for it to see what is ready.
      const reader = response.body.getReader();
      const ready: Uint8Array[] = [];
      let pending: Promise<ReadableStreamReadResult<Uint8Array>> | null = null;
      for (let i = 0; i < 2; i++) {
        const read = reader.read();
        const next = await Promise.race([read, soon()]);
        if (next === SOON) {
          pending = read;
          break;
        }
        if (next.done) break;
        ready.push(next.value);
      }
      if (pending === null && ready.length < 2) {
        if (ready.length === 1) res.body = ready[0];
        return;
      }
      if (req.method === "HEAD") {
        // No body goes out: release the app's stream; the length it declares (if any) stays.
        reader.cancel().catch(() => {});
        return;
      }
      // A stream of our own, so a client that goes away cancels the app's stream.
      res.stream(
        new ReadableStream<Uint8Array>({
          start(controller) {
            for (const piece of ready) controller.enqueue(piece);
          },
          async pull(controller) {
            const next = await (pending ?? reader.read());
            pending = null;
            if (next.done) controller.close();
            else controller.enqueue(next.value);
          },
          cancel(reason) {
            return reader.cancel(reason);
          },
        }, { highWaterMark: 0 }),
      );
    };
  }
}

const SOON: unique symbol = Symbol("soon");

/**
 * Settles after a few microtask turns: long enough for a read of data already queued in a
 * stream (a `Response` of a string ends in one or two turns), too short for any I/O.
 */
function soon(): Promise<typeof SOON> {
  let p = Promise.resolve<typeof SOON>(SOON);
  for (let i = 0; i < 8; i++) p = p.then((v) => v);
  return p;
}

/** Yields `head` (pieces already read), then the rest of `reader`; releases its lock at the end. */
async function* readerChunks(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  head: readonly Uint8Array[] = [],
): AsyncIterable<Uint8Array> {
  try {
    for (const h of head) yield h;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

/**
 * Adapts an Iora network {@linkcode Transport} to the server. `create` is
 * called once per `start()` with the TLS settings (or undefined for plain
 * TCP) and returns a fresh transport the server then owns.
 *
 * @example
 * ```ts ignore
 * import { networkServerTransport, WebhookServer } from "./server.ts";
 * const server = new WebhookServer({
 *   transport: networkServerTransport((tls) => createMyTransport({ tls })),
 * });
 * ```
 */
export function networkServerTransport(
  create: (tls: TlsConfig | undefined) => Transport,
): ServerTransportFactory {
  return (events) => {
    let transport: Transport | null = null;
    return {
      async listen(hostname, port, tls) {
        const t = create(
          tls
            ? {
              cert: tls.cert,
              certFile: tls.certFile,
              key: tls.key,
              keyFile: tls.keyFile,
              ca: tls.ca,
              caFile: tls.caFile,
              requireClientCert: tls.requireClientCert,
            }
            : undefined,
        );
        t.setCallbacks({
          onAccept: (sid, info) => {
            const host = info.remoteAddress.includes(":")
              ? `[${info.remoteAddress}]`
              : info.remoteAddress;
            events.onAccept(sid, `${host}:${info.remotePort}`);
          },
          onData: (sid, data) => events.onData(sid, data),
          onClose: (sid) => events.onClose(sid),
        });
        transport = t;
        try {
          const listener = await t.listen(hostname, port, tls ? TlsMode.Server : TlsMode.None);
          return listener.port;
        } catch (e) {
          transport = null;
          await t.stop();
          throw e;
        }
      },
      send(sid, bytes) {
        transport?.send(sid, bytes);
      },
      sendAsync(sid, bytes) {
        // A session that closed under us ends the stream; the close event reports it.
        return transport?.sendAsync(sid, bytes).catch(() => {}) ?? Promise.resolve();
      },
      close(sid) {
        transport?.close(sid);
      },
      stopListening() {
        return transport?.stopListening() ?? Promise.resolve();
      },
      async stop() {
        const t = transport;
        transport = null;
        await t?.stop();
      },
    };
  };
}
