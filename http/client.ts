/**
 * `HttpClient`: HTTP/1.1 requests on Iora's transport and codec, with a
 * keep-alive pool per origin, retries that never send a POST twice,
 * redirects that keep credentials on their origin, separate connect,
 * head, body and total timeouts, TLS with client certificates, names
 * resolved by Iora's DNS client, and streaming bodies both ways.
 *
 * @example
 * ```ts ignore
 * import { HttpClient } from "./client.ts";
 * const client = new HttpClient({ connectTimeout: 2000, userAgent: "MyApp/1.0" });
 * const response = await client.get("http://127.0.0.1:8080/health");
 * if (response.success()) console.log(response.statusCode, response.body);
 * const created = await client.postJson("http://127.0.0.1:8080/users", { name: "Ada" });
 * console.log(created.parseJsonOrThrow());
 * await client.close();
 * ```
 *
 * @module
 */
import { DnsClient } from "../dns/client.ts";
import { type JsonValue, stringifyJson } from "../parsers/json.ts";
import type { TlsConfig } from "../network/transport.ts";
import { CircuitBreakerManager, type CircuitBreakerStats } from "../network/circuit_breaker.ts";
import { Tracing } from "../core/tracing.ts";
import { HttpClientError } from "./client_error.ts";
import { HttpClientResponse } from "./client_response.ts";
import { HttpHeaders } from "./message.ts";
import type { JsonConfig } from "./request.ts";
import { type ExchangeResult, StaleConnectionError } from "./_client_connection.ts";
import { ConnectionPool, type HostResolver, type Origin } from "./_connection_pool.ts";
import { noResponses, statusClass } from "./status_class.ts";

export type { HostResolver };
export type {
  HttpClientConfig,
  HttpClientStats,
  HttpClientTlsConfig,
  HttpRequestOptions,
  HttpRetryConfig,
  HttpStreamResponse,
} from "./client_types.ts";
import type {
  HttpClientConfig,
  HttpClientStats,
  HttpRequestOptions,
  HttpRetryConfig,
  HttpStreamResponse,
} from "./client_types.ts";

const IDEMPOTENT = new Set(["GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"]);
const CROSS_ORIGIN_DROPPED = ["authorization", "cookie", "proxy-authorization"];
const BODY_HEADERS = ["content-type", "content-length", "content-encoding", "transfer-encoding"];
const OPTION_KEYS = ["headers", "body", "signal", "retries", "timeouts"];
const encoder = new TextEncoder();

type PreparedBody = Uint8Array | ReadableStream<Uint8Array> | null;

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || Number.isNaN(value) || value <= 0) {
    throw new RangeError(`HttpClient: ${name} must be a positive number of milliseconds`);
  }
  return value;
}

function originOf(url: URL): Origin {
  const tls = url.protocol === "https:" || url.protocol === "srv+https:";
  const port = url.port === "" ? (tls ? 443 : 80) : Number(url.port);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  return { key: `${url.protocol}//${url.host}`, tls, host, port };
}

function parseUrl(input: string | URL): URL {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new HttpClientError("InvalidRequest", `not an absolute URL: ${String(input)}`);
  }
  if (!["http:", "https:", "srv+http:", "srv+https:"].includes(url.protocol)) {
    throw new HttpClientError(
      "InvalidRequest",
      `${url.href}: only http:, https:, srv+http: and srv+https: are supported`,
    );
  }
  if (url.username || url.password) {
    throw new HttpClientError(
      "InvalidRequest",
      `${url.origin}: credentials in the URL are not sent; use an Authorization header`,
    );
  }
  return url;
}

function isOptions(value: object): value is HttpRequestOptions {
  const keys = Object.keys(value);
  return keys.length === 0 || keys.some((k) => OPTION_KEYS.includes(k));
}

/** Milliseconds a `Retry-After` value asks for, or undefined when it says nothing usable. */
function retryAfterMs(value: string | null): number | undefined {
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function abortable(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

function zeroStats(): HttpClientStats {
  return {
    requests: 0,
    responses: noResponses(),
    connectionsOpened: 0,
    connectionsReused: 0,
    connectionsClosed: 0,
    retries: 0,
    redirects: 0,
    timeouts: 0,
    errors: {},
  };
}

/**
 * An HTTP/1.1 client (the seed's `HttpClient`). Safe to share: requests
 * from anywhere run concurrently over its connection pool.
 *
 * @example
 * ```ts ignore
 * import { HttpClient } from "./client.ts";
 * await using client = new HttpClient({ requestTimeout: 5000 });
 * const users = await client.getJson<{ id: number }[]>("http://127.0.0.1:8080/users");
 * const response = await client.get("http://127.0.0.1:8080/flaky", { "x-api-version": "1" }, 3);
 * console.log(users.length, response.statusCode, response.statusText);
 * ```
 */
export class HttpClient implements AsyncDisposable {
  readonly #pool: ConnectionPool;
  readonly #connectTimeout: number;
  readonly #headersTimeout: number;
  readonly #bodyTimeout: number;
  readonly #requestTimeout: number;
  readonly #followRedirects: boolean;
  readonly #maxRedirects: number;
  readonly #defaultHeaders: [string, string][];
  readonly #retry: Required<HttpRetryConfig>;
  readonly #json: JsonConfig;
  readonly #breakers: CircuitBreakerManager | undefined;
  readonly #tracing: Tracing | null;
  #dns: HostResolver | undefined;
  #ownDns: DnsClient | undefined;
  #stats = zeroStats();
  #closed = false;

  /**
   * Creates a client; no connection is made until the first request.
   *
   * @param config timeouts, pooling, redirects, retries, TLS and DNS
   */
  constructor(config: HttpClientConfig = {}) {
    this.#connectTimeout = positive("connectTimeout", config.connectTimeout, 10_000);
    this.#headersTimeout = positive("headersTimeout", config.headersTimeout, 30_000);
    this.#bodyTimeout = positive("bodyTimeout", config.bodyTimeout, 30_000);
    this.#requestTimeout = positive("requestTimeout", config.requestTimeout, Infinity);
    this.#followRedirects = config.followRedirects ?? true;
    this.#maxRedirects = config.maxRedirects ?? 5;
    if (!Number.isInteger(this.#maxRedirects) || this.#maxRedirects < 0) {
      throw new RangeError("HttpClient: maxRedirects must be an integer of 0 or more");
    }
    const defaults = new HttpHeaders(config.defaultHeaders);
    if (!defaults.has("user-agent")) defaults.set("user-agent", config.userAgent ?? "iora");
    this.#defaultHeaders = [...defaults];
    const retry = config.retry === false ? { limit: 0 } : config.retry ?? {};
    this.#retry = {
      limit: retry.limit ?? 2,
      statusCodes: retry.statusCodes ?? [408, 429, 500, 502, 503, 504],
      backoffMs: retry.backoffMs ?? 200,
      maxDelayMs: retry.maxDelayMs ?? 30_000,
    };
    this.#json = {
      maxPayloadSize: config.jsonConfig?.maxPayloadSize ?? 10 * 1024 * 1024,
      parseLimits: config.jsonConfig?.parseLimits ?? {},
    };
    this.#dns = config.dns;
    this.#tracing = config.tracing ?? null;
    this.#breakers = config.circuitBreaker === undefined
      ? undefined
      : new CircuitBreakerManager(config.circuitBreaker);
    const tls = config.tlsConfig;
    const tlsConfig: TlsConfig | undefined = tls === undefined ? undefined : {
      caFile: tls.caFile,
      certFile: tls.certFile ?? tls.clientCertFile,
      keyFile: tls.keyFile ?? tls.clientKeyFile,
      verifyPeer: tls.verifyPeer,
    };
    this.#pool = new ConnectionPool({
      transport: { ...config.transport },
      tls: tlsConfig,
      connectTimeoutMs: this.#connectTimeout,
      idleTimeoutMs: positive("connectionIdleTimeout", config.connectionIdleTimeout, 4000),
      maxConnectionsPerHost: positive("maxConnectionsPerHost", config.maxConnectionsPerHost, 256),
      reuse: config.reuseConnections ?? config.enableKeepAlive ?? true,
      maxResponseBytes: positive("maxResponseBytes", config.maxResponseBytes, 64 * 1024 * 1024),
      maxHeaderBytes: positive("maxHeaderBytes", config.maxHeaderBytes, 64 * 1024),
      resolver: () => this.#dns ??= this.#ownDns = new DnsClient(),
      attemptDelayMs: 250,
    });
  }

  /**
   * GET `url`. The seed's positional form `get(url, headers, retries)` works too.
   *
   * @param url an absolute `http:` or `https:` URL
   * @param options request options, or the headers
   * @param retries tries after the first (the seed's third argument)
   * @returns the response, whatever its status
   */
  get(
    url: string | URL,
    options?: HttpRequestOptions | Record<string, string>,
    retries?: number,
  ): Promise<HttpClientResponse> {
    return this.request("GET", url, this.#options(options, retries));
  }

  /**
   * POST `body` to `url`.
   *
   * @param url the URL
   * @param body bytes, text or a stream
   * @param options request options, or the headers
   * @param retries tries after the first (only connection failures: a POST is never sent twice)
   * @returns the response
   */
  post(
    url: string | URL,
    body?: HttpRequestOptions["body"],
    options?: HttpRequestOptions | Record<string, string>,
    retries?: number,
  ): Promise<HttpClientResponse> {
    return this.request("POST", url, { ...this.#options(options, retries), body });
  }

  /**
   * PUT `body` to `url`.
   *
   * @param url the URL
   * @param body bytes, text or a stream
   * @param options request options, or the headers
   * @returns the response
   */
  put(
    url: string | URL,
    body?: HttpRequestOptions["body"],
    options?: HttpRequestOptions | Record<string, string>,
  ): Promise<HttpClientResponse> {
    return this.request("PUT", url, { ...this.#options(options), body });
  }

  /**
   * PATCH `url` with `body`.
   *
   * @param url the URL
   * @param body bytes, text or a stream
   * @param options request options, or the headers
   * @returns the response
   */
  patch(
    url: string | URL,
    body?: HttpRequestOptions["body"],
    options?: HttpRequestOptions | Record<string, string>,
  ): Promise<HttpClientResponse> {
    return this.request("PATCH", url, { ...this.#options(options), body });
  }

  /**
   * DELETE `url`.
   *
   * @param url the URL
   * @param options request options, or the headers
   * @returns the response
   */
  delete(
    url: string | URL,
    options?: HttpRequestOptions | Record<string, string>,
  ): Promise<HttpClientResponse> {
    return this.request("DELETE", url, this.#options(options));
  }

  /**
   * POST `value` as JSON (`content-type: application/json`).
   *
   * @param url the URL
   * @param value any JSON value
   * @param options request options, or the headers
   * @param retries tries after the first (connection failures only)
   * @returns the response
   */
  postJson(
    url: string | URL,
    value: unknown,
    options?: HttpRequestOptions | Record<string, string>,
    retries?: number,
  ): Promise<HttpClientResponse> {
    const base = this.#options(options, retries);
    const headers = new HttpHeaders(base.headers as Record<string, string> | undefined);
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
    if (!headers.has("accept")) headers.set("accept", "application/json");
    return this.request("POST", url, {
      ...base,
      headers,
      body: encoder.encode(stringifyJson(value as JsonValue)),
    });
  }

  /**
   * GETs `url` and parses its JSON; throws `HttpStatus` for a non-2xx status.
   *
   * @param url the URL
   * @param options request options, or the headers
   * @returns the parsed body
   */
  async getJson<T = JsonValue>(
    url: string | URL,
    options?: HttpRequestOptions | Record<string, string>,
  ): Promise<T> {
    const base = this.#options(options);
    const headers = new HttpHeaders(base.headers as Record<string, string> | undefined);
    if (!headers.has("accept")) headers.set("accept", "application/json");
    return (await this.request("GET", url, { ...base, headers })).parseJsonOrThrow<T>();
  }

  /**
   * Sends a request and reads the whole response body (up to `maxResponseBytes`).
   *
   * @param method the method, such as `"GET"`
   * @param url an absolute `http:` or `https:` URL
   * @param options headers, body, signal, retries and timeouts
   * @returns the response, whatever its status
   */
  async request(
    method: string,
    url: string | URL,
    options: HttpRequestOptions = {},
  ): Promise<HttpClientResponse> {
    const { result, url: final, redirects } = await this.#run(method, url, options, false);
    return new HttpClientResponse(
      final,
      result.status,
      result.reason,
      result.headers,
      result.body as Uint8Array,
      redirects,
      this.#json,
    );
  }

  /**
   * Sends a request and answers once the response head is in; the body is
   * a stream (read it to the end or cancel it).
   *
   * @param method the method
   * @param url the URL
   * @param options headers, body, signal, retries and timeouts
   * @returns the head and the body stream
   */
  async stream(
    method: string,
    url: string | URL,
    options: HttpRequestOptions = {},
  ): Promise<HttpStreamResponse> {
    const { result, url: final } = await this.#run(method, url, options, true);
    return {
      url: final,
      statusCode: result.status,
      statusText: result.reason,
      headers: result.headers,
      body: result.body as ReadableStream<Uint8Array>,
    };
  }

  /**
   * Counters since creation or the last reset.
   *
   * @returns a snapshot
   */
  getStats(): HttpClientStats {
    const pool = this.#pool.stats;
    return {
      ...this.#stats,
      responses: { ...this.#stats.responses },
      errors: { ...this.#stats.errors },
      connectionsOpened: pool.connectionsOpened,
      connectionsReused: pool.connectionsReused,
      connectionsClosed: pool.connectionsClosed,
    };
  }

  /**
   * The circuit breaker of every origin the client has called, by origin (empty without
   * `circuitBreaker` in the config).
   *
   * @returns each breaker's state and counters
   */
  getBreakerStats(): Map<string, CircuitBreakerStats> {
    return this.#breakers?.getStats() ?? new Map();
  }

  /** Zeroes the counters. */
  resetStats(): void {
    this.#stats = zeroStats();
    const open = this.#pool.stats.connectionsOpen;
    this.#pool.stats = {
      connectionsOpened: 0,
      connectionsReused: 0,
      connectionsClosed: 0,
      connectionsOpen: open,
    };
  }

  /** Closes the idle connections (after a network change, say). */
  purgeIdle(): void {
    this.#pool.purgeIdle();
  }

  /** Closes every connection; requests after this fail with `Closed`. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.close();
    this.#ownDns?.[Symbol.dispose]();
  }

  /** Same as {@linkcode HttpClient.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #options(
    options: HttpRequestOptions | Record<string, string> | undefined,
    retries?: number,
  ): HttpRequestOptions {
    const base: HttpRequestOptions = options === undefined
      ? {}
      : isOptions(options)
      ? options
      : { headers: options as Record<string, string> };
    return retries === undefined ? base : { ...base, retries };
  }

  async #run(
    method: string,
    input: string | URL,
    options: HttpRequestOptions,
    stream: boolean,
  ): Promise<{ result: ExchangeResult; url: string; redirects: number }> {
    this.#stats.requests++;
    const total = options.timeouts?.total ?? this.#requestTimeout;
    const controller = new AbortController();
    const timer = Number.isFinite(total)
      ? setTimeout(
        () =>
          controller.abort(
            new HttpClientError("RequestTimeout", `${String(input)}: no answer within ${total} ms`),
          ),
        total,
      )
      : undefined;
    const outer = options.signal;
    const onAbort = () =>
      controller.abort(
        new HttpClientError("Aborted", `${String(input)}: aborted`, { cause: outer?.reason }),
      );
    if (outer?.aborted) onAbort();
    else outer?.addEventListener("abort", onAbort, { once: true });
    const tracing = this.#tracing;
    const span = tracing === null ? null : tracing.start(method, "client", {
      "http.request.method": method,
      "url.full": redacted(input),
    });
    try {
      const out = await this.#follow(
        method,
        input,
        options,
        stream,
        controller.signal,
        span === null ? null : tracing!.traceparent(span),
      );
      if (span !== null) {
        span.setAttribute("http.response.status_code", out.result.status);
        if (out.result.status >= 500) span.setStatus({ code: 2 });
        span.end();
      }
      return out;
    } catch (error) {
      const failure = error instanceof HttpClientError ? error : new HttpClientError(
        "InvalidRequest",
        `${String(input)}: ${(error as Error).message}`,
        { cause: error },
      );
      this.#stats.errors[failure.code] = (this.#stats.errors[failure.code] ?? 0) + 1;
      if (failure.code.endsWith("Timeout")) this.#stats.timeouts++;
      if (span !== null) Tracing.fail(span, failure);
      throw failure;
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener("abort", onAbort);
    }
  }

  async #follow(
    method: string,
    input: string | URL,
    options: HttpRequestOptions,
    stream: boolean,
    signal: AbortSignal,
    traceparent: string | null,
  ): Promise<{ result: ExchangeResult; url: string; redirects: number }> {
    if (this.#closed) throw new HttpClientError("Closed", "the HTTP client is closed");
    let url = parseUrl(input);
    const headers = new HttpHeaders(this.#defaultHeaders);
    for (const [name, value] of new HttpHeaders(options.headers)) headers.set(name, value);
    if (traceparent !== null && !headers.has("traceparent")) {
      headers.set("traceparent", traceparent);
    }
    let body = this.#body(options.body, headers);
    const replayable = !(body instanceof ReadableStream);
    for (let redirects = 0;; redirects++) {
      const result = await this.#attempt(method, url, headers, body, options, stream, signal);
      const location = result.headers.get("location");
      const redirect = this.#followRedirects && location !== null &&
        [301, 302, 303, 307, 308].includes(result.status);
      if (!redirect) return { result, url: url.href, redirects };
      if (redirects >= this.#maxRedirects) {
        await discard(result);
        throw new HttpClientError(
          "RedirectFailed",
          `${url.href}: more than ${this.#maxRedirects} redirects`,
        );
      }
      let next: URL;
      try {
        next = parseUrl(new URL(location!, url));
      } catch (error) {
        await discard(result);
        throw new HttpClientError("RedirectFailed", `${url.href}: bad Location ${location}`, {
          cause: error,
        });
      }
      const toGet = result.status === 303 ? method !== "HEAD" : (result.status === 301 ||
        result.status === 302) && method === "POST";
      if (toGet) {
        method = "GET";
        body = null;
        for (const name of BODY_HEADERS) headers.delete(name);
      } else if (body !== null && !replayable) {
        await discard(result);
        throw new HttpClientError(
          "RedirectFailed",
          `${url.href}: a ${result.status} redirect needs the body again, and a stream cannot be replayed`,
        );
      }
      // Credentials stay with the origin they were meant for (as fetch does).
      if (next.origin !== url.origin) {
        for (const name of CROSS_ORIGIN_DROPPED) headers.delete(name);
      }
      await discard(result);
      this.#stats.redirects++;
      url = next;
    }
  }

  // One request to one URL, tried again when that is safe: connection failures, a stale
  // keep-alive socket (idempotent methods), and retryable statuses (idempotent methods).
  async #attempt(
    method: string,
    url: URL,
    headers: HttpHeaders,
    body: PreparedBody,
    options: HttpRequestOptions,
    stream: boolean,
    signal: AbortSignal,
  ): Promise<ExchangeResult> {
    const limit = options.retries ?? this.#retry.limit;
    const idempotent = IDEMPOTENT.has(method) && !(body instanceof ReadableStream);
    for (let attempt = 0;; attempt++) {
      let result: ExchangeResult;
      try {
        result = await this.#send(method, url, headers, body, options, stream, signal);
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        const retryable = error instanceof HttpClientError &&
          (error.retryable || (idempotent && error.code === "ConnectionClosed"));
        if (!retryable || attempt >= limit) throw error;
        this.#stats.retries++;
        await abortable(this.#backoff(attempt), signal);
        continue;
      }
      this.#stats.responses[statusClass(result.status)]++;
      if (!idempotent || attempt >= limit || !this.#retry.statusCodes.includes(result.status)) {
        return result;
      }
      const asked = retryAfterMs(result.headers.get("retry-after"));
      const wait = asked ?? this.#backoff(attempt);
      if (wait > this.#retry.maxDelayMs) return result;
      await discard(result);
      this.#stats.retries++;
      await abortable(wait, signal);
    }
  }

  #backoff(attempt: number): number {
    const base = Math.min(this.#retry.maxDelayMs, this.#retry.backoffMs * 2 ** attempt);
    return base / 2 + Math.random() * base / 2;
  }

  // One origin, or the targets of a service (srv+http:, srv+https:) in their order, moving on
  // when a target cannot be reached; each origin behind its circuit breaker when configured.
  async #send(
    method: string,
    url: URL,
    headers: HttpHeaders,
    body: PreparedBody,
    options: HttpRequestOptions,
    stream: boolean,
    signal: AbortSignal,
  ): Promise<ExchangeResult> {
    if (!url.protocol.startsWith("srv+")) {
      return await this.#guarded(
        originOf(url),
        url.host,
        method,
        url,
        headers,
        body,
        options,
        stream,
        signal,
      );
    }
    const tls = url.protocol === "srv+https:";
    const resolver = this.#pool.resolver();
    if (resolver.resolveServiceDomain === undefined) {
      throw new HttpClientError(
        "InvalidRequest",
        `${url.href}: the resolver cannot discover services`,
      );
    }
    let targets: { host: string; address: string; port: number }[];
    try {
      ({ targets } = await resolver.resolveServiceDomain(url.hostname, [tls ? "TLS" : "TCP"], {
        service: "http",
        defaultPorts: { TCP: 80, TLS: 443 },
        signal,
      }));
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      throw new HttpClientError(
        "DnsFailed",
        `${url.href}: service discovery failed: ${(error as Error).message}`,
        { cause: error },
      );
    }
    let last: unknown = new HttpClientError("DnsFailed", `${url.href}: the service has no target`);
    for (const target of targets) {
      const host = target.host.replace(/\.$/, "");
      const origin: Origin = {
        key: `${url.protocol}//${host}:${target.port}@${target.address}`,
        tls,
        host,
        port: target.port,
        address: target.address,
      };
      try {
        return await this.#guarded(
          origin,
          `${host}:${target.port}`,
          method,
          url,
          headers,
          body,
          options,
          stream,
          signal,
        );
      } catch (error) {
        if (
          !(error instanceof HttpClientError && (error.retryable || error.code === "CircuitOpen"))
        ) {
          throw error;
        }
        last = error;
      }
    }
    throw last;
  }

  async #guarded(
    origin: Origin,
    authority: string,
    method: string,
    url: URL,
    headers: HttpHeaders,
    body: PreparedBody,
    options: HttpRequestOptions,
    stream: boolean,
    signal: AbortSignal,
  ): Promise<ExchangeResult> {
    const breaker = this.#breakers?.getBreaker(origin.key);
    if (breaker !== undefined && !breaker.allowRequest()) {
      throw new HttpClientError(
        "CircuitOpen",
        `${origin.key}: circuit open after repeated failures`,
      );
    }
    let result: ExchangeResult;
    try {
      result = await this.#exchange(
        origin,
        authority,
        method,
        url,
        headers,
        body,
        options,
        stream,
        signal,
      );
    } catch (error) {
      if (!signal.aborted) breaker?.recordFailure();
      throw error;
    }
    if (result.status >= 500) breaker?.recordFailure();
    else breaker?.recordSuccess();
    return result;
  }

  // Sends on a pooled connection; a reused one that turns out stale before any byte of the
  // response is replaced by a fresh one, once, and only for idempotent requests.
  async #exchange(
    origin: Origin,
    authority: string,
    method: string,
    url: URL,
    headers: HttpHeaders,
    body: PreparedBody,
    options: HttpRequestOptions,
    stream: boolean,
    signal: AbortSignal,
  ): Promise<ExchangeResult> {
    const fields: [string, string][] = [["host", authority]];
    for (const entry of headers) if (entry[0] !== "host") fields.push(entry);
    const exchange = {
      method,
      target: `${url.pathname}${url.search}`,
      headers: fields,
      body,
      url: url.href,
      headersTimeoutMs: options.timeouts?.headers ?? this.#headersTimeout,
      bodyTimeoutMs: options.timeouts?.body ?? this.#bodyTimeout,
      stream,
    };
    for (let fresh = false;; fresh = true) {
      const connection = await this.#pool.acquire(origin, signal);
      const reused = connection.uses > 0;
      const onAbort = () => connection.cancel(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      try {
        return await connection.send(exchange);
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        const replay = error instanceof StaleConnectionError && reused && !fresh &&
          IDEMPOTENT.has(method) && !(body instanceof ReadableStream);
        if (!replay) throw error;
      } finally {
        signal.removeEventListener("abort", onAbort);
      }
    }
  }

  #body(body: HttpRequestOptions["body"], headers: HttpHeaders): PreparedBody {
    if (body === undefined) return null;
    if (body instanceof ReadableStream) {
      headers.delete("content-length");
      headers.set("transfer-encoding", "chunked");
      return body;
    }
    const bytes = typeof body === "string" ? encoder.encode(body) : body;
    if (!(bytes instanceof Uint8Array)) {
      throw new HttpClientError("InvalidRequest", "a body is bytes, a string or a ReadableStream");
    }
    if (typeof body === "string" && !headers.has("content-type")) {
      headers.set("content-type", "text/plain; charset=utf-8");
    }
    headers.set("content-length", String(bytes.length));
    return bytes;
  }
}

/** Reads and drops a body that is not handed to the caller (a redirect's, a retried one's). */
async function discard(result: ExchangeResult): Promise<void> {
  if (result.body instanceof ReadableStream) await result.body.cancel().catch(() => {});
}

/** A URL for a span attribute: without user name and password. */
function redacted(input: string | URL): string {
  try {
    const url = new URL(String(input));
    url.username = "";
    url.password = "";
    return url.href;
  } catch {
    return String(input);
  }
}
