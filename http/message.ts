/**
 * The HTTP/1.1 message codec (RFC 9110 / RFC 9112): incremental, strict
 * parsers for requests and responses, a header collection, and head
 * serializers. Shared by the server and the client.
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
import { IoraError } from "../core/errors.ts";
import { type HeaderInternals, HEADERS } from "./_headers_access.ts";

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

/**
 * An ordered, case-insensitive multimap of header fields. Names are kept
 * lower-cased. `get` combines repeated fields with `", "` as RFC 9110
 * section 5.3 allows, except `set-cookie`, which must stay apart
 * (`getSetCookie`).
 *
 * @example
 * ```ts
 * import { HttpHeaders } from "./message.ts";
 * const h = new HttpHeaders({ "Content-Type": "text/plain" });
 * h.append("Accept", "a");
 * h.append("accept", "b");
 * console.log(h.get("content-type"), h.get("ACCEPT")); // text/plain a, b
 * ```
 */
export class HttpHeaders implements Iterable<[string, string]> {
  #names: string[] = [];
  #values: string[] = [];

  /**
   * Creates the collection, validating every field.
   *
   * @param init initial fields, as pairs or a record
   */
  constructor(init?: Iterable<readonly [string, string]> | Record<string, string>) {
    if (init === undefined) return;
    if (Symbol.iterator in init) {
      for (const [name, value] of init as Iterable<readonly [string, string]>) {
        this.append(name, value);
      }
    } else {
      for (const name of Object.keys(init)) {
        this.append(name, (init as Record<string, string>)[name]);
      }
    }
  }

  /** Number of fields (repeated fields count once each). */
  get size(): number {
    return this.#names.length;
  }

  /** The combined value of every field called `name`, or null. */
  get(name: string): string | null {
    const lower = name.toLowerCase();
    const names = this.#names;
    let result: string | null = null;
    for (let i = 0; i < names.length; i++) {
      if (names[i] === lower) {
        result = result === null ? this.#values[i] : `${result}, ${this.#values[i]}`;
      }
    }
    return result;
  }

  /** Every value of the fields called `name`, in order. */
  getAll(name: string): string[] {
    const lower = name.toLowerCase();
    const out: string[] = [];
    for (let i = 0; i < this.#names.length; i++) {
      if (this.#names[i] === lower) out.push(this.#values[i]);
    }
    return out;
  }

  /** Every `set-cookie` value, never combined. */
  getSetCookie(): string[] {
    return this.getAll("set-cookie");
  }

  /** True when at least one field is called `name`. */
  has(name: string): boolean {
    return this.#names.indexOf(name.toLowerCase()) !== -1;
  }

  /**
   * Adds a field. Throws a `TypeError` for a name that is not a token or a
   * value holding a control character other than tab (CR or LF would let data
   * split the message) or a character above U+00FF.
   */
  append(name: string, value: string): void {
    const lower = validateFieldName(name);
    this.#names.push(lower);
    this.#values.push(validateFieldValue(value));
  }

  /** Replaces every field called `name` with one field. */
  set(name: string, value: string): void {
    this.#setLower(validateFieldName(name), value);
  }

  static {
    const table = HEADERS as HeaderInternals<HttpHeaders>;
    table.setLower = (h, lower, value) => h.#setLower(lower, value);
    table.setTrusted = (h, lower, value) => h.#setTrusted(lower, value);
    table.appendTrusted = (h, lower, value) => h.#appendTrusted(lower, value);
    table.serializeExceptFraming = (h) => h.#serializeExceptFraming();
    table.lengthExceptFraming = (h) => h.#lengthExceptFraming();
    table.writeExceptFraming = (h, out, at) => h.#writeExceptFraming(out, at);
  }

  // `set` for a name known to be a lower-case token; the value is still validated.
  #setLower(lower: string, value: string): void {
    const v = validateFieldValue(value);
    this.#remove(lower);
    this.#names.push(lower);
    this.#values.push(v);
  }

  // `set` for a field the caller knows is valid (a constant).
  #setTrusted(lower: string, value: string): void {
    this.#remove(lower);
    this.#names.push(lower);
    this.#values.push(value);
  }

  /** Removes every field called `name`. */
  delete(name: string): void {
    this.#remove(name.toLowerCase());
  }

  #remove(lower: string): void {
    const names = this.#names;
    const values = this.#values;
    const first = names.indexOf(lower);
    if (first === -1) return;
    let j = first;
    for (let i = first; i < names.length; i++) {
      if (names[i] !== lower) {
        names[j] = names[i];
        values[j] = values[i];
        j++;
      }
    }
    names.length = j;
    values.length = j;
  }

  // Adds a field the parser already validated (lower-cased name).
  #appendTrusted(lowerName: string, value: string): void {
    this.#names.push(lowerName);
    this.#values.push(value);
  }

  /** The fields as `[lowerName, value]` pairs, repeated fields separately. */
  *entries(): IterableIterator<[string, string]> {
    for (let i = 0; i < this.#names.length; i++) yield [this.#names[i], this.#values[i]];
  }

  /** Same as {@linkcode HttpHeaders.entries}. */
  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }

  // The fields as `name: value` lines (CRLF-terminated), leaving out the framing fields the
  // server writes itself.
  #serializeExceptFraming(): string {
    let out = "";
    const names = this.#names;
    for (let i = 0; i < names.length; i++) {
      const name = names[i];
      if (!isFramingField(name)) out += `${name}: ${this.#values[i]}\r\n`;
    }
    return out;
  }

  // The byte length of `#writeExceptFraming`'s output.
  #lengthExceptFraming(): number {
    let n = 0;
    const names = this.#names;
    for (let i = 0; i < names.length; i++) {
      const name = names[i];
      if (!isFramingField(name)) n += name.length + this.#values[i].length + 4;
    }
    return n;
  }

  // Writes the `#serializeExceptFraming` lines as latin1 bytes into `out` at `at` (every code
  // unit is at most 255: `append` and `set` refuse others); returns the end offset.
  #writeExceptFraming(out: Uint8Array, at: number): number {
    const names = this.#names;
    for (let i = 0; i < names.length; i++) {
      const name = names[i];
      if (isFramingField(name)) continue;
      for (let k = 0; k < name.length; k++) out[at++] = name.charCodeAt(k);
      out[at++] = 58;
      out[at++] = 32;
      const value = this.#values[i];
      for (let k = 0; k < value.length; k++) out[at++] = value.charCodeAt(k);
      out[at++] = 13;
      out[at++] = 10;
    }
    return at;
  }

  /** Calls `fn` for every field, without allocating an iterator. */
  forEach(fn: (value: string, name: string) => void): void {
    for (let i = 0; i < this.#names.length; i++) fn(this.#values[i], this.#names[i]);
  }

  /** Copies the fields into a standard `Headers`. */
  toHeaders(): Headers {
    const h = new Headers();
    for (let i = 0; i < this.#names.length; i++) h.append(this.#names[i], this.#values[i]);
    return h;
  }
}

const HEADER_TABLE = HEADERS as HeaderInternals<HttpHeaders>;

// The fields a server or client writes itself from the message's framing.
function isFramingField(lower: string): boolean {
  return lower === "content-length" || lower === "transfer-encoding" || lower === "connection";
}

// Token characters (RFC 9110 section 5.6.2), indexed by char code.
const TOKEN = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") {
  TOKEN[c.charCodeAt(0)] = 1;
}

/** True when `s` is a non-empty RFC 9110 token. */
export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || TOKEN[c] === 0) return false;
  }
  return true;
}

function validateFieldName(name: string): string {
  if (!isToken(name)) throw new TypeError(`invalid header name: ${JSON.stringify(name)}`);
  return name.toLowerCase();
}

function validateFieldValue(value: string): string {
  const v = String(value);
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    // The field-value rule of RFC 9110 5.5 (the parser holds received fields to the same).
    if ((c < 32 && c !== 9) || c === 127 || c > 255) {
      throw new TypeError(`invalid header value: ${JSON.stringify(v)}`);
    }
  }
  return trimOws(v);
}

function trimOws(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && (s.charCodeAt(a) === 32 || s.charCodeAt(a) === 9)) a++;
  while (b > a && (s.charCodeAt(b - 1) === 32 || s.charCodeAt(b - 1) === 9)) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
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

const EMPTY = new Uint8Array(0);
const ASCII = new TextDecoder();

const enum State {
  Head,
  Length,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  UntilClose,
  Failed,
}

// Decodes header bytes as latin1 so obs-text octets survive unchanged.
function latin1(bytes: Uint8Array, start: number, end: number): string {
  let ascii = true;
  for (let i = start; i < end; i++) {
    if (bytes[i] >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return ASCII.decode(bytes.subarray(start, end));
  let out = "";
  for (let i = start; i < end; i += 4096) {
    out += String.fromCharCode.apply(
      null,
      bytes.subarray(i, Math.min(end, i + 4096)) as unknown as number[],
    );
  }
  return out;
}

/**
 * What the request and response parsers share: buffering, framing of
 * bodies (length, chunked, until close) and the limits. Use
 * {@linkcode HttpRequestParser} or {@linkcode HttpResponseParser}.
 *
 * @example
 * ```ts
 * import { HttpParserBase, HttpRequestParser } from "./message.ts";
 * const p: HttpParserBase<import("./message.ts").HttpRequestHead> = new HttpRequestParser();
 * console.log(p.idle); // true
 * ```
 */
export abstract class HttpParserBase<Head extends HttpHeadBase> {
  /** The effective limits. */
  protected readonly limits: HttpLimits;
  readonly #onBody: ((chunk: Uint8Array) => void) | undefined;
  #buf: Uint8Array = EMPTY;
  /** True when #buf was allocated here (its bytes past #len may be written); false for a caller's chunk. */
  #owned = false;
  #pos = 0;
  #len = 0;
  #scan = 0; // where the search for the end of the head resumes, relative to #pos
  #state: State = State.Head;
  #error: HttpParseError | null = null;
  #head: (Head & HttpMessageBody) | null = null;
  #remaining = 0; // bytes left in a Content-Length body or in a chunk
  /**
   * The body received so far: bytes [0, #bodyBytes). One buffer grown by doubling, never a list
   * of pieces: a chunked body of one-byte chunks would otherwise cost an object per byte
   * (a 4 MB body held 1.7 GB).
   */
  #acc: Uint8Array = EMPTY;
  #bodyBytes = 0;

  /**
   * Creates a parser.
   *
   * @param options limits and body streaming
   */
  constructor(options: HttpParserOptions = {}) {
    this.limits = { ...DEFAULT_HTTP_LIMITS, ...options.limits };
    this.#onBody = options.onBody;
  }

  /** Appends received bytes. The parser may keep a reference to `chunk`. */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    if (this.#pos === this.#len) {
      this.#buf = chunk;
      this.#pos = 0;
      this.#len = chunk.length;
      this.#owned = false;
      return;
    }
    if (this.#owned && this.#buf.length - this.#len >= chunk.length) {
      // Room left in a buffer of ours: append in place, so bytes trickling in (a slow head,
      // requests pipelined behind a busy handler) cost linear time, not a copy of all per push.
      this.#buf.set(chunk, this.#len);
      this.#len += chunk.length;
      return;
    }
    const pending = this.#len - this.#pos;
    const next = new Uint8Array(Math.max(pending + chunk.length, pending * 2));
    next.set(this.#buf.subarray(this.#pos, this.#len), 0);
    next.set(chunk, pending);
    this.#buf = next;
    this.#pos = 0;
    this.#len = pending + chunk.length;
    this.#owned = true;
  }

  /** Bytes received but not yet consumed by a complete message. */
  get bufferedBytes(): number {
    return this.#len - this.#pos;
  }

  /** The head of the message whose body is still arriving, or null. */
  get pendingHead(): Head | null {
    return this.#state === State.Head ? null : this.#head;
  }

  /** True when no message is in progress (nothing buffered, waiting for a head). */
  get idle(): boolean {
    return this.#state === State.Head && this.#pos === this.#len;
  }

  /** The error that stopped the parser, or null. */
  get error(): HttpParseError | null {
    return this.#error;
  }

  /** Parses the head once its bytes are complete (subclass hook). */
  /**
   * Parses a head. The result already has the body fields (`body`, `trailers`) that completing
   * the message fills in, so the object keeps one shape from creation on.
   */
  protected abstract parseHead(text: string): Head & HttpMessageBody;

  /** Throws an {@linkcode HttpParseError}. */
  protected fail(code: HttpParseErrorCode, status: number, message: string): never {
    throw new HttpParseError(code, status, message);
  }

  /**
   * The next complete message, or null when more bytes are needed. Throws
   * {@linkcode HttpParseError} on bad input; after that the parser stays
   * failed and the connection must be closed.
   */
  protected nextMessage(): (Head & HttpMessageBody) | null {
    if (this.#error) throw this.#error;
    try {
      return this.#step();
    } catch (e) {
      if (e instanceof HttpParseError) {
        this.#error = e;
        this.#state = State.Failed;
      }
      throw e;
    }
  }

  /**
   * Signals the end of the stream: completes a body delimited by the
   * connection's close, returns null when idle, and throws
   * `IncompleteMessage` when a message was cut short.
   */
  protected finishMessage(): (Head & HttpMessageBody) | null {
    if (this.#error) throw this.#error;
    if (this.#state === State.UntilClose) {
      const msg = this.#complete(null);
      return msg;
    }
    if (this.#state === State.Head && this.#pos === this.#len) return null;
    const e = new HttpParseError("IncompleteMessage", 400, "connection closed mid-message");
    this.#error = e;
    this.#state = State.Failed;
    throw e;
  }

  #step(): (Head & HttpMessageBody) | null {
    for (;;) {
      switch (this.#state) {
        case State.Head: {
          const end = this.#findHeadEnd();
          if (end < 0) return null;
          const start = this.#pos;
          const head = this.parseHead(latin1(this.#buf, start, end));
          this.#pos = end + 4;
          this.#scan = 0;
          this.#head = head;
          this.#bodyBytes = 0;
          if (head.bodyKind === "none") return this.#complete(null);
          if (head.bodyKind === "length") {
            this.#remaining = head.contentLength!;
            if (this.#remaining === 0) return this.#complete(null);
            this.#state = State.Length;
          } else if (head.bodyKind === "chunked") {
            this.#state = State.ChunkSize;
          } else {
            this.#state = State.UntilClose;
          }
          break;
        }
        case State.Length: {
          const avail = this.#len - this.#pos;
          if (avail === 0) return null;
          const n = avail < this.#remaining ? avail : this.#remaining;
          this.#take(n);
          this.#remaining -= n;
          if (this.#remaining > 0) return null;
          return this.#complete(null);
        }
        case State.ChunkSize: {
          const buf = this.#buf;
          const lf = buf.indexOf(10, this.#pos);
          if (lf < 0 || lf >= this.#len) {
            if (this.#len - this.#pos > 4096) {
              this.fail("InvalidChunk", 400, "chunk size line too long");
            }
            return null;
          }
          if (lf - this.#pos > 4096) this.fail("InvalidChunk", 400, "chunk size line too long");
          if (lf === this.#pos || buf[lf - 1] !== 13) {
            this.fail("InvalidLineEnding", 400, "chunk size line must end with CRLF");
          }
          const size = this.#parseChunkSize(this.#pos, lf - 1);
          this.#pos = lf + 1;
          if (size === 0) {
            this.#state = State.Trailers;
          } else {
            if (this.#bodyBytes + size > this.limits.maxBodyBytes) {
              this.fail("BodyTooLarge", 413, `body exceeds ${this.limits.maxBodyBytes} bytes`);
            }
            this.#remaining = size;
            this.#state = State.ChunkData;
          }
          break;
        }
        case State.ChunkData: {
          const avail = this.#len - this.#pos;
          if (avail === 0) return null;
          const n = avail < this.#remaining ? avail : this.#remaining;
          this.#take(n);
          this.#remaining -= n;
          if (this.#remaining > 0) return null;
          this.#state = State.ChunkDataEnd;
          break;
        }
        case State.ChunkDataEnd: {
          if (this.#len - this.#pos < 2) {
            if (this.#len > this.#pos && this.#buf[this.#pos] !== 13) {
              this.fail("InvalidChunk", 400, "chunk data not followed by CRLF");
            }
            return null;
          }
          if (this.#buf[this.#pos] !== 13 || this.#buf[this.#pos + 1] !== 10) {
            this.fail("InvalidChunk", 400, "chunk data not followed by CRLF");
          }
          this.#pos += 2;
          this.#state = State.ChunkSize;
          break;
        }
        case State.Trailers: {
          // The trailer section is empty (CRLF) or field lines ending in CRLFCRLF.
          if (this.#len - this.#pos < 2) return null;
          if (this.#buf[this.#pos] === 13 && this.#buf[this.#pos + 1] === 10) {
            this.#pos += 2;
            return this.#complete(null);
          }
          const end = this.#findHeadEnd(true);
          if (end < 0) return null;
          const trailers = new HttpHeaders();
          const text = latin1(this.#buf, this.#pos, end);
          parseFieldLines(text, 0, trailers, this.limits.maxHeaderCount, null);
          this.#pos = end + 4;
          this.#scan = 0;
          return this.#complete(trailers);
        }
        case State.UntilClose: {
          const avail = this.#len - this.#pos;
          if (avail > 0) {
            if (this.#bodyBytes + avail > this.limits.maxBodyBytes) {
              this.fail("BodyTooLarge", 413, `body exceeds ${this.limits.maxBodyBytes} bytes`);
            }
            this.#take(avail);
          }
          return null;
        }
        case State.Failed:
          throw this.#error;
      }
    }
  }

  #take(n: number): void {
    const chunk = this.#buf.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    const used = this.#bodyBytes;
    this.#bodyBytes = used + n;
    if (this.#onBody) {
      this.#onBody(chunk);
      return;
    }
    const acc = this.#acc;
    if (used === 0) {
      // Most bodies arrive in one piece: an exact copy, as before.
      this.#acc = chunk.slice();
      return;
    }
    if (acc.length - used < n) {
      // Never beyond the declared length (nor the limit): a Content-Length body ends up exact.
      const cap = this.#head!.bodyKind === "length"
        ? this.#head!.contentLength!
        : this.limits.maxBodyBytes;
      const grown = new Uint8Array(Math.max(used + n, Math.min(acc.length * 2, cap)));
      grown.set(acc.subarray(0, used), 0);
      grown.set(chunk, used);
      this.#acc = grown;
      return;
    }
    acc.set(chunk, used);
  }

  #complete(trailers: HttpHeaders | null): Head & HttpMessageBody {
    const head = this.#head!;
    let body: Uint8Array = EMPTY;
    const acc = this.#acc;
    if (acc !== EMPTY) {
      const used = this.#bodyBytes;
      // Growth by doubling may leave up to half unused: give back what is worth a copy.
      body = acc.length === used
        ? acc
        : acc.length - used > used >>> 2
        ? acc.slice(0, used)
        : acc.subarray(0, used);
      this.#acc = EMPTY;
    }
    this.#head = null;
    this.#state = State.Head;
    head.body = body;
    head.trailers = trailers;
    return head;
  }

  // Returns the index of the CRLFCRLF ending the head (or trailer section), or -1.
  #findHeadEnd(trailers = false): number {
    const buf = this.#buf;
    const limit = this.#len;
    if (!trailers) {
      // RFC 9112 section 2.2: ignore at least one empty line before a request line.
      let skipped = 0;
      while (
        this.#pos + 1 < limit && buf[this.#pos] === 13 && buf[this.#pos + 1] === 10 &&
        skipped < 4
      ) {
        this.#pos += 2;
        this.#scan = this.#scan > 2 ? this.#scan - 2 : 0;
        skipped++;
      }
    }
    // A plain loop: heads are short, and a builtin call per line costs more than the bytes.
    const pos = this.#pos;
    for (let lf = pos + this.#scan; lf < limit; lf++) {
      if (buf[lf] !== 10) continue;
      if (lf === pos || buf[lf - 1] !== 13) {
        this.fail("InvalidLineEnding", 400, "line ending is a bare LF");
      }
      if (lf - 3 >= pos && buf[lf - 2] === 10 && buf[lf - 3] === 13) {
        if (lf + 1 - pos > this.limits.maxHeaderBytes) this.#tooLarge(lf, trailers);
        return lf - 3;
      }
    }
    this.#scan = limit - this.#pos;
    const pending = limit - this.#pos;
    if (pending > this.limits.maxHeaderBytes) this.#tooLarge(limit, trailers);
    if (!trailers && this.isRequest && pending > this.limits.maxUriLength + 64) {
      // A request line longer than any allowed target cannot become valid: answer early.
      const lf = buf.indexOf(10, this.#pos);
      if (lf < 0 || lf >= limit) this.#tooLarge(limit, false);
    }
    return -1;
  }

  #tooLarge(upTo: number, trailers: boolean): never {
    const buf = this.#buf;
    const lf = buf.indexOf(10, this.#pos);
    if (!trailers && this.isRequest) {
      if (lf < 0 || lf >= upTo) this.fail("UriTooLong", 414, "request line too long");
      // The request line is complete: its target (between the first and the last space) may be
      // what is too long, which is 414, not 431.
      const sp1 = buf.indexOf(32, this.#pos);
      const sp2 = buf.lastIndexOf(32, lf);
      if (sp1 >= 0 && sp1 < sp2 && sp2 - sp1 - 1 > this.limits.maxUriLength) {
        this.fail("UriTooLong", 414, `request target exceeds ${this.limits.maxUriLength}`);
      }
    }
    this.fail("HeaderTooLarge", 431, `header section exceeds ${this.limits.maxHeaderBytes} bytes`);
  }

  /** True for the request parser (chooses 414 over 431 for an endless request line). */
  protected abstract get isRequest(): boolean;

  // chunk-size [ chunk-ext ] where chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS value ] )
  #parseChunkSize(start: number, end: number): number {
    const buf = this.#buf;
    let i = start;
    let size = 0;
    while (i < end) {
      const c = buf[i];
      let d: number;
      if (c >= 48 && c <= 57) d = c - 48;
      else if (c >= 97 && c <= 102) d = c - 87;
      else if (c >= 65 && c <= 70) d = c - 55;
      else break;
      size = size * 16 + d;
      i++;
      if (size > Number.MAX_SAFE_INTEGER / 16) {
        this.fail("InvalidChunk", 400, "chunk size overflows");
      }
    }
    if (i === start) this.fail("InvalidChunk", 400, "chunk size is not hexadecimal");
    if (i < end) {
      // Only an extension may follow; its bytes must be visible, SP or HTAB.
      let j = i;
      while (j < end && (buf[j] === 32 || buf[j] === 9)) j++;
      if (buf[j] !== 59) this.fail("InvalidChunk", 400, "invalid characters after chunk size");
      for (; j < end; j++) {
        const c = buf[j];
        if ((c < 32 && c !== 9) || c === 127) {
          this.fail("InvalidChunk", 400, "control character in chunk extension");
        }
      }
    }
    return size;
  }
}

// Parses CRLF-separated field lines of `text` from `from` into `headers`.
// `framing`, when given, collects the fields that decide framing, for the checks after.
function parseFieldLines(
  text: string,
  from: number,
  headers: HttpHeaders,
  maxCount: number,
  framing: Framing | null,
): void {
  let pos = from;
  const len = text.length;
  let count = 0;
  while (pos < len) {
    let eol = text.indexOf("\r\n", pos);
    if (eol < 0) eol = len;
    const first = text.charCodeAt(pos);
    if (first === 32 || first === 9) {
      throw new HttpParseError("InvalidHeader", 400, "obsolete line folding is not allowed");
    }
    const colon = text.indexOf(":", pos);
    if (colon < 0 || colon > eol) {
      throw new HttpParseError("InvalidHeader", 400, "header line without a colon");
    }
    if (colon === pos) throw new HttpParseError("InvalidHeader", 400, "empty header name");
    for (let i = pos; i < colon; i++) {
      const c = text.charCodeAt(i);
      if (c >= 128 || TOKEN[c] === 0) {
        throw new HttpParseError(
          "InvalidHeader",
          400,
          c === 32 || c === 9
            ? "whitespace before the colon of a header"
            : `invalid character in header name (0x${c.toString(16)})`,
        );
      }
    }
    let a = colon + 1;
    let b = eol;
    while (a < b && (text.charCodeAt(a) === 32 || text.charCodeAt(a) === 9)) a++;
    while (b > a && (text.charCodeAt(b - 1) === 32 || text.charCodeAt(b - 1) === 9)) b--;
    for (let i = a; i < b; i++) {
      const c = text.charCodeAt(i);
      if ((c < 32 && c !== 9) || c === 127) {
        throw new HttpParseError(
          c === 13 ? "InvalidLineEnding" : "InvalidHeader",
          400,
          c === 13
            ? "bare CR in a header value"
            : `control character in header value (0x${c.toString(16)})`,
        );
      }
    }
    if (++count > maxCount) {
      throw new HttpParseError("HeaderTooLarge", 431, `more than ${maxCount} header fields`);
    }
    const lower = knownField(text, pos, colon) ?? text.slice(pos, colon).toLowerCase();
    const value = text.slice(a, b);
    HEADER_TABLE.appendTrusted(headers, lower, value);
    if (framing !== null) collect(framing, lower, value);
    pos = eol + 2;
  }
}

// Common field names, by length: a match (case-insensitive) yields the constant, sparing a copy,
// a lower-casing and a hash per field.
const KNOWN_FIELDS: string[][] = [];
for (
  const name of [
    "host",
    "accept",
    "cookie",
    "origin",
    "expect",
    "referer",
    "upgrade",
    "connection",
    "user-agent",
    "content-type",
    "content-length",
    "cache-control",
    "authorization",
    "accept-encoding",
    "accept-language",
    "transfer-encoding",
  ]
) (KNOWN_FIELDS[name.length] ??= []).push(name);

// `text[from, to)` holds token characters only (checked before), so `| 0x20` folds case
// without letting anything else match.
function knownField(text: string, from: number, to: number): string | null {
  const candidates = KNOWN_FIELDS[to - from];
  if (candidates === undefined) return null;
  outer: for (let k = 0; k < candidates.length; k++) {
    const name = candidates[k];
    for (let i = 0; i < name.length; i++) {
      if ((text.charCodeAt(from + i) | 0x20) !== name.charCodeAt(i)) continue outer;
    }
    return name;
  }
  return null;
}

interface Framing {
  contentLength: string[] | null;
  transferEncoding: string[] | null;
  connection: string[] | null;
  host: number;
  /** The last Host value seen. */
  hostValue: string;
  expect: string | null;
}

function collect(framing: Framing, lower: string, value: string): void {
  switch (lower) {
    case "content-length":
      (framing.contentLength ??= []).push(value);
      break;
    case "transfer-encoding":
      (framing.transferEncoding ??= []).push(value);
      break;
    case "connection":
      (framing.connection ??= []).push(value);
      break;
    case "host":
      framing.host++;
      framing.hostValue = value;
      break;
    case "expect":
      framing.expect = framing.expect === null ? value : `${framing.expect}, ${value}`;
      break;
  }
}

// The bytes of uri-host [":" port] (RFC 3986: reg-name, IP-literal, IPv4): unreserved, "%",
// sub-delims, ":", "[" and "]". Anything else ("/", "?", "#", "@", space, "\\") could make a URL
// built from Host name another path or host than the one the request was routed by.
const HOST_CHAR = new Uint8Array(128);
for (
  const c of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~%!$&'()*+,;=:[]"
) {
  HOST_CHAR[c.charCodeAt(0)] = 1;
}

function isValidHost(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 128 || HOST_CHAR[c] === 0) return false;
  }
  return true;
}

function listTokens(values: string[]): string[] {
  const out: string[] = [];
  for (const v of values) {
    for (const part of v.split(",")) {
      const t = trimOws(part).toLowerCase();
      if (t !== "") out.push(t);
    }
  }
  return out;
}

// Content-Length = 1*DIGIT; repeated identical values collapse (RFC 9110 section 8.6).
function parseContentLength(values: string[], maxBody: number): number {
  let result = -1;
  for (const v of values) {
    for (const part of v.split(",")) {
      const t = trimOws(part);
      if (t.length === 0) {
        throw new HttpParseError(
          "InvalidContentLength",
          400,
          `invalid Content-Length: ${JSON.stringify(v)}`,
        );
      }
      // Leading zeros are valid digits (1*DIGIT) and do not count towards the magnitude.
      let n = 0;
      let significant = 0;
      for (let i = 0; i < t.length; i++) {
        const c = t.charCodeAt(i);
        if (c < 48 || c > 57) {
          throw new HttpParseError(
            "InvalidContentLength",
            400,
            `invalid Content-Length: ${JSON.stringify(v)}`,
          );
        }
        if (significant > 0 || c !== 48) significant++;
        n = n * 10 + (c - 48);
      }
      if (significant > 15) {
        throw new HttpParseError(
          "BodyTooLarge",
          413,
          `Content-Length ${t.slice(0, 32)} is too large`,
        );
      }
      if (result !== -1 && result !== n) {
        throw new HttpParseError("InvalidContentLength", 400, "conflicting Content-Length values");
      }
      result = n;
    }
  }
  if (result > maxBody) {
    throw new HttpParseError("BodyTooLarge", 413, `body of ${result} bytes exceeds ${maxBody}`);
  }
  return result;
}

// Returns true when the codings end in chunked; throws for what we must refuse.
function checkTransferEncoding(values: string[], isRequest: boolean): boolean {
  const codings = listTokens(values);
  const last = codings[codings.length - 1];
  const chunkedCount = codings.filter((c) => c === "chunked").length;
  if (last !== "chunked") {
    if (isRequest) {
      throw new HttpParseError(
        "InvalidTransferEncoding",
        400,
        "the final transfer coding of a request must be chunked",
      );
    }
    return false;
  }
  if (chunkedCount > 1) {
    throw new HttpParseError("InvalidTransferEncoding", 400, "chunked applied more than once");
  }
  if (codings.length > 1) {
    throw new HttpParseError(
      "UnsupportedTransferEncoding",
      501,
      `unsupported transfer coding: ${codings.slice(0, -1).join(", ")}`,
    );
  }
  return true;
}

// The common methods as constants: no copy per request, and map lookups by method then
// compare an internalized string.
function knownMethod(text: string, length: number): string | null {
  if (length === 3) {
    if (text.startsWith("GET")) return "GET";
    if (text.startsWith("PUT")) return "PUT";
  } else if (length === 4) {
    if (text.startsWith("POST")) return "POST";
    if (text.startsWith("HEAD")) return "HEAD";
  } else if (length === 6 && text.startsWith("DELETE")) return "DELETE";
  else if (length === 5 && text.startsWith("PATCH")) return "PATCH";
  return null;
}

function parseVersion(v: string, what: string): "1.0" | "1.1" {
  if (v === "HTTP/1.1") return "1.1";
  if (v === "HTTP/1.0") return "1.0";
  if (
    v.length === 8 && v.startsWith("HTTP/") && v.charCodeAt(6) === 46 &&
    isDigit(v.charCodeAt(5)) && isDigit(v.charCodeAt(7))
  ) {
    // A higher 1.x minor version is compatible with 1.1 (RFC 9110 section 6.2).
    if (v.charCodeAt(5) === 49) return "1.1";
    throw new HttpParseError("UnsupportedVersion", 505, `unsupported HTTP version ${v}`);
  }
  throw new HttpParseError("InvalidStartLine", 400, `invalid HTTP version in ${what}`);
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function keepAliveOf(version: "1.0" | "1.1", connection: string[] | null): boolean {
  if (connection === null) return version === "1.1";
  const tokens = listTokens(connection);
  if (tokens.includes("close")) return false;
  return version === "1.1" || tokens.includes("keep-alive");
}

/**
 * The incremental request parser. Feed it bytes with `push`, take complete
 * requests with `next` (pipelined requests come out one by one).
 *
 * @example
 * ```ts
 * import { HttpRequestParser } from "./message.ts";
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
    const framing: Framing = {
      contentLength: null,
      transferEncoding: null,
      connection: null,
      host: 0,
      hostValue: "",
      expect: null,
    };
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

/**
 * The incremental response parser. Tell it the method of the request each
 * response answers (`expectResponseTo`) so a response to HEAD is read
 * without a body; call `finish` at end of stream for close-delimited bodies.
 *
 * @example
 * ```ts
 * import { HttpResponseParser } from "./message.ts";
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
    const framing: Framing = {
      contentLength: null,
      transferEncoding: null,
      connection: null,
      host: 0,
      hostValue: "",
      expect: null,
    };
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
 * import { serializeResponseHead } from "./message.ts";
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
 * import { serializeRequestHead } from "./message.ts";
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
 * import { encodeChunk } from "./message.ts";
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
