// The DNS transport's TCP side (RFC 7766): one reused connection per server, on which queries
// are pipelined in 2-octet length frames; replies are matched to the waiting queries by id; a
// connection with no query waiting closes after `tcpIdleMs`, and a closed one fails what
// waits on it. Private to dns/.
import type { NetworkAdapter } from "../network/adapters.ts";
import { DnsResolverError } from "./errors.ts";
import { type Exchange, type RawConn, TcpChannel } from "./_exchange.ts";
import { HEADER_OCTETS, isResponse, replyId } from "./_reply_check.ts";
import type { DnsServerAddress } from "./server_address.ts";
import type { DnsTransportStats } from "./transport_types.ts";

/** The key of a server's channel: its canonical address and port. */
function channelKey(ex: Exchange): string {
  return ex.serverKey + "|" + ex.server.port;
}

/** The TCP channels, one per server. */
export class TcpChannels {
  #adapter: NetworkAdapter;
  #connectTimeoutMs: number;
  #idleMs: number;
  #stats: DnsTransportStats;
  #onReply: (ex: Exchange, data: Uint8Array) => void;
  #tcp = new Map<string, TcpChannel>();
  #closed = false;

  /**
   * @param adapter connects the channels
   * @param connectTimeoutMs time allowed for a connect
   * @param idleMs an idle channel closes after this
   * @param stats the transport's counters (`tcpQueries`, `tcpConnections`, drops)
   * @param onReply called with a reply (a copy) and the query it answers
   */
  constructor(
    adapter: NetworkAdapter,
    connectTimeoutMs: number,
    idleMs: number,
    stats: DnsTransportStats,
    onReply: (ex: Exchange, data: Uint8Array) => void,
  ) {
    this.#adapter = adapter;
    this.#connectTimeoutMs = connectTimeoutMs;
    this.#idleMs = idleMs;
    this.#stats = stats;
    this.#onReply = onReply;
  }

  /** Open or opening connections. */
  get open(): number {
    let n = 0;
    for (const c of this.#tcp.values()) if (c.conn || c.connecting) n++;
    return n;
  }

  /** Sends the query of `ex` on its server's channel, connecting it first if needed. */
  send(ex: Exchange, bytes: Uint8Array): void {
    const key = channelKey(ex);
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

  /** Takes a settling `ex` off its channel, which idles when nothing else waits on it. */
  release(ex: Exchange): void {
    const ch = ex.channel;
    if (ch) {
      ch.waiting.delete(ex.id);
      if (ch.waiting.size === 0) this.#idle(ch, channelKey(ex));
    }
  }

  #connect(ch: TcpChannel, server: DnsServerAddress, key: string): Promise<RawConn> {
    if (ch.connecting) return ch.connecting;
    this.#stats.tcpConnections++;
    ch.connecting = this.#adapter.connectTcp({
      host: server.host,
      port: server.port,
      tls: null,
      timeoutMs: this.#connectTimeoutMs,
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
        onData: (data) => this.#onData(ch, data),
        onEnd: () => conn.end(),
        onError: () => {},
        onDrain: () => {},
        onClosed: () => this.#drop(ch, key, "the server closed the TCP connection"),
      });
      return conn;
    }, (error) => {
      this.#drop(ch, key, null);
      throw error;
    });
    return ch.connecting;
  }

  #onData(ch: TcpChannel, data: Uint8Array): void {
    ch.frames.push(data, (frame) => {
      if (frame.length < HEADER_OCTETS) {
        this.#stats.malformedDropped++;
        return;
      }
      const ex = ch.waiting.get(replyId(frame));
      if (!ex || !isResponse(frame)) {
        this.#stats.spoofedDropped++;
        return;
      }
      // A copy: the frame is a view into the channel's buffer, reused by the next chunk.
      this.#onReply(ex, frame.slice());
    });
  }

  #idle(ch: TcpChannel, key: string): void {
    if (ch.idle !== undefined || ch.closed) return;
    ch.idle = setTimeout(() => {
      ch.idle = undefined;
      if (ch.waiting.size === 0) this.#drop(ch, key, null);
    }, this.#idleMs);
  }

  #drop(ch: TcpChannel, key: string, reason: string | null): void {
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

  /** Closes every channel for good, failing what waits on it. */
  close(): void {
    this.#closed = true;
    for (const [key, ch] of [...this.#tcp]) this.#drop(ch, key, "the transport closed");
  }
}
