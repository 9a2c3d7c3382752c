/**
 * `SharedTransport`: TCP and TLS sessions over the runtime's sockets —
 * listeners, outbound connections, ordered sends with a bounded write queue,
 * idle timeouts, statistics.
 *
 * @example
 * ```ts
 * import { SharedTransport } from "./shared_transport.ts";
 * const server = new SharedTransport();
 * server.setCallbacks({ onData: (sid, data) => server.send(sid, data) }); // echo
 * const { port } = await server.listen("127.0.0.1", 0);
 * const client = new SharedTransport();
 * const sid = await client.connect("127.0.0.1", port);
 * client.send(sid, new TextEncoder().encode("hi"));
 * await client.stop();
 * await server.stop();
 * ```
 *
 * @module
 */
import { platform } from "../core/platform/mod.ts";
import type { RuntimeName } from "../core/platform/types.ts";
import type { NetworkAdapter, RawConn, RawListener, ResolvedTls } from "./_adapter.ts";
import { resolveConfig, type ResolvedConfig, sweepInterval } from "./_config.ts";
import { resolveTls } from "./_tls.ts";
import {
  allocateSessionId,
  checkEndpoint,
  sessionGone,
  sessionLimitReached,
  sessionNotFound,
} from "./_util.ts";
import { CallbackSet, callbackThrew } from "./_callbacks.ts";
import { getAdapter } from "./adapters.ts";
import {
  type Capabilities,
  Capability,
  type CloseReason,
  type ConnectOptions,
  emptyStats,
  type ListenerInfo,
  type SessionId,
  type SessionInfo,
  type TlsConfig,
  TlsMode,
  type Transport,
  type TransportCallbacks,
  type TransportConfig,
  TransportError,
  type UnifiedStats,
} from "./transport.ts";

const RESOLVED: Promise<void> = Promise.resolve();
const noop = (): void => {};

/**
 * A signal aborted by either of two, and the call that unhooks it (`AbortSignal.any` is missing
 * before Node 20.3; unhooking keeps a long-lived caller's signal from collecting listeners).
 */
function eitherSignal(a: AbortSignal, b: AbortSignal): [AbortSignal, () => void] {
  const both = new AbortController();
  const onA = () => both.abort(a.reason);
  const onB = () => both.abort(b.reason);
  const unhook = () => {
    a.removeEventListener("abort", onA);
    b.removeEventListener("abort", onB);
  };
  if (a.aborted) onA();
  else if (b.aborted) onB();
  else {
    a.addEventListener("abort", onA, { once: true });
    b.addEventListener("abort", onB, { once: true });
  }
  return [both.signal, unhook];
}

interface Waiter {
  resolve(): void;
  reject(error: TransportError): void;
}

interface Session {
  sid: SessionId;
  conn: RawConn;
  info: SessionInfo;
  last: number;
  /** The connection's write progress at the last sweep: when it moved, bytes went out. */
  progress: number;
  reason: CloseReason | null;
  error: TransportError | undefined;
  waiters: Waiter[] | null;
}

interface Listening {
  info: ListenerInfo;
  raw: RawListener;
}

/**
 * TCP and TLS transport (the seed's `SharedTransport`). One instance can
 * listen on several addresses and hold outbound connections at once.
 */
export class SharedTransport implements Transport {
  /** The adapter in use. */
  readonly runtime: RuntimeName;
  #config: ResolvedConfig;
  #adapter: NetworkAdapter;
  #sessions = new Map<SessionId, Session>();
  #listeners = new Map<number, Listening>();
  #nextListenerId = 1;
  #stats: UnifiedStats = emptyStats();
  #clock = 0;
  #sweeper: ReturnType<typeof setInterval> | null = null;
  #started = false;
  #serverTls: Promise<ResolvedTls> | null = null;
  #clientTls: Promise<ResolvedTls> | null = null;
  #allClosed: (() => void) | null = null;
  /** What every `stop` in progress waits for (shared: concurrent stops must all finish). */
  #allGone: Promise<void> | null = null;
  /** Connects in flight: they count against `maxSessions`, and `stop` aborts them. */
  #connecting = new Set<AbortController>();
  /** How many times `stop` ran: a listen that saw it change while binding closes what it bound. */
  #stops = 0;
  readonly #callbacks = new CallbackSet();

  /**
   * Creates a stopped transport; `listen` or `connect` start it.
   *
   * @param config limits, policies, TLS and the adapter choice
   * @param callbacks initial callbacks (see {@linkcode setCallbacks})
   */
  constructor(config: TransportConfig = {}, callbacks: TransportCallbacks = {}) {
    this.#config = resolveConfig(config);
    this.#adapter = getAdapter(this.#config.runtime);
    this.runtime = this.#adapter.name;
    this.setCallbacks(callbacks);
  }

  /** Replaces the callbacks; absent ones become no-ops. */
  setCallbacks(callbacks: TransportCallbacks): void {
    this.#callbacks.replace(callbacks);
  }

  /** Starts the idle sweeper (when an idle timeout is set). Idempotent. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#clock = platform().now();
    const idle = this.#config.idleTimeoutMs;
    if (idle > 0) {
      const tick = sweepInterval(idle);
      this.#sweeper = setInterval(() => this.#sweep(idle + tick), tick);
      platform().unrefTimer(this.#sweeper);
    }
  }

  #sweep(limit: number): void {
    const now = platform().now();
    this.#clock = now;
    for (const s of this.#sessions.values()) {
      if (s.reason !== null) continue;
      // A queue still being written out to a slow reader is traffic, not idleness.
      const progress = s.conn.writeProgress;
      if (progress !== s.progress) {
        s.progress = progress;
        s.last = now;
      } else if (now - s.last >= limit) {
        this.#closeSession(s, "idle", undefined, false);
      }
    }
  }

  #tls(side: "server" | "client", override?: TlsConfig): Promise<ResolvedTls> {
    if (override) return resolveTls({ ...this.#config.tls, ...override }, side);
    if (side === "server") return this.#serverTls ??= resolveTls(this.#config.tls, "server");
    // A failed read (a missing file) must not stay cached: the next connect tries again.
    return this.#clientTls ??= resolveTls(this.#config.tls, "client").catch((error) => {
      this.#clientTls = null;
      throw error;
    });
  }

  /** Binds a listener; TLS when `tlsMode` is `TlsMode.Server`. Port 0 picks a free port. */
  async listen(host: string, port: number, tlsMode: TlsMode = TlsMode.None): Promise<ListenerInfo> {
    checkEndpoint(host, port, true);
    if (tlsMode === TlsMode.Client) {
      throw new TransportError("InvalidArgument", "listen takes TlsMode.None or TlsMode.Server");
    }
    this.start();
    const stops = this.#stops;
    let tls: ResolvedTls | null = null;
    if (tlsMode === TlsMode.Server) {
      try {
        tls = await this.#tls("server");
      } catch (error) {
        this.#serverTls = null;
        throw error;
      }
    }
    const id = this.#nextListenerId++;
    const c = this.#config;
    const raw = await this.#adapter.listenTcp({
      host,
      port,
      tls,
      noDelay: c.noDelay,
      keepAlive: c.keepAlive,
      keepAliveDelayMs: c.keepAliveDelayMs,
      readBufferSize: c.readBufferSize,
      highWaterMark: c.highWaterMark,
      maxTlsConnections: c.maxSessions,
      onConnection: (conn) => this.#accepted(conn, id),
      onError: (error, tlsFailure) => {
        this.#stats.errors++;
        if (tlsFailure) this.#stats.tlsFailures++;
        this.#callbacks.onError(error as TransportError);
      },
    });
    if (stops !== this.#stops) {
      await raw.close();
      throw new TransportError("Aborted", `listen on ${host}:${port}: transport stopped`);
    }
    const info: ListenerInfo = { id, host: raw.host, port: raw.port, tls: tls !== null };
    this.#listeners.set(id, { info, raw });
    return info;
  }

  #accepted(conn: RawConn, listenerId: number): void {
    if (this.#sessions.size >= this.#config.maxSessions || !this.#listeners.has(listenerId)) {
      conn.destroy();
      this.#stats.errors++;
      this.#callbacks.onError(sessionLimitReached(this.#config.maxSessions));
      return;
    }
    const s = this.#register(conn, false, listenerId);
    this.#stats.accepted++;
    if (conn.tls) this.#stats.tlsHandshakes++;
    try {
      this.#callbacks.onAccept(s.sid, s.info);
    } catch (error) {
      // Thrown into the accept loop (Deno) or an event emitter (Node) it would stop the listener.
      this.#callbackFailed(s, error, "onAccept");
    }
  }

  #register(conn: RawConn, outbound: boolean, listenerId: number | null): Session {
    const sid = allocateSessionId();
    const s: Session = {
      sid,
      conn,
      info: {
        sid,
        remoteAddress: conn.remoteAddress,
        remotePort: conn.remotePort,
        localAddress: conn.localAddress,
        localPort: conn.localPort,
        tls: conn.tls,
        alpnProtocol: conn.alpnProtocol,
        outbound,
        listenerId,
      },
      last: platform().now(),
      progress: 0,
      reason: null,
      error: undefined,
      waiters: null,
    };
    this.#sessions.set(sid, s);
    const stats = this.#stats;
    if (this.#sessions.size > stats.sessionsPeak) stats.sessionsPeak = this.#sessions.size;
    conn.start({
      onData: (data) => {
        s.last = this.#clock;
        stats.bytesIn += data.length;
        try {
          this.#callbacks.onData(sid, data);
        } catch (error) {
          this.#callbackFailed(s, error, "onData");
        }
      },
      onEnd: () => {
        if (!this.#config.allowHalfOpen) {
          this.#closeSession(s, "remote", undefined, true);
          return;
        }
        // The peer will send no more, but may still read: the owner answers, then closes.
        try {
          this.#callbacks.onEnd(sid);
        } catch (error) {
          this.#callbackFailed(s, error, "onEnd");
        }
      },
      onError: (error) => {
        this.#stats.errors++;
        const mapped = error instanceof TransportError
          ? error
          : new TransportError("Io", `session ${sid}: ${String(error)}`, { cause: error, sid });
        this.#closeSession(s, "error", mapped, false);
      },
      onDrain: () => {
        const waiters = s.waiters;
        if (waiters) {
          s.waiters = null;
          for (const w of waiters) w.resolve();
        }
      },
      onClosed: () => this.#closed(s),
    });
    return s;
  }

  /** A throwing `onData` must not kill the read loop (Deno) or the process (Node): close the session. */
  #callbackFailed(s: Session, error: unknown, name: string): TransportError {
    this.#stats.errors++;
    const failure = callbackThrew(name, s.sid, error);
    this.#closeSession(s, "error", failure, false);
    if (name !== "onConnect") this.#callbacks.onError(failure, s.sid);
    return failure;
  }

  #closeSession(
    s: Session,
    reason: CloseReason,
    error: TransportError | undefined,
    graceful: boolean,
  ): void {
    if (s.reason === null) {
      s.reason = reason;
      s.error = error;
    }
    if (graceful) s.conn.end();
    else s.conn.destroy();
  }

  #closed(s: Session): void {
    if (!this.#sessions.delete(s.sid)) return;
    this.#stats.closed++;
    const reason = s.reason ?? "remote";
    const waiters = s.waiters;
    if (waiters) {
      s.waiters = null;
      const error = s.error ?? sessionGone(s.sid, reason);
      for (const w of waiters) w.reject(error);
    }
    try {
      if (!this.#callbacks.close(s.sid, reason, s.error)) this.#stats.errors++;
    } finally {
      if (this.#sessions.size === 0 && this.#allClosed) {
        const done = this.#allClosed;
        this.#allClosed = null;
        this.#allGone = null;
        done();
      }
    }
  }

  /**
   * Opens a TCP (or, with `TlsMode.Client`, TLS) session. Rejects with a
   * {@linkcode TransportError}: `ConnectTimeout`, `ConnectionRefused`,
   * `TlsHandshake`, `Aborted`, `LimitExceeded`, `ConnectFailed`.
   */
  async connect(
    host: string,
    port: number,
    tlsMode: TlsMode = TlsMode.None,
    options: ConnectOptions = {},
  ): Promise<SessionId> {
    checkEndpoint(host, port, false);
    if (tlsMode === TlsMode.Server) {
      throw new TransportError("InvalidArgument", "connect takes TlsMode.None or TlsMode.Client");
    }
    if (this.#sessions.size + this.#connecting.size >= this.#config.maxSessions) {
      throw sessionLimitReached(this.#config.maxSessions);
    }
    this.start();
    const stopping = new AbortController();
    this.#connecting.add(stopping);
    const [signal, unhook] = options.signal
      ? eitherSignal(options.signal, stopping.signal)
      : [stopping.signal, noop];
    const c = this.#config;
    let conn: RawConn;
    try {
      const tls = tlsMode === TlsMode.Client ? await this.#tls("client", options.tls) : null;
      conn = await this.#adapter.connectTcp({
        host,
        port,
        tls,
        timeoutMs: options.timeoutMs ?? c.connectTimeoutMs,
        signal,
        noDelay: c.noDelay,
        keepAlive: c.keepAlive,
        keepAliveDelayMs: c.keepAliveDelayMs,
        readBufferSize: c.readBufferSize,
        highWaterMark: c.highWaterMark,
      });
    } catch (error) {
      this.#stats.errors++;
      if (error instanceof TransportError && error.code === "TlsHandshake") {
        this.#stats.tlsFailures++;
      }
      throw error;
    } finally {
      this.#connecting.delete(stopping);
      unhook();
    }
    if (stopping.signal.aborted) {
      // `stop` ran while the socket was connecting: a session now would outlive the transport.
      conn.destroy();
      this.#stats.errors++;
      throw new TransportError("Aborted", `connect to ${host}:${port}: transport stopped`);
    }
    const s = this.#register(conn, true, null);
    this.#stats.connected++;
    if (conn.tls) this.#stats.tlsHandshakes++;
    try {
      this.#callbacks.onConnect(s.sid, s.info);
    } catch (error) {
      throw this.#callbackFailed(s, error, "onConnect");
    }
    return s.sid;
  }

  /**
   * Queues bytes on a session, in order. The bytes must not be modified
   * afterwards. Returns false when the session is unknown or closing, or the
   * backpressure policy just closed it.
   */
  send(sid: SessionId, data: Uint8Array): boolean {
    const s = this.#sessions.get(sid);
    if (s === undefined || s.reason !== null) return false;
    const conn = s.conn;
    const queued = conn.writableLength;
    if (queued > this.#config.highWaterMark) {
      if (
        this.#config.backpressurePolicy === "close" || queued > this.#config.maxWriteQueueBytes
      ) {
        this.#backpressure(s, queued);
        return false;
      }
    }
    conn.write(data);
    this.#stats.bytesOut += data.length;
    s.last = this.#clock;
    return true;
  }

  #backpressure(s: Session, queued: number): void {
    this.#stats.backpressureCloses++;
    this.#closeSession(
      s,
      "backpressure",
      new TransportError(
        "Backpressure",
        `session ${s.sid}: ${queued} bytes queued, over the limit; closed`,
        { sid: s.sid },
      ),
      false,
    );
  }

  /**
   * Like `send`, then resolves once the write queue is back under the
   * high-water mark (at once when it is). Rejects with `SessionNotFound`,
   * `SessionClosed` or `Backpressure`.
   */
  sendAsync(sid: SessionId, data: Uint8Array): Promise<void> {
    const s = this.#sessions.get(sid);
    if (!this.send(sid, data)) {
      return Promise.reject(
        s === undefined ? sessionNotFound(sid) : s.error ?? sessionGone(sid, s.reason ?? "local"),
      );
    }
    if (s!.conn.writableLength <= this.#config.highWaterMark) return RESOLVED;
    return new Promise<void>((resolve, reject) => {
      (s!.waiters ??= []).push({ resolve, reject });
    });
  }

  /**
   * Resolves once the write queue is at or under the high-water mark (at
   * once when it is). Rejects with `SessionNotFound` or `SessionClosed`.
   */
  drain(sid: SessionId): Promise<void> {
    const s = this.#sessions.get(sid);
    if (s === undefined) return Promise.reject(sessionNotFound(sid));
    if (s.reason !== null) return Promise.reject(s.error ?? sessionGone(sid, s.reason));
    if (s.conn.writableLength <= this.#config.highWaterMark) return RESOLVED;
    return new Promise<void>((resolve, reject) => {
      (s.waiters ??= []).push({ resolve, reject });
    });
  }

  /** Sends many messages in order; returns how many were queued. */
  sendBatch(items: Iterable<readonly [SessionId, Uint8Array]>): number {
    let sent = 0;
    for (const [sid, data] of items) if (this.send(sid, data)) sent++;
    return sent;
  }

  /** Closes a session after its queued bytes are written. Harmless when already closed. */
  close(sid: SessionId): void {
    const s = this.#sessions.get(sid);
    if (s) this.#closeSession(s, "local", undefined, true);
  }

  /** Closes a session at once, dropping queued bytes. */
  abort(sid: SessionId): void {
    const s = this.#sessions.get(sid);
    if (s) this.#closeSession(s, "local", undefined, false);
  }

  /**
   * Closes a session at once with a TCP reset (RST), dropping queued bytes, so the peer sees an
   * abortive close and not an end of stream (a cut response stays recognisably cut). The Node
   * adapter sends the reset; Deno has no way to, and closes with a FIN as `abort` does.
   */
  reset(sid: SessionId): void {
    const s = this.#sessions.get(sid);
    if (s === undefined) return;
    if (s.reason === null) s.reason = "local";
    s.conn.reset();
  }

  /** Stops reading from a session; the peer is slowed down by TCP flow control. */
  pauseReading(sid: SessionId): void {
    this.#sessions.get(sid)?.conn.pause();
  }

  /** Resumes reading after `pauseReading`. */
  resumeReading(sid: SessionId): void {
    this.#sessions.get(sid)?.conn.resume();
  }

  /**
   * Tells the transport that the caller drops what the session still receives (a lingering
   * close: reading on so the peer gets the answer instead of a reset). Where the adapter owns
   * the read buffers (Deno), the reads then share one scratch buffer: `onData` still reports
   * every read, but its bytes are valid only during the call and may be overwritten by another
   * session's read; only their length is meaningful.
   */
  discardInput(sid: SessionId): void {
    this.#sessions.get(sid)?.conn.discardInput();
  }

  /** What is known about a session, or undefined when it is gone. */
  getSessionInfo(sid: SessionId): SessionInfo | undefined {
    return this.#sessions.get(sid)?.info;
  }

  /** Bytes queued on a session and not yet written (0 when unknown). */
  writeQueueSize(sid: SessionId): number {
    return this.#sessions.get(sid)?.conn.writableLength ?? 0;
  }

  /** The open sessions' ids. */
  sessionIds(): SessionId[] {
    return [...this.#sessions.keys()];
  }

  /** The capability flags (`HasTls` when TLS settings were given). */
  getCapabilities(): Capabilities {
    return Capability.IsConnectionOriented | Capability.HasConnectViaListener |
      Capability.SupportsKeepalive | Capability.SupportsBatchSend |
      (this.#config.tls ? Capability.HasTls : 0);
  }

  /** A snapshot of the counters. */
  getStats(): UnifiedStats {
    let handshaking = 0;
    for (const l of this.#listeners.values()) handshaking += l.raw.handshaking;
    return { ...this.#stats, sessionsCurrent: this.#sessions.size, tlsHandshaking: handshaking };
  }

  /** Zeroes the counters; `sessionsPeak` restarts from the open sessions. */
  resetStats(): void {
    // In place: the sessions' data handlers hold this object.
    Object.assign(this.#stats, emptyStats());
    this.#stats.sessionsPeak = this.#sessions.size;
  }

  /** Closes one listener; its open sessions stay. */
  async closeListener(id: number): Promise<void> {
    const l = this.#listeners.get(id);
    if (!l) return;
    this.#listeners.delete(id);
    await l.raw.close();
  }

  /** Closes every listener; open sessions stay. */
  async stopListening(): Promise<void> {
    await Promise.all([...this.#listeners.keys()].map((id) => this.closeListener(id)));
  }

  /** Closes every listener and session (reason `"stopped"`) and the sweeper. */
  async stop(): Promise<void> {
    if (this.#sweeper !== null) {
      clearInterval(this.#sweeper);
      this.#sweeper = null;
    }
    this.#started = false;
    this.#stops++;
    for (const stopping of this.#connecting) stopping.abort();
    const listening = this.stopListening();
    if (this.#sessions.size > 0) {
      const gone = this.#allGone ??= new Promise<void>((resolve) => this.#allClosed = resolve);
      for (const s of [...this.#sessions.values()]) {
        this.#closeSession(s, "stopped", undefined, false);
      }
      await gone;
    }
    await listening;
  }

  /** Same as {@linkcode stop}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}
