/**
 * `WebhookResponse`: the response a `WebhookServer` handler fills in, with
 * a body of bytes or text, or a stream.
 *
 * @example
 * ```ts
 * import { WebhookServer } from "./server.ts";
 * new WebhookServer().onGet("/hello", (_req, res) => {
 *   res.setHeader("cache-control", "no-store");
 *   res.setContent("hello", "text/plain");
 * });
 * ```
 *
 * @module
 */
import { HttpHeaders } from "./message.ts";
import { type HeaderInternals, HEADERS } from "./_headers_access.ts";

const HEADER_TABLE = HEADERS as HeaderInternals<HttpHeaders>;

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
    HEADER_TABLE.setLower(this.headers, "content-type", contentType);
  }

  /** Sets a header field (replacing earlier ones of that name). */
  setHeader(name: string, value: string): void {
    this.headers.set(name, value);
  }

  /** Serializes `value` as the JSON body (`application/json`). */
  json(value: unknown, status?: number): void {
    if (status !== undefined) this.status = status;
    this.body = JSON.stringify(value) ?? "null";
    HEADER_TABLE.setTrusted(this.headers, "content-type", "application/json");
  }

  /** Streams the body from a `ReadableStream` or async iterable (chunked on HTTP/1.1). */
  stream(source: BodyStream, contentType?: string): void {
    this.streamBody = source;
    if (contentType !== undefined) this.headers.set("content-type", contentType);
  }
}
