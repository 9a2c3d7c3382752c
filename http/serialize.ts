/**
 * The write side of the HTTP/1.1 codec: status texts, which statuses carry
 * no body, message heads from validated fields, and chunked framing.
 *
 * @example
 * ```ts
 * import { encodeChunk, LAST_CHUNK, serializeResponseHead } from "./serialize.ts";
 * const head = serializeResponseHead(200, [["transfer-encoding", "chunked"]]);
 * const body = [encodeChunk(new TextEncoder().encode("hi")), LAST_CHUNK];
 * console.log(head.length, body.length);
 * ```
 *
 * @module
 */
import { isToken, validateFieldValue } from "./_fields.ts";

const EMPTY = new Uint8Array(0);

/** Reason phrases of the status codes Iora sends. */
export const STATUS_TEXT: Readonly<Record<number, string>> = Object.freeze({
  100: "Continue",
  101: "Switching Protocols",
  200: "OK",
  201: "Created",
  202: "Accepted",
  204: "No Content",
  206: "Partial Content",
  301: "Moved Permanently",
  302: "Found",
  303: "See Other",
  304: "Not Modified",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  409: "Conflict",
  411: "Length Required",
  413: "Content Too Large",
  414: "URI Too Long",
  415: "Unsupported Media Type",
  417: "Expectation Failed",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
});

/** True when a response with this status to this method never has a body. */
export function isBodilessStatus(status: number, method = "GET"): boolean {
  return status < 200 || status === 204 || status === 304 || method === "HEAD";
}

/**
 * Serializes a response head (status line, fields, empty line). Field names
 * and values are validated so no value can inject a line.
 *
 * @example
 * ```ts
 * import { serializeResponseHead } from "./serialize.ts";
 * const head = serializeResponseHead(200, [["content-length", "0"]]);
 * console.log(head); // "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"
 * ```
 */
export function serializeResponseHead(
  status: number,
  headers: Iterable<readonly [string, string]>,
  reason: string = STATUS_TEXT[status] ?? "",
): string {
  if (!Number.isInteger(status) || status < 100 || status > 999) {
    throw new RangeError(`invalid status code: ${status}`);
  }
  let out = `HTTP/1.1 ${status} ${validateFieldValue(reason)}\r\n`;
  for (const [name, value] of headers) {
    if (!isToken(name)) throw new TypeError(`invalid header name: ${JSON.stringify(name)}`);
    out += `${name}: ${validateFieldValue(value)}\r\n`;
  }
  return out + "\r\n";
}

/**
 * Serializes a request head. The target must be origin-form or
 * absolute-form without whitespace or control characters.
 *
 * @example
 * ```ts
 * import { serializeRequestHead } from "./serialize.ts";
 * console.log(serializeRequestHead("GET", "/", [["host", "example.com"]]));
 * ```
 */
export function serializeRequestHead(
  method: string,
  target: string,
  headers: Iterable<readonly [string, string]>,
): string {
  if (!isToken(method)) throw new TypeError(`invalid method: ${JSON.stringify(method)}`);
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c <= 32 || c >= 127) {
      throw new TypeError(`invalid request target: ${JSON.stringify(target)}`);
    }
  }
  let out = `${method} ${target} HTTP/1.1\r\n`;
  for (const [name, value] of headers) {
    if (!isToken(name)) throw new TypeError(`invalid header name: ${JSON.stringify(name)}`);
    out += `${name}: ${validateFieldValue(value)}\r\n`;
  }
  return out + "\r\n";
}

/**
 * Encodes bytes as one chunk of a chunked body (`size CRLF data CRLF`);
 * an empty input yields nothing (the last chunk is {@linkcode LAST_CHUNK}).
 *
 * @example
 * ```ts
 * import { encodeChunk } from "./serialize.ts";
 * console.log(encodeChunk(new Uint8Array(3)).length); // 1 + 2 + 3 + 2
 * ```
 */
export function encodeChunk(data: Uint8Array): Uint8Array {
  if (data.length === 0) return EMPTY;
  const size = data.length.toString(16);
  const out = new Uint8Array(size.length + 4 + data.length);
  for (let i = 0; i < size.length; i++) out[i] = size.charCodeAt(i);
  out[size.length] = 13;
  out[size.length + 1] = 10;
  out.set(data, size.length + 2);
  out[out.length - 2] = 13;
  out[out.length - 1] = 10;
  return out;
}

/** The terminating chunk of a chunked body, with an empty trailer section. */
export const LAST_CHUNK: Uint8Array = new TextEncoder().encode("0\r\n\r\n");
