/**
 * The HTTP/1.1 message codec (RFC 9110 / RFC 9112): incremental, strict
 * parsers for requests and responses, a header collection, and head
 * serializers. Shared by the server and the client. Each concept has a
 * module of its own (`message_types.ts`, `headers.ts`, `parser_base.ts`,
 * `request_parser.ts`, `response_parser.ts`, `serialize.ts`); this one
 * gathers them.
 *
 * Strictness exists to defeat request smuggling: anything two parsers
 * could read differently (conflicting lengths, obs-fold, bare CR or LF,
 * odd transfer codings, whitespace before a colon) is refused with the
 * status code RFC 9112 asks for instead of being "repaired".
 *
 * @example
 * ```ts
 * import { HttpRequestParser } from "./message.ts";
 * const parser = new HttpRequestParser();
 * parser.push(new TextEncoder().encode("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"));
 * const request = parser.next();
 * console.log(request?.method, request?.target); // GET /a
 * ```
 *
 * @module
 */
export * from "./message_types.ts";
export { HttpHeaders } from "./headers.ts";
export { isToken } from "./_fields.ts";
export { HttpParserBase } from "./parser_base.ts";
export { HttpRequestParser } from "./request_parser.ts";
export { HttpResponseParser } from "./response_parser.ts";
export {
  encodeChunk,
  isBodilessStatus,
  LAST_CHUNK,
  serializeRequestHead,
  serializeResponseHead,
  STATUS_TEXT,
} from "./serialize.ts";
