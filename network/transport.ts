/**
 * The transport contract every Iora byte transport fulfils — TCP, TLS and
 * UDP, on Deno and on Node — and the types around it: session ids,
 * capability flags, TLS settings, callbacks, configuration, statistics and
 * {@linkcode TransportError}.
 *
 * Sessions are plain numbers, data is `Uint8Array`, events are callbacks:
 * the hot path (`onData`, `send`) allocates nothing beyond the bytes.
 *
 * @example
 * ```ts
 * import { Capability, hasCapability, type Transport } from "./transport.ts";
 * function describe(t: Transport): string {
 *   return hasCapability(t.getCapabilities(), Capability.HasTls) ? "tls" : "plain";
 * }
 * ```
 *
 * @module
 */
import { IoraError } from "../core/errors.ts";
import type { RuntimeName } from "../core/platform/types.ts";

/** Identifies one connection (TCP/TLS) or one tracked remote peer (UDP). Never reused. */
export type SessionId = number;

/**
 * Capability flags, combined as a bit set by
 * {@linkcode Transport.getCapabilities}.
 *
 * @example
 * ```ts
 * import { Capability } from "./transport.ts";
 * const caps = Capability.HasTls | Capability.IsConnectionOriented;
 * console.log((caps & Capability.HasTls) !== 0);
 * ```
 */
export const Capability: {
  /** No capability. */
  readonly None: 0;
  /** TLS is available. */
  readonly HasTls: 1;
  /** Connections with ordered, reliable delivery (TCP-style). */
  readonly IsConnectionOriented: 2;
  /** Sessions can also be created by accepting on a listener. */
  readonly HasConnectViaListener: 4;
  /** TCP keep-alive probes can be enabled. */
  readonly SupportsKeepalive: 8;
  /** `sendBatch` is supported. */
  readonly SupportsBatchSend: 16;
  /** Awaitable receive operations (`SyncAsyncTransport`). */
  readonly SupportsSyncOperations: 32;
  /** Per-session exclusive read modes (`SyncAsyncTransport`). */
  readonly SupportsReadModes: 64;
} = {
  None: 0,
  HasTls: 1,
  IsConnectionOriented: 2,
  HasConnectViaListener: 4,
  SupportsKeepalive: 8,
  SupportsBatchSend: 16,
  SupportsSyncOperations: 32,
  SupportsReadModes: 64,
};

/** A bit set of {@linkcode Capability} flags. */
export type Capabilities = number;

/**
 * True when `caps` contains every bit of `flag`.
 *
 * @example
 * ```ts
 * import { Capability, hasCapability } from "./transport.ts";
 * console.log(hasCapability(Capability.HasTls | 2, Capability.HasTls)); // true
 * ```
 */
export function hasCapability(caps: Capabilities, flag: number): boolean {
  return (caps & flag) === flag;
}

/**
 * Whether a listener or a connection speaks TLS, and on which side.
 *
 * @example
 * ```ts
 * import { TlsMode } from "./transport.ts";
 * const mode: TlsMode = TlsMode.Client;
 * ```
 */
export const TlsMode: {
  /** Plain TCP. */
  readonly None: "none";
  /** TLS client (on `connect`). */
  readonly Client: "client";
  /** TLS server (on `listen`). */
  readonly Server: "server";
} = { None: "none", Client: "client", Server: "server" };

/** One of the {@linkcode TlsMode} values. */
export type TlsMode = typeof TlsMode[keyof typeof TlsMode];

/**
 * TLS settings. PEM text or file paths (text wins when both are given).
 * TLS 1.2 is the floor on both runtimes.
 */
export interface TlsConfig {
  /** Certificate chain, PEM. Servers need one; clients send it as client certificate. */
  cert?: string;
  /** Path of the certificate chain (PEM). */
  certFile?: string;
  /** Private key, PEM. */
  key?: string;
  /** Path of the private key (PEM). */
  keyFile?: string;
  /** Trusted CA certificates, PEM (one bundle or a list). Default: the system store. */
  ca?: string | string[];
  /** Path of a CA bundle (PEM). */
  caFile?: string;
  /**
   * Verify the peer's certificate. Default true. `false` is refused on the
   * Deno adapter (it cannot skip verification) with an `UnsupportedError`.
   */
  verifyPeer?: boolean;
  /** Name sent as SNI and checked against the server certificate. Default: the host. */
  serverName?: string;
  /** ALPN protocols to offer (client) or accept (server), in preference order. */
  alpnProtocols?: string[];
  /**
   * Servers only: require and verify a client certificate (against `ca`).
   * Node adapter only; the Deno adapter refuses it with an `UnsupportedError`.
   */
  requireClientCert?: boolean;
  /** Time allowed for a TLS handshake. Default 10 000 ms. */
  handshakeTimeoutMs?: number;
}

/** Why a session ended, as passed to `onClose`. */
export type CloseReason =
  /** `close(sid)` was called. */
  | "local"
  /** The peer closed the connection (end of stream). */
  | "remote"
  /** A socket error (reset, broken pipe...). */
  | "error"
  /** No traffic for longer than the idle timeout. */
  | "idle"
  /** The write queue went over its limit. */
  | "backpressure"
  /** The transport stopped. */
  | "stopped"
  /** The session table was full when the connection was accepted. */
  | "limit";

/** What is known about a session. */
export interface SessionInfo {
  /** The session. */
  sid: SessionId;
  /** Remote IP address. */
  remoteAddress: string;
  /** Remote port. */
  remotePort: number;
  /** Local IP address. */
  localAddress: string;
  /** Local port. */
  localPort: number;
  /** True for a TLS session. */
  tls: boolean;
  /** The ALPN protocol agreed on, or null. */
  alpnProtocol: string | null;
  /** True for a session we connected, false for one accepted by a listener. */
  outbound: boolean;
  /** The listener that accepted it, or null for outbound sessions. */
  listenerId: number | null;
}

/** The events a transport reports. Every callback is optional. */
export interface TransportCallbacks {
  /** A listener accepted a session (after the TLS handshake for TLS). */
  onAccept?: (sid: SessionId, info: SessionInfo) => void;
  /** An outbound session is established (after the TLS handshake for TLS). */
  onConnect?: (sid: SessionId, info: SessionInfo) => void;
  /**
   * Bytes arrived. `data` belongs to the callee: the transport never reuses
   * it, so keeping a reference is safe. It may be a view into a larger read
   * buffer (`data.buffer`); a callee that keeps many small chunks for long
   * should copy them (`data.slice()`) so they do not pin that buffer.
   */
  onData?: (sid: SessionId, data: Uint8Array) => void;
  /**
   * The peer ended its side (TCP FIN). Called only with `allowHalfOpen`: the session stays open
   * for sending until it is closed; without it the transport closes the session itself.
   */
  onEnd?: (sid: SessionId) => void;
  /** The session is gone; called exactly once per session. */
  onClose?: (sid: SessionId, reason: CloseReason, error?: TransportError) => void;
  /** A failure not tied to a method call (accept failures, TLS handshake failures...). */
  onError?: (error: TransportError, sid?: SessionId) => void;
}

/** Counters every transport keeps. */
export interface UnifiedStats {
  /** Sessions accepted by listeners. */
  accepted: number;
  /** Outbound sessions established. */
  connected: number;
  /** Sessions closed, for any reason. */
  closed: number;
  /** Errors (socket errors, failed connects, failed handshakes...). */
  errors: number;
  /** TLS handshakes completed. */
  tlsHandshakes: number;
  /** TLS handshakes failed. */
  tlsFailures: number;
  /** TLS connections accepted and still in their handshake (they count against `maxSessions`). */
  tlsHandshaking: number;
  /** Bytes received. */
  bytesIn: number;
  /** Bytes sent (queued for sending). */
  bytesOut: number;
  /** Sessions closed because their write queue went over the limit. */
  backpressureCloses: number;
  /** Sessions open now. */
  sessionsCurrent: number;
  /** Most sessions open at once since the last reset. */
  sessionsPeak: number;
}

/**
 * What to do when a session's write queue goes over the high-water mark:
 * `"wait"` makes `sendAsync` wait for the queue to drain (plain `send`
 * keeps queuing up to `maxWriteQueueBytes`); `"close"` closes the session
 * at once and counts a backpressure close.
 */
export type BackpressurePolicy = "wait" | "close";

/** Settings shared by all transports. Every field is optional. */
export interface TransportConfig {
  /** Which adapter drives the sockets; default the runtime we run on. */
  runtime?: RuntimeName;
  /** Close sessions idle (no bytes either way) for this long; 0 disables. Default 0. */
  idleTimeoutMs?: number;
  /** Time allowed for `connect` (TCP plus TLS handshake). Default 10 000 ms. */
  connectTimeoutMs?: number;
  /** Write-queue size in bytes that triggers the backpressure policy. Default 1 MiB. */
  highWaterMark?: number;
  /** Backpressure policy. Default `"wait"`. */
  backpressurePolicy?: BackpressurePolicy;
  /** Hard limit of a write queue under the `"wait"` policy; beyond it the session closes. Default 64 MiB. */
  maxWriteQueueBytes?: number;
  /** Disable Nagle's algorithm (TCP_NODELAY). Default true. */
  noDelay?: boolean;
  /** Enable TCP keep-alive probes. Default true. */
  keepAlive?: boolean;
  /** Idle time before the first keep-alive probe (Node adapter; Deno uses the OS default). Default 60 000 ms. */
  keepAliveDelayMs?: number;
  /**
   * Keep a session open for sending after the peer ends its side (a client that half-closes
   * once its request is sent still gets the answer); `onEnd` reports the end and the owner closes
   * the session. Default false: the transport closes the session when the peer ends.
   */
  allowHalfOpen?: boolean;
  /** Most sessions open at once; connections beyond are closed at accept. Default 65 536. */
  maxSessions?: number;
  /**
   * Read buffer sizing (Deno adapter). Default 64 KiB. A connection starts
   * with 4 KiB (or this, when smaller), so an idle one holds little; a
   * stream whose reads keep filling the buffer gets buffers up to 4 times
   * this size, and they shrink back once reads are small again.
   */
  readBufferSize?: number;
  /** TLS settings for `TlsMode.Server` listeners and `TlsMode.Client` connects. */
  tls?: TlsConfig;
  /** UDP: largest datagram sent or accepted. Default 65 507 (the IPv4 maximum). */
  maxDatagramSize?: number;
  /** UDP: forget a remote peer after this long without traffic. Default 60 000 ms. */
  udpSessionIdleMs?: number;
}

/** A bound listener. */
export interface ListenerInfo {
  /** Identifies the listener (for `closeListener`). */
  id: number;
  /** The address bound. */
  host: string;
  /** The port bound (the real one when 0 was asked). */
  port: number;
  /** True when it speaks TLS. */
  tls: boolean;
}

/** Options of {@linkcode Transport.connect}. */
export interface ConnectOptions {
  /** Overrides the configured connect timeout. */
  timeoutMs?: number;
  /** Aborts the attempt. */
  signal?: AbortSignal;
  /** TLS settings merged over the configured ones for this connection only. */
  tls?: TlsConfig;
}

/**
 * The base transport interface (the seed's `ITransportBase`): listen,
 * connect, send and close sessions, with callbacks for what happens.
 */
export interface Transport extends AsyncDisposable {
  /** The adapter in use. */
  readonly runtime: RuntimeName;
  /** Replaces the callbacks (absent ones become no-ops). */
  setCallbacks(callbacks: TransportCallbacks): void;
  /** Starts the transport (background timers). `listen` and `connect` start it too. */
  start(): void;
  /** Binds a listener; resolves once it accepts. Port 0 picks a free port. */
  listen(host: string, port: number, tlsMode?: TlsMode): Promise<ListenerInfo>;
  /** Closes one listener; open sessions stay. */
  closeListener(id: number): Promise<void>;
  /** Closes every listener; open sessions stay. */
  stopListening(): Promise<void>;
  /** Opens a session; rejects with a {@linkcode TransportError} (`ConnectTimeout`, `ConnectionRefused`, `TlsHandshake`...). */
  connect(
    host: string,
    port: number,
    tlsMode?: TlsMode,
    options?: ConnectOptions,
  ): Promise<SessionId>;
  /**
   * Queues bytes on a session, in order (sends never interleave). The bytes
   * must not be modified afterwards. Returns false when the session is
   * unknown or closed, or was just closed by the backpressure policy.
   */
  send(sid: SessionId, data: Uint8Array): boolean;
  /**
   * Like `send`, then resolves once the write queue is under the high-water
   * mark. Rejects with `SessionClosed`/`Backpressure` when the bytes cannot go.
   */
  sendAsync(sid: SessionId, data: Uint8Array): Promise<void>;
  /**
   * Resolves once the session's write queue is at or under the high-water
   * mark (at once when it already is); rejects with `SessionNotFound` or
   * `SessionClosed`. With `pauseReading` it gives a producer flow control.
   */
  drain(sid: SessionId): Promise<void>;
  /** Sends many messages; returns how many were queued. */
  sendBatch(items: Iterable<readonly [SessionId, Uint8Array]>): number;
  /** Closes a session after its queued bytes are written. Harmless when already closed. */
  close(sid: SessionId): void;
  /** Closes a session at once, dropping queued bytes. */
  abort(sid: SessionId): void;
  /** Stops reading from a session (its data waits in the kernel). */
  pauseReading(sid: SessionId): void;
  /** Resumes reading after `pauseReading`. */
  resumeReading(sid: SessionId): void;
  /** What is known about a session, or undefined when it is gone. */
  getSessionInfo(sid: SessionId): SessionInfo | undefined;
  /** Bytes queued on a session and not yet written (0 when unknown). */
  writeQueueSize(sid: SessionId): number;
  /** The capability flags. */
  getCapabilities(): Capabilities;
  /** A snapshot of the counters. */
  getStats(): UnifiedStats;
  /** Zeroes the counters (`sessionsCurrent` stays true, `sessionsPeak` restarts from it). */
  resetStats(): void;
  /** Closes every listener and session (reason `"stopped"`) and the timers. */
  stop(): Promise<void>;
}

/** Stable codes of {@linkcode TransportError}. */
export type TransportErrorCode =
  | "InvalidArgument"
  | "SessionNotFound"
  | "SessionClosed"
  | "ConnectTimeout"
  | "ConnectionRefused"
  | "ConnectFailed"
  | "Aborted"
  | "ListenFailed"
  | "AddressInUse"
  | "TlsConfig"
  | "TlsHandshake"
  | "Backpressure"
  | "DatagramTooLarge"
  | "Timeout"
  | "ReadModeConflict"
  | "LimitExceeded"
  | "Stopped"
  | "Io";

/**
 * A transport failure with a stable `code`, the session it concerns (when
 * any) and the runtime's own error as `cause`.
 *
 * @example
 * ```ts
 * import { TransportError } from "./transport.ts";
 * const e = new TransportError("ConnectTimeout", "connect to 10.0.0.1:80 timed out");
 * console.log(e.code);
 * ```
 */
export class TransportError extends IoraError {
  /** The failure, one of {@linkcode TransportErrorCode}. */
  declare readonly code: TransportErrorCode;
  /** The session concerned, when any. */
  readonly sid: SessionId | undefined;

  /**
   * Creates the error.
   *
   * @param code the failure
   * @param message human-readable description
   * @param options `cause` and the session concerned
   */
  constructor(
    code: TransportErrorCode,
    message: string,
    options?: ErrorOptions & { sid?: SessionId },
  ) {
    super(code, message, options);
    this.sid = options?.sid;
  }
}

/** A zeroed {@linkcode UnifiedStats}. */
export function emptyStats(): UnifiedStats {
  return {
    accepted: 0,
    connected: 0,
    closed: 0,
    errors: 0,
    tlsHandshakes: 0,
    tlsFailures: 0,
    bytesIn: 0,
    bytesOut: 0,
    backpressureCloses: 0,
    sessionsCurrent: 0,
    sessionsPeak: 0,
    tlsHandshaking: 0,
  };
}
