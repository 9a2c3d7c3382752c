/**
 * The error every failure of {@linkcode HttpClient} is: one class, a code per kind,
 * so that callers can tell a connect timeout from a slow body or a refused redirect.
 *
 * @example
 * ```ts
 * import { HttpClientError } from "./client_error.ts";
 * const error = new HttpClientError("HeadersTimeout", "no response head within 30000 ms");
 * console.log(error.code, error.retryable); // HeadersTimeout false
 * ```
 *
 * @module
 */
import { IoraError } from "../core/errors.ts";

/** The kinds of client failure. */
export type HttpClientErrorCode =
  /** The URL is not an absolute `http:` or `https:` URL, or a header or body is malformed. */
  | "InvalidRequest"
  /** The host name did not resolve. */
  | "DnsFailed"
  /** No connection within `connectTimeout`. */
  | "ConnectTimeout"
  /** The connection could not be made (refused, unreachable, TLS handshake failed). */
  | "ConnectFailed"
  /** No response head within `headersTimeout` of the request being sent. */
  | "HeadersTimeout"
  /** The body stalled for longer than `bodyTimeout` between two chunks. */
  | "BodyTimeout"
  /** The whole exchange, redirects and retries included, took longer than `requestTimeout`. */
  | "RequestTimeout"
  /** The peer closed or reset the connection before the response was complete. */
  | "ConnectionClosed"
  /** The response broke HTTP/1.1 (bad status line, bad framing...). */
  | "ProtocolError"
  /** The response head or body is larger than the client's limits. */
  | "ResponseTooLarge"
  /** More redirects than `maxRedirects`, or a redirect without a usable `Location`. */
  | "RedirectFailed"
  /** The response body is not the JSON the caller asked for. */
  | "InvalidJson"
  /** A non-2xx status where the caller asked for success (`parseJsonOrThrow`, `getJson`). */
  | "HttpStatus"
  /** The origin's circuit breaker is open (`circuitBreaker` option): not tried. */
  | "CircuitOpen"
  /** The caller's `AbortSignal` fired. */
  | "Aborted"
  /** The client was closed. */
  | "Closed";

/**
 * A failed HTTP exchange.
 *
 * @example
 * ```ts
 * import { HttpClientError } from "./client_error.ts";
 * try {
 *   throw new HttpClientError("ConnectTimeout", "connect to 10.0.0.1:80 timed out after 2000 ms");
 * } catch (e) {
 *   if (e instanceof HttpClientError && e.code === "ConnectTimeout") console.log("retry later");
 * }
 * ```
 */
export class HttpClientError extends IoraError {
  /** The kind of failure. */
  declare readonly code: HttpClientErrorCode;
  /** The status of the response, for `HttpStatus`; else undefined. */
  readonly status: number | undefined;

  /**
   * Creates the error.
   *
   * @param code the kind of failure
   * @param message what went wrong, naming the URL or origin
   * @param options `cause`, and `status` for `HttpStatus`
   */
  constructor(
    code: HttpClientErrorCode,
    message: string,
    options?: ErrorOptions & { status?: number },
  ) {
    super(code, message, options);
    this.status = options?.status;
  }

  /** True for failures where no byte of the request can have had an effect (connect failures). */
  get retryable(): boolean {
    return this.code === "ConnectTimeout" || this.code === "ConnectFailed" ||
      this.code === "DnsFailed";
  }
}
