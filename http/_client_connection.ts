// One HTTP/1.1 connection of the client over a transport session: it
// writes a request, parses the response with the codec's response parser,
// and tells its pool whether it can carry another exchange. One exchange
// at a time (no pipelining).
import { platform } from "../core/platform/mod.ts";
import type { SessionId, Transport } from "../network/transport.ts";
import { HttpClientError } from "./client_error.ts";
import {
  encodeChunk,
  HttpHeaders,
  HttpParseError,
  HttpResponseParser,
  LAST_CHUNK,
  serializeRequestHead,
} from "./message.ts";

const encoder = new TextEncoder();

/** One request as the connection writes it. */
export interface Exchange {
  method: string;
  /** The request target (`/path?query`). */
  target: string;
  /** Every header field to send, `Host` included. */
  headers: [string, string][];
  body: Uint8Array | ReadableStream<Uint8Array> | null;
  /** For messages: the URL asked for. */
  url: string;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  /** Deliver the body as a stream instead of buffering it. */
  stream: boolean;
}

/** A response head, with its body as bytes or as a stream. */
export interface ExchangeResult {
  status: number;
  reason: string;
  headers: HttpHeaders;
  body: Uint8Array | ReadableStream<Uint8Array>;
}

/** Reads and drops a body that is not handed to the caller (a redirect's, a retried one's). */
export async function discard(result: ExchangeResult): Promise<void> {
  if (result.body instanceof ReadableStream) await result.body.cancel().catch(() => {});
}

interface Pending {
  exchange: Exchange;
  resolve(result: ExchangeResult): void;
  reject(error: HttpClientError): void;
  /** True once any byte of the response arrived: a failure after that is not a stale socket. */
  answered: boolean;
  /** True once the whole request was handed to the transport. */
  sent: boolean;
  head: boolean;
  chunks: Uint8Array[];
  bytes: number;
  controller: ReadableStreamDefaultController<Uint8Array> | null;
  last: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  settled: boolean;
}

/** Thrown on a reused connection that failed before any byte of the response. */
export class StaleConnectionError extends HttpClientError {}

/** The pool's side of a connection. */
export interface ConnectionOwner {
  /** The exchange finished and the connection may carry another one. */
  reusable(connection: ClientConnection): void;
  /** The connection is closed or must not be used again. */
  gone(connection: ClientConnection): void;
}

function keepAliveHint(headers: HttpHeaders): number | undefined {
  const value = headers.get("keep-alive");
  const match = value ? /(?:^|[,;\s])timeout\s*=\s*(\d+)/i.exec(value) : null;
  return match ? Number(match[1]) * 1000 : undefined;
}

export class ClientConnection {
  readonly sid: SessionId;
  readonly origin: string;
  /** Exchanges carried, this one included. */
  uses = 0;
  /** The idle lifetime the server announced with `Keep-Alive: timeout=`, in ms. */
  serverIdleMs: number | undefined;
  idleSince = 0;
  #transport: Transport;
  #owner: ConnectionOwner;
  #parser: HttpResponseParser;
  #pending: Pending | null = null;
  #closed = false;
  #maxResponseBytes: number;

  constructor(
    sid: SessionId,
    origin: string,
    transport: Transport,
    owner: ConnectionOwner,
    limits: { maxResponseBytes: number; maxHeaderBytes: number },
  ) {
    this.sid = sid;
    this.origin = origin;
    this.#transport = transport;
    this.#owner = owner;
    this.#maxResponseBytes = limits.maxResponseBytes;
    this.#parser = new HttpResponseParser({
      limits: { maxBodyBytes: limits.maxResponseBytes, maxHeaderBytes: limits.maxHeaderBytes },
      onBody: (chunk) => this.#body(chunk),
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  get busy(): boolean {
    return this.#pending !== null;
  }

  /** Sends one request; resolves with the response head and its body. */
  send(exchange: Exchange): Promise<ExchangeResult> {
    if (this.#closed || this.#pending) {
      return Promise.reject(
        new StaleConnectionError("ConnectionClosed", `${exchange.url}: connection not usable`),
      );
    }
    this.uses++;
    return new Promise<ExchangeResult>((resolve, reject) => {
      const pending: Pending = {
        exchange,
        resolve,
        reject,
        answered: false,
        sent: false,
        head: false,
        chunks: [],
        bytes: 0,
        controller: null,
        last: platform().now(),
        timer: undefined,
        settled: false,
      };
      this.#pending = pending;
      this.#parser.expectResponseTo(exchange.method);
      this.#arm(pending, exchange.headersTimeoutMs);
      this.#write(pending).catch((error) =>
        this.#fail(
          error instanceof HttpClientError ? error : new HttpClientError(
            "ConnectionClosed",
            `${exchange.url}: sending the request failed: ${(error as Error).message}`,
            { cause: error },
          ),
        )
      );
    });
  }

  /** Stops the exchange in progress (an abort or a total timeout) and drops the connection. */
  cancel(error: HttpClientError): void {
    this.#fail(error);
  }

  /** Bytes from the server. */
  onData(chunk: Uint8Array): void {
    const pending = this.#pending;
    if (pending === null) {
      // Nothing was asked: a server talking out of turn cannot be trusted with the next request.
      this.close();
      return;
    }
    pending.answered = true;
    pending.last = platform().now();
    try {
      this.#parser.push(chunk);
      for (let message = this.#parser.next(); message !== null; message = this.#parser.next()) {
        if (message.status < 200) {
          if (message.status === 101) {
            throw new HttpClientError("ProtocolError", `${pending.exchange.url}: unexpected 101`);
          }
          continue; // 100 Continue, 103 Early Hints...: the final response follows
        }
        this.#complete(pending, message.status, message.reason, message.headers, message.keepAlive);
        return;
      }
      const head = this.#parser.pendingHead;
      if (head !== null && !pending.head) {
        this.#headArrived(pending, head.status, head.reason, head.headers);
      }
    } catch (error) {
      this.#fail(this.#parseError(pending, error));
    }
  }

  /** The transport closed the session. */
  onClose(): void {
    const pending = this.#pending;
    this.#closed = true;
    if (pending !== null) {
      try {
        // A body delimited by the close is complete now; anything else was cut short.
        const message = this.#parser.finish();
        if (message !== null && message.status >= 200) {
          this.#complete(pending, message.status, message.reason, message.headers, false);
          return;
        }
      } catch { /* reported below */ }
      const error = pending.answered
        ? new HttpClientError(
          "ConnectionClosed",
          `${pending.exchange.url}: the server closed the connection mid-response`,
        )
        : new StaleConnectionError(
          "ConnectionClosed",
          `${pending.exchange.url}: the server closed the connection before answering`,
        );
      this.#fail(error);
    }
    this.#owner.gone(this);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#transport.close(this.sid);
    this.#owner.gone(this);
  }

  async #write(pending: Pending): Promise<void> {
    const { exchange } = pending;
    const head = encoder.encode(
      serializeRequestHead(exchange.method, exchange.target, exchange.headers),
    );
    const body = exchange.body;
    if (body === null || body instanceof Uint8Array) {
      let bytes = head;
      if (body !== null && body.length > 0) {
        bytes = new Uint8Array(head.length + body.length);
        bytes.set(head);
        bytes.set(body, head.length);
      }
      this.#transport.send(this.sid, bytes);
      pending.sent = true;
      return;
    }
    this.#transport.send(this.sid, head);
    const reader = body.getReader();
    try {
      for (;;) {
        if (pending.settled) return;
        const { done, value } = await reader.read();
        if (done) break;
        if (value.length > 0) await this.#transport.sendAsync(this.sid, encodeChunk(value));
      }
      await this.#transport.sendAsync(this.sid, LAST_CHUNK);
      pending.sent = true;
    } finally {
      reader.releaseLock();
    }
  }

  #headArrived(pending: Pending, status: number, reason: string, headers: HttpHeaders): void {
    pending.head = true;
    this.#arm(pending, pending.exchange.bodyTimeoutMs);
    if (!pending.exchange.stream) return;
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        pending.controller = controller;
        for (const chunk of pending.chunks) controller.enqueue(chunk);
        pending.chunks = [];
      },
      pull: () => {
        if (!this.#closed) this.#transport.resumeReading(this.sid);
      },
      cancel: () =>
        this.#fail(new HttpClientError("Aborted", `${pending.exchange.url}: body cancelled`)),
    }, { highWaterMark: 4 });
    pending.resolve({ status, reason, headers, body });
  }

  #body(chunk: Uint8Array): void {
    const pending = this.#pending;
    if (pending === null) return;
    const copy = chunk.slice();
    pending.bytes += copy.length;
    if (pending.controller !== null) {
      pending.controller.enqueue(copy);
      if ((pending.controller.desiredSize ?? 1) <= 0) this.#transport.pauseReading(this.sid);
    } else pending.chunks.push(copy);
  }

  #complete(
    pending: Pending,
    status: number,
    reason: string,
    headers: HttpHeaders,
    keepAlive: boolean,
  ): void {
    if (!pending.head) this.#headArrived(pending, status, reason, headers);
    this.#settle(pending);
    if (pending.controller !== null) {
      pending.controller.close();
    } else {
      const body = pending.chunks.length === 1
        ? pending.chunks[0]
        : concat(pending.chunks, pending.bytes);
      pending.resolve({ status, reason, headers, body });
    }
    // The request must be fully written too before the connection is free (a server may answer
    // early, say with 413, while a streamed body is still going out).
    if (keepAlive && pending.sent && !this.#closed) {
      this.serverIdleMs = keepAliveHint(headers);
      this.idleSince = platform().now();
      this.#owner.reusable(this);
    } else this.close();
  }

  #fail(error: HttpClientError): void {
    const pending = this.#pending;
    if (pending !== null && !pending.settled) {
      this.#settle(pending);
      if (pending.controller !== null) pending.controller.error(error);
      else pending.reject(error);
    }
    this.#transport.abort(this.sid);
    this.close();
  }

  #settle(pending: Pending): void {
    pending.settled = true;
    clearTimeout(pending.timer);
    this.#pending = null;
  }

  // One timer per exchange: it fires at the deadline and re-arms while bytes keep arriving.
  #arm(pending: Pending, ms: number): void {
    clearTimeout(pending.timer);
    if (!Number.isFinite(ms)) return;
    const check = () => {
      if (pending.settled) return;
      const left = pending.last + ms - platform().now();
      if (left > 0 && pending.head) {
        pending.timer = setTimeout(check, left);
        return;
      }
      const { url } = pending.exchange;
      this.#fail(
        pending.head
          ? new HttpClientError("BodyTimeout", `${url}: the body stalled for ${ms} ms`)
          : new HttpClientError("HeadersTimeout", `${url}: no response head within ${ms} ms`),
      );
    };
    pending.last = platform().now();
    pending.timer = setTimeout(check, ms);
  }

  #parseError(pending: Pending, error: unknown): HttpClientError {
    if (error instanceof HttpClientError) return error;
    const { url } = pending.exchange;
    if (error instanceof HttpParseError) {
      const tooLarge = error.code === "BodyTooLarge" || error.code === "HeaderTooLarge";
      return new HttpClientError(
        tooLarge ? "ResponseTooLarge" : "ProtocolError",
        tooLarge
          ? `${url}: the response exceeds the client's limits (maxResponseBytes ${this.#maxResponseBytes}): ${error.message}`
          : `${url}: malformed response: ${error.message}`,
        { cause: error },
      );
    }
    return new HttpClientError("ProtocolError", `${url}: ${String(error)}`, { cause: error });
  }
}

function concat(chunks: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}
