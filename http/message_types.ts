/**
 * The vocabulary of the HTTP/1.1 codec: the parsing limits, the parse error
 * with the status code to answer, the shapes of parsed heads and messages,
 * and the parser options.
 *
 * @example
 * ```ts
 * import { DEFAULT_HTTP_LIMITS, type HttpParserOptions } from "./message_types.ts";
 * const options: HttpParserOptions = { limits: { ...DEFAULT_HTTP_LIMITS, maxBodyBytes: 1024 } };
 * console.log(options.limits?.maxBodyBytes); // 1024
 * ```
 *
 * @module
 */
import { IoraError } from "../core/errors.ts";
import type { HttpHeaders } from "./headers.ts";

/** Size limits applied while parsing; every one has a safe default. */
export interface HttpLimits {
  /**
   * Maximum bytes of the start line plus header section (431 beyond it). Default 16 KiB.
   *
   * @default {16384}
   */
  maxHeaderBytes: number;
  /**
   * Maximum number of header (or trailer) fields (431 beyond it). Default 100.
   *
   * @default {100}
   */
  maxHeaderCount: number;
  /**
   * Maximum body bytes, decoded from chunks (413 beyond it). Default 10 MiB.
   *
   * @default {10485760}
   */
  maxBodyBytes: number;
  /**
   * Maximum length of the request target (414 beyond it). Default 8 KiB.
   *
   * @default {8192}
   */
  maxUriLength: number;
}

/** The default {@linkcode HttpLimits}. */
export const DEFAULT_HTTP_LIMITS: Readonly<HttpLimits> = Object.freeze({
  maxHeaderBytes: 16 * 1024,
  maxHeaderCount: 100,
  maxBodyBytes: 10 * 1024 * 1024,
  maxUriLength: 8 * 1024,
});

/** Stable codes of {@linkcode HttpParseError}. */
export type HttpParseErrorCode =
  | "InvalidStartLine"
  | "InvalidHeader"
  | "InvalidLineEnding"
  | "MissingHost"
  | "InvalidContentLength"
  | "InvalidTransferEncoding"
  | "UnsupportedTransferEncoding"
  | "InvalidChunk"
  | "UnsupportedVersion"
  | "UriTooLong"
  | "HeaderTooLarge"
  | "BodyTooLarge"
  | "IncompleteMessage";

/**
 * A message that cannot be parsed. `status` is the response a server
 * should send (400, 413, 414, 431, 501 or 505) before closing the
 * connection.
 *
 * @example
 * ```ts
 * import { HttpParseError } from "./message.ts";
 * const e = new HttpParseError("MissingHost", 400, "HTTP/1.1 request without Host");
 * console.log(e.code, e.status);
 * ```
 */
export class HttpParseError extends IoraError {
  /** The HTTP status a server answers with. */
  readonly status: number;
  /** The stable identifier of the failure. */
  declare readonly code: HttpParseErrorCode;

  /**
   * Creates the error.
   *
   * @param code stable identifier of the failure
   * @param status HTTP status code to answer with
   * @param message human-readable description
   */
  constructor(code: HttpParseErrorCode, status: number, message: string) {
    super(code, message);
    this.status = status;
  }
}

/** How the length of a message body is determined (RFC 9112 section 6.3). */
export type BodyKind = "none" | "length" | "chunked" | "close";

/** What every parsed message head has. */
export interface HttpHeadBase {
  /** `"1.1"` or `"1.0"`. */
  version: "1.0" | "1.1";
  /** The header fields. */
  headers: HttpHeaders;
  /** True when the connection may carry another message after this one. */
  keepAlive: boolean;
  /** How the body's length is determined. */
  bodyKind: BodyKind;
  /** The declared `Content-Length`, or null. */
  contentLength: number | null;
}

/** A parsed request head. */
export interface HttpRequestHead extends HttpHeadBase {
  /** The method, case-sensitive (`GET`). */
  method: string;
  /** The request target as sent (`/path?query`, or absolute-form). */
  target: string;
  /** True for `Expect: 100-continue`. */
  expectContinue: boolean;
  /** An `Expect` value other than `100-continue` (a server answers 417), else null. */
  unsupportedExpect: string | null;
}

/** A parsed response head. */
export interface HttpResponseHead extends HttpHeadBase {
  /** The status code. */
  status: number;
  /** The reason phrase (may be empty). */
  reason: string;
}

/** The parts every complete message has beyond its head. */
export interface HttpMessageBody {
  /** The body (decoded from chunks), empty when streamed through `onBody`. */
  body: Uint8Array;
  /** Trailer fields of a chunked body, or null. */
  trailers: HttpHeaders | null;
}

/** A complete request. */
export type HttpRequestMessage = HttpRequestHead & HttpMessageBody;
/** A complete response. */
export type HttpResponseMessage = HttpResponseHead & HttpMessageBody;

/** Options of the parsers. */
export interface HttpParserOptions {
  /** Size limits; missing fields take {@linkcode DEFAULT_HTTP_LIMITS}. */
  limits?: Partial<HttpLimits>;
  /**
   * When set, body bytes are handed to this callback as they arrive instead
   * of being buffered (`maxBodyBytes` still applies). The chunk is only valid
   * during the call.
   */
  onBody?: (chunk: Uint8Array) => void;
}
