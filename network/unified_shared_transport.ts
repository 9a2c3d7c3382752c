/**
 * `UnifiedSharedTransport`: one facade over TCP, TLS and UDP, chosen by
 * configuration, with the sync/async layer built in (read modes, awaitable
 * reads) and optional connection health checks.
 *
 * Layers, by composition: `UnifiedSharedTransport` → `SyncAsyncTransport` →
 * `SharedTransport` (TCP/TLS) or `SharedUdpTransport` (UDP) → the runtime
 * adapter (Deno or Node).
 *
 * @example
 * ```ts
 * import { UnifiedSharedTransport } from "./unified_shared_transport.ts";
 * const server = UnifiedSharedTransport.createTcp();
 * server.setCallbacks({ onData: (sid, data) => server.send(sid, data) });
 * const { port } = await server.listen("127.0.0.1", 0);
 * const client = UnifiedSharedTransport.createTcp({ defaultReadMode: "pull" });
 * const sid = await client.connect("127.0.0.1", port);
 * const echo = await client.sendAndWait(sid, new TextEncoder().encode("hi"), { timeoutMs: 1000 });
 * await client.stop();
 * await server.stop();
 * ```
 *
 * @module
 */
import type { RuntimeName } from "../core/platform/types.ts";
import { HealthMonitor, HealthState } from "./health_monitor.ts";
import { SharedTransport } from "./shared_transport.ts";
import { SharedUdpTransport } from "./shared_udp_transport.ts";
import {
  type ReadMode,
  type ReceiveOptions,
  type SendAndWaitOptions,
  type SyncAsyncConfig,
  SyncAsyncTransport,
} from "./sync_async_transport.ts";
import {
  type Capabilities,
  Capability,
  type ConnectOptions,
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

/**
 * The protocols of {@linkcode UnifiedSharedTransport}.
 *
 * @example
 * ```ts
 * import { Protocol } from "./unified_shared_transport.ts";
 * const p: Protocol = Protocol.Udp;
 * ```
 */
export const Protocol: {
  /** Plain TCP. */
  readonly Tcp: "tcp";
  /** TCP with TLS: listeners are TLS servers and connects TLS clients by default. */
  readonly Tls: "tls";
  /** UDP with tracked sessions. */
  readonly Udp: "udp";
} = { Tcp: "tcp", Tls: "tls", Udp: "udp" };

/** One of the {@linkcode Protocol} values. */
export type Protocol = typeof Protocol[keyof typeof Protocol];

/** Settings of {@linkcode UnifiedSharedTransport} (the seed's `Config`). */
export interface UnifiedConfig extends TransportConfig, SyncAsyncConfig {
  /** The protocol. Default `"tcp"`. */
  protocol?: Protocol;
  /** Interval of the connection health checks; 0 (the default) disables them. */
  healthCheckIntervalMs?: number;
}

/** Protocol-agnostic transport facade (the seed's `UnifiedSharedTransport`). */
export class UnifiedSharedTransport implements Transport {
  /** The protocol in use. */
  readonly protocol: Protocol;
  /** The adapter in use. */
  readonly runtime: RuntimeName;
  #hybrid: SyncAsyncTransport;
  #highWaterMark: number;
  #healthMs = 0;
  #monitor: HealthMonitor | null = null;
  #healthy = new Map<SessionId, boolean>();
  #healthListeners: Array<(sid: SessionId, healthy: boolean) => void> = [];
  #user: TransportCallbacks = {};

  /**
   * Creates a stopped transport for `config.protocol`.
   *
   * @param config protocol, limits, TLS, read mode and health checks
   */
  constructor(config: UnifiedConfig = {}) {
    const protocol = config.protocol ?? Protocol.Tcp;
    if (protocol !== Protocol.Tcp && protocol !== Protocol.Tls && protocol !== Protocol.Udp) {
      throw new TransportError("InvalidArgument", `unknown protocol ${String(protocol)}`);
    }
    if (protocol === Protocol.Tls && !config.tls) {
      throw new TransportError("TlsConfig", "the tls protocol needs tls settings");
    }
    this.protocol = protocol;
    const base = protocol === Protocol.Udp
      ? new SharedUdpTransport(config)
      : new SharedTransport(config);
    this.#hybrid = new SyncAsyncTransport(base, config);
    this.runtime = this.#hybrid.runtime;
    this.#highWaterMark = config.highWaterMark ?? 1024 * 1024;
    this.#wire();
    if (config.healthCheckIntervalMs) this.setHealthCheckInterval(config.healthCheckIntervalMs);
  }

  /**
   * A TCP transport.
   *
   * @example
   * ```ts
   * import { UnifiedSharedTransport } from "./unified_shared_transport.ts";
   * const t = UnifiedSharedTransport.createTcp({ idleTimeoutMs: 60_000 });
   * ```
   */
  static createTcp(config: Omit<UnifiedConfig, "protocol"> = {}): UnifiedSharedTransport {
    return new UnifiedSharedTransport({ ...config, protocol: Protocol.Tcp });
  }

  /**
   * A TLS transport with `tls` settings (certificate and key to listen, CA to connect).
   *
   * @example
   * ```ts
   * import { UnifiedSharedTransport } from "./unified_shared_transport.ts";
   * const t = UnifiedSharedTransport.createTls({ certFile: "cert.pem", keyFile: "key.pem" });
   * ```
   */
  static createTls(
    tls: TlsConfig,
    config: Omit<UnifiedConfig, "protocol" | "tls"> = {},
  ): UnifiedSharedTransport {
    return new UnifiedSharedTransport({ ...config, tls, protocol: Protocol.Tls });
  }

  /**
   * A UDP transport.
   *
   * @example
   * ```ts
   * import { UnifiedSharedTransport } from "./unified_shared_transport.ts";
   * const t = UnifiedSharedTransport.createUdp({ maxDatagramSize: 1200 });
   * ```
   */
  static createUdp(config: Omit<UnifiedConfig, "protocol"> = {}): UnifiedSharedTransport {
    return new UnifiedSharedTransport({ ...config, protocol: Protocol.Udp });
  }

  #wire(): void {
    const u = this.#user;
    this.#hybrid.setCallbacks({
      onAccept: (sid, info) => {
        this.#track(sid);
        u.onAccept?.(sid, info);
      },
      onConnect: (sid, info) => {
        this.#track(sid);
        u.onConnect?.(sid, info);
      },
      onData: u.onData,
      onClose: (sid, reason, error) => {
        this.#monitor?.stopMonitoring(sid);
        this.#healthy.delete(sid);
        u.onClose?.(sid, reason, error);
      },
      onError: u.onError,
    });
  }

  #track(sid: SessionId): void {
    if (this.#monitor) {
      this.#healthy.set(sid, true);
      this.#monitor.startMonitoring(sid);
    }
  }

  /** The sync/async layer this facade drives. */
  get syncAsync(): SyncAsyncTransport {
    return this.#hybrid;
  }

  /** Replaces the callbacks; absent ones become no-ops. */
  setCallbacks(callbacks: TransportCallbacks): void {
    this.#user = { ...callbacks };
    this.#wire();
  }

  /** Starts the transport. */
  start(): void {
    this.#hybrid.start();
  }

  /** Binds a listener; TLS by default for the `tls` protocol. */
  listen(host: string, port: number, tlsMode?: TlsMode): Promise<ListenerInfo> {
    const mode = tlsMode ?? (this.protocol === Protocol.Tls ? TlsMode.Server : TlsMode.None);
    return this.#hybrid.listen(host, port, mode);
  }

  /** Closes one listener. */
  closeListener(id: number): Promise<void> {
    return this.#hybrid.closeListener(id);
  }

  /** Closes every listener. */
  stopListening(): Promise<void> {
    return this.#hybrid.stopListening();
  }

  /** Opens a session; TLS by default for the `tls` protocol. */
  connect(
    host: string,
    port: number,
    tlsMode?: TlsMode,
    options?: ConnectOptions,
  ): Promise<SessionId> {
    const mode = tlsMode ?? (this.protocol === Protocol.Tls ? TlsMode.Client : TlsMode.None);
    return this.#hybrid.connect(host, port, mode, options);
  }

  /** Queues bytes on a session. */
  send(sid: SessionId, data: Uint8Array): boolean {
    return this.#hybrid.send(sid, data);
  }

  /** Queues bytes and waits for room in the write queue. */
  sendAsync(sid: SessionId, data: Uint8Array): Promise<void> {
    return this.#hybrid.sendAsync(sid, data);
  }

  /** Waits for the write queue to drain under the high-water mark. */
  drain(sid: SessionId): Promise<void> {
    return this.#hybrid.drain(sid);
  }

  /** Sends many messages; returns how many were queued. */
  sendBatch(items: Iterable<readonly [SessionId, Uint8Array]>): number {
    return this.#hybrid.sendBatch(items);
  }

  /** Closes a session gracefully. */
  close(sid: SessionId): void {
    this.#hybrid.close(sid);
  }

  /** Closes a session at once. */
  abort(sid: SessionId): void {
    this.#hybrid.abort(sid);
  }

  /** Stops reading from a session. */
  pauseReading(sid: SessionId): void {
    this.#hybrid.pauseReading(sid);
  }

  /** Resumes reading. */
  resumeReading(sid: SessionId): void {
    this.#hybrid.resumeReading(sid);
  }

  /** Sets a session's exclusive read mode (`"callback"` or `"pull"`). */
  setReadMode(sid: SessionId, mode: ReadMode): void {
    this.#hybrid.setReadMode(sid, mode);
  }

  /** A session's read mode. */
  getReadMode(sid: SessionId): ReadMode {
    return this.#hybrid.getReadMode(sid);
  }

  /** Awaitable read (pull mode); null once closed and drained. */
  receive(sid: SessionId, maxBytes?: number, options?: ReceiveOptions): Promise<Uint8Array | null> {
    return this.#hybrid.receive(sid, maxBytes, options);
  }

  /** Reads exactly `n` bytes (pull mode). */
  readExactly(sid: SessionId, n: number, options?: ReceiveOptions): Promise<Uint8Array | null> {
    return this.#hybrid.readExactly(sid, n, options);
  }

  /** Reads up to and including a delimiter (pull mode). */
  readUntil(
    sid: SessionId,
    delimiter: Uint8Array | string,
    limit?: number,
    options?: ReceiveOptions,
  ): Promise<Uint8Array | null> {
    return this.#hybrid.readUntil(sid, delimiter, limit, options);
  }

  /** Sends, then waits for the reply bytes (pull mode). */
  sendAndWait(
    sid: SessionId,
    data: Uint8Array,
    options?: SendAndWaitOptions,
  ): Promise<Uint8Array | null> {
    return this.#hybrid.sendAndWait(sid, data, options);
  }

  /**
   * Checks every session each `ms` (0 disables): a session whose write queue
   * stays over the high-water mark (its peer does not read) or that is gone
   * turns unhealthy after two checks; it turns healthy again once it drains.
   */
  setHealthCheckInterval(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new TransportError("InvalidArgument", `invalid health check interval ${ms}`);
    }
    this.#monitor?.stop();
    this.#monitor = null;
    this.#healthy.clear();
    this.#healthMs = ms;
    if (ms === 0) return;
    const monitor = new HealthMonitor({
      heartbeatIntervalMs: ms,
      healthCheckTimeoutMs: ms,
      consecutiveFailuresThreshold: 2,
      degradedThresholdMs: 2 * ms,
      unhealthyThresholdMs: 4 * ms,
      successRateThreshold: 0,
      probe: (sid) =>
        this.#hybrid.getSessionInfo(sid) !== undefined &&
        this.#hybrid.writeQueueSize(sid) <= this.#highWaterMark,
    });
    monitor.onHealthChanged((sid, _from, to) => {
      const healthy = to === HealthState.Healthy || to === HealthState.Warning;
      if (this.#healthy.get(sid) === healthy) return;
      this.#healthy.set(sid, healthy);
      for (const l of this.#healthListeners) l(sid, healthy);
    });
    this.#monitor = monitor;
    for (const sid of this.sessionIds()) this.#track(sid);
  }

  /** The health check interval in ms (0 when off). */
  getHealthCheckInterval(): number {
    return this.#healthMs;
  }

  /** Calls `listener(sid, healthy)` when a session's health flips; returns a remover. */
  onConnectionHealthChanged(listener: (sid: SessionId, healthy: boolean) => void): () => void {
    this.#healthListeners.push(listener);
    return () => {
      this.#healthListeners = this.#healthListeners.filter((l) => l !== listener);
    };
  }

  /** A session's last known health, or undefined when unchecked. */
  isHealthy(sid: SessionId): boolean | undefined {
    return this.#healthy.get(sid);
  }

  /** The open sessions' ids. */
  sessionIds(): SessionId[] {
    const base = this.#hybrid.base as SharedTransport | SharedUdpTransport;
    return base.sessionIds();
  }

  /** What is known about a session. */
  getSessionInfo(sid: SessionId): SessionInfo | undefined {
    return this.#hybrid.getSessionInfo(sid);
  }

  /** Bytes queued for writing on a session. */
  writeQueueSize(sid: SessionId): number {
    return this.#hybrid.writeQueueSize(sid);
  }

  /** The capabilities (`HasTls` only for the `tls` protocol). */
  getCapabilities(): Capabilities {
    const caps = this.#hybrid.getCapabilities();
    return this.protocol === Protocol.Tls ? caps | Capability.HasTls : caps & ~Capability.HasTls;
  }

  /** A snapshot of the counters. */
  getStats(): UnifiedStats {
    return this.#hybrid.getStats();
  }

  /** Zeroes the counters. */
  resetStats(): void {
    this.#hybrid.resetStats();
  }

  /** Stops everything: listeners, sessions, health checks. */
  async stop(): Promise<void> {
    this.#monitor?.stop();
    this.#monitor = null;
    this.#healthy.clear();
    await this.#hybrid.stop();
    if (this.#healthMs > 0) this.setHealthCheckInterval(this.#healthMs);
  }

  /** Same as {@linkcode stop}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
    this.#monitor?.stop();
    this.#monitor = null;
  }
}
