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
import { DnsResolverError } from "./errors.ts";
import { DeadlineWheel } from "./_deadline_wheel.ts";
import { Exchange, type RawUdpSocket } from "./_exchange.ts";
import { QueryIds } from "./_query_ids.ts";
import { canonicalIp, echoesQuestion, HEADER_OCTETS, isResponse, replyId } from "./_reply_check.ts";
import { TcpChannels } from "./_tcp_channels.ts";
import { UdpSockets } from "./_udp_sockets.ts";
import {
  decodeMessage,
  type DnsMessage,
  DnsMessageError,
  type DnsQuestion,
  encodeQuery,
} from "./message.ts";
import type { DnsServerAddress } from "./server_address.ts";
import type {
  DnsTransportOptions,
  DnsTransportStats,
  ExchangeOptions,
  PendingExchange,
} from "./transport_types.ts";

export * from "./server_address.ts";
export * from "./transport_types.ts";

function zeroStats(): DnsTransportStats {
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
  #maxUdpSize: number;
  #rd: boolean;
  #udpIdleMs: number;
  #ids = new QueryIds<Exchange>();
  #idleSince = 0;
  #wheel: DeadlineWheel<Exchange>;
  #udp: UdpSockets;
  #tcp: TcpChannels;
  #closed = false;
  /** The counters, shared with the UDP sockets and TCP channels (reset in place). */
  #stats: DnsTransportStats = zeroStats();

  /**
   * Creates the transport; sockets open on the first query.
   *
   * @param options sizes, timeouts and the adapter
   */
  constructor(options: DnsTransportOptions = {}) {
    const adapter: NetworkAdapter = getAdapter(options.runtime);
    this.#maxUdpSize = Math.max(512, Math.min(65535, options.maxUdpSize ?? 1232));
    this.#rd = options.recursionDesired ?? true;
    this.#udpIdleMs = options.udpIdleMs ?? 2000;
    this.#wheel = new DeadlineWheel((ex) => this.#expire(ex), () => this.#afterTick());
    this.#udp = new UdpSockets(adapter, Math.max(1, options.socketCount ?? 4), this.#stats, {
      message: (sock, data, address, port) => this.#onUdp(sock, data, address, port),
      // Every query that wanted them may have been cancelled while they were bound.
      bound: () => {
        if (this.#ids.inflight === 0) this.#wheel.start();
      },
    });
    this.#tcp = new TcpChannels(
      adapter,
      options.tcpTimeoutMs ?? 5000,
      options.tcpIdleMs ?? 5000,
      this.#stats,
      (ex, data) => this.#accept(ex, data, true),
    );
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
    Object.assign(this.#stats, zeroStats());
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
    return this.#ids.inflight;
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
    return this.#udp.open + this.#tcp.open;
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
    if (!this.#ids.allocate(ex)) {
      ex.settled = true;
      ex.reject(new DnsResolverError("NetworkError", "65536 queries in flight", question));
      return ex;
    }
    this.#wheel.arm(ex);
    if (options.tcp) this.#sendTcp(ex);
    else this.#sendUdp(ex);
    return ex;
  }

  #expire(ex: Exchange): void {
    ex.fail(
      new DnsResolverError(
        "Timeout",
        `no answer from ${ex.server.host}:${ex.server.port} in ${ex.options.timeoutMs} ms`,
        ex.question,
      ),
    );
  }

  /** After each sweep: the UDP sockets close once idle for `udpIdleMs`, and the wheel stops. */
  #afterTick(): void {
    if (this.#ids.inflight === 0) {
      if (this.#udp.empty) this.#wheel.stop();
      else if (performance.now() - this.#idleSince >= this.#udpIdleMs) {
        this.#udp.closeIdle();
        this.#wheel.stop();
      }
    }
  }

  #releaseFn = (ex: Exchange): void => this.#release(ex);

  /** Frees the id, timer and channel slot of a settling exchange. */
  #release(ex: Exchange): void {
    ex.settled = true;
    this.#wheel.disarm(ex);
    this.#ids.release(ex);
    this.#tcp.release(ex);
    if (this.#ids.inflight === 0) this.#idleSince = performance.now();
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
    this.#udp.send(ex, bytes);
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

  #onUdp(sock: RawUdpSocket, data: Uint8Array, address: string, port: number): void {
    if (data.length < HEADER_OCTETS) {
      this.#stats.malformedDropped++;
      return;
    }
    const ex = this.#ids.get(replyId(data));
    if (
      ex === undefined || ex.sock !== sock || ex.server.port !== port || !isResponse(data) ||
      (address !== ex.server.host && canonicalIp(address) !== ex.serverKey)
    ) {
      this.#stats.spoofedDropped++;
      return;
    }
    this.#accept(ex, data, false);
  }

  /** A reply that passed the id and source checks: decoded, its question checked, TC handled. */
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
    if (!echoesQuestion(message, ex.question)) {
      this.#stats.spoofedDropped++;
      return;
    }
    // A truncated UDP answer is asked again over TCP.
    if (message.header.tc && !viaTcp && !ex.options.noTcpFallback) {
      this.#stats.tcpFallbacks++;
      ex.sock = null;
      this.#sendTcp(ex);
      return;
    }
    ex.succeed(message);
  }

  #sendTcp(ex: Exchange): void {
    const bytes = this.#query(ex);
    if (bytes === null) return;
    this.#tcp.send(ex, bytes);
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
    this.#ids.forEach((ex) =>
      ex.fail(new DnsResolverError("Closed", "the DNS transport is closed", ex.question))
    );
    this.#tcp.close();
    this.#wheel.close();
    this.#udp.close();
  }
}
