/**
 * TCP and TLS on Node (and on Deno's Node compatibility): `node:net`,
 * `node:tls`.
 *
 * @module
 */
import * as net from "node:net";
import * as tls from "node:tls";
import { UnsupportedError } from "../../core/errors.ts";
import { detectRuntime } from "../../core/platform/mod.ts";
import { TransportError } from "../transport.ts";
import type {
  RawConn,
  RawConnHandlers,
  RawListener,
  ResolvedTls,
  TcpConnectOptions,
  TcpListenOptions,
} from "../_adapter.ts";
import { isIpLiteral, socketFailure } from "../_adapter.ts";

/** OpenSSL verification failures, as Node reports them in `error.code`. */
const TLS_CODES = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "ERR_SSL_WRONG_VERSION_NUMBER",
  "ERR_TLS_HANDSHAKE_TIMEOUT",
]);

/** Maps a Node socket error to a {@linkcode TransportError}. */
export function mapNodeError(error: unknown, what: string, tlsPhase: boolean): TransportError {
  if (error instanceof TransportError) return error;
  const code = (error as { code?: string } | null)?.code ?? "";
  if (code === "ECONNREFUSED") return socketFailure("ConnectionRefused", what, error);
  if (code === "EADDRINUSE") return socketFailure("AddressInUse", what, error);
  if (code === "ETIMEDOUT") return socketFailure("ConnectTimeout", what, error);
  if (
    tlsPhase || TLS_CODES.has(code) || code.startsWith("ERR_SSL") || code.startsWith("ERR_TLS")
  ) {
    return socketFailure("TlsHandshake", what, error);
  }
  return socketFailure("ConnectFailed", what, error);
}

/**
 * The listening socket's queue of connections not yet accepted, asked as deep as the system
 * allows (Linux caps it at `net.core.somaxconn`, 4096 on current kernels). Node's default, 511,
 * overflows when a thousand clients connect while the event loop is busy answering others
 * (libuv accepts one connection per loop iteration): the kernel then drops their handshakes and
 * they retry after a second or more (1,355 drops in a 4 s run of 1,024 wrk connections, with
 * node:http too). Deno's listener (511 too) counted no overflow in the same runs.
 */
export const LISTEN_BACKLOG = 65535;

/** Most bytes handed to a socket at once (the rest waits in the adapter, see `writeProgress`). */
const HANDOFF = 256 * 1024;

class NodeConn implements RawConn {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  readonly tls: boolean;
  readonly alpnProtocol: string | null;
  #socket: net.Socket;
  #highWaterMark: number;
  #handlers: RawConnHandlers | null = null;
  #early: Error | null = null;
  /** Bytes waiting to be handed to the socket (it gets about HANDOFF at a time). */
  #held: Uint8Array[] = [];
  #heldBytes = 0;
  /** Bytes handed to the socket so far. */
  #handed = 0;
  /** `end` was called while bytes were held: end once they are handed over. */
  #ending = false;
  #holdErrors = (error: Error): void => {
    this.#early ??= error;
  };

  constructor(socket: net.Socket, isTls: boolean, highWaterMark: number) {
    this.#socket = socket;
    this.#highWaterMark = highWaterMark;
    // Until `start`, an error must not go unheard (Node would throw it).
    socket.on("error", this.#holdErrors);
    this.remoteAddress = socket.remoteAddress ?? "";
    this.remotePort = socket.remotePort ?? 0;
    this.localAddress = socket.localAddress ?? "";
    this.localPort = socket.localPort ?? 0;
    this.tls = isTls;
    const alpn = isTls ? (socket as tls.TLSSocket).alpnProtocol : false;
    this.alpnProtocol = typeof alpn === "string" ? alpn : null;
  }

  get writableLength(): number {
    return this.#socket.writableLength + this.#heldBytes;
  }

  get writeProgress(): number {
    // Bytes handed to the socket whose writes are done. The socket is given at most about
    // HANDOFF bytes at a time (the rest waits here), so even one large send shows progress as
    // its pieces complete: Node reports none within one write, or one writev of everything queued.
    return this.#handed - this.#socket.writableLength;
  }

  start(handlers: RawConnHandlers): void {
    this.#handlers = handlers;
    const socket = this.#socket;
    // Plain Uint8Array views: Buffer's `slice` shares memory, which callers would not expect.
    socket.on("data", (chunk: Uint8Array) => {
      handlers.onData(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    });
    socket.on("end", () => handlers.onEnd());
    socket.on("error", (error: Error) => handlers.onError(error));
    socket.on("drain", () => {
      if (this.#held.length === 0) handlers.onDrain();
    });
    socket.on("close", () => handlers.onClosed());
    socket.off("error", this.#holdErrors);
    // Closed before anyone listened: report it (the transport ignores a second report).
    if (socket.closed) queueMicrotask(() => handlers.onClosed());
    const early = this.#early;
    if (early) queueMicrotask(() => handlers.onError(early));
  }

  write(data: Uint8Array): void {
    if (data.length === 0) return;
    const socket = this.#socket;
    if (socket.destroyed || socket.writableEnded || this.#ending) return;
    if (this.#held.length > 0 || socket.writableLength >= HANDOFF) {
      this.#held.push(data);
      this.#heldBytes += data.length;
      return;
    }
    if (data.length > HANDOFF) {
      this.#held.push(data.subarray(HANDOFF));
      this.#heldBytes += data.length - HANDOFF;
      data = data.subarray(0, HANDOFF);
    }
    this.#handed += data.length;
    const after = socket.writableLength + data.length;
    if (this.#held.length === 0 && after < HANDOFF && after <= this.#highWaterMark) {
      socket.write(data);
      return;
    }
    // The socket is full enough that later bytes will wait here, or the queue is over our mark
    // but maybe under the socket's own (16 KiB, where Node would never emit "drain"): this
    // piece's completion hands over more and tells when the queue is back under the mark.
    socket.write(data, this.#written);
  }

  readonly #written = (error?: Error | null): void => {
    if (error) return;
    const socket = this.#socket;
    while (this.#held.length > 0 && socket.writableLength < HANDOFF && !socket.destroyed) {
      let piece = this.#held[0];
      if (piece.length > HANDOFF) {
        this.#held[0] = piece.subarray(HANDOFF);
        piece = piece.subarray(0, HANDOFF);
      } else {
        this.#held.shift();
      }
      this.#heldBytes -= piece.length;
      this.#handed += piece.length;
      socket.write(piece, this.#written);
    }
    if (this.#held.length === 0 && this.#ending) {
      this.#ending = false;
      this.#endNow();
      return;
    }
    if (this.writableLength <= this.#highWaterMark) this.#handlers?.onDrain();
  };

  pause(): void {
    this.#socket.pause();
  }

  resume(): void {
    this.#socket.resume();
  }

  discardInput(): void {
    // Node allocates the buffers it reads into: nothing to share here.
  }

  end(): void {
    const socket = this.#socket;
    if (socket.destroyed || socket.writableEnded) return;
    // Bytes still held here go first; the last piece's completion ends the socket.
    if (this.#held.length > 0) this.#ending = true;
    else this.#endNow();
  }

  #endNow(): void {
    const socket = this.#socket;
    if (socket.destroyed || socket.writableEnded) return;
    // `end` flushes, then the socket is destroyed even if the peer never answers the FIN.
    socket.end(() => socket.destroy());
  }

  destroy(): void {
    this.#held = [];
    this.#heldBytes = 0;
    this.#socket.destroy();
  }

  reset(): void {
    this.#held = [];
    this.#heldBytes = 0;
    const socket = this.#socket as net.Socket & { resetAndDestroy?: () => net.Socket };
    // A TLS socket (and Deno's node:net) may lack it; a plain close is the honest fallback.
    if (typeof socket.resetAndDestroy === "function" && !socket.destroyed) {
      try {
        socket.resetAndDestroy();
        return;
      } catch { /* not a TCP handle: fall through */ }
    }
    socket.destroy();
  }
}

function tune(socket: net.Socket, options: TcpListenOptions | TcpConnectOptions): void {
  socket.setNoDelay(options.noDelay);
  socket.setKeepAlive(options.keepAlive, options.keepAliveDelayMs);
}

function secureOptions(config: ResolvedTls): tls.SecureContextOptions {
  return {
    cert: config.cert,
    key: config.key,
    ca: config.ca,
    minVersion: "TLSv1.2",
  };
}

/** Binds a TCP or TLS listener with `node:net`/`node:tls`. */
export function listenTcp(options: TcpListenOptions): Promise<RawListener> {
  const what = `listen on ${options.host}:${options.port}`;
  const config = options.tls;
  let server: net.Server;
  // TLS connections still in their handshake, and what ends that state for each raw socket.
  let handshaking = 0;
  const secure = new WeakMap<net.Socket, () => void>();
  if (config) {
    if (config.requireClientCert && detectRuntime() === "deno") {
      return Promise.reject(
        new UnsupportedError(
          "deno",
          "TLS servers requiring client certificates (requireClientCert)",
          "Deno's node:tls drops such handshakes; run the server on Node",
        ),
      );
    }
    if (!config.cert || !config.key) {
      return Promise.reject(
        new TransportError("TlsConfig", "a TLS listener needs a certificate and a key"),
      );
    }
    try {
      server = tls.createServer({
        ...secureOptions(config),
        requestCert: config.requireClientCert,
        rejectUnauthorized: config.requireClientCert,
        ALPNProtocols: config.alpnProtocols,
        handshakeTimeout: config.handshakeTimeoutMs,
      });
    } catch (error) {
      return Promise.reject(
        new TransportError("TlsConfig", `${what}: bad TLS settings: ${String(error)}`, {
          cause: error,
        }),
      );
    }
    // TLS connections open, from the raw accept (their handshake included) until they close.
    let tlsOpen = 0;
    server.on("connection", (socket: net.Socket) => {
      if (tlsOpen >= options.maxTlsConnections) {
        socket.destroy();
        options.onError(
          new TransportError(
            "LimitExceeded",
            `TLS accept: ${options.maxTlsConnections} TLS connections are open or in their ` +
              `handshake (maxSessions)`,
          ),
          false,
        );
        return;
      }
      tlsOpen++;
      handshaking++;
      let secured = false;
      secure.set(socket, () => {
        if (!secured) {
          secured = true;
          handshaking--;
        }
      });
      socket.once("close", () => {
        tlsOpen--;
        secure.get(socket)?.();
        secure.delete(socket);
      });
    });
    server.on("secureConnection", (socket: tls.TLSSocket) => {
      // The TLS socket wraps the raw one the "connection" event saw.
      const raw = (socket as unknown as { _parent?: net.Socket })._parent;
      if (raw) secure.get(raw)?.();
      tune(socket, options);
      options.onConnection(new NodeConn(socket, true, options.highWaterMark));
    });
    server.on("tlsClientError", (error: Error, socket: tls.TLSSocket) => {
      socket.destroy();
      options.onError(mapNodeError(error, "TLS accept", true), true);
    });
  } else {
    server = net.createServer({ allowHalfOpen: true });
    server.on("connection", (socket: net.Socket) => {
      tune(socket, options);
      options.onConnection(new NodeConn(socket, false, options.highWaterMark));
    });
  }
  return new Promise((resolve, reject) => {
    const onListenError = (error: Error) => {
      const mapped = mapNodeError(error, what, false);
      reject(
        mapped.code === "AddressInUse"
          ? mapped
          : new TransportError("ListenFailed", `${what}: ${mapped.message}`, { cause: error }),
      );
    };
    server.once("error", onListenError);
    server.listen({ host: options.host, port: options.port, backlog: LISTEN_BACKLOG }, () => {
      server.off("error", onListenError);
      server.on(
        "error",
        (error: Error) => options.onError(mapNodeError(error, "accept", false), false),
      );
      const address = server.address() as net.AddressInfo;
      let closing: Promise<void> | null = null;
      resolve({
        host: address.address,
        port: address.port,
        get handshaking() {
          return handshaking;
        },
        close(): Promise<void> {
          // `server.close`'s callback waits for every accepted connection to end; the listening
          // socket itself is gone after one turn of the event loop.
          closing ??= new Promise<void>((done) => {
            server.close();
            setTimeout(done, 0);
          });
          return closing;
        },
      });
    });
  });
}

/** Opens a TCP or TLS connection with `node:net`/`node:tls`. */
export function connectTcp(options: TcpConnectOptions): Promise<RawConn> {
  const what = `connect to ${options.host}:${options.port}`;
  const config = options.tls;
  if (options.signal?.aborted) {
    return Promise.reject(
      new TransportError("Aborted", `${what}: aborted`, { cause: options.signal.reason }),
    );
  }
  return new Promise<RawConn>((resolve, reject) => {
    let socket: net.Socket;
    let tcpUp = false;
    let settled = false;
    const serverName = config?.serverName ?? options.host;
    try {
      if (config) {
        socket = tls.connect({
          ...secureOptions(config),
          host: options.host,
          port: options.port,
          // SNI must be a DNS name; IP literals are still checked against IP SANs.
          servername: isIpLiteral(serverName) ? undefined : serverName,
          checkServerIdentity: (_host, cert) => tls.checkServerIdentity(serverName, cert),
          rejectUnauthorized: config.verifyPeer,
          ALPNProtocols: config.alpnProtocols,
        });
      } else {
        socket = net.connect({ host: options.host, port: options.port, allowHalfOpen: true });
      }
    } catch (error) {
      reject(mapNodeError(error, what, config !== null));
      return;
    }
    const finish = (error: TransportError | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      socket.off("error", onError);
      socket.off(config ? "secureConnect" : "connect", onReady);
      if (error) {
        socket.destroy();
        reject(error);
      } else {
        tune(socket, options);
        resolve(new NodeConn(socket, config !== null, options.highWaterMark));
      }
    };
    const onReady = () => finish(null);
    const onError = (error: Error) => finish(mapNodeError(error, what, config !== null && tcpUp));
    const onAbort = () =>
      finish(new TransportError("Aborted", `${what}: aborted`, { cause: options.signal?.reason }));
    const timer = setTimeout(
      () =>
        finish(
          new TransportError("ConnectTimeout", `${what} timed out after ${options.timeoutMs} ms`),
        ),
      options.timeoutMs,
    );
    socket.once("connect", () => {
      tcpUp = true;
    });
    socket.once(config ? "secureConnect" : "connect", onReady);
    socket.on("error", onError);
    options.signal?.addEventListener("abort", onAbort, { once: true });
  });
}
