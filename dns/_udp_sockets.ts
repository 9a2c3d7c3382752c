// The DNS transport's UDP sockets: per address family a set of `socketCount` sockets, each on
// its own OS-chosen ephemeral port, bound together on the first query of that family and
// closed together when the transport finds them idle. Each query leaves from a random socket
// of its set, so its source port is as unpredictable as its id. Private to dns/.
import type { NetworkAdapter } from "../network/adapters.ts";
import { DnsResolverError } from "./errors.ts";
import type { Exchange, RawUdpSocket } from "./_exchange.ts";
import type { DnsTransportStats } from "./transport_types.ts";

/** What the sockets report to the transport. */
export interface UdpEvents {
  /** A datagram arrived on `sock`. */
  message(sock: RawUdpSocket, data: Uint8Array, address: string, port: number): void;
  /** A set of sockets was bound. */
  bound(): void;
}

/** The UDP socket sets, by address family. */
export class UdpSockets {
  #adapter: NetworkAdapter;
  #socketCount: number;
  #stats: DnsTransportStats;
  #events: UdpEvents;
  #udp = new Map<4 | 6, RawUdpSocket[]>();
  #binding = new Map<4 | 6, Promise<RawUdpSocket[]>>();
  #closed = false;

  /**
   * @param adapter binds the sockets
   * @param socketCount sockets per family
   * @param stats the transport's counters (`packetsSent`, `malformedDropped`)
   * @param events where datagrams and bindings are reported
   */
  constructor(
    adapter: NetworkAdapter,
    socketCount: number,
    stats: DnsTransportStats,
    events: UdpEvents,
  ) {
    this.#adapter = adapter;
    this.#socketCount = socketCount;
    this.#stats = stats;
    this.#events = events;
  }

  /** Open sockets. */
  get open(): number {
    let n = 0;
    for (const s of this.#udp.values()) n += s.length;
    return n;
  }

  /** True when no socket is open or being bound. */
  get empty(): boolean {
    return this.#udp.size === 0 && this.#binding.size === 0;
  }

  /** Sends the query of `ex` from a random socket of its server's family, binding them first if needed. */
  send(ex: Exchange, bytes: Uint8Array): void {
    const family = ex.server.host.includes(":") ? 6 : 4;
    const socks = this.#udp.get(family);
    if (socks) {
      this.#sendFrom(ex, socks, bytes);
      return;
    }
    this.#bind(family).then(
      (s) => {
        if (!ex.settled) this.#sendFrom(ex, s, bytes);
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

  #sendFrom(ex: Exchange, socks: RawUdpSocket[], bytes: Uint8Array): void {
    const sock = socks[socks.length === 1 ? 0 : (Math.random() * socks.length) | 0];
    ex.sock = sock;
    this.#stats.packetsSent++;
    sock.send(bytes, ex.server.port, ex.server.host);
  }

  #bind(family: 4 | 6): Promise<RawUdpSocket[]> {
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
            onMessage: (data, address, port) => this.#events.message(self!, data, address, port),
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
      this.#events.bound();
      return socks;
    })();
    this.#binding.set(family, p);
    return p;
  }

  /** Closes every open socket; they are bound again on demand. */
  closeIdle(): void {
    for (const socks of this.#udp.values()) for (const s of socks) s.close();
    this.#udp.clear();
  }

  /** Closes every socket for good: sockets still being bound are closed once bound. */
  close(): void {
    this.#closed = true;
    this.closeIdle();
  }
}
