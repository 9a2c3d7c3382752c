/**
 * `HttpRequestParser`: the incremental, strict HTTP/1.1 request parser.
 *
 * @example
 * ```ts
 * import { HttpRequestParser } from "./request_parser.ts";
 * const parser = new HttpRequestParser();
 * parser.push(new TextEncoder().encode("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"));
 * console.log(parser.next()?.target); // /a
 * ```
 *
 * @module
 */
import { HttpHeaders } from "./headers.ts";
import { HttpParserBase } from "./parser_base.ts";
import { isToken } from "./_fields.ts";
import {
  checkTransferEncoding,
  emptyFraming,
  isValidHost,
  keepAliveOf,
  knownMethod,
  parseContentLength,
  parseFieldLines,
  parseVersion,
} from "./_message_syntax.ts";
import {
  type BodyKind,
  HttpParseError,
  type HttpParserOptions,
  type HttpRequestHead,
  type HttpRequestMessage,
} from "./message_types.ts";

const EMPTY = new Uint8Array(0);

/**
 * The incremental request parser. Feed it bytes with `push`, take complete
 * requests with `next` (pipelined requests come out one by one).
 *
 * @example
 * ```ts
 * import { HttpRequestParser } from "./request_parser.ts";
 * const p = new HttpRequestParser({ limits: { maxBodyBytes: 1024 } });
 * const bytes = new TextEncoder().encode(
 *   "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi",
 * );
 * p.push(bytes.subarray(0, 10));
 * console.log(p.next()); // null: more bytes needed
 * p.push(bytes.subarray(10));
 * console.log(new TextDecoder().decode(p.next()!.body)); // "hi"
 * ```
 */
export class HttpRequestParser extends HttpParserBase<HttpRequestHead> {
  /**
   * Creates a parser.
   *
   * @param options limits and body streaming
   */
  constructor(options?: HttpParserOptions) {
    super(options);
  }

  /** Always true: this parser reads requests. */
  protected get isRequest(): boolean {
    return true;
  }

  /**
   * The next complete request, or null when more bytes are needed.
   * Throws {@linkcode HttpParseError}; the parser then stays failed.
   */
  next(): HttpRequestMessage | null {
    return this.nextMessage();
  }

  /** Ends the stream: null when idle, else throws `IncompleteMessage`. */
  finish(): HttpRequestMessage | null {
    return this.finishMessage();
  }

  /** Parses a request head. */
  protected parseHead(text: string): HttpRequestMessage {
    const limits = this.limits;
    let eol = text.indexOf("\r\n");
    if (eol < 0) eol = text.length;
    const sp1 = text.indexOf(" ");
    const sp2 = sp1 < 0 ? -1 : text.indexOf(" ", sp1 + 1);
    if (sp1 <= 0 || sp2 < 0 || sp2 >= eol) {
      throw new HttpParseError("InvalidStartLine", 400, "malformed request line");
    }
    const method = knownMethod(text, sp1) ?? text.slice(0, sp1);
    if (!isToken(method)) throw new HttpParseError("InvalidStartLine", 400, "invalid method");
    if (sp2 - sp1 - 1 > limits.maxUriLength) {
      throw new HttpParseError("UriTooLong", 414, `request target exceeds ${limits.maxUriLength}`);
    }
    const target = text.slice(sp1 + 1, sp2);
    if (target.length === 0) throw new HttpParseError("InvalidStartLine", 400, "empty target");
    for (let i = 0; i < target.length; i++) {
      const c = target.charCodeAt(i);
      // A fragment is never sent (RFC 9112 3.2): '#' in a target is an error, not a delimiter.
      if (c <= 32 || c >= 127 || c === 35) {
        throw new HttpParseError("InvalidStartLine", 400, "invalid character in request target");
      }
    }
    const first = target.charCodeAt(0);
    if (
      first !== 47 && !(target === "*" && method === "OPTIONS") &&
      !(method === "CONNECT") && !/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(target)
    ) {
      throw new HttpParseError("InvalidStartLine", 400, "invalid request target form");
    }
    const version = eol - sp2 === 9 && text.startsWith("HTTP/1.1", sp2 + 1)
      ? "1.1"
      : parseVersion(text.slice(sp2 + 1, eol), "request line");
    const headers = new HttpHeaders();
    const framing = emptyFraming();
    if (eol < text.length) {
      parseFieldLines(text, eol + 2, headers, limits.maxHeaderCount, framing);
    }
    if (framing.host > 1) throw new HttpParseError("InvalidHeader", 400, "more than one Host");
    if (framing.host === 1 && !isValidHost(framing.hostValue)) {
      // RFC 9112 section 3.2: a Host with an invalid value gets 400.
      throw new HttpParseError("InvalidHeader", 400, "Host is not a valid uri-host[:port]");
    }
    if (framing.host === 0 && version === "1.1") {
      throw new HttpParseError("MissingHost", 400, "HTTP/1.1 request without Host");
    }
    let bodyKind: BodyKind = "none";
    let contentLength: number | null = null;
    if (framing.transferEncoding !== null) {
      if (framing.contentLength !== null) {
        throw new HttpParseError(
          "InvalidTransferEncoding",
          400,
          "Content-Length together with Transfer-Encoding",
        );
      }
      if (version === "1.0") {
        throw new HttpParseError("InvalidTransferEncoding", 400, "Transfer-Encoding in HTTP/1.0");
      }
      checkTransferEncoding(framing.transferEncoding, true);
      bodyKind = "chunked";
    } else if (framing.contentLength !== null) {
      contentLength = parseContentLength(framing.contentLength, limits.maxBodyBytes);
      bodyKind = "length";
    }
    let expectContinue = false;
    let unsupportedExpect: string | null = null;
    if (framing.expect !== null) {
      if (framing.expect.toLowerCase() === "100-continue") expectContinue = version === "1.1";
      else unsupportedExpect = framing.expect;
    }
    return {
      method,
      target,
      version,
      headers,
      keepAlive: keepAliveOf(version, framing.connection),
      bodyKind,
      contentLength,
      expectContinue,
      unsupportedExpect,
      body: EMPTY,
      trailers: null,
    };
  }
}
