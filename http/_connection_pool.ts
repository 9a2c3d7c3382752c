// The client's connections, per origin: idle keep-alive connections are
// reused (newest first, so the rest can expire), a closed one leaves the
// pool the moment the transport says so, and new ones are made through
// the DNS client with Happy Eyeballs (RFC 8305) when a name has several
// addresses.
import { platform } from "../core/platform/mod.ts";
import { SharedTransport } from "../network/shared_transport.ts";
import {
  type SessionId,
  type TlsConfig,
  TlsMode,
  type TransportConfig,
  TransportError,
} from "../network/transport.ts";
import { HttpClientError } from "./client_error.ts";
import { ClientConnection, type ConnectionOwner } from "./_client_connection.ts";

/** Resolves a host name to addresses, best first (the DNS client's `resolveHost`). */
export interface HostResolver {
  /**
   * The addresses of `name`.
   *
   * @param name a host name
   * @param options cancellation
   */
  resolveHost(name: string, options?: { signal?: AbortSignal }): Promise<string[]>;
  /**
   * The targets of a service (RFC 3263/2782: NAPTR, SRV, then addresses), best first: what
   * `srv+http:` and `srv+https:` URLs go through (the DNS client's `resolveServiceDomain`).
   *
   * @param domain the service's domain
   * @param serviceTypes the transports wanted
   * @param options the service name, default ports, cancellation
   */
  resolveServiceDomain?(
    domain: string,
    serviceTypes?: ("UDP" | "TCP" | "TLS")[],
    options?: {
      service?: string;
      defaultPorts?: Partial<Record<"UDP" | "TCP" | "TLS", number>>;
      signal?: AbortSignal;
    },
  ): Promise<{ targets: { host: string; address: string; port: number }[] }>;
}

/** Where requests go: scheme, host and port. */
export interface Origin {
  /** `http://host:port`, the pool's key. */
  key: string;
  tls: boolean;
  /** The host name or address literal, without brackets: the TLS server name. */
  host: string;
  port: number;
  /** Connect here instead of resolving `host` (a service target's address). */
  address?: string;
}

export interface PoolOptions {
  transport: TransportConfig;
  tls: TlsConfig | undefined;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  maxConnectionsPerHost: number;
  reuse: boolean;
  maxResponseBytes: number;
  maxHeaderBytes: number;
  resolver(): HostResolver;
  /** Delay between Happy Eyeballs attempts. */
  attemptDelayMs: number;
}

/** Connection counters of the pool. */
export interface PoolStats {
  /** Connections opened. */
  connectionsOpened: number;
  /** Requests sent on a connection that had carried one before. */
  connectionsReused: number;
  /** Connections closed, by either side. */
  connectionsClosed: number;
  /** Connections open now. */
  connectionsOpen: number;
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

function isAddress(host: string): boolean {
  return IPV4.test(host) || host.includes(":");
}

/** Alternates the families, keeping the resolver's order within each (RFC 8305 section 4). */
function interleave(addresses: string[]): string[] {
  const v6 = addresses.filter((a) => a.includes(":"));
  const v4 = addresses.filter((a) => !a.includes(":"));
  const [first, second] = addresses[0]?.includes(":") ? [v6, v4] : [v4, v6];
  const out: string[] = [];
  for (let i = 0; i < Math.max(first.length, second.length); i++) {
    if (i < first.length) out.push(first[i]);
    if (i < second.length) out.push(second[i]);
  }
  return out;
}

export class ConnectionPool implements ConnectionOwner {
  #options: PoolOptions;
  #transport: SharedTransport;
  #connections = new Map<SessionId, ClientConnection>();
  #idle = new Map<string, ClientConnection[]>();
  #open = new Map<string, number>();
  #waiters = new Map<string, (() => void)[]>();
  #sweeper: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  stats: PoolStats = {
    connectionsOpened: 0,
    connectionsReused: 0,
    connectionsClosed: 0,
    connectionsOpen: 0,
  };

  constructor(options: PoolOptions) {
    this.#options = options;
    this.#transport = new SharedTransport({ ...options.transport, tls: options.tls }, {
      onData: (sid, data) => this.#connections.get(sid)?.onData(data),
      onClose: (sid) => this.#connections.get(sid)?.onClose(),
    });
  }

  /** The host resolver (made on first use). */
  resolver(): HostResolver {
    return this.#options.resolver();
  }

  /** A connection to `origin`: an idle one when there is one, else a new one. */
  async acquire(origin: Origin, signal: AbortSignal): Promise<ClientConnection> {
    for (;;) {
      if (this.#closed) throw new HttpClientError("Closed", "the HTTP client is closed");
      if (signal.aborted) throw signal.reason;
      const idle = this.#idle.get(origin.key);
      while (idle !== undefined && idle.length > 0) {
        const connection = idle.pop()!;
        if (this.#expired(connection, platform().now())) {
          connection.close();
          continue;
        }
        this.stats.connectionsReused++;
        return connection;
      }
      const open = this.#open.get(origin.key) ?? 0;
      if (open < this.#options.maxConnectionsPerHost) {
        this.#open.set(origin.key, open + 1);
        try {
          const sid = await this.#connect(origin, signal);
          const connection = new ClientConnection(sid, origin.key, this.#transport, this, {
            maxResponseBytes: this.#options.maxResponseBytes,
            maxHeaderBytes: this.#options.maxHeaderBytes,
          });
          this.#connections.set(sid, connection);
          this.stats.connectionsOpened++;
          this.stats.connectionsOpen++;
          // A close that raced the registration (the peer hung up at once).
          if (this.#transport.getSessionInfo(sid) === undefined) connection.onClose();
          return connection;
        } catch (error) {
          this.#release(origin.key);
          throw error;
        }
      }
      await this.#slot(origin.key, signal);
    }
  }

  reusable(connection: ClientConnection): void {
    if (!this.#options.reuse || this.#closed) {
      connection.close();
      return;
    }
    let idle = this.#idle.get(connection.origin);
    if (idle === undefined) this.#idle.set(connection.origin, idle = []);
    idle.push(connection);
    this.#sweep();
    this.#wake(connection.origin);
  }

  gone(connection: ClientConnection): void {
    if (this.#connections.get(connection.sid) !== connection) return;
    this.#connections.delete(connection.sid);
    const idle = this.#idle.get(connection.origin);
    const at = idle?.indexOf(connection) ?? -1;
    if (at >= 0) idle!.splice(at, 1);
    this.stats.connectionsClosed++;
    this.stats.connectionsOpen--;
    this.#release(connection.origin);
  }

  /** Closes the idle connections; busy ones close when their exchange ends. */
  purgeIdle(): void {
    for (const idle of this.#idle.values()) {
      for (const connection of [...idle]) connection.close();
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sweeper);
    for (const waiters of this.#waiters.values()) for (const wake of waiters) wake();
    this.#waiters.clear();
    await this.#transport.stop();
  }

  #expired(connection: ClientConnection, now: number): boolean {
    // A server's own idle limit, less a second for the request in flight to reach it.
    const limit = Math.min(
      this.#options.idleTimeoutMs,
      connection.serverIdleMs === undefined ? Infinity : connection.serverIdleMs - 1000,
    );
    return connection.closed || now - connection.idleSince >= limit;
  }

  #sweep(): void {
    if (this.#sweeper !== undefined || !Number.isFinite(this.#options.idleTimeoutMs)) return;
    const every = Math.max(100, Math.min(this.#options.idleTimeoutMs / 2, 30_000));
    this.#sweeper = setInterval(() => {
      const now = platform().now();
      let any = false;
      for (const idle of this.#idle.values()) {
        for (const connection of [...idle]) {
          if (this.#expired(connection, now)) connection.close();
          else any = true;
        }
      }
      if (!any) {
        clearInterval(this.#sweeper);
        this.#sweeper = undefined;
      }
    }, every);
    platform().unrefTimer(this.#sweeper);
  }

  #release(key: string): void {
    const open = (this.#open.get(key) ?? 1) - 1;
    if (open <= 0) this.#open.delete(key);
    else this.#open.set(key, open);
    this.#wake(key);
  }

  #wake(key: string): void {
    const waiters = this.#waiters.get(key);
    const wake = waiters?.shift();
    if (waiters?.length === 0) this.#waiters.delete(key);
    wake?.();
  }

  #slot(key: string, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let waiters = this.#waiters.get(key);
      if (waiters === undefined) this.#waiters.set(key, waiters = []);
      const onAbort = () => {
        const list = this.#waiters.get(key);
        const at = list?.indexOf(wake) ?? -1;
        if (at >= 0) list!.splice(at, 1);
        reject(signal.reason);
      };
      const wake = () => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      };
      waiters.push(wake);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  async #addresses(origin: Origin, signal: AbortSignal): Promise<string[]> {
    if (origin.address !== undefined) return [origin.address];
    if (isAddress(origin.host)) return [origin.host];
    let addresses: string[];
    try {
      addresses = await this.#options.resolver().resolveHost(origin.host, { signal });
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      throw new HttpClientError(
        "DnsFailed",
        `${origin.key}: ${origin.host} did not resolve: ${(error as Error).message}`,
        { cause: error },
      );
    }
    if (addresses.length === 0) {
      throw new HttpClientError("DnsFailed", `${origin.key}: ${origin.host} has no address`);
    }
    return interleave(addresses);
  }

  async #connect(origin: Origin, signal: AbortSignal): Promise<SessionId> {
    const addresses = await this.#addresses(origin, signal);
    const mode = origin.tls ? TlsMode.Client : TlsMode.None;
    const tls = origin.tls && !isAddress(origin.host) ? { serverName: origin.host } : undefined;
    const { connectTimeoutMs, attemptDelayMs } = this.#options;
    return await new Promise<SessionId>((resolve, reject) => {
      const attempts: AbortController[] = [];
      const failures: unknown[] = [];
      let next = 0;
      let running = 0;
      let done = false;
      let stagger: ReturnType<typeof setTimeout> | undefined;
      const finish = () => {
        done = true;
        clearTimeout(stagger);
        signal.removeEventListener("abort", onAbort);
        for (const attempt of attempts) attempt.abort();
      };
      const onAbort = () => {
        if (done) return;
        finish();
        reject(signal.reason);
      };
      const start = () => {
        clearTimeout(stagger);
        if (done || next >= addresses.length) return;
        const address = addresses[next++];
        const attempt = new AbortController();
        attempts.push(attempt);
        running++;
        // The next address gets its turn after the attempt delay, or at once if this one fails.
        if (next < addresses.length) stagger = setTimeout(start, attemptDelayMs);
        this.#transport.connect(address, origin.port, mode, {
          timeoutMs: connectTimeoutMs,
          signal: attempt.signal,
          tls,
        }).then((sid) => {
          if (done) {
            this.#transport.close(sid);
            return;
          }
          finish();
          resolve(sid);
        }, (error) => {
          running--;
          if (done) return;
          failures.push(error);
          if (next < addresses.length) start();
          else if (running === 0) {
            finish();
            reject(connectError(origin, addresses, failures, connectTimeoutMs));
          }
        });
      };
      signal.addEventListener("abort", onAbort, { once: true });
      start();
    });
  }
}

function connectError(
  origin: Origin,
  addresses: string[],
  failures: unknown[],
  timeoutMs: number,
): HttpClientError {
  const timedOut = failures.every((f) =>
    f instanceof TransportError && f.code === "ConnectTimeout"
  );
  const detail = failures.map((f) => (f as Error).message).join("; ");
  if (timedOut) {
    return new HttpClientError(
      "ConnectTimeout",
      `${origin.key}: no connection within ${timeoutMs} ms (${addresses.join(", ")})`,
      { cause: failures[0] },
    );
  }
  return new HttpClientError("ConnectFailed", `${origin.key}: cannot connect: ${detail}`, {
    cause: failures[0],
  });
}
