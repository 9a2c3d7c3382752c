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
import { asRangeError } from "../core/errors.ts";
import { platform } from "../core/platform/mod.ts";
import {
  DEFAULT_HTTP_LIMITS,
  encodeChunk,
  type HttpLimits,
  HttpParseError,
  type HttpRequestMessage,
  HttpRequestParser,
  LAST_CHUNK,
} from "./message.ts";
import { Router } from "./router.ts";
import { SharedTransport } from "../network/shared_transport.ts";
import type { UnifiedStats } from "../network/transport.ts";
import { type JsonConfig, WebhookRequest } from "./request.ts";
import { WebhookResponse } from "./response.ts";
import {
  networkServerTransport,
  type ServerTransport,
  type ServerTransportFactory,
  type WebhookTlsConfig,
} from "./server_transport.ts";
import { WebhookServerError } from "./server_error.ts";
import type {
  AccessLogger,
  FetchHandler,
  ListenOptions,
  RouteBuilder,
  RouteHandler,
  RouteInfo,
  RouteStats,
  ShutdownChecker,
  StopOptions,
  WebhookServerOptions,
  WebhookServerStats,
} from "./server_types.ts";
import { answerHandlerFailure } from "./_handler_failure.ts";
import { jsonRoute } from "./_json_route.ts";
import { bodyPieces } from "./_body_pieces.ts";
import { SendCork } from "./_send_cork.ts";
import { type Conn, type ConnDeadlines, newConn, overdue } from "./_server_connection.ts";
import { fetchRoute } from "./_fetch_bridge.ts";
import { CONTINUE, ResponseWriter } from "./_writer.ts";
import { noResponses, statusClass } from "./status_class.ts";
import { RouteMetrics, type RouteRecorder } from "./_route_metrics.ts";
import type { TurnClock } from "./_turn_clock.ts";
import { TurnLatencies } from "./_turn_latencies.ts";
import { parseTraceparent, Tracing } from "../core/tracing.ts";

// The request, the response, the transport, the error and the option types live in their own
// modules; this one re-exports them, as it held them before (its importers keep working).
export { type JsonConfig, WebhookRequest } from "./request.ts";
export { type BodyStream, WebhookResponse } from "./response.ts";
export * from "./server_transport.ts";
export { WebhookServerError } from "./server_error.ts";
export type * from "./server_types.ts";

interface Route {
  handler: RouteHandler;
  recorder: RouteRecorder | null;
}

function zeroStats(): WebhookServerStats {
  return {
    requests: 0,
    responses: noResponses(),
    bytesIn: 0,
    bytesOut: 0,
    activeConnections: 0,
    totalConnections: 0,
    rejectedConnections: 0,
    parseErrors: 0,
    timeouts: 0,
    handlerErrors: 0,
    bufferedBytes: 0,
    bufferRefusals: 0,
  };
}

/** An option that must be a positive number (`Infinity` for no limit), or its default. */
function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!(value > 0)) {
    const message = `${name} must be a positive number (Infinity for no limit), got ${value}`;
    throw asRangeError(new WebhookServerError("InvalidConfig", message));
  }
  return value;
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
  readonly #routes = new Map<string, RouteInfo>();
  readonly #routeOwner: (() => string | undefined) | undefined;
  readonly #limits: HttpLimits;
  readonly #deadlines: ConnDeadlines;
  readonly #maxConnections: number;
  readonly #maxRequests: number;
  readonly #maxBuffered: number;
  readonly #logger: AccessLogger | undefined;
  readonly #metrics: RouteMetrics | null;
  readonly #tracing: Tracing | null;
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
  readonly #writer: ResponseWriter;
  /** Holds a connection's sends while its requests are driven. */
  readonly #cork = new SendCork((sid, bytes) => this.#io?.send(sid, bytes));
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
  /** The route latencies (histogram), timed with readings shared by an event-loop turn. */
  readonly #latencies: TurnLatencies = new TurnLatencies();
  /** The clock of request starts, and of the access log's ends. */
  readonly #clock: TurnClock = this.#latencies.clock;
  #allClosed: (() => void) | null = null;
  #stopping: Promise<void> | null = null;
  #starting: Promise<void> | null = null;
  #ioFactory: ServerTransportFactory;
  #offAbort: (() => void) | null = null;

  /**
   * Creates a server; nothing listens until `start()`.
   *
   * @param options limits, timeouts, connection cap and logger
   */
  constructor(options: WebhookServerOptions = {}) {
    this.#limits = { ...DEFAULT_HTTP_LIMITS, ...options.limits };
    this.#deadlines = {
      headerTimeout: positive("headerTimeoutMs", options.headerTimeoutMs, 10_000),
      idleTimeout: positive("keepAliveTimeoutMs", options.keepAliveTimeoutMs, 5_000),
      requestTimeout: positive("requestTimeoutMs", options.requestTimeoutMs, 30_000),
    };
    this.#maxConnections = positive("maxConnections", options.maxConnections, 10_000);
    this.#maxRequests = options.maxRequestsPerConnection ?? Infinity;
    this.#maxBuffered = positive("maxBufferedBytes", options.maxBufferedBytes, 256 * 1024 * 1024);
    this.#routeOwner = options.routeOwner;
    this.#logger = options.logger;
    this.#metrics = options.metrics ? new RouteMetrics(options.metrics) : null;
    this.#tracing = options.tracing ?? null;
    this.#precise = options.logger !== undefined;
    this.#writer = new ResponseWriter(options.dateHeader ?? true);
    const network = options.network ?? {};
    this.#ioFactory = options.transport ??
      networkServerTransport((tls) =>
        // Half-open: a client that ends its side once its request is sent still gets the answer.
        new SharedTransport({ ...network, tls, allowHalfOpen: true })
      );
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

  /**
   * Registers a handler for any method name (`"*"` for every method). A
   * route has one owner (see `routeOwner` in the options): adding a
   * method and path that exist throws `DuplicateRoute`.
   */
  route(method: string, path: string, handler: RouteHandler): this {
    this.#router.add(method, path, { handler, recorder: this.#metrics?.forRoute(path) ?? null });
    this.#routes.set(`${method} ${path}`, { method, pattern: path, owner: this.#routeOwner?.() });
    return this;
  }

  /**
   * Removes the route of `method` and `path`, spelled as it was added;
   * returns false when there is none. Requests already being handled finish.
   *
   * @example
   * ```ts
   * import { WebhookServer } from "./server.ts";
   * const server = new WebhookServer();
   * server.onGet("/old", (_req, res) => res.text("gone soon"));
   * console.log(server.removeRoute("GET", "/old")); // true
   * ```
   */
  removeRoute(method: string, path: string): boolean {
    if (!this.#router.remove(method, path)) return false;
    this.#routes.delete(`${method} ${path}`);
    return true;
  }

  /**
   * Removes every route `owner` added (what a plugin host does when the plugin unloads).
   *
   * @returns how many routes were removed
   */
  removeRoutesOf(owner: string): number {
    let removed = 0;
    for (const route of [...this.#routes.values()]) {
      if (route.owner === owner && this.removeRoute(route.method, route.pattern)) removed++;
    }
    return removed;
  }

  /** Every route with its method, pattern and owner (undefined when added outside any owner). */
  listRoutes(): RouteInfo[] {
    return [...this.#routes.values()].map((route) => ({ ...route }));
  }

  /** A fluent builder for `path`: `server.on("/api").handleJson(fn)`. */
  on(path: string): RouteBuilder {
    const builder: RouteBuilder = {
      handleJson: (fn, options) => {
        for (const m of options?.methods ?? ["POST"]) {
          this.route(
            m,
            path,
            jsonRoute(fn, () => this.#json),
          );
        }
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
    const route = fetchRoute(prefix, handler, () => ({
      hostname: this.#hostname,
      port: this.port,
      tls: this.#tls !== null,
    }));
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

  /**
   * Requests by route pattern and method, with their latency; empty unless the server was
   * created with `metrics`.
   *
   * @returns one entry per route and method that answered a request
   */
  getRouteStats(): RouteStats[] {
    return this.#metrics?.stats() ?? [];
  }

  /**
   * The counters of the transport under the server (sessions accepted and closed, TLS
   * handshakes, bytes, backpressure closes), while it listens: null before `start()`, after
   * `stop()`, and for a custom transport that keeps none.
   *
   * @returns the transport's counters, or null
   */
  getTransportStats(): UnifiedStats | null {
    return this.#io?.getStats?.() ?? null;
  }

  /** Zeroes the counters (active connections and buffered bytes stay as they are). */
  resetStats(): void {
    const held = this.#stats.bufferedBytes;
    this.#stats = zeroStats();
    this.#stats.bufferedBytes = held; // a gauge, not a counter
  }

  /**
   * Binds and starts serving: `start({ port, tls, json, signal })`, where `tls` and `json` do
   * what `enableTls` and `setJsonConfig` do and aborting `signal` stops the server. Throws
   * `AlreadyStarted` when running, and the transport's error when the port cannot be bound.
   */
  start(options: ListenOptions = {}): Promise<void> {
    if (this.#io !== null || this.#starting !== null) {
      return Promise.reject(new WebhookServerError("AlreadyStarted", "server already started"));
    }
    if (options.signal?.aborted) return Promise.reject(options.signal.reason);
    // Until the port is bound #io is null: a second start would bind a second listener, and a
    // stop would find nothing to stop and leave the first running.
    return this.#starting = this.#start(options).finally(() => (this.#starting = null));
  }

  async #start(options: ListenOptions): Promise<void> {
    if (options.tls !== undefined) this.enableTls(options.tls);
    if (options.json !== undefined) this.setJsonConfig(options.json);
    this.#hostname = options.hostname ?? this.#hostname;
    const port = options.port ?? this.#port;
    this.#shuttingDown = false;
    const io = this.#ioFactory({
      onAccept: (sid, remote) => this.#onAccept(sid, remote),
      onData: (sid, data) => this.#onData(sid, data),
      onEnd: (sid) => this.#onEnd(sid),
      onClose: (sid) => this.#onClose(sid),
    });
    this.#boundPort = await io.listen(this.#hostname, port, this.#tls);
    this.#io = io;
    this.#writer.updateDate();
    this.#now = platform().now();
    const { headerTimeout, idleTimeout, requestTimeout } = this.#deadlines;
    const period = Math.max(
      20,
      Math.min(1000, Math.min(headerTimeout, idleTimeout, requestTimeout) / 4),
    );
    this.#slack = period;
    this.#sweep = setInterval(() => this.#onSweep(), period);
    platform().unrefTimer(this.#sweep);
    const signal = options.signal;
    if (signal !== undefined) {
      const onAbort = () => void this.stop();
      signal.addEventListener("abort", onAbort, { once: true });
      this.#offAbort = () => signal.removeEventListener("abort", onAbort);
      if (signal.aborted) onAbort(); // aborted while binding
    }
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
    this.#offAbort?.();
    this.#offAbort = null;
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
      this.#send(sid, this.#writer.error(503, "ServiceUnavailable", body));
      this.#io?.close(sid);
      return;
    }
    const now = this.#time();
    const parser = new HttpRequestParser({ limits: this.#limits });
    this.#conns.set(sid, newConn(sid, remote, parser, now));
  }

  #onClose(sid: number): void {
    const conn = this.#conns.get(sid);
    if (conn === undefined) return;
    conn.closing = true;
    conn.cancelStream?.();
    this.#release(conn);
    this.#conns.delete(sid);
    if (this.#conns.size === 0) this.#allClosed?.();
  }

  // What a connection holds leaves the server-wide count.
  #release(conn: Conn): void {
    this.#stats.bufferedBytes -= conn.held;
    conn.held = 0;
  }

  #onData(sid: number, data: Uint8Array): void {
    const conn = this.#conns.get(sid);
    this.#stats.bytesIn += data.length;
    if (conn === undefined || conn.closing) return;
    const now = this.#time();
    conn.lastActivity = now;
    if (conn.lingerSince >= 0) return; // the rest of a refused request: dropped
    if (conn.requestStart < 0) conn.requestStart = now;
    conn.held += data.length;
    this.#stats.bufferedBytes += data.length;
    if (this.#stats.bufferedBytes > this.#maxBuffered) {
      // Past the ceiling: refuse this request rather than hold more (a client may retry later).
      this.#stats.bufferRefusals++;
      this.#stats.responses["5xx"]++;
      this.#release(conn);
      this.#send(sid, this.#writer.error(503, "ServiceUnavailable", "server busy: retry later", 1));
      this.#linger(conn, now);
      return;
    }
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

  // Reads and drops what the client still sends, until it is quiet or a few seconds have passed
  // (the sweep closes it), so the answer just sent is not lost to a reset.
  #linger(conn: Conn, now: number): void {
    conn.lingerSince = now;
    conn.parser.discard(); // the refused request's bytes and body so far
    this.#io?.discardInput?.(conn.sid);
  }

  // The client sends no more. What it sent is answered (a request in progress, pipelined ones),
  // then the connection closes; a partial request will never complete, so it closes now. A
  // client that ends while a body streams to it is taken as gone (an event stream may never
  // write again, so a reset from a client that closed fully might never come): the stream stops.
  #onEnd(sid: number): void {
    const conn = this.#conns.get(sid);
    if (conn === undefined || conn.closing) return;
    conn.peerEnded = true;
    if (conn.lingerSince >= 0 || conn.streaming) this.#closeConn(conn);
    else if (!conn.busy) this.#drive(conn);
  }

  /** Closes a connection once its queued bytes are written; `abortive` resets it instead. */
  #closeConn(conn: Conn, abortive = false): void {
    if (conn.closing) return;
    conn.closing = true;
    conn.cancelStream?.();
    this.#release(conn);
    if (this.#cork.sid === conn.sid) this.#cork.release();
    if (abortive && this.#io?.reset) this.#io.reset(conn.sid);
    else this.#io?.close(conn.sid);
    this.#conns.delete(conn.sid);
    if (this.#conns.size === 0) this.#allClosed?.();
  }

  #send(sid: number, bytes: Uint8Array): void {
    this.#stats.bytesOut += bytes.length;
    this.#cork.send(sid, bytes);
  }

  // Parses and dispatches as many requests as are complete, one at a time; what they send
  // synchronously is held and written once at the end.
  #drive(conn: Conn): void {
    // Never nested in practice; if it were, the outer drive keeps its own held bytes.
    if (!this.#cork.hold(conn.sid)) {
      this.#driveCorked(conn);
      return;
    }
    try {
      this.#driveCorked(conn);
    } finally {
      this.#cork.release();
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
        this.#send(conn.sid, this.#writer.error(e.status, e.code, e.message));
        if (e.status === 413) {
          // A body over the limit: the client may well still be sending it, and a socket
          // closed with input pending answers with a reset, which clients report instead of
          // the response (RFC 9112 section 9.6). Read and drop input for a while first.
          // (Other refusals come from broken clients: those connections close at once.)
          this.#linger(conn, this.#time());
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
        if (conn.peerEnded) this.#closeConn(conn);
        return;
      }
      conn.continueSent = false;
      // The request is out of the parser: only what follows it (pipelined) is still held.
      const rest = conn.parser.bufferedBytes;
      this.#stats.bufferedBytes -= conn.held - rest;
      conn.held = rest;
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
    if (this.#metrics !== null) {
      conn.recorder = this.#metrics.unmatched;
      conn.dispatchedAt = this.#clock.now();
    }
    if (msg.unsupportedExpect !== null) {
      res.json({ error: `unsupported expectation: ${msg.unsupportedExpect}` }, 417);
      this.#finish(conn, msg, req, res, started);
      return null;
    }
    const match = this.#router.lookup(msg.method, req.path);
    const tracing = this.#tracing;
    if (tracing !== null) {
      const route = match.kind === "found" ? match.pattern : null;
      conn.span = tracing.start(
        route === null ? msg.method : `${msg.method} ${route}`,
        "server",
        route === null
          ? { "http.request.method": msg.method, "url.path": req.path }
          : { "http.request.method": msg.method, "url.path": req.path, "http.route": route },
        parseTraceparent(req.headers.get("traceparent")),
      );
    }
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
    conn.recorder = match.handler.recorder;
    let result: void | Promise<void>;
    try {
      const span = conn.span;
      // Spans the handler starts (API calls, client requests) are children of the request's.
      result = span === null
        ? match.handler.handler(req, res)
        : tracing!.run(span, () => match.handler.handler(req, res));
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
    if (!answerHandlerFailure(res, e)) return;
    this.#stats.handlerErrors++;
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
    if (conn.closing) {
      // The client went away before the answer: nothing to send, but the span ends.
      if (conn.span !== null) {
        Tracing.fail(conn.span, new Error("connection closed before the response"));
      }
      conn.span = null;
      return null;
    }
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
    const out = this.#writer.response(
      status,
      res.headers,
      res.body,
      bodiless,
      isHead,
      keepAlive,
      msg.version === "1.0",
    );
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
    const headBytes = this.#writer.streamHead(res.status, res.headers, chunked, keepAlive);
    this.#send(conn.sid, headBytes);
    let total = headBytes.length;
    const source = res.streamBody!;
    const isHead = msg.method === "HEAD";
    conn.streaming = true;
    try {
      if (!isHead) {
        const pieces = bodyPieces(source, (cancel) => (conn.cancelStream = cancel));
        for await (const bytes of pieces) {
          if (conn.closing) break;
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
      // A close-delimited body ends with the connection: a plain close would tell the client
      // the body is complete, so the connection is reset (where the transport can).
      if (!chunked) this.#closeConn(conn, true);
    }
    conn.cancelStream = null;
    conn.streaming = false;
    this.#afterResponse(conn, req, res.status, total, keepAlive, started);
  }

  #sendAsync(sid: number, bytes: Uint8Array): Promise<void> {
    if (sid === this.#cork.sid) this.#cork.release();
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
    const span = conn.span;
    if (span !== null) {
      span.setAttribute("http.response.status_code", status);
      if (status >= 500) span.setStatus({ code: 2 });
      span.end();
      conn.span = null;
    }
    const recorder = conn.recorder;
    const logger = this.#logger;
    // The response is with the transport: its end, read once for the histogram and the log.
    // With an access log the end is read now, for the log and the histogram alike; the histogram
    // alone takes its turn's end reading.
    const ended = logger !== undefined ? this.#clock.fresh() : 0;
    if (recorder !== null) {
      if (logger !== undefined) {
        recorder.record(req.method, status, (ended - conn.dispatchedAt) / 1000);
      } else this.#latencies.finished(recorder, req.method, status, conn.dispatchedAt);
      conn.recorder = null;
    }
    if (logger !== undefined) {
      logger.info("request", {
        method: req.method,
        path: req.path,
        status,
        bytes,
        ms: Math.round((ended - started) * 100) / 100,
        remote: req.remoteAddress,
      });
    }
    // A response begun before a shutdown (a stream) may have promised keep-alive; close anyway.
    if (!keepAlive || this.#shuttingDown) this.#closeConn(conn);
    else conn.lastActivity = this.#time();
  }

  // A stamp for timeouts (and, with an access log, durations).
  #time(): number {
    return this.#precise ? this.#clock.now() : this.#now;
  }

  #onSweep(): void {
    this.#writer.updateDate();
    this.#now = platform().now();
    // Ages are measured against a stamp that may be one period old: allow for it.
    const now = this.#now - this.#slack;
    for (const conn of this.#conns.values()) {
      if (conn.closing) continue;
      const due = overdue(conn, now, this.#deadlines);
      if (due === null) continue;
      if (due === "408") {
        this.#stats.responses["4xx"]++;
        this.#send(conn.sid, this.#writer.error(408, "RequestTimeout", "request timed out"));
      }
      if (due !== "close") this.#stats.timeouts++;
      this.#closeConn(conn);
    }
  }
}
