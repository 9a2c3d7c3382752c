/**
 * The contract between the runtime-neutral transports and the runtime
 * adapters (`deno/` and `node/`, same file names): raw connections,
 * listeners and datagram sockets, nothing more. Sessions, limits, stats
 * and policies live above, once.
 *
 * @module
 */
import type { RuntimeName } from "../core/platform/types.ts";
import { TransportError } from "./transport.ts";

/** TLS settings after files are read and defaults applied. */
export interface ResolvedTls {
  /** Certificate chain, PEM. */
  cert?: string;
  /** Private key, PEM. */
  key?: string;
  /** Trusted CA certificates, PEM; undefined means the system store. */
  ca?: string[];
  /** Verify the peer certificate. */
  verifyPeer: boolean;
  /** SNI / verification name (clients). */
  serverName?: string;
  /** ALPN protocols. */
  alpnProtocols?: string[];
  /** Servers: require a client certificate. */
  requireClientCert: boolean;
  /** Handshake time limit. */
  handshakeTimeoutMs: number;
}

/** What a raw connection reports. */
export interface RawConnHandlers {
  /** Bytes arrived (a view of memory the adapter never writes again). */
  onData(data: Uint8Array): void;
  /** The peer ended its side. */
  onEnd(): void;
  /** A socket error; the connection is unusable. */
  onError(error: unknown): void;
  /** The write queue became empty, or fell back under the high-water mark. */
  onDrain(): void;
  /** The connection is fully closed; called exactly once, last. */
  onClosed(): void;
}

/** A connected byte stream (TCP or TLS). */
export interface RawConn {
  /** Remote IP address. */
  readonly remoteAddress: string;
  /** Remote port. */
  readonly remotePort: number;
  /** Local IP address. */
  readonly localAddress: string;
  /** Local port. */
  readonly localPort: number;
  /** True for TLS. */
  readonly tls: boolean;
  /** The negotiated ALPN protocol, or null. */
  readonly alpnProtocol: string | null;
  /** Bytes queued and not yet handed to the operating system. */
  readonly writableLength: number;
  /**
   * A count that moves whenever queued bytes go out to the operating system, even within one
   * large write (the idle sweep tells a slow reader from a dead one by it).
   */
  readonly writeProgress: number;
  /** Starts reading and reporting. Called once. */
  start(handlers: RawConnHandlers): void;
  /** Queues bytes, in order. Ignored after `end`/`destroy`. */
  write(data: Uint8Array): void;
  /** Stops reading. */
  pause(): void;
  /** Resumes reading. */
  resume(): void;
  /**
   * From now on the owner drops what arrives (a lingering close): where the adapter owns the read
   * buffer (Deno), reads go into one scratch buffer shared by every such connection, and the
   * views `onData` receives are valid only during the call; the Node runtime allocates its own
   * buffers, so there it changes nothing.
   */
  discardInput(): void;
  /** Writes what is queued, then closes. */
  end(): void;
  /** Closes at once, dropping what is queued. */
  destroy(): void;
  /**
   * Closes at once with a TCP reset (RST) where the runtime allows, so the peer sees an abortive
   * close rather than an end of stream; where it does not (Deno), the same as `destroy`.
   */
  reset(): void;
}

/** Socket tuning shared by listen and connect. */
export interface SocketOptions {
  /** TCP_NODELAY. */
  noDelay: boolean;
  /** SO_KEEPALIVE. */
  keepAlive: boolean;
  /** First keep-alive probe after this idle time (where supported). */
  keepAliveDelayMs: number;
  /** Read buffer size (where the adapter owns the buffer). */
  readBufferSize: number;
  /** `onDrain` also fires when the write queue falls back to this size (where the adapter owns the queue). */
  highWaterMark: number;
}

/** Options of {@linkcode NetworkAdapter.listenTcp}. */
export interface TcpListenOptions extends SocketOptions {
  /** Address to bind. */
  host: string;
  /** Port to bind, 0 for any. */
  port: number;
  /** TLS server settings, or null for plain TCP. */
  tls: ResolvedTls | null;
  /**
   * TLS connections open at once, those still in their handshake included; past it a new one
   * is closed at once (reported as `LimitExceeded`), before any handshake work.
   */
  maxTlsConnections: number;
  /** A connection was accepted (after the handshake for TLS). */
  onConnection(conn: RawConn): void;
  /** An accept or handshake failed; `tlsFailure` tells which. */
  onError(error: unknown, tlsFailure: boolean): void;
}

/** A bound TCP/TLS listener. */
export interface RawListener {
  /** The bound address. */
  readonly host: string;
  /** The bound port. */
  readonly port: number;
  /** TLS connections accepted and still in their handshake. */
  readonly handshaking: number;
  /** Stops accepting. */
  close(): Promise<void>;
}

/** Options of {@linkcode NetworkAdapter.connectTcp}. */
export interface TcpConnectOptions extends SocketOptions {
  /** Host to connect to. */
  host: string;
  /** Port to connect to. */
  port: number;
  /** TLS client settings, or null for plain TCP. */
  tls: ResolvedTls | null;
  /** Time allowed for TCP connect plus handshake. */
  timeoutMs: number;
  /** Aborts the attempt. */
  signal?: AbortSignal;
}

/** A bound UDP socket. */
export interface RawUdpSocket {
  /** The bound address. */
  readonly address: string;
  /** The bound port. */
  readonly port: number;
  /** Sends one datagram. Errors go to the socket's `onError`. */
  send(data: Uint8Array, port: number, host: string): void;
  /** Closes the socket. */
  close(): void;
}

/** Options of {@linkcode NetworkAdapter.bindUdp}. */
export interface UdpBindOptions {
  /** Address to bind. */
  host: string;
  /** Port to bind, 0 for any. */
  port: number;
  /** Datagrams larger than this are dropped (reported through `onOversize`). */
  maxDatagramSize: number;
  /** A datagram arrived. */
  onMessage(data: Uint8Array, remoteAddress: string, remotePort: number): void;
  /** A datagram over the limit arrived and was dropped. */
  onOversize(size: number, remoteAddress: string, remotePort: number): void;
  /** A socket error. */
  onError(error: unknown): void;
}

/** One runtime's socket implementation. */
export interface NetworkAdapter {
  /** The runtime it drives. */
  readonly name: RuntimeName;
  /** Binds a TCP (or TLS) listener. Rejects with a `TransportError`. */
  listenTcp(options: TcpListenOptions): Promise<RawListener>;
  /** Opens a TCP (or TLS) connection. Rejects with a `TransportError`. */
  connectTcp(options: TcpConnectOptions): Promise<RawConn>;
  /** Binds a UDP socket. Rejects with a `TransportError`. */
  bindUdp(options: UdpBindOptions): Promise<RawUdpSocket>;
}

/** True when `host` is an IPv6 literal. */
export function isIpv6(host: string): boolean {
  return host.includes(":");
}

/** True when `host` is an IP literal (v4 or v6). */
export function isIpLiteral(host: string): boolean {
  return isIpv6(host) || /^\d{1,3}(\.\d{1,3}){3}$/.test(host);
}

/** What follows `what: ` in the message of each socket failure with a fixed wording. */
const FAILURE_TEXT = {
  ConnectionRefused: "connection refused",
  AddressInUse: "address in use",
  ConnectTimeout: "timed out",
  Aborted: "aborted",
} as const;

/**
 * A runtime's socket error as the {@linkcode TransportError} its adapter classified it as, worded
 * alike on every runtime; `TlsHandshake` and `ConnectFailed` carry the runtime's own message.
 */
export function socketFailure(
  code: keyof typeof FAILURE_TEXT | "TlsHandshake" | "ConnectFailed",
  what: string,
  error: unknown,
): TransportError {
  let text: string;
  if (code === "TlsHandshake" || code === "ConnectFailed") {
    const message = error instanceof Error ? error.message : String(error);
    text = code === "TlsHandshake" ? `TLS handshake failed: ${message}` : message;
  } else {
    text = FAILURE_TEXT[code];
  }
  return new TransportError(code, `${what}: ${text}`, { cause: error });
}
