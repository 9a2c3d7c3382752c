/**
 * `SharedUdpTransport`: UDP with sessions. A session is one remote address
 * and port seen by one local socket — created when a listener first hears
 * from a peer (`onAccept`) or by `connect` (`onConnect`), forgotten after
 * `udpSessionIdleMs` without traffic. Datagrams over `maxDatagramSize` are
 * refused on send and dropped on receive.
 *
 * @example
 * ```ts
 * import { SharedUdpTransport } from "./shared_udp_transport.ts";
 * const server = new SharedUdpTransport();
 * server.setCallbacks({ onData: (sid, data) => server.send(sid, data) }); // echo
 * const { port } = await server.listen("127.0.0.1", 0);
 * const client = new SharedUdpTransport();
 * const sid = await client.connect("127.0.0.1", port);
 * client.send(sid, new TextEncoder().encode("ping"));
 * await client.stop();
 * await server.stop();
 * ```
 *
 * @module
 */
import { platform } from "../core/platform/mod.ts";
import type { RuntimeName } from "../core/platform/types.ts";
import type { NetworkAdapter, RawUdpSocket } from "./_adapter.ts";
import { isIpLiteral, isIpv6 } from "./_adapter.ts";
import { resolveConfig, type ResolvedConfig, sweepInterval } from "./_config.ts";
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
  TlsMode,
  type Transport,
  type TransportCallbacks,
  type TransportConfig,
  TransportError,
  type UnifiedStats,
} from "./transport.ts";

const RESOLVED: Promise<void> = Promise.resolve();

interface UdpSocketState {
  /** Listener id, or null for a socket owned by one outbound session. */
  listenerId: number | null;
  raw: RawUdpSocket | null;
  /** Sessions by "address|port". */
  peers: Map<string, UdpSession>;
}

interface UdpSession {
  sid: SessionId;
  socket: UdpSocketState;
  key: string;
  info: SessionInfo;
  last: number;
  /** Outbound: the address replies must come from (IPv4 literals only), or null for any. */
  peerAddress: string | null;
}

/** UDP transport with tracked sessions (the seed's `SharedUdpTransport`). */
export class SharedUdpTransport implements Transport {
  /** The adapter in use. */
  readonly runtime: RuntimeName;
  #config: ResolvedConfig;
  #adapter: NetworkAdapter;
  #sessions = new Map<SessionId, UdpSession>();
  #listeners = new Map<number, { info: ListenerInfo; state: UdpSocketState }>();
  #nextListenerId = 1;
  #stats: UnifiedStats = emptyStats();
  #clock = 0;
  #sweeper: ReturnType<typeof setInterval> | null = null;
  /** Connects binding their socket: they count against `maxSessions`. */
  #connecting = 0;
  /** How many times `stop` ran: a bind that saw it change closes its socket. */
  #stops = 0;
  readonly #callbacks = new CallbackSet();

  /**
   * Creates a stopped transport; `listen` or `connect` start it.
   *
   * @param config limits (`maxDatagramSize`, `udpSessionIdleMs`, `maxSessions`) and the adapter
   * @param callbacks initial callbacks
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

  /** Starts the session expiry sweeper. Idempotent. */
  start(): void {
    if (this.#sweeper !== null) return;
    this.#clock = platform().now();
    const idle = this.#config.udpSessionIdleMs;
    const tick = sweepInterval(idle);
    this.#sweeper = setInterval(() => {
      const now = platform().now();
      this.#clock = now;
      for (const s of [...this.#sessions.values()]) {
        if (now - s.last >= idle + tick) this.#end(s, "idle");
      }
    }, tick);
    platform().unrefTimer(this.#sweeper);
  }

  #bind(host: string, port: number, state: UdpSocketState): Promise<RawUdpSocket> {
    return this.#adapter.bindUdp({
      host,
      port,
      maxDatagramSize: this.#config.maxDatagramSize,
      onMessage: (data, address, remotePort) => this.#message(state, data, address, remotePort),
      onOversize: (size, address, remotePort) => {
        this.#stats.errors++;
        this.#callbacks.onError(
          new TransportError(
            "DatagramTooLarge",
            `dropped a ${size}-byte datagram from ${address}:${remotePort} (limit ${this.#config.maxDatagramSize})`,
          ),
        );
      },
      onError: (error) => {
        this.#stats.errors++;
        this.#callbacks.onError(
          new TransportError("Io", `UDP socket: ${String(error)}`, { cause: error }),
        );
      },
    });
  }

  #message(state: UdpSocketState, data: Uint8Array, address: string, port: number): void {
    const key = `${address}|${port}`;
    let s = state.peers.get(key);
    if (s === undefined) {
      // An outbound socket belongs to its one session (the peer may have been named, not numbered).
      if (state.listenerId === null) {
        s = state.peers.values().next().value;
        if (s === undefined) return;
        // Only the connected peer speaks on this session; by port alone when it was named.
        if (port !== s.info.remotePort || (s.peerAddress !== null && address !== s.peerAddress)) {
          return;
        }
        s.last = this.#clock;
        this.#stats.bytesIn += data.length;
        this.#deliver(s, data);
        return;
      }
      if (this.#sessions.size >= this.#config.maxSessions) {
        this.#stats.errors++;
        return;
      }
      s = this.#newSession(state, address, port, false);
      this.#stats.accepted++;
      try {
        this.#callbacks.onAccept(s.sid, s.info);
      } catch (error) {
        this.#callbackFailed(s, error, "onAccept");
      }
      if (!this.#sessions.has(s.sid)) return;
    }
    s.last = this.#clock;
    this.#stats.bytesIn += data.length;
    this.#deliver(s, data);
  }

  /** A throwing `onData` must not take the socket (or the process) down: drop the session. */
  #deliver(s: UdpSession, data: Uint8Array): void {
    try {
      this.#callbacks.onData(s.sid, data);
    } catch (error) {
      this.#callbackFailed(s, error, "onData");
    }
  }

  /** A callback threw: end its session (a throw into the receive loop would stop the socket). */
  #callbackFailed(s: UdpSession, error: unknown, name: string): TransportError {
    this.#stats.errors++;
    this.#end(s, "error");
    const failure = callbackThrew(name, s.sid, error);
    if (name !== "onConnect") this.#callbacks.onError(failure, s.sid);
    return failure;
  }

  #newSession(
    state: UdpSocketState,
    address: string,
    port: number,
    outbound: boolean,
  ): UdpSession {
    const sid = allocateSessionId();
    const key = `${address}|${port}`;
    const s: UdpSession = {
      sid,
      socket: state,
      key,
      info: {
        sid,
        remoteAddress: address,
        remotePort: port,
        localAddress: state.raw?.address ?? "",
        localPort: state.raw?.port ?? 0,
        tls: false,
        alpnProtocol: null,
        outbound,
        listenerId: state.listenerId,
      },
      last: platform().now(),
      peerAddress: outbound && isIpLiteral(address) && !isIpv6(address)
        ? address.split(".").map(Number).join(".")
        : null,
    };
    state.peers.set(key, s);
    this.#sessions.set(sid, s);
    if (this.#sessions.size > this.#stats.sessionsPeak) {
      this.#stats.sessionsPeak = this.#sessions.size;
    }
    return s;
  }

  /** Binds a UDP socket whose peers become sessions. TLS is refused. */
  async listen(host: string, port: number, tlsMode: TlsMode = TlsMode.None): Promise<ListenerInfo> {
    checkEndpoint(host, port, true);
    if (tlsMode !== TlsMode.None) {
      throw new TransportError("InvalidArgument", "UDP has no TLS (DTLS is not supported)");
    }
    this.start();
    const id = this.#nextListenerId++;
    const state: UdpSocketState = { listenerId: id, raw: null, peers: new Map() };
    const stops = this.#stops;
    state.raw = await this.#bind(host, port, state);
    if (stops !== this.#stops) {
      state.raw.close();
      throw new TransportError("Aborted", `listen on ${host}:${port}: transport stopped`);
    }
    const info: ListenerInfo = { id, host: state.raw.address, port: state.raw.port, tls: false };
    this.#listeners.set(id, { info, state });
    return info;
  }

  /**
   * Creates a session towards `host:port` on a fresh local socket. No packet
   * is exchanged: UDP has no handshake.
   */
  async connect(
    host: string,
    port: number,
    tlsMode: TlsMode = TlsMode.None,
    options: ConnectOptions = {},
  ): Promise<SessionId> {
    checkEndpoint(host, port, false);
    if (tlsMode !== TlsMode.None) {
      throw new TransportError("InvalidArgument", "UDP has no TLS (DTLS is not supported)");
    }
    if (options.signal?.aborted) throw new TransportError("Aborted", "connect aborted");
    if (this.#sessions.size + this.#connecting >= this.#config.maxSessions) {
      throw sessionLimitReached(this.#config.maxSessions);
    }
    this.start();
    const state: UdpSocketState = { listenerId: null, raw: null, peers: new Map() };
    const stops = this.#stops;
    this.#connecting++;
    try {
      state.raw = await this.#bind(isIpv6(host) ? "::" : "0.0.0.0", 0, state);
    } finally {
      this.#connecting--;
    }
    if (stops !== this.#stops) {
      state.raw.close();
      throw new TransportError("Aborted", `connect to ${host}:${port}: transport stopped`);
    }
    const s = this.#newSession(state, host, port, true);
    this.#stats.connected++;
    try {
      this.#callbacks.onConnect(s.sid, s.info);
    } catch (error) {
      throw this.#callbackFailed(s, error, "onConnect");
    }
    return s.sid;
  }

  /** Sends one datagram. Returns false for an unknown session or an oversized datagram. */
  send(sid: SessionId, data: Uint8Array): boolean {
    const s = this.#sessions.get(sid);
    if (s === undefined || s.socket.raw === null) return false;
    if (data.length > this.#config.maxDatagramSize) {
      this.#stats.errors++;
      this.#callbacks.onError(this.#tooLarge(sid, data.length), sid);
      return false;
    }
    s.socket.raw.send(data, s.info.remotePort, s.info.remoteAddress);
    s.last = this.#clock;
    this.#stats.bytesOut += data.length;
    return true;
  }

  #tooLarge(sid: SessionId, size: number): TransportError {
    return new TransportError(
      "DatagramTooLarge",
      `a ${size}-byte datagram is over the limit of ${this.#config.maxDatagramSize}`,
      { sid },
    );
  }

  /** Like `send`; rejects with `SessionNotFound` or `DatagramTooLarge`. */
  sendAsync(sid: SessionId, data: Uint8Array): Promise<void> {
    const s = this.#sessions.get(sid);
    if (s === undefined) return Promise.reject(sessionNotFound(sid));
    if (data.length > this.#config.maxDatagramSize) {
      return Promise.reject(this.#tooLarge(sid, data.length));
    }
    return this.send(sid, data) ? RESOLVED : Promise.reject(sessionGone(sid, "local"));
  }

  /** Resolves at once for a known session (datagrams do not queue); rejects with `SessionNotFound`. */
  drain(sid: SessionId): Promise<void> {
    return this.#sessions.has(sid) ? RESOLVED : Promise.reject(sessionNotFound(sid));
  }

  /** Sends many datagrams; returns how many went out. */
  sendBatch(items: Iterable<readonly [SessionId, Uint8Array]>): number {
    let sent = 0;
    for (const [sid, data] of items) if (this.send(sid, data)) sent++;
    return sent;
  }

  #end(s: UdpSession, reason: CloseReason): void {
    if (!this.#sessions.delete(s.sid)) return;
    s.socket.peers.delete(s.key);
    if (s.socket.listenerId === null) {
      s.socket.raw?.close();
      s.socket.raw = null;
    }
    this.#stats.closed++;
    if (!this.#callbacks.close(s.sid, reason)) this.#stats.errors++;
  }

  /** Forgets a session (and closes its socket when it was connected). */
  close(sid: SessionId): void {
    const s = this.#sessions.get(sid);
    if (s) this.#end(s, "local");
  }

  /** Same as `close`: UDP has nothing queued. */
  abort(sid: SessionId): void {
    this.close(sid);
  }

  /** Not available for UDP (datagrams cannot be held back per peer); does nothing. */
  pauseReading(_sid: SessionId): void {}

  /** Not available for UDP; does nothing. */
  resumeReading(_sid: SessionId): void {}

  /** What is known about a session, or undefined when it is gone. */
  getSessionInfo(sid: SessionId): SessionInfo | undefined {
    return this.#sessions.get(sid)?.info;
  }

  /** Always 0: datagrams are handed to the OS at once. */
  writeQueueSize(_sid: SessionId): number {
    return 0;
  }

  /** The open sessions' ids. */
  sessionIds(): SessionId[] {
    return [...this.#sessions.keys()];
  }

  /** `HasConnectViaListener | SupportsBatchSend`. */
  getCapabilities(): Capabilities {
    return Capability.HasConnectViaListener | Capability.SupportsBatchSend;
  }

  /** A snapshot of the counters. */
  getStats(): UnifiedStats {
    return { ...this.#stats, sessionsCurrent: this.#sessions.size };
  }

  /** Zeroes the counters; `sessionsPeak` restarts from the open sessions. */
  resetStats(): void {
    this.#stats = emptyStats();
    this.#stats.sessionsPeak = this.#sessions.size;
  }

  /** Closes one listening socket and forgets its sessions (reason `"stopped"`). */
  closeListener(id: number): Promise<void> {
    const l = this.#listeners.get(id);
    if (!l) return RESOLVED;
    this.#listeners.delete(id);
    for (const s of [...l.state.peers.values()]) this.#end(s, "stopped");
    l.state.raw?.close();
    l.state.raw = null;
    return RESOLVED;
  }

  /** Closes every listening socket. */
  async stopListening(): Promise<void> {
    for (const id of [...this.#listeners.keys()]) await this.closeListener(id);
  }

  /** Closes every socket and session (reason `"stopped"`) and the sweeper. */
  async stop(): Promise<void> {
    this.#stops++;
    if (this.#sweeper !== null) {
      clearInterval(this.#sweeper);
      this.#sweeper = null;
    }
    await this.stopListening();
    for (const s of [...this.#sessions.values()]) this.#end(s, "stopped");
  }

  /** Same as {@linkcode stop}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}
