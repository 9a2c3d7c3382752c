/**
 * `JsonRpcServer`: the transport-independent JSON-RPC 2.0 server core —
 * request validation, method dispatch (sync or async handlers), batches,
 * notifications, per-method options (authentication, timeout, size limit),
 * rate limits, error mapping and statistics. `routeHandler()` serves it on
 * a `WebhookServer` route; `handle()` takes a body from any transport.
 *
 * @example
 * ```ts
 * import { JsonRpcServer } from "./jsonrpc_server.ts";
 * const rpc = new JsonRpcServer();
 * rpc.register("subtract", (params) => {
 *   const [a, b] = params as number[];
 *   return a - b;
 * });
 * console.log(await rpc.handle('{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":1}'));
 * // {"jsonrpc":"2.0","result":19,"id":1}
 * ```
 *
 * @module
 */
import {
  JsonParseError,
  type JsonParseOptions,
  type JsonValue,
  parseJson,
} from "../parsers/json.ts";
import {
  encodeJsonRpcError,
  encodeJsonRpcResult,
  isJsonRpcId,
  type JsonRpcId,
  type JsonRpcParams,
} from "./jsonrpc.ts";
import {
  JsonRpcError,
  type JsonRpcErrorObject,
  RPC_INTERNAL_ERROR,
  RPC_INVALID_REQUEST,
  RPC_METHOD_NOT_FOUND,
  RPC_PARSE_ERROR,
  RPC_RATE_LIMITED,
  RPC_TIMEOUT,
  RPC_UNAUTHORIZED,
} from "./jsonrpc_error.ts";
import type { RouteHandler } from "./server_types.ts";

/** Read access to the request's header fields (`HttpHeaders`, fetch `Headers`). */
export interface HeaderLookup {
  /**
   * A field's value.
   *
   * @param name the field name (any case)
   */
  get(name: string): string | null;
}

/** What a handler learns about the call besides its parameters. */
export interface JsonRpcCallContext {
  /** The method name. */
  readonly method: string;
  /** The id; undefined for a notification. */
  readonly id: JsonRpcId | undefined;
  /** Aborted when the method's timeout passes (its answer is then −32000). */
  readonly signal: AbortSignal;
  /** The HTTP request's header fields, when the call came over HTTP. */
  readonly headers: HeaderLookup | undefined;
  /** The caller's `host:port`, when known. */
  readonly remoteAddress: string | undefined;
}

/**
 * A method handler: takes the parameters (undefined when the request has
 * none) and returns the result or a promise of it. Throw
 * {@linkcode JsonRpcError} (or `InvalidParamsError`) for an error the caller
 * may see; anything else is answered −32603 without detail.
 */
export type JsonRpcHandler = (
  params: JsonRpcParams | undefined,
  context: JsonRpcCallContext,
) => unknown;

/** Per-method options (the seed's `registerWithOptions`). */
export interface JsonRpcMethodOptions {
  /** The method needs an authenticated request (default: the server's `requireAuth`). */
  requireAuth?: boolean;
  /** Timeout in ms for this method (default: the server's `timeoutMs`); 0 for none. */
  timeout?: number;
  /** Largest request object for this method, in bytes of JSON (default: no extra limit). */
  maxRequestSize?: number;
}

/** What an authenticator sees. */
export interface JsonRpcAuthRequest {
  /** The method being called. */
  method: string;
  /** The bearer token of the `Authorization` header, if any. */
  token: string | undefined;
  /** The request's header fields, when the call came over HTTP. */
  headers: HeaderLookup | undefined;
  /** The caller's `host:port`, when known. */
  remoteAddress: string | undefined;
}

/** Decides whether a request may call a method that requires authentication. */
export type JsonRpcAuthenticator = (request: JsonRpcAuthRequest) => boolean | Promise<boolean>;

/** Options of {@linkcode JsonRpcServer}. */
export interface JsonRpcServerOptions {
  /**
   * Largest request body in bytes, checked before parsing.
   *
   * @default 1048576
   */
  maxRequestBytes?: number;
  /**
   * Most members of one batch.
   *
   * @default 50
   */
  maxBatchItems?: number;
  /**
   * Deepest nesting of arrays and objects in a request body.
   *
   * @default 64
   */
  maxDepth?: number;
  /**
   * Every method needs authentication unless its own options say otherwise.
   *
   * @default false
   */
  requireAuth?: boolean;
  /** Bearer tokens accepted for methods that require authentication. */
  bearerTokens?: readonly string[];
  /** A custom verifier (used instead of `bearerTokens` when set). */
  authenticate?: JsonRpcAuthenticator;
  /**
   * Default timeout of asynchronous handlers, in ms; 0 for none.
   *
   * @default 5000
   */
  timeoutMs?: number;
  /**
   * Most calls running at once; beyond it calls are answered −32002. A call answered
   * with a timeout counts until its handler settles.
   *
   * @default Infinity
   */
  maxInFlight?: number;
  /** Calls allowed per remote host in each window; beyond it −32002. */
  rateLimit?: { requests: number; windowMs: number };
  /**
   * Told about handler failures answered −32603 (for logging; never sent).
   *
   * @param error what the handler threw
   * @param method the method
   */
  onError?(error: unknown, method: string): void;
}

/** Counters of {@linkcode JsonRpcServer.getStats} (the seed's fields). */
export interface JsonRpcServerStats {
  /** Request objects processed (each batch member counts; a body that is no JSON counts one). */
  totalRequests: number;
  /** Requests whose handler returned (notifications included). */
  successfulRequests: number;
  /** Requests answered (or, for notifications, ended) with an error. */
  failedRequests: number;
  /** Requests that ran past their timeout (also counted as failed). */
  timeoutRequests: number;
  /** Batch bodies. */
  batchRequests: number;
  /** Notifications. */
  notificationRequests: number;
}

/** The input of {@linkcode JsonRpcServer.handle} besides the body. */
export interface JsonRpcTransportInfo {
  /** The request's header fields. */
  headers?: HeaderLookup;
  /** The caller's `host:port`. */
  remoteAddress?: string;
}

interface Method {
  handler: JsonRpcHandler;
  requireAuth: boolean | undefined;
  timeout: number | undefined;
  maxRequestSize: number | undefined;
  owner: string | undefined;
}

/** The call's context; its AbortController is made only when a handler asks for the signal. */
class CallContext implements JsonRpcCallContext {
  readonly method: string;
  readonly id: JsonRpcId | undefined;
  readonly headers: HeaderLookup | undefined;
  readonly remoteAddress: string | undefined;
  #controller: AbortController | undefined;

  constructor(method: string, id: JsonRpcId | undefined, info: JsonRpcTransportInfo | undefined) {
    this.method = method;
    this.id = id;
    this.headers = info?.headers;
    this.remoteAddress = info?.remoteAddress;
  }

  get signal(): AbortSignal {
    return (this.#controller ??= new AbortController()).signal;
  }

  abort(reason: unknown): void {
    (this.#controller ??= new AbortController()).abort(reason);
  }
}

const encoder = new TextEncoder();
const PARSE_ERROR = encodeJsonRpcError({ code: RPC_PARSE_ERROR, message: "Parse error" }, null);
const INVALID_REQUEST: JsonRpcErrorObject = {
  code: RPC_INVALID_REQUEST,
  message: "Invalid Request",
};
const NOT_FOUND: JsonRpcErrorObject = { code: RPC_METHOD_NOT_FOUND, message: "Method not found" };
const INTERNAL: JsonRpcErrorObject = { code: RPC_INTERNAL_ERROR, message: "Internal error" };
const UNAUTHORIZED: JsonRpcErrorObject = {
  code: RPC_UNAUTHORIZED,
  message: "Unauthorized",
  data: { reason: "this method requires authentication" },
};
const NO_BODY = new Uint8Array(0);

function zeroStats(): JsonRpcServerStats {
  return {
    totalRequests: 0,
    successfulRequests: 0,
    failedRequests: 0,
    timeoutRequests: 0,
    batchRequests: 0,
    notificationRequests: 0,
  };
}

function limit(name: string, value: number | undefined, fallback: number, zero = false): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || Number.isNaN(value) || value < 0 || (!zero && value === 0)) {
    throw new JsonRpcError(
      RPC_INVALID_REQUEST,
      `JsonRpcServer: ${name} must be a positive number`,
      undefined,
      { code: "InvalidRegistration" },
    );
  }
  return value;
}

/** Constant-time comparison of two strings (no early exit on the first difference). */
function sameText(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) diff |= a.charCodeAt(i % (a.length || 1)) ^ b.charCodeAt(i);
  return diff === 0;
}

function bearerOf(headers: HeaderLookup | undefined): string | undefined {
  const value = headers?.get("authorization");
  if (!value) return undefined;
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(value);
  return m ? m[1] : undefined;
}

function hostOf(remote: string | undefined): string {
  if (remote === undefined) return "";
  const colon = remote.lastIndexOf(":");
  return colon <= 0 ? remote : remote.slice(0, colon);
}

/**
 * The JSON-RPC 2.0 server core. Register methods, then feed it bodies with
 * {@linkcode JsonRpcServer.handle} or mount {@linkcode JsonRpcServer.routeHandler}.
 *
 * @example
 * ```ts
 * import { JsonRpcServer } from "./jsonrpc_server.ts";
 * import { WebhookServer } from "./server.ts";
 * const rpc = new JsonRpcServer({ bearerTokens: ["s3cret"] });
 * rpc.register("echo", (params) => params);
 * rpc.registerWithOptions("admin.stop", () => "stopping", { requireAuth: true, timeout: 1000 });
 * const http = new WebhookServer();
 * http.route("POST", "/rpc", rpc.routeHandler());
 * ```
 */
export class JsonRpcServer {
  readonly #methods = new Map<string, Method>();
  readonly #maxRequestBytes: number;
  readonly #maxBatchItems: number;
  readonly #parse: JsonParseOptions;
  readonly #requireAuth: boolean;
  readonly #tokens: readonly string[];
  #authenticate: JsonRpcAuthenticator | undefined;
  readonly #timeoutMs: number;
  readonly #maxInFlight: number;
  readonly #rate: { requests: number; windowMs: number } | undefined;
  readonly #onError: ((error: unknown, method: string) => void) | undefined;
  #stats = zeroStats();
  #inFlight = 0;
  #window = 0;
  #windowCounts = new Map<string, number>();

  /**
   * Creates a server with no methods.
   *
   * @param options limits, authentication, timeouts and rate limits
   */
  constructor(options: JsonRpcServerOptions = {}) {
    this.#maxRequestBytes = limit("maxRequestBytes", options.maxRequestBytes, 1024 * 1024);
    this.#maxBatchItems = limit("maxBatchItems", options.maxBatchItems, 50);
    this.#parse = {
      limits: {
        maxBytes: this.#maxRequestBytes,
        maxDepth: limit("maxDepth", options.maxDepth, 64),
      },
    };
    this.#requireAuth = options.requireAuth ?? false;
    this.#tokens = [...(options.bearerTokens ?? [])];
    this.#authenticate = options.authenticate;
    this.#timeoutMs = limit("timeoutMs", options.timeoutMs, 5000, true);
    this.#maxInFlight = limit("maxInFlight", options.maxInFlight, Infinity);
    if (options.rateLimit !== undefined) {
      this.#rate = {
        requests: limit("rateLimit.requests", options.rateLimit.requests, 1),
        windowMs: limit("rateLimit.windowMs", options.rateLimit.windowMs, 1000),
      };
    }
    this.#onError = options.onError;
  }

  /**
   * Registers (or replaces) `method`.
   *
   * @param method the method name (names starting with `rpc.` are reserved)
   * @param handler the handler
   * @param owner who registered it (the plugin host removes an owner's methods when it unloads)
   */
  register(method: string, handler: JsonRpcHandler, owner?: string): void {
    this.registerWithOptions(method, handler, {}, owner);
  }

  /**
   * Registers (or replaces) `method` with options.
   *
   * @param method the method name
   * @param handler the handler
   * @param options `requireAuth`, `timeout`, `maxRequestSize`
   * @param owner who registered it
   */
  registerWithOptions(
    method: string,
    handler: JsonRpcHandler,
    options: JsonRpcMethodOptions = {},
    owner?: string,
  ): void {
    if (typeof method !== "string" || method === "" || method.startsWith("rpc.")) {
      throw new JsonRpcError(
        RPC_INVALID_REQUEST,
        `cannot register method ${JSON.stringify(method)}: a name is a non-empty string ` +
          `not starting with "rpc." (reserved by the specification)`,
        undefined,
        { code: "InvalidRegistration" },
      );
    }
    if (typeof handler !== "function") {
      throw new JsonRpcError(
        RPC_INVALID_REQUEST,
        `cannot register method "${method}": the handler is not a function`,
        undefined,
        { code: "InvalidRegistration" },
      );
    }
    const o = options ?? {};
    this.#methods.set(method, {
      handler,
      requireAuth: o.requireAuth === undefined ? undefined : o.requireAuth === true,
      timeout: o.timeout === undefined ? undefined : limit("timeout", o.timeout, 0, true),
      maxRequestSize: o.maxRequestSize === undefined
        ? undefined
        : limit("maxRequestSize", o.maxRequestSize, 0),
      owner,
    });
  }

  /**
   * Removes `method`.
   *
   * @param method the method name
   * @returns false when it was not registered
   */
  unregister(method: string): boolean {
    return this.#methods.delete(method);
  }

  /**
   * Removes every method `owner` registered.
   *
   * @param owner the owner given at registration
   * @returns how many were removed
   */
  unregisterOwner(owner: string): number {
    let n = 0;
    for (const [name, m] of this.#methods) {
      if (m.owner === owner) {
        this.#methods.delete(name);
        n++;
      }
    }
    return n;
  }

  /**
   * True when `method` is registered.
   *
   * @param method the method name
   * @returns whether it is registered
   */
  has(method: string): boolean {
    return this.#methods.has(method);
  }

  /**
   * The registered method names, sorted.
   *
   * @returns the names
   */
  getMethods(): string[] {
    return [...this.#methods.keys()].sort();
  }

  /**
   * Replaces the authenticator (undefined: fall back to `bearerTokens`).
   *
   * @param authenticate the verifier
   */
  setAuthenticator(authenticate: JsonRpcAuthenticator | undefined): void {
    this.#authenticate = authenticate;
  }

  /**
   * A snapshot of the counters.
   *
   * @returns the counters
   */
  getStats(): JsonRpcServerStats {
    return { ...this.#stats };
  }

  /** Zeroes the counters. */
  resetStats(): void {
    this.#stats = zeroStats();
  }

  /**
   * Answers one HTTP body: the response text, or null when nothing is to be
   * sent (only notifications). Never throws for any input.
   *
   * @param body the request body (UTF-8 bytes or text)
   * @param info the request's headers and remote address
   * @returns the response text, null, or a promise of either
   */
  handle(
    body: Uint8Array | string,
    info?: JsonRpcTransportInfo,
  ): string | null | Promise<string | null> {
    const size = typeof body === "string" ? body.length : body.length;
    if (size > this.#maxRequestBytes) {
      this.#stats.totalRequests++;
      this.#stats.failedRequests++;
      return encodeJsonRpcError({
        ...INVALID_REQUEST,
        data: { reason: `request larger than ${this.#maxRequestBytes} bytes` },
      }, null);
    }
    let value: JsonValue;
    try {
      value = parseJson(body, this.#parse);
    } catch (e) {
      this.#stats.totalRequests++;
      this.#stats.failedRequests++;
      if (e instanceof JsonParseError && e.code === "LimitExceeded") {
        return encodeJsonRpcError({ ...INVALID_REQUEST, data: { reason: e.message } }, null);
      }
      return PARSE_ERROR;
    }
    if (!Array.isArray(value)) return this.#one(value, info, size, true);
    this.#stats.batchRequests++;
    if (value.length === 0) {
      this.#stats.totalRequests++;
      this.#stats.failedRequests++;
      return encodeJsonRpcError(INVALID_REQUEST, null);
    }
    if (value.length > this.#maxBatchItems) {
      this.#stats.totalRequests++;
      this.#stats.failedRequests++;
      return encodeJsonRpcError({
        ...INVALID_REQUEST,
        data: { reason: `batch of more than ${this.#maxBatchItems} requests` },
      }, null);
    }
    const answers: (string | null | Promise<string | null>)[] = new Array(value.length);
    let pending = false;
    for (let i = 0; i < value.length; i++) {
      const answer = this.#one(value[i], info, size, false);
      if (answer instanceof Promise) pending = true;
      answers[i] = answer;
    }
    return pending ? Promise.all(answers).then(joinBatch) : joinBatch(answers as (string | null)[]);
  }

  /**
   * A `WebhookServer` route handler serving this server (POST bodies; an
   * answer of only notifications is 204 with no body).
   *
   * @returns the handler
   */
  routeHandler(): RouteHandler {
    return (req, res) => {
      const out = this.handle(req.body ?? NO_BODY, {
        headers: req.headers,
        remoteAddress: req.remoteAddress,
      });
      if (out instanceof Promise) return out.then((text) => respond(res, text));
      respond(res, out);
    };
  }

  // One request object: the response text, null for a notification, or a promise.
  #one(
    request: JsonValue,
    info: JsonRpcTransportInfo | undefined,
    bodySize: number,
    single: boolean,
  ): string | null | Promise<string | null> {
    const stats = this.#stats;
    stats.totalRequests++;
    if (typeof request !== "object" || request === null || Array.isArray(request)) {
      stats.failedRequests++;
      return encodeJsonRpcError(INVALID_REQUEST, null);
    }
    const r = request as Record<string, JsonValue>;
    const hasId = r.id !== undefined;
    const id = r.id;
    if (hasId && !isJsonRpcId(id)) {
      stats.failedRequests++;
      return encodeJsonRpcError(INVALID_REQUEST, null);
    }
    const params = r.params;
    const name = r.method;
    if (
      r.jsonrpc !== "2.0" || typeof name !== "string" ||
      (params !== undefined && (typeof params !== "object" || params === null))
    ) {
      stats.failedRequests++;
      return encodeJsonRpcError(INVALID_REQUEST, hasId ? id as JsonRpcId : null);
    }
    if (!hasId) stats.notificationRequests++;
    const rid = hasId ? id as JsonRpcId : undefined;
    const method = this.#methods.get(name);
    if (method === undefined) return this.#fail(NOT_FOUND, rid);
    if (method.maxRequestSize !== undefined) {
      const size = single ? bodySize : encoder.encode(JSON.stringify(request)).length;
      if (size > method.maxRequestSize) {
        return this.#fail({
          ...INVALID_REQUEST,
          data: { reason: `request larger than ${method.maxRequestSize} bytes for ${name}` },
        }, rid);
      }
    }
    if (this.#rate !== undefined && !this.#admit(info)) {
      return this.#fail({
        code: RPC_RATE_LIMITED,
        message: "Rate limit exceeded",
        data: {
          reason: `more than ${this.#rate.requests} calls in ${this.#rate.windowMs} ms`,
        },
      }, rid);
    }
    if (this.#inFlight >= this.#maxInFlight) {
      return this.#fail({
        code: RPC_RATE_LIMITED,
        message: "Rate limit exceeded",
        data: { reason: `more than ${this.#maxInFlight} calls in flight` },
      }, rid);
    }
    const needsAuth = method.requireAuth ?? this.#requireAuth;
    if (needsAuth) {
      const ok = this.#authorized(name, info);
      if (ok instanceof Promise) {
        return ok.then(
          (yes) =>
            yes ? this.#call(method, name, params, rid, info) : this.#fail(UNAUTHORIZED, rid),
          () => this.#fail(UNAUTHORIZED, rid),
        );
      }
      if (!ok) return this.#fail(UNAUTHORIZED, rid);
    }
    return this.#call(method, name, params, rid, info);
  }

  #call(
    method: Method,
    name: string,
    params: JsonValue | undefined,
    id: JsonRpcId | undefined,
    info: JsonRpcTransportInfo | undefined,
  ): string | null | Promise<string | null> {
    const context = new CallContext(name, id, info);
    let result: unknown;
    this.#inFlight++;
    try {
      result = method.handler(params as JsonRpcParams | undefined, context);
    } catch (e) {
      this.#inFlight--;
      return this.#failed(e, name, id);
    }
    if (!(result instanceof Promise)) {
      this.#inFlight--;
      return this.#succeed(result, name, id);
    }
    // The slot is held until the handler settles, even past its timeout: a handler that
    // ignores `context.signal` still runs, so answering early must not let another start.
    const release = () => {
      this.#inFlight--;
    };
    result.then(release, release);
    const timeout = method.timeout ?? this.#timeoutMs;
    if (!(timeout > 0) || !Number.isFinite(timeout)) {
      return result.then(
        (value) => this.#succeed(value, name, id),
        (e) => this.#failed(e, name, id),
      );
    }
    return new Promise<string | null>((resolve) => {
      let done = false;
      const timer = setTimeout(() => {
        if (done) return;
        done = true;
        this.#stats.timeoutRequests++;
        context.abort(new JsonRpcError(RPC_TIMEOUT, `${name} timed out after ${timeout} ms`));
        resolve(this.#fail({
          code: RPC_TIMEOUT,
          message: "Request timeout",
          data: { timeoutMs: timeout },
        }, id));
      }, timeout);
      (result as Promise<unknown>).then(
        (value) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          resolve(this.#succeed(value, name, id));
        },
        (e) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          resolve(this.#failed(e, name, id));
        },
      );
    });
  }

  #succeed(value: unknown, name: string, id: JsonRpcId | undefined): string | null {
    if (id === undefined) {
      this.#stats.successfulRequests++;
      return null;
    }
    let text: string;
    try {
      text = encodeJsonRpcResult(value, id);
    } catch (e) {
      return this.#failed(e, name, id);
    }
    this.#stats.successfulRequests++;
    return text;
  }

  #failed(error: unknown, name: string, id: JsonRpcId | undefined): string | null {
    if (error instanceof JsonRpcError) return this.#fail(error.toErrorObject(), id);
    try {
      this.#onError?.(error, name);
    } catch {
      // a logger that throws must not turn an answer into a crash
    }
    return this.#fail(INTERNAL, id);
  }

  #fail(error: JsonRpcErrorObject, id: JsonRpcId | undefined): string | null {
    this.#stats.failedRequests++;
    return id === undefined ? null : encodeJsonRpcError(error, id);
  }

  #authorized(method: string, info: JsonRpcTransportInfo | undefined): boolean | Promise<boolean> {
    const token = bearerOf(info?.headers);
    if (this.#authenticate !== undefined) {
      try {
        return this.#authenticate({
          method,
          token,
          headers: info?.headers,
          remoteAddress: info?.remoteAddress,
        });
      } catch {
        return false;
      }
    }
    if (token === undefined) return false;
    let ok = false;
    for (const t of this.#tokens) if (sameText(token, t)) ok = true;
    return ok;
  }

  // A fixed window per remote host; the table is dropped at each new window.
  #admit(info: JsonRpcTransportInfo | undefined): boolean {
    const rate = this.#rate!;
    const now = Date.now();
    if (now - this.#window >= rate.windowMs) {
      this.#window = now;
      this.#windowCounts.clear();
    }
    const host = hostOf(info?.remoteAddress);
    const n = (this.#windowCounts.get(host) ?? 0) + 1;
    this.#windowCounts.set(host, n);
    return n <= rate.requests;
  }
}

function joinBatch(answers: (string | null)[]): string | null {
  let out = "";
  for (const a of answers) {
    if (a === null) continue;
    out = out === "" ? a : `${out},${a}`;
  }
  return out === "" ? null : `[${out}]`;
}

function respond(
  res: { status: number; setContent(body: string, contentType: string): void },
  text: string | null,
): void {
  if (text === null) res.status = 204;
  else res.setContent(text, "application/json");
}
