/**
 * The shapes of {@linkcode HttpClient}'s configuration, requests, streamed
 * responses and counters.
 *
 * @example
 * ```ts
 * import type { HttpClientConfig } from "./client_types.ts";
 * const config: HttpClientConfig = { connectTimeout: 2000, retry: { limit: 1 } };
 * console.log(config.connectTimeout);
 * ```
 *
 * @module
 */
import type { Tracing } from "../core/tracing.ts";
import type { CircuitBreakerConfig } from "../network/circuit_breaker.ts";
import type { TransportConfig } from "../network/transport.ts";
import type { HttpClientErrorCode } from "./client_error.ts";
import type { HttpHeaders } from "./headers.ts";
import type { JsonConfig } from "./request.ts";
import type { HostResolver } from "./_connection_pool.ts";
import type { ResponsesByClass } from "./status_class.ts";

/** TLS settings of the client (the seed's names). */
export interface HttpClientTlsConfig {
  /** PEM file of the certificate authorities to trust (default: the system's). */
  caFile?: string;
  /** PEM file of the client certificate, for servers that ask for one. */
  certFile?: string;
  /** PEM file of the client certificate's key. */
  keyFile?: string;
  /** The seed's spelling of `certFile`. */
  clientCertFile?: string;
  /** The seed's spelling of `keyFile`. */
  clientKeyFile?: string;
  /**
   * Verify the server's certificate.
   *
   * @default true
   */
  verifyPeer?: boolean;
}

/** When and how requests are tried again. */
export interface HttpRetryConfig {
  /**
   * Tries after the first.
   *
   * @default 2
   */
  limit?: number;
  /**
   * Statuses that are tried again (idempotent methods only).
   *
   * @default [408, 429, 500, 502, 503, 504]
   */
  statusCodes?: number[];
  /**
   * The first backoff, in ms; it doubles each try, with jitter.
   *
   * @default 200
   */
  backoffMs?: number;
  /**
   * The longest wait between tries, `Retry-After` included; a longer `Retry-After` is not waited
   * for (the response is returned).
   *
   * @default 30000
   */
  maxDelayMs?: number;
}

/** Options of {@linkcode HttpClient}. Times are in milliseconds. */
export interface HttpClientConfig {
  /**
   * Time to establish a connection (per address tried).
   *
   * @default 10000
   */
  connectTimeout?: number;
  /**
   * Time from the request being sent to the response head.
   *
   * @default 30000
   */
  headersTimeout?: number;
  /**
   * Longest pause between two pieces of the response body.
   *
   * @default 30000
   */
  bodyTimeout?: number;
  /**
   * Time for the whole exchange, redirects and retries included.
   *
   * @default Infinity
   */
  requestTimeout?: number;
  /**
   * Follow 301, 302, 303, 307 and 308 redirects.
   *
   * @default true
   */
  followRedirects?: boolean;
  /**
   * Redirects followed before `RedirectFailed`.
   *
   * @default 5
   */
  maxRedirects?: number;
  /**
   * The `User-Agent` header.
   *
   * @default "iora"
   */
  userAgent?: string;
  /** Headers sent with every request (a request's own headers win). */
  defaultHeaders?: Record<string, string>;
  /**
   * Keep connections open between requests.
   *
   * @default true
   */
  reuseConnections?: boolean;
  /** The seed's pool spelling of `reuseConnections`. */
  enableKeepAlive?: boolean;
  /**
   * How long an idle connection is kept (shortened by a server's `Keep-Alive: timeout=`).
   *
   * @default 4000
   */
  connectionIdleTimeout?: number;
  /**
   * Connections per origin; requests beyond wait for one.
   *
   * @default 256
   */
  maxConnectionsPerHost?: number;
  /**
   * Largest response body, in bytes.
   *
   * @default 67108864
   */
  maxResponseBytes?: number;
  /**
   * Largest response head, in bytes.
   *
   * @default 65536
   */
  maxHeaderBytes?: number;
  /** Limits of `json()` on responses. */
  jsonConfig?: Partial<JsonConfig>;
  /** TLS for `https:` URLs. */
  tlsConfig?: HttpClientTlsConfig;
  /** Retries; `false` for none. */
  retry?: HttpRetryConfig | false;
  /** Resolves host names; default a `DnsClient` made on first use from the system's configuration. */
  dns?: HostResolver;
  /**
   * Puts each origin behind a circuit breaker (network's `CircuitBreaker`): connection failures
   * and 5xx responses count as failures; while it is open, requests fail at once with
   * `CircuitOpen`. Off by default.
   */
  circuitBreaker?: CircuitBreakerConfig;
  /**
   * Emits a client span per request (redirects and retries included), a child of the active
   * span, and sends its `traceparent` (unless the request sets one). Off by default.
   */
  tracing?: Tracing;
  /** Settings of the underlying transport (adapter, write queue limits...). */
  transport?: Omit<TransportConfig, "tls">;
}

/** What one request may set. */
export interface HttpRequestOptions {
  /** Header fields of this request. */
  headers?: Record<string, string> | Iterable<readonly [string, string]>;
  /** The body: bytes, text or a stream (sent chunked). */
  body?: Uint8Array | string | ReadableStream<Uint8Array>;
  /** Cancels the request. */
  signal?: AbortSignal;
  /** Tries after the first, overriding the client's `retry.limit`. */
  retries?: number;
  /** Timeouts of this request, overriding the client's. */
  timeouts?: { headers?: number; body?: number; total?: number };
}

/** A response whose body is a stream, from {@linkcode HttpClient.stream}. */
export interface HttpStreamResponse {
  /** The URL that answered. */
  url: string;
  /** The status code. */
  statusCode: number;
  /** The reason phrase. */
  statusText: string;
  /** The header fields. */
  headers: HttpHeaders;
  /** The body; read it to the end or cancel it, so the connection is freed. */
  body: ReadableStream<Uint8Array>;
}

/** Counters of {@linkcode HttpClient.getStats}. */
export interface HttpClientStats {
  /** Requests asked for (a retry or a redirect is not a new request). */
  requests: number;
  /** Responses by status class. */
  responses: ResponsesByClass;
  /** Connections opened. */
  connectionsOpened: number;
  /** Requests sent on a connection that carried one before. */
  connectionsReused: number;
  /** Connections closed. */
  connectionsClosed: number;
  /** Tries after a failure or a retryable status. */
  retries: number;
  /** Redirects followed. */
  redirects: number;
  /** Timeouts of any kind (also counted in `errors`). */
  timeouts: number;
  /** Failed requests, by error code. */
  errors: Partial<Record<HttpClientErrorCode, number>>;
}
