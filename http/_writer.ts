/**
 * The bytes `WebhookServer` writes: each response laid out in one buffer
 * (the cached status line, the fields, the framing, then the body), small
 * ones carved out of a shared slab; the head of a streamed response; and the
 * refusals the server sends before any handler runs.
 *
 * @module
 */
import { type HttpHeaders, STATUS_TEXT } from "./message.ts";
import { type HeaderInternals, HEADERS } from "./_headers_access.ts";

const HEADER_TABLE = HEADERS as HeaderInternals<HttpHeaders>;
const ENCODER = new TextEncoder();

const EMPTY: Uint8Array = new Uint8Array(0);
/** The interim response to `Expect: 100-continue`. */
export const CONTINUE: Uint8Array = ENCODER.encode("HTTP/1.1 100 Continue\r\n\r\n");
/** String bodies up to this length are checked and copied in JS; longer ones take the encoder. */
const SHORT_TEXT = 2048;
const STATUS_LINES: Uint8Array[] = [];
const CONTENT_LENGTH = ENCODER.encode("content-length: ");
const CONNECTION_CLOSE = ENCODER.encode("connection: close\r\n");
const KEEP_ALIVE = ENCODER.encode("connection: keep-alive\r\n");
/** Responses up to this size are carved out of a shared slab instead of allocated each. */
const SLAB_PIECE = 4096;
const SLAB_SIZE = 64 * 1024;

// Writes `s` (code units <= 255, as validated by HttpHeaders) as latin1 bytes.
function writeLatin1(s: string, out: Uint8Array, at: number): number {
  for (let i = 0; i < s.length; i++) out[at + i] = s.charCodeAt(i);
  return at + s.length;
}

// Small copies in a loop: cheaper than TypedArray.prototype.set's checks at these sizes.
function copyBytes(src: Uint8Array, out: Uint8Array, at: number): number {
  if (src.length > 64) {
    out.set(src, at);
    return at + src.length;
  }
  for (let i = 0; i < src.length; i++) out[at++] = src[i];
  return at;
}

function decimalLength(n: number): number {
  let digits = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    digits++;
  }
  return digits;
}

function writeDecimal(n: number, digits: number, out: Uint8Array, at: number): void {
  for (let i = at + digits - 1; i >= at; i--) {
    out[i] = 48 + n % 10;
    n = Math.floor(n / 10);
  }
}

// Copies `s` as bytes while every code unit is ASCII; false at the first that is not.
function writeAscii(s: string, out: Uint8Array, at: number): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 127) return false;
    out[at + i] = c;
  }
  return true;
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 127) return false;
  return true;
}

// The status line's bytes, built once per status code.
function statusLine(status: number): Uint8Array {
  let line = STATUS_LINES[status];
  if (line === undefined) {
    const text = `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Unknown"}\r\n`;
    line = new Uint8Array(text.length);
    writeLatin1(text, line, 0);
    STATUS_LINES[status] = line;
  }
  return line;
}

/** Serializes one server's responses; owns its slab and its cached `Date` field. */
export class ResponseWriter {
  readonly #dateHeader: boolean;
  #date = "";
  #dateBytes: Uint8Array = EMPTY;
  #slab: Uint8Array = EMPTY;
  #slabUsed = 0;

  /** @param dateHeader whether responses carry a `Date` field */
  constructor(dateHeader: boolean) {
    this.#dateHeader = dateHeader;
  }

  /** Takes the clock's time as the `Date` of the responses written from now on. */
  updateDate(): void {
    this.#date = `date: ${new Date().toUTCString()}\r\n`;
    this.#dateBytes = ENCODER.encode(this.#date);
  }

  /**
   * A complete response with its body (none for `bodiless` statuses or a HEAD request) in one
   * buffer. `keepAlive` false adds `connection: close`; an HTTP/1.0 client that keeps the
   * connection gets `connection: keep-alive`.
   */
  response(
    status: number,
    headers: HttpHeaders,
    content: Uint8Array | string | null,
    bodiless: boolean,
    isHead: boolean,
    keepAlive: boolean,
    http10: boolean,
  ): Uint8Array {
    // HEAD without a body: the length the handler declares (a fetch app answering HEAD), or
    // none, rather than a zero the GET response would contradict (RFC 9110 section 8.6).
    let noLength = bodiless;
    let declared = -1;
    if (isHead && content === null && !bodiless) {
      const value = headers.get("content-length");
      if (value !== null && /^[0-9]{1,15}$/.test(value)) declared = Number(value);
      else noLength = true;
    }
    // One buffer per response, written in place: the cached status line, the fields (latin1:
    // HttpHeaders allows no code unit above 255), the framing, then the body. A short ASCII
    // text body is copied in the same pass; anything else goes through the encoder.
    let text: string | null = null;
    let body: Uint8Array = EMPTY;
    if (!bodiless && content !== null) {
      const b = content;
      if (typeof b !== "string") body = b;
      else if (b.length <= SHORT_TEXT && (!isHead || isAscii(b))) text = b;
      else body = ENCODER.encode(b);
    }
    let out: Uint8Array;
    for (;;) {
      const length = declared >= 0 ? declared : text !== null ? text.length : body.length;
      const line = statusLine(status);
      const digits = noLength ? 0 : decimalLength(length);
      // Date is a singleton field: a handler's own (a proxied response's) replaces ours.
      const date = this.#dateHeader && !headers.has("date") ? this.#dateBytes : EMPTY;
      const connection = !keepAlive ? CONNECTION_CLOSE : http10 ? KEEP_ALIVE : EMPTY;
      const headEnd = line.length + HEADER_TABLE.lengthExceptFraming(headers) +
        (noLength ? 0 : CONTENT_LENGTH.length + digits + 2) + date.length + connection.length + 2;
      out = this.#allocate(isHead ? headEnd : headEnd + length);
      if (!isHead) {
        // Text is assumed ASCII and copied in the same pass that checks it; on the first
        // other character it goes through the encoder and the layout starts over.
        if (text !== null) {
          if (!writeAscii(text, out, headEnd)) {
            body = ENCODER.encode(text);
            text = null;
            continue;
          }
        } else if (length > 0) out.set(body, headEnd);
      }
      let at = copyBytes(line, out, 0);
      at = HEADER_TABLE.writeExceptFraming(headers, out, at);
      if (!noLength) {
        at = copyBytes(CONTENT_LENGTH, out, at);
        writeDecimal(length, digits, out, at);
        at += digits;
        out[at++] = 13;
        out[at++] = 10;
      }
      at = copyBytes(date, out, at);
      at = copyBytes(connection, out, at);
      out[at++] = 13;
      out[at++] = 10;
      break;
    }
    return out;
  }

  /** The head of a streamed response: chunked, or (HTTP/1.0) ended by the close. */
  streamHead(
    status: number,
    headers: HttpHeaders,
    chunked: boolean,
    keepAlive: boolean,
  ): Uint8Array {
    let head = `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Unknown"}\r\n` +
      HEADER_TABLE.serializeExceptFraming(headers);
    if (chunked) head += "transfer-encoding: chunked\r\n";
    if (this.#dateHeader && !headers.has("date")) head += this.#date;
    if (!keepAlive) head += "connection: close\r\n";
    head += "\r\n";
    const headBytes = new Uint8Array(head.length);
    writeLatin1(head, headBytes, 0);
    return headBytes;
  }

  /** A refusal with a JSON body `{error, code}` (and a `Retry-After`), closing the connection. */
  error(status: number, code: string, message: string, retryAfterSeconds?: number): Uint8Array {
    const body = ENCODER.encode(JSON.stringify({ error: message, code }));
    const head = `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Error"}\r\n` +
      `content-type: application/json\r\ncontent-length: ${body.length}\r\n` +
      (retryAfterSeconds === undefined ? "" : `retry-after: ${retryAfterSeconds}\r\n`) +
      `${this.#dateHeader ? this.#date : ""}connection: close\r\n\r\n`;
    const out = new Uint8Array(head.length + body.length);
    writeLatin1(head, out, 0);
    out.set(body, head.length);
    return out;
  }

  // A buffer for one response. Small ones are views of a shared slab: a region once handed out
  // is never written again (the transport owns it), and a view costs no allocation of its own.
  #allocate(size: number): Uint8Array {
    if (size > SLAB_PIECE) return new Uint8Array(size);
    let used = this.#slabUsed;
    if (SLAB_SIZE - used < size || this.#slab === EMPTY) {
      this.#slab = new Uint8Array(SLAB_SIZE);
      used = 0;
    }
    this.#slabUsed = used + size;
    return this.#slab.subarray(used, used + size);
  }
}
