// The body of an HttpClient request as it is sent: bytes with their
// Content-Length, or a stream sent chunked.
import { type JsonValue, stringifyJson } from "../parsers/json.ts";
import { HttpClientError } from "./client_error.ts";
import type { HttpHeaders } from "./message.ts";
import type { HttpRequestOptions } from "./client_types.ts";

const encoder = new TextEncoder();

/** A request body ready to send: bytes, a stream, or none. */
export type PreparedBody = Uint8Array | ReadableStream<Uint8Array> | null;

/**
 * `body` ready to send, with the framing headers set to match (and `content-type` for text
 * when none is set).
 *
 * @throws {HttpClientError} `InvalidRequest` for a body that is not bytes, a string or a stream
 */
export function prepareBody(body: HttpRequestOptions["body"], headers: HttpHeaders): PreparedBody {
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

/** `value` as a JSON body. */
export function jsonBody(value: unknown): Uint8Array {
  return encoder.encode(stringifyJson(value as JsonValue));
}
