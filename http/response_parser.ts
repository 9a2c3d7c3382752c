/**
 * `HttpResponseParser`: the incremental, strict HTTP/1.1 response parser
 * (the client's side of the codec).
 *
 * @example
 * ```ts
 * import { HttpResponseParser } from "./response_parser.ts";
 * const parser = new HttpResponseParser();
 * parser.expectResponseTo("GET");
 * parser.push(new TextEncoder().encode("HTTP/1.1 204 No Content\r\n\r\n"));
 * console.log(parser.next()?.status); // 204
 * ```
 *
 * @module
 */
import { HttpHeaders } from "./headers.ts";
import { HttpParserBase } from "./parser_base.ts";
import {
  checkTransferEncoding,
  emptyFraming,
  isDigit,
  keepAliveOf,
  parseContentLength,
  parseFieldLines,
  parseVersion,
} from "./_message_syntax.ts";
import {
  type BodyKind,
  HttpParseError,
  type HttpParserOptions,
  type HttpResponseHead,
  type HttpResponseMessage,
} from "./message_types.ts";

const EMPTY = new Uint8Array(0);

/**
 * The incremental response parser. Tell it the method of the request each
 * response answers (`expectResponseTo`) so a response to HEAD is read
 * without a body; call `finish` at end of stream for close-delimited bodies.
 *
 * @example
 * ```ts
 * import { HttpResponseParser } from "./response_parser.ts";
 * const p = new HttpResponseParser();
 * p.expectResponseTo("GET");
 * p.push(new TextEncoder().encode("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
 * console.log(p.next()?.status); // 200
 * ```
 */
export class HttpResponseParser extends HttpParserBase<HttpResponseHead> {
  #methods: string[] = [];

  /**
   * Creates a parser.
   *
   * @param options limits and body streaming
   */
  constructor(options?: HttpParserOptions) {
    super(options);
  }

  /** Always false: this parser reads responses. */
  protected get isRequest(): boolean {
    return false;
  }

  /** Queues the method of the next request sent on the connection (for HEAD and CONNECT). */
  expectResponseTo(method: string): void {
    this.#methods.push(method);
  }

  /**
   * The next complete response (1xx responses included), or null when more
   * bytes are needed. Throws {@linkcode HttpParseError}.
   */
  next(): HttpResponseMessage | null {
    const msg = this.nextMessage();
    if (msg !== null && msg.status >= 200) this.#methods.shift();
    return msg;
  }

  /** Ends the stream: completes a close-delimited body, null when idle, else throws. */
  finish(): HttpResponseMessage | null {
    const msg = this.finishMessage();
    if (msg !== null && msg.status >= 200) this.#methods.shift();
    return msg;
  }

  /** Parses a response head. */
  protected parseHead(text: string): HttpResponseMessage {
    let eol = text.indexOf("\r\n");
    if (eol < 0) eol = text.length;
    const sp1 = text.indexOf(" ");
    if (sp1 < 0 || sp1 > eol) {
      throw new HttpParseError("InvalidStartLine", 400, "malformed status line");
    }
    const version = parseVersion(text.slice(0, sp1), "status line");
    const code = text.slice(sp1 + 1, sp1 + 4);
    if (
      code.length !== 3 || !isDigit(code.charCodeAt(0)) || !isDigit(code.charCodeAt(1)) ||
      !isDigit(code.charCodeAt(2)) || (sp1 + 4 < eol && text.charCodeAt(sp1 + 4) !== 32)
    ) {
      throw new HttpParseError("InvalidStartLine", 400, "invalid status code");
    }
    const status = Number(code);
    if (status < 100) throw new HttpParseError("InvalidStartLine", 400, "invalid status code");
    const reason = sp1 + 5 <= eol ? text.slice(sp1 + 5, eol) : "";
    for (let i = 0; i < reason.length; i++) {
      const c = reason.charCodeAt(i);
      if ((c < 32 && c !== 9) || c === 127) {
        throw new HttpParseError("InvalidStartLine", 400, "control character in reason phrase");
      }
    }
    const headers = new HttpHeaders();
    const framing = emptyFraming();
    if (eol < text.length) {
      parseFieldLines(text, eol + 2, headers, this.limits.maxHeaderCount, framing);
    }
    const method = this.#methods[0] ?? "GET";
    let bodyKind: BodyKind;
    let contentLength: number | null = null;
    let keepAlive = keepAliveOf(version, framing.connection);
    if (
      status < 200 || status === 204 || status === 304 || method === "HEAD" ||
      (method === "CONNECT" && status < 300)
    ) {
      bodyKind = "none";
      if (framing.contentLength !== null && method !== "HEAD" && status !== 304) {
        // A length on a bodiless status is meaningless; still refuse nonsense values.
        parseContentLength(framing.contentLength, Number.MAX_SAFE_INTEGER);
      }
    } else if (framing.transferEncoding !== null) {
      if (framing.contentLength !== null) {
        throw new HttpParseError(
          "InvalidTransferEncoding",
          400,
          "Content-Length together with Transfer-Encoding",
        );
      }
      if (checkTransferEncoding(framing.transferEncoding, false)) bodyKind = "chunked";
      else {
        bodyKind = "close";
        keepAlive = false;
      }
    } else if (framing.contentLength !== null) {
      contentLength = parseContentLength(framing.contentLength, this.limits.maxBodyBytes);
      bodyKind = "length";
    } else {
      bodyKind = "close";
      keepAlive = false;
    }
    return {
      version,
      status,
      reason,
      headers,
      keepAlive,
      bodyKind,
      contentLength,
      body: EMPTY,
      trailers: null,
    };
  }
}
