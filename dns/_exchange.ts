// A query in flight on the DNS transport (the PendingExchange its caller holds: one promise,
// settled once, and everything it holds freed when it settles) and the TCP channel it may wait
// on. Private to dns/.
import type { NetworkAdapter } from "../network/adapters.ts";
import { LengthPrefixedFrames } from "../network/length_prefixed_frames.ts";
import { cancelledError } from "./_stackless.ts";
import { canonicalIp } from "./_reply_check.ts";
import type { DnsMessage, DnsQuestion } from "./message.ts";
import type { DnsServerAddress } from "./server_address.ts";
import type { ExchangeOptions, PendingExchange } from "./transport_types.ts";

/** A UDP socket of the network adapter. */
export type RawUdpSocket = Awaited<ReturnType<NetworkAdapter["bindUdp"]>>;
/** A TCP connection of the network adapter. */
export type RawConn = Awaited<ReturnType<NetworkAdapter["connectTcp"]>>;

/** A query in flight: what it asked, where it went, and its settling. */
export class Exchange implements PendingExchange {
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
export class TcpChannel {
  conn: RawConn | null = null;
  connecting: Promise<RawConn> | null = null;
  waiting: Map<number, Exchange> = new Map();
  /** Replies arrive as 2-byte-length frames (RFC 1035 4.2.2), at most 65535 bytes each. */
  frames: LengthPrefixedFrames = new LengthPrefixedFrames(2, 0xffff);
  idle: ReturnType<typeof setTimeout> | undefined;
  closed = false;
}
