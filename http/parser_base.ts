/**
 * `HttpParserBase`: what the request and response parsers share — buffering,
 * the framing of bodies (length, chunked, until close) and the limits.
 *
 * @example
 * ```ts
 * import { HttpRequestParser } from "./request_parser.ts";
 * const p = new HttpRequestParser();
 * console.log(p.idle, p.bufferedBytes); // true 0
 * ```
 *
 * @module
 */
import { HttpHeaders } from "./headers.ts";
import {
  DEFAULT_HTTP_LIMITS,
  type HttpHeadBase,
  type HttpLimits,
  type HttpMessageBody,
  HttpParseError,
  type HttpParseErrorCode,
  type HttpParserOptions,
} from "./message_types.ts";
import { parseFieldLines } from "./_message_syntax.ts";

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
 * import { HttpParserBase } from "./parser_base.ts";
 * import { HttpRequestParser } from "./request_parser.ts";
 * import type { HttpRequestHead } from "./message_types.ts";
 * const p: HttpParserBase<HttpRequestHead> = new HttpRequestParser();
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

  /**
   * Drops what was received and the message in progress (its body so far included), for a
   * connection whose further input is thrown away: the parser is idle again and holds nothing.
   */
  discard(): void {
    this.#buf = EMPTY;
    this.#owned = false;
    this.#pos = this.#len = this.#scan = 0;
    this.#state = State.Head;
    this.#head = null;
    this.#remaining = 0;
    this.#acc = EMPTY;
    this.#bodyBytes = 0;
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
        case State.Length:
          if (!this.#takeRemaining()) return null;
          return this.#complete(null);
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
        case State.ChunkData:
          if (!this.#takeRemaining()) return null;
          this.#state = State.ChunkDataEnd;
          break;
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

  // Takes what has arrived of the `#remaining` body bytes; true once all of them are in.
  #takeRemaining(): boolean {
    const avail = this.#len - this.#pos;
    if (avail === 0) return false;
    const n = avail < this.#remaining ? avail : this.#remaining;
    this.#take(n);
    this.#remaining -= n;
    return this.#remaining === 0;
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
