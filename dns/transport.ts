/**
 * The DNS client's wire transport: a small set of long-lived UDP sockets
 * (bound through the network layer's adapter, so Deno and Node alike) and
 * reused, pipelined TCP connections (RFC 7766).
 *
 * Every query gets a random 16-bit id from `crypto.getRandomValues` and a
 * random socket of the set (each on its own OS-chosen ephemeral port). A
 * reply is accepted only when it comes from the queried server's address and
 * port, on the socket the query left from, with the query's id and question;
 * anything else is dropped and counted (`spoofedDropped`), and an undecodable
 * reply is dropped too (`malformedDropped`), so a forger cannot end a query.
 * A truncated UDP answer is retried over TCP (`tcpFallbacks`).
 *
 * @example
 * ```ts
 * import { DnsTransport, parseServer } from "./transport.ts";
 * const transport = new DnsTransport();
 * const q = transport.exchange(parseServer("127.0.0.1:53"), { name: "example.com", type: 1 }, {
 *   timeoutMs: 1000,
 * });
 * q.promise.then((m) => console.log(m.answers), () => {}).finally(() => transport.close());
 * ```
 *
 * @module
 */
import { getAdapter, type NetworkAdapter } from "../network/adapters.ts";
import type { RuntimeName } from "../core/platform/types.ts";
import { LengthPrefixedFrames } from "../network/length_prefixed_frames.ts";
import { DnsResolverError } from "./errors.ts";
import { cancelledError } from "./_stackless.ts";
import {
  decodeMessage,
  type DnsMessage,
  DnsMessageError,
  type DnsQuestion,
  encodeQuery,
  parseIpv6,
  sameName,
} from "./message.ts";

type RawUdpSocket = Awaited<ReturnType<NetworkAdapter["bindUdp"]>>;
type RawConn = Awaited<ReturnType<NetworkAdapter["connectTcp"]>>;

/**
 * A server address.
 *
 * @example
 * ```ts
 * import type { DnsServerAddress } from "./transport.ts";
 * const s: DnsServerAddress = { host: "::1", port: 53 };
 * ```
 */
export interface DnsServerAddress {
  /** IP literal (no brackets). */
  host: string;
  /** Port. */
  port: number;
}

/**
 * Parses `"addr"`, `"addr:port"`, `"[v6]"`, `"[v6]:port"` or a bare IPv6
 * literal; the port defaults to 53.
 *
 * @example
 * ```ts
 * import { parseServer } from "./transport.ts";
 * console.log(parseServer("[::1]:5353")); // { host: "::1", port: 5353 }
 * ```
 */
export function parseServer(spec: string): DnsServerAddress {
  const s = spec.trim();
  let host = s;
  let port = 53;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (bracket) {
    host = bracket[1];
    if (bracket[2]) port = Number(bracket[2]);
  } else if (/^[^:]+:\d+$/.test(s)) {
    const i = s.lastIndexOf(":");
    host = s.slice(0, i);
    port = Number(s.slice(i + 1));
  }
  const v4 = /^\d{1,3}(\.\d{1,3}){3}$/.test(host) && host.split(".").every((x) => Number(x) < 256);
  if ((!v4 && !parseIpv6(host)) || !(port > 0 && port < 65536)) {
    throw new DnsResolverError("NoServers", `not a server address: "${spec}"`);
  }
  return { host, port };
}

/** Canonical form of an IP literal, for comparing a reply's source with the server. */
function canonicalIp(ip: string): string {
  const lower = ip.toLowerCase();
  if (lower.startsWith("::ffff:") && lower.includes(".")) return lower.slice(7);
  if (!lower.includes(":")) return lower;
  const b = parseIpv6(lower);
  return b ? Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("") : lower;
}

/**
 * Options of {@linkcode DnsTransport}.
 *
 * @example
 * ```ts
 * import type { DnsTransportOptions } from "./transport.ts";
 * const o: DnsTransportOptions = { socketCount: 4, maxUdpSize: 1232 };
 * ```
 */
export interface DnsTransportOptions {
  /** UDP sockets per address family (default 4). */
  socketCount?: number;
  /** EDNS0 payload size advertised, and the largest UDP reply read (default 1232; 512 disables EDNS0). */
  maxUdpSize?: number;
  /** Set RD in queries (default true). */
  recursionDesired?: boolean;
  /** Time allowed for a TCP connect (default 5000 ms). */
  tcpTimeoutMs?: number;
  /** An idle TCP connection closes after this (default 5000 ms). */
  tcpIdleMs?: number;
  /** UDP sockets close after this long without a query in flight (default 2000 ms); they reopen on demand. */
  udpIdleMs?: number;
  /** The socket adapter: `"deno"` or `"node"` (default: the current runtime's). */
  runtime?: RuntimeName;
}

/**
 * Options of one {@linkcode DnsTransport.exchange}.
 *
 * @example
 * ```ts
 * import type { ExchangeOptions } from "./transport.ts";
 * const o: ExchangeOptions = { timeoutMs: 2000, tcp: false };
 * ```
 */
export interface ExchangeOptions {
  /** Time allowed for the answer, including a TCP fallback. */
  timeoutMs: number;
  /** Use TCP from the start. */
  tcp?: boolean;
  /** Never fall back to TCP on a truncated answer (return it as is). */
  noTcpFallback?: boolean;
}

/**
 * A query in flight: its promise and a way to cancel it.
 *
 * @example
 * ```ts
 * import type { PendingExchange } from "./transport.ts";
 * function stop(p: PendingExchange): void {
 *   p.cancel();
 * }
 * ```
 */
export interface PendingExchange {
  /** Resolves with the reply, rejects with a `DnsResolverError`. */
  readonly promise: Promise<DnsMessage>;
  /** Rejects the promise with `Cancelled` and frees the id; a no-op once settled. */
  cancel(): void;
  /**
   * Frees the id and drops any reply without settling the promise: for a
   * caller that stopped listening, so nothing runs on its behalf.
   */
  abandon(): void;
}

/**
 * Counters of {@linkcode DnsTransport}.
 *
 * @example
 * ```ts
 * import type { DnsTransportStats } from "./transport.ts";
 * const s: Partial<DnsTransportStats> = { packetsSent: 0 };
 * ```
 */
export interface DnsTransportStats {
  /** UDP datagrams sent. */
  packetsSent: number;
  /** Queries sent over TCP. */
  tcpQueries: number;
  /** Truncated UDP answers retried over TCP. */
  tcpFallbacks: number;
  /** Replies dropped for a wrong id, source, socket or question. */
  spoofedDropped: number;
  /** Replies dropped because they could not be decoded. */
  malformedDropped: number;
  /** TCP connections opened. */
  tcpConnections: number;
}

class Exchange implements PendingExchange {
  readonly promise: Promise<DnsMessage>;
  id = -1;
  sock: RawUdpSocket | null = null;
  channel: TcpChannel | null = null;
  bucket = -1;
  deadline: number;
  settled = false;
  resolve!: (m: DnsMessage) => void;
  reject!: (e: unknown) => void;
  readonly release: (ex: Exchange) => void;
  readonly server: DnsServerAddress;
  readonly serverKey: string;
  readonly question: DnsQuestion;
  readonly options: ExchangeOptions;

  constructor(
    release: (ex: Exchange) => void,
    server: DnsServerAddress,
    question: DnsQuestion,
    options: ExchangeOptions,
  ) {
    this.release = release;
    this.server = server;
    this.serverKey = canonicalIp(server.host);
    this.question = question;
    this.options = options;
    this.deadline = performance.now() + options.timeoutMs;
    this.promise = new Promise<DnsMessage>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  cancel(): void {
    if (!this.settled) this.fail(cancelledError(this.question));
  }

  abandon(): void {
    if (!this.settled) this.release(this);
  }

  fail(error: unknown): void {
    if (this.settled) return;
    this.release(this);
    this.reject(error);
  }

  succeed(message: DnsMessage): void {
    if (this.settled) return;
    this.release(this);
    this.resolve(message);
  }
}

/** One reused TCP connection to one server; queries are pipelined on it. */
class TcpChannel {
  conn: RawConn | null = null;
  connecting: Promise<RawConn> | null = null;
  waiting: Map<number, Exchange> = new Map();
  /** Replies arrive as 2-byte-length frames (RFC 1035 4.2.2), at most 65535 bytes each. */
  frames: LengthPrefixedFrames = new LengthPrefixedFrames(2, 0xffff);
  idle: ReturnType<typeof setTimeout> | undefined;
  closed = false;
}

const ID_POOL = 1024;
/** Granularity of query deadlines, milliseconds. */
const TICK_MS = 5;

/**
 * The DNS client's wire transport; see the module documentation.
 *
 * @example
 * ```ts
 * import { DnsTransport } from "./transport.ts";
 * const t = new DnsTransport({ socketCount: 2 });
 * console.log(t.getStats().packetsSent);
 * t.close();
 * ```
 */
export class DnsTransport {
  #adapter: NetworkAdapter;
  #socketCount: number;
  #maxUdpSize: number;
  #rd: boolean;
  #tcpTimeoutMs: number;
  #tcpIdleMs: number;
  #udpIdleMs: number;
  #slots: (Exchange | undefined)[] = new Array(65536);
  #inflight = 0;
  #ids = new Uint16Array(ID_POOL);
  #idAt = ID_POOL;
  #udp = new Map<4 | 6, RawUdpSocket[]>();
  #binding = new Map<4 | 6, Promise<RawUdpSocket[]>>();
  #idleSince = 0;
  #wheel = new Map<number, Set<Exchange>>();
  #cursor = 0;
  #ticker: ReturnType<typeof setInterval> | undefined;
  #tcp = new Map<string, TcpChannel>();
  #closed = false;
  #stats: DnsTransportStats = DnsTransport.#zero();

  /**
   * Creates the transport; sockets open on the first query.
   *
   * @param options sizes, timeouts and the adapter
   */
  constructor(options: DnsTransportOptions = {}) {
    this.#adapter = getAdapter(options.runtime);
    this.#socketCount = Math.max(1, options.socketCount ?? 4);
    this.#maxUdpSize = Math.max(512, Math.min(65535, options.maxUdpSize ?? 1232));
    this.#rd = options.recursionDesired ?? true;
    this.#tcpTimeoutMs = options.tcpTimeoutMs ?? 5000;
    this.#tcpIdleMs = options.tcpIdleMs ?? 5000;
    this.#udpIdleMs = options.udpIdleMs ?? 2000;
  }

  static #zero(): DnsTransportStats {
    return {
      packetsSent: 0,
      tcpQueries: 0,
      tcpFallbacks: 0,
      spoofedDropped: 0,
      malformedDropped: 0,
      tcpConnections: 0,
    };
  }

  /**
   * A copy of the counters.
   *
   * @example
   * ```ts
   * import { DnsTransport } from "./transport.ts";
   * console.log(new DnsTransport().getStats().spoofedDropped);
   * ```
   */
  getStats(): DnsTransportStats {
    return { ...this.#stats };
  }

  /**
   * Zeroes the counters.
   *
   * @example
   * ```ts
   * import { DnsTransport } from "./transport.ts";
   * new DnsTransport().resetStats();
   * ```
   */
  resetStats(): void {
    this.#stats = DnsTransport.#zero();
  }

  /**
   * Queries in flight.
   *
   * @example
   * ```ts
   * import { DnsTransport } from "./transport.ts";
   * console.log(new DnsTransport().inflight); // 0
   * ```
   */
  get inflight(): number {
    return this.#inflight;
  }

  /**
   * Open sockets: UDP sockets plus TCP connections.
   *
   * @example
   * ```ts
   * import { DnsTransport } from "./transport.ts";
   * console.log(new DnsTransport().openSockets); // 0
   * ```
   */
  get openSockets(): number {
    let n = 0;
    for (const s of this.#udp.values()) n += s.length;
    for (const c of this.#tcp.values()) if (c.conn || c.connecting) n++;
    return n;
  }

  /**
   * Sends `question` to `server` and waits for the matching reply.
   *
   * @example
   * ```ts
   * import { DnsTransport } from "./transport.ts";
   * const t = new DnsTransport();
   * const q = t.exchange({ host: "127.0.0.1", port: 53 }, { name: "a.test", type: 1 }, { timeoutMs: 500 });
   * q.cancel();
   * q.promise.catch(() => t.close());
   * ```
   */
  exchange(
    server: DnsServerAddress,
    question: DnsQuestion,
    options: ExchangeOptions,
  ): PendingExchange {
    const ex = new Exchange(this.#releaseFn, server, question, options);
    if (this.#closed) {
      ex.settled = true;
      ex.reject(new DnsResolverError("Closed", "the DNS transport is closed", question));
      return ex;
    }
    if (!this.#allocate(ex)) {
      ex.settled = true;
      ex.reject(new DnsResolverError("NetworkError", "65536 queries in flight", question));
      return ex;
    }
    this.#arm(ex);
    if (options.tcp) this.#sendTcp(ex);
    else this.#sendUdp(ex);
    return ex;
  }

  /**
   * Deadlines live in a timer wheel of TICK_MS buckets swept by one interval
   * timer: a setTimeout and a clearTimeout per query cost more than the rest
   * of the send path, and cancelling thousands of queries at once would clear
   * thousands of timers. A query times out at most one tick late, never
   * early. The same tick closes the UDP sockets once they have been idle for
   * `udpIdleMs`, and stops itself then: no timer outlives the sockets.
   */
  #arm(ex: Exchange): void {
    const bucket = Math.ceil(ex.deadline / TICK_MS);
    ex.bucket = bucket;
    let set = this.#wheel.get(bucket);
    if (set === undefined) {
      set = new Set();
      this.#wheel.set(bucket, set);
    }
    set.add(ex);
    this.#startTicker();
  }

  #startTicker(): void {
    if (this.#ticker !== undefined || this.#closed) return;
    this.#cursor = Math.floor(performance.now() / TICK_MS);
    this.#ticker = setInterval(() => this.#tick(), TICK_MS);
  }

  #stopTicker(): void {
    if (this.#ticker === undefined) return;
    clearInterval(this.#ticker);
    this.#ticker = undefined;
    this.#wheel.clear();
  }

  #tick(): void {
    const now = Math.floor(performance.now() / TICK_MS);
    while (this.#cursor <= now && this.#ticker !== undefined) {
      const set = this.#wheel.get(this.#cursor);
      this.#cursor++;
      if (set === undefined) continue;
      this.#wheel.delete(this.#cursor - 1);
      for (const ex of set) {
        ex.bucket = -1;
        ex.fail(
          new DnsResolverError(
            "Timeout",
            `no answer from ${ex.server.host}:${ex.server.port} in ${ex.options.timeoutMs} ms`,
            ex.question,
          ),
        );
      }
    }
    if (this.#inflight === 0) {
      if (this.#udp.size === 0 && this.#binding.size === 0) this.#stopTicker();
      else if (performance.now() - this.#idleSince >= this.#udpIdleMs) {
        this.#closeUdp();
        this.#stopTicker();
      }
    }
  }

  #allocate(ex: Exchange): boolean {
    if (this.#inflight >= 65000) return false;
    for (;;) {
      if (this.#idAt >= ID_POOL) {
        crypto.getRandomValues(this.#ids);
        this.#idAt = 0;
      }
      const id = this.#ids[this.#idAt++];
      if (this.#slots[id] === undefined) {
        this.#slots[id] = ex;
        ex.id = id;
        this.#inflight++;
        return true;
      }
    }
  }

  #releaseFn = (ex: Exchange): void => this.#release(ex);

  /** Frees the id, timer and channel slot of a settling exchange. */
  #release(ex: Exchange): void {
    ex.settled = true;
    if (ex.bucket >= 0) {
      const set = this.#wheel.get(ex.bucket);
      if (set) {
        set.delete(ex);
        if (set.size === 0) this.#wheel.delete(ex.bucket);
      }
    }
    if (ex.id >= 0 && this.#slots[ex.id] === ex) {
      this.#slots[ex.id] = undefined;
      this.#inflight--;
    }
    const ch = ex.channel;
    if (ch) {
      ch.waiting.delete(ex.id);
      if (ch.waiting.size === 0) this.#idleTcp(ch, ex.serverKey + "|" + ex.server.port);
    }
    if (this.#inflight === 0) this.#idleSince = performance.now();
  }

  /** The query's bytes, or null after failing `ex` with `InvalidName`. */
  #query(ex: Exchange): Uint8Array | null {
    try {
      return encodeQuery(ex.id, ex.question, {
        recursionDesired: this.#rd,
        udpPayloadSize: this.#maxUdpSize > 512 ? this.#maxUdpSize : 0,
      });
    } catch (error) {
      ex.fail(this.#invalid(ex, error));
      return null;
    }
  }

  #sendUdp(ex: Exchange): void {
    const bytes = this.#query(ex);
    if (bytes === null) return;
    if (bytes.length > 512 && !ex.options.noTcpFallback) {
      this.#sendTcp(ex);
      return;
    }
    const family = ex.server.host.includes(":") ? 6 : 4;
    const socks = this.#udp.get(family);
    if (socks) {
      this.#udpSend(ex, socks, bytes);
      return;
    }
    this.#bindUdp(family).then(
      (s) => {
        if (!ex.settled) this.#udpSend(ex, s, bytes);
      },
      (error) => {
        ex.fail(
          new DnsResolverError(
            "NetworkError",
            `cannot bind a UDP socket: ${error}`,
            ex.question,
            0,
            {
              cause: error,
            },
          ),
        );
      },
    );
  }

  #udpSend(ex: Exchange, socks: RawUdpSocket[], bytes: Uint8Array): void {
    const sock = socks[socks.length === 1 ? 0 : (Math.random() * socks.length) | 0];
    ex.sock = sock;
    this.#stats.packetsSent++;
    sock.send(bytes, ex.server.port, ex.server.host);
  }

  #invalid(ex: Exchange, error: unknown): DnsResolverError {
    return new DnsResolverError(
      "InvalidName",
      `cannot encode the question for "${ex.question.name}": ${
        error instanceof Error ? error.message : error
      }`,
      ex.question,
      undefined,
      { cause: error },
    );
  }

  #bindUdp(family: 4 | 6): Promise<RawUdpSocket[]> {
    let p = this.#binding.get(family);
    if (p) return p;
    p = (async () => {
      const socks: RawUdpSocket[] = [];
      try {
        for (let i = 0; i < this.#socketCount; i++) {
          let self: RawUdpSocket | null = null;
          const sock = await this.#adapter.bindUdp({
            host: family === 4 ? "0.0.0.0" : "::",
            port: 0,
            maxDatagramSize: 65535,
            onMessage: (data, address, port) => this.#onUdp(self!, data, address, port),
            onOversize: () => {
              this.#stats.malformedDropped++;
            },
            onError: () => {
              // A send error (ICMP unreachable and the like) ends in the query's timeout.
            },
          });
          self = sock;
          socks.push(sock);
        }
      } catch (error) {
        for (const s of socks) s.close();
        this.#binding.delete(family);
        throw error;
      }
      this.#binding.delete(family);
      if (this.#closed) {
        for (const s of socks) s.close();
        throw new DnsResolverError("Closed", "the DNS transport is closed");
      }
      this.#udp.set(family, socks);
      // Every query that wanted them may have been cancelled while they were bound.
      if (this.#inflight === 0) this.#startTicker();
      return socks;
    })();
    this.#binding.set(family, p);
    return p;
  }

  #onUdp(sock: RawUdpSocket, data: Uint8Array, address: string, port: number): void {
    if (data.length < 12) {
      this.#stats.malformedDropped++;
      return;
    }
    const ex = this.#slots[(data[0] << 8) | data[1]];
    if (
      ex === undefined || ex.sock !== sock || ex.server.port !== port ||
      (data[2] & 0x80) === 0 ||
      (address !== ex.server.host && canonicalIp(address) !== ex.serverKey)
    ) {
      this.#stats.spoofedDropped++;
      return;
    }
    this.#accept(ex, data, false);
  }

  #accept(ex: Exchange, data: Uint8Array, viaTcp: boolean): void {
    let message: DnsMessage;
    try {
      message = decodeMessage(data);
    } catch (error) {
      if (!(error instanceof DnsMessageError)) throw error;
      this.#stats.malformedDropped++;
      return;
    }
    // The question is compared once decoded: a reply must echo exactly the one asked.
    const qs = message.questions;
    const q = ex.question;
    if (
      qs.length !== 1 || qs[0].type !== q.type || qs[0].class !== (q.class ?? 1) ||
      !sameName(qs[0].name, q.name)
    ) {
      this.#stats.spoofedDropped++;
      return;
    }
    if (message.header.tc && !viaTcp && !ex.options.noTcpFallback) {
      this.#stats.tcpFallbacks++;
      ex.sock = null;
      this.#sendTcp(ex);
      return;
    }
    ex.succeed(message);
  }

  // -------------------------------------------------------------------------
  // TCP

  #sendTcp(ex: Exchange): void {
    const bytes = this.#query(ex);
    if (bytes === null) return;
    const key = ex.serverKey + "|" + ex.server.port;
    let ch = this.#tcp.get(key);
    if (!ch || ch.closed) {
      ch = new TcpChannel();
      this.#tcp.set(key, ch);
    }
    if (ch.idle !== undefined) {
      clearTimeout(ch.idle);
      ch.idle = undefined;
    }
    ex.channel = ch;
    ch.waiting.set(ex.id, ex);
    this.#stats.tcpQueries++;
    const framed = new Uint8Array(bytes.length + 2);
    framed[0] = bytes.length >> 8;
    framed[1] = bytes.length & 0xff;
    framed.set(bytes, 2);
    if (ch.conn) {
      ch.conn.write(framed);
      return;
    }
    this.#connect(ch, ex.server, key).then(
      (conn) => {
        if (!ex.settled) conn.write(framed);
      },
      (error) => {
        ex.fail(
          new DnsResolverError(
            "NetworkError",
            `TCP to ${ex.server.host}:${ex.server.port} failed: ${
              error instanceof Error ? error.message : error
            }`,
            ex.question,
            undefined,
            { cause: error },
          ),
        );
      },
    );
  }

  #connect(ch: TcpChannel, server: DnsServerAddress, key: string): Promise<RawConn> {
    if (ch.connecting) return ch.connecting;
    this.#stats.tcpConnections++;
    ch.connecting = this.#adapter.connectTcp({
      host: server.host,
      port: server.port,
      tls: null,
      timeoutMs: this.#tcpTimeoutMs,
      noDelay: true,
      keepAlive: false,
      keepAliveDelayMs: 0,
      readBufferSize: 64 * 1024,
      highWaterMark: 64 * 1024,
    }).then((conn) => {
      if (ch.closed || this.#closed) {
        conn.destroy();
        throw new DnsResolverError("Closed", "the DNS transport is closed");
      }
      ch.conn = conn;
      conn.start({
        onData: (data) => this.#onTcpData(ch, data),
        onEnd: () => conn.end(),
        onError: () => {},
        onDrain: () => {},
        onClosed: () => this.#dropChannel(ch, key, "the server closed the TCP connection"),
      });
      return conn;
    }, (error) => {
      this.#dropChannel(ch, key, null);
      throw error;
    });
    return ch.connecting;
  }

  #onTcpData(ch: TcpChannel, data: Uint8Array): void {
    ch.frames.push(data, (frame) => {
      if (frame.length < 12) {
        this.#stats.malformedDropped++;
        return;
      }
      const ex = ch.waiting.get((frame[0] << 8) | frame[1]);
      if (!ex || (frame[2] & 0x80) === 0) {
        this.#stats.spoofedDropped++;
        return;
      }
      // A copy: the frame is a view into the channel's buffer, reused by the next chunk.
      this.#accept(ex, frame.slice(), true);
    });
  }

  #idleTcp(ch: TcpChannel, key: string): void {
    if (ch.idle !== undefined || ch.closed) return;
    ch.idle = setTimeout(() => {
      ch.idle = undefined;
      if (ch.waiting.size === 0) this.#dropChannel(ch, key, null);
    }, this.#tcpIdleMs);
  }

  #dropChannel(ch: TcpChannel, key: string, reason: string | null): void {
    if (ch.closed) return;
    ch.closed = true;
    if (ch.idle !== undefined) clearTimeout(ch.idle);
    if (this.#tcp.get(key) === ch) this.#tcp.delete(key);
    const conn = ch.conn;
    ch.conn = null;
    if (conn) conn.destroy();
    for (const ex of [...ch.waiting.values()]) {
      ex.fail(
        new DnsResolverError("NetworkError", reason ?? "the TCP connection closed", ex.question),
      );
    }
    ch.waiting.clear();
  }

  #closeUdp(): void {
    for (const socks of this.#udp.values()) for (const s of socks) s.close();
    this.#udp.clear();
  }

  /**
   * Fails every query in flight with `Closed` and closes every socket and timer.
   *
   * @example
   * ```ts
   * import { DnsTransport } from "./transport.ts";
   * new DnsTransport().close();
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const ex of this.#slots) {
      if (ex) ex.fail(new DnsResolverError("Closed", "the DNS transport is closed", ex.question));
    }
    for (const [key, ch] of [...this.#tcp]) this.#dropChannel(ch, key, "the transport closed");
    this.#stopTicker();
    this.#closeUdp();
  }
}
