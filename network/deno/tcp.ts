/**
 * TCP and TLS on Deno: `Deno.listen`, `Deno.listenTls`, `Deno.connect`,
 * `Deno.connectTls`, `Deno.startTls`.
 *
 * @module
 */
import { UnsupportedError } from "../../core/errors.ts";
import { TransportError } from "../transport.ts";
import {
  type RawConn,
  type RawConnHandlers,
  type RawListener,
  type ResolvedTls,
  socketFailure,
  type SocketOptions,
  type TcpConnectOptions,
  type TcpListenOptions,
} from "../_adapter.ts";

/** Queued writes smaller than this are merged (up to COALESCE_LIMIT) into one syscall. */
const SMALL_WRITE = 16 * 1024;
/** Largest merged write. */
const COALESCE_LIMIT = 64 * 1024;
/** Reads that keep filling the buffer grow it up to this many times `readBufferSize`. */
const BULK_GROWTH = 4;
/**
 * The first read buffer of a connection, and the size it shrinks back to once reads are small:
 * an idle connection holds this much, not `readBufferSize`.
 */
const MIN_SLAB = 4 * 1024;
/**
 * Where the reads of connections whose input is dropped go (see `discardInput`): one buffer for
 * all of them, so a flood sent to a lingering close costs no memory per read. Reads completing in
 * the same turn overwrite each other here: only their lengths mean anything.
 */
const DISCARD_SCRATCH = new Uint8Array(16 * 1024);
/**
 * Reads all connections together may complete in one turn of the event loop before a connection
 * that has read in it waits for the next, so the loop polls every socket at least once per this
 * many reads.
 */
const READS_PER_TURN = 32;
/** Reads one connection may complete in one turn (a backlog is read a few chunks per turn). */
const CONN_READS_PER_TURN = 4;

/**
 * Turns of the event loop. Deno completes a read whose bytes are already there within the same
 * turn, so with many busy connections the few whose peers answer fastest could keep the turn to
 * themselves (a request and its response per microtask) while the rest waited for the event loop
 * to poll their sockets: at 256 connections some waited most of a second. A connection waits
 * for the next turn once it has read `CONN_READS_PER_TURN` times in this one, or has read in it
 * and `READS_PER_TURN` reads completed in it overall. A single busy connection so pays one wait
 * per few reads, not one per read (its round trips cost 0.87–0.91x raw `Deno.connect`, against
 * 0.66–0.70x when every connection waited after each read).
 *
 * A turn ends when the event loop has polled the sockets. A timer would say so, but Deno's
 * shortest timeout is about 2 ms, during which connections with bytes waiting sit idle; instead
 * the adapter keeps a loopback connection to itself with a read pending on one end, and writes a
 * byte on the other: the pending read completes at the next poll, together with every other
 * socket that is ready, and that ends the turn. Until the loopback is up (or where it cannot be
 * opened) the timer ends turns.
 */
const turns = {
  count: 0,
  /** Reads completed in this turn, all connections together. */
  reads: 0,
  next: null as Promise<void> | null,
  end: null as (() => void) | null,
  /** Writes the byte that ends the turn at the next poll, once the loopback is up. */
  ping: null as (() => void) | null,
  opening: false,
};

function endTurn(): void {
  const end = turns.end;
  turns.next = null;
  turns.end = null;
  turns.count++;
  turns.reads = 0;
  end?.();
}

const PING = new Uint8Array(1);

function nextTurn(): Promise<void> {
  if (turns.next !== null) return turns.next;
  turns.next = new Promise<void>((resolve) => turns.end = resolve);
  if (turns.ping !== null) turns.ping();
  else setTimeout(endTurn, 0);
  return turns.next;
}

async function openTurnSignal(): Promise<void> {
  if (turns.opening) return;
  turns.opening = true;
  let listener: Deno.Listener | null = null;
  try {
    // Never a permission prompt from inside a library: without net access to the loopback
    // already granted, the timer ends turns.
    if (Deno.permissions.querySync({ name: "net", host: "127.0.0.1" }).state !== "granted") return;
    listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const addr = listener.addr as Deno.NetAddr;
    const [tx, rx] = await Promise.all([
      Deno.connect({ hostname: "127.0.0.1", port: addr.port }),
      listener.accept(),
    ]);
    // Another local process may have connected to the listener first: then the accepted end is
    // not ours, its pings would never come back and every waiting read would hang. Use the
    // loopback only when the accepted end is the one we connected.
    if ((rx.remoteAddr as Deno.NetAddr).port !== (tx.localAddr as Deno.NetAddr).port) {
      tx.close();
      rx.close();
      return;
    }
    tx.setNoDelay(true);
    // Neither end may keep the process alive.
    tx.unref();
    rx.unref();
    const onPingFailed = () => {
      turns.ping = null;
    };
    turns.ping = () => void tx.write(PING).catch(onPingFailed);
    const buffer = new Uint8Array(64);
    (async () => {
      try {
        while ((await rx.read(buffer)) !== null) if (turns.end !== null) endTurn();
      } catch { /* closed */ }
      turns.ping = null;
    })();
  } catch {
    // No loopback (permissions, descriptors): the timer ends turns.
  } finally {
    try {
      listener?.close();
    } catch { /* already closed */ }
  }
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : "";
}

/** Maps a Deno socket error to a {@linkcode TransportError}. */
export function mapDenoError(error: unknown, what: string, tlsPhase: boolean): TransportError {
  if (error instanceof TransportError) return error;
  const name = errorName(error);
  const message = error instanceof Error ? error.message : String(error);
  if (name === "ConnectionRefused") return socketFailure("ConnectionRefused", what, error);
  if (name === "AddrInUse") return socketFailure("AddressInUse", what, error);
  if (name === "TimedOut") return socketFailure("ConnectTimeout", what, error);
  if (name === "AbortError") return socketFailure("Aborted", what, error);
  if (tlsPhase || name === "InvalidData" || /certificate|tls|handshake/i.test(message)) {
    return socketFailure("TlsHandshake", what, error);
  }
  return socketFailure("ConnectFailed", what, error);
}

class DenoConn implements RawConn {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  readonly tls: boolean;
  readonly alpnProtocol: string | null;
  #conn: Deno.Conn;
  #handlers: RawConnHandlers | null = null;
  #readBufferSize: number;
  #highWaterMark: number;
  #wantDrain = false;
  #queue: Uint8Array[] = [];
  #queueHead = 0;
  #queued = 0;
  #written = 0;
  #writing = false;
  #current: Uint8Array | null = null;
  #offset = 0;
  #ending = false;
  #closed = false;
  #paused = false;
  #discarding = false;
  #wake: (() => void) | null = null;

  #onFinish: (() => void) | undefined;

  constructor(
    conn: Deno.Conn,
    tls: boolean,
    alpn: string | null,
    options: SocketOptions,
    onFinish?: () => void,
  ) {
    this.#conn = conn;
    this.#onFinish = onFinish;
    const remote = conn.remoteAddr as Deno.NetAddr;
    const local = conn.localAddr as Deno.NetAddr;
    this.remoteAddress = remote.hostname;
    this.remotePort = remote.port;
    this.localAddress = local.hostname;
    this.localPort = local.port;
    this.tls = tls;
    this.alpnProtocol = alpn;
    this.#readBufferSize = options.readBufferSize;
    this.#highWaterMark = options.highWaterMark;
  }

  get writableLength(): number {
    return this.#queued;
  }

  get writeProgress(): number {
    return this.#written;
  }

  start(handlers: RawConnHandlers): void {
    this.#handlers = handlers;
    if (!turns.opening) openTurnSignal();
    this.#readLoop();
  }

  async #readLoop(): Promise<void> {
    const max = Math.max(this.#readBufferSize, MIN_SLAB) * BULK_GROWTH;
    const min = Math.min(this.#readBufferSize, MIN_SLAB);
    // Reads land in a slab and are handed out as views of it. A region once handed out is never
    // written again (the next read goes after it, or into a fresh slab), so every view is owned
    // by its receiver, while small reads cost neither an allocation nor a copy each. The slab
    // starts small (an idle connection holds little); a stream whose reads fill all the room
    // offered gets slabs up to `max`, so bulk transfers take fewer, larger reads; once reads are
    // small again the next slab is small too.
    let size = min;
    let slab = new Uint8Array(size);
    let used = 0;
    let turn = -1;
    let readsThisTurn = 0;
    const handlers = this.#handlers!;
    try {
      for (;;) {
        if (this.#paused) {
          await new Promise<void>((resolve) => this.#wake = resolve);
          this.#wake = null;
        }
        if (this.#closed) return;
        if (turn !== turns.count) {
          turn = turns.count;
          readsThisTurn = 0;
        } else if (readsThisTurn >= CONN_READS_PER_TURN || turns.reads >= READS_PER_TURN) {
          await nextTurn();
          if (this.#closed) return;
          continue;
        }
        const discarding = this.#discarding;
        if (!discarding && (slab.length - used < size >>> 2 || slab.length > size * 2)) {
          slab = new Uint8Array(size);
          used = 0;
        }
        const target = discarding ? DISCARD_SCRATCH : used === 0 ? slab : slab.subarray(used);
        const n = await this.#conn.read(target);
        if (this.#closed) return;
        if (n === null) {
          handlers.onEnd();
          return;
        }
        turns.reads++;
        readsThisTurn++;
        if (discarding) {
          handlers.onData(DISCARD_SCRATCH.subarray(0, n));
          continue;
        }
        if (n === target.length) {
          if (size < max) size *= 2;
        } else if (n < size >>> 2) {
          // Reads well under the slab: the next slab is sized to them (a connection that
          // trickles, or is done with its bulk transfer, holds little).
          size = Math.max(min, size >>> 1);
        }
        const start = used;
        used += n;
        handlers.onData(start === 0 && n === slab.length ? slab : slab.subarray(start, used));
      }
    } catch (error) {
      if (!this.#closed) handlers.onError(error);
    }
  }

  write(data: Uint8Array): void {
    if (this.#closed || this.#ending || data.length === 0) return;
    this.#queued += data.length;
    if (this.#queued > this.#highWaterMark) this.#wantDrain = true;
    if (this.#writing) {
      this.#queue.push(data);
      return;
    }
    this.#writing = true;
    this.#pump(data);
  }

  #next(): Uint8Array | null {
    const queue = this.#queue;
    const available = queue.length - this.#queueHead;
    if (available === 0) return null;
    let chunk: Uint8Array;
    if (available === 1 || queue[this.#queueHead].length >= SMALL_WRITE) {
      chunk = queue[this.#queueHead++];
    } else {
      // Merge queued small writes into one syscall.
      let end = this.#queueHead;
      let size = 0;
      while (
        end < queue.length && queue[end].length < SMALL_WRITE &&
        size + queue[end].length <= COALESCE_LIMIT
      ) {
        size += queue[end++].length;
      }
      if (end === this.#queueHead) {
        chunk = queue[this.#queueHead++];
      } else {
        chunk = new Uint8Array(size);
        let offset = 0;
        for (let i = this.#queueHead; i < end; i++) {
          chunk.set(queue[i], offset);
          offset += queue[i].length;
        }
        this.#queueHead = end;
      }
    }
    if (this.#queueHead === queue.length) {
      this.#queue = [];
      this.#queueHead = 0;
    } else if (this.#queueHead > 1024) {
      this.#queue = queue.slice(this.#queueHead);
      this.#queueHead = 0;
    }
    return chunk;
  }

  // The write loop runs on promise callbacks bound once, not an async function: one promise
  // per write instead of three.
  #pump(chunk: Uint8Array): void {
    this.#current = chunk;
    this.#offset = 0;
    this.#conn.write(chunk).then(this.#wrote, this.#writeFailed);
  }

  readonly #wrote = (n: number): void => {
    if (this.#closed) return;
    try {
      this.#advance(n);
    } catch (error) {
      // A throwing drain handler must not become an unhandled rejection.
      this.#writeFailed(error);
    }
  };

  #advance(n: number): void {
    const chunk = this.#current!;
    // Counted as written bytes go, so a big chunk's progress shows (the idle sweep watches it).
    this.#queued -= n;
    this.#written += n;
    this.#offset += n;
    if (this.#offset < chunk.length) {
      this.#conn.write(chunk.subarray(this.#offset)).then(this.#wrote, this.#writeFailed);
      return;
    }
    this.#current = null;
    if (this.#wantDrain && this.#queued <= this.#highWaterMark) {
      // Wake waiting producers as soon as there is room, not only once the queue is empty.
      this.#wantDrain = false;
      this.#handlers?.onDrain();
      if (this.#closed) return;
    }
    const next = this.#next();
    if (next !== null) {
      this.#pump(next);
      return;
    }
    this.#writing = false;
    if (this.#ending) {
      this.#finish();
      return;
    }
    this.#handlers?.onDrain();
  }

  readonly #writeFailed = (error: unknown): void => {
    this.#writing = false;
    this.#current = null;
    if (this.#closed) return;
    try {
      this.#handlers?.onError(error);
    } catch {
      // The transport's error handler closes the session; nothing is left to tell.
      this.destroy();
    }
  };

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    const wake = this.#wake;
    if (wake) wake();
  }

  discardInput(): void {
    this.#discarding = true;
  }

  end(): void {
    if (this.#closed || this.#ending) return;
    this.#ending = true;
    if (!this.#writing) this.#finish();
  }

  destroy(): void {
    this.#finish();
  }

  /**
   * Deno offers no abortive close (no SO_LINGER, no reset call): the connection closes with a
   * FIN, as `destroy` does. Callers that must signal a cut (a close-delimited body) cannot on
   * this adapter; the Node adapter sends a reset.
   */
  reset(): void {
    this.#finish();
  }

  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue = [];
    this.#queueHead = 0;
    this.#queued = 0;
    try {
      this.#conn.close();
    } catch { /* already closed by the runtime */ }
    const wake = this.#wake;
    if (wake) wake();
    this.#onFinish?.();
    this.#handlers?.onClosed();
  }
}

function tune(conn: Deno.Conn, options: { noDelay: boolean; keepAlive: boolean }): void {
  // TLS connections do not expose these in Deno; plain TCP ones do.
  const tcp = conn as Partial<Pick<Deno.TcpConn, "setNoDelay" | "setKeepAlive">>;
  try {
    tcp.setNoDelay?.(options.noDelay);
    tcp.setKeepAlive?.(options.keepAlive);
  } catch { /* the socket may already be closed */ }
}

function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  onTimeout: () => TransportError,
  signal?: AbortSignal,
  what = "operation",
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(onTimeout());
    }, ms);
    const onAbort = () => {
      cleanup();
      reject(socketFailure("Aborted", what, signal?.reason));
    };
    const cleanup = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        cleanup();
        resolve(value);
      },
      (error) => {
        cleanup();
        reject(error);
      },
    );
  });
}

function checkServerTls(tls: ResolvedTls): { cert: string; key: string } {
  if (tls.requireClientCert) {
    throw new UnsupportedError(
      "deno",
      "TLS servers requiring client certificates (requireClientCert)",
      "Deno.listenTls cannot request client certificates; terminate mTLS in front, or run on Node",
    );
  }
  if (!tls.cert || !tls.key) {
    throw new TransportError("TlsConfig", "a TLS listener needs a certificate and a key");
  }
  return { cert: tls.cert, key: tls.key };
}

/** Binds a TCP or TLS listener with Deno's APIs. */
export function listenTcp(options: TcpListenOptions): Promise<RawListener> {
  try {
    return Promise.resolve(listenNow(options));
  } catch (error) {
    return Promise.reject(error);
  }
}

function listenNow(options: TcpListenOptions): RawListener {
  const what = `listen on ${options.host}:${options.port}`;
  let listener: Deno.Listener;
  const tls = options.tls;
  try {
    if (tls) {
      const { cert, key } = checkServerTls(tls);
      listener = Deno.listenTls({
        hostname: options.host,
        port: options.port,
        cert,
        key,
        alpnProtocols: tls.alpnProtocols,
      });
    } else {
      listener = Deno.listen({ hostname: options.host, port: options.port });
    }
  } catch (error) {
    if (error instanceof UnsupportedError || error instanceof TransportError) throw error;
    const mapped = mapDenoError(error, what, false);
    if (mapped.code === "AddressInUse") throw mapped;
    throw new TransportError("ListenFailed", `${what}: ${mapped.message}`, { cause: error });
  }
  const addr = listener.addr as Deno.NetAddr;
  let closed = false;
  // TLS connections open, from accept (their handshake included) until they close.
  let tlsOpen = 0;
  // Of those, the ones still in their handshake.
  let handshaking = 0;
  const tlsClosed = () => void tlsOpen--;
  const handshake = async (conn: Deno.TlsConn) => {
    handshaking++;
    try {
      let info: Deno.TlsHandshakeInfo;
      try {
        info = await withTimeout(
          conn.handshake(),
          tls!.handshakeTimeoutMs,
          () => new TransportError("TlsHandshake", "TLS handshake timed out"),
        );
      } finally {
        handshaking--;
      }
      if (closed) {
        tlsClosed();
        conn.close();
        return;
      }
      tune(conn, options);
      options.onConnection(
        new DenoConn(conn, true, info.alpnProtocol ?? null, options, tlsClosed),
      );
    } catch (error) {
      tlsClosed();
      try {
        conn.close();
      } catch { /* already closed */ }
      options.onError(mapDenoError(error, "TLS accept", true), true);
    }
  };
  const acceptLoop = (async () => {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (closed) return;
        const name = errorName(error);
        if (name === "BadResource" || name === "Interrupted") return;
        options.onError(mapDenoError(error, "accept", false), false);
        // A failed accept (for example EMFILE) must not spin the loop.
        await new Promise((resolve) => setTimeout(resolve, 10));
        continue;
      }
      if (closed) {
        try {
          conn.close();
        } catch { /* already closed */ }
        return;
      }
      if (tls) {
        if (tlsOpen >= options.maxTlsConnections) {
          try {
            conn.close();
          } catch { /* already closed */ }
          options.onError(tlsLimitReached(options.maxTlsConnections), false);
          continue;
        }
        tlsOpen++;
        handshake(conn as Deno.TlsConn);
      } else {
        tune(conn, options);
        options.onConnection(new DenoConn(conn, false, null, options));
      }
    }
  })();
  return {
    host: addr.hostname,
    port: addr.port,
    get handshaking() {
      return handshaking;
    },
    close(): Promise<void> {
      if (!closed) {
        closed = true;
        try {
          listener.close();
        } catch { /* already closed */ }
      }
      // The socket is really gone only once the pending accept has failed.
      return acceptLoop;
    },
  };
}

function tlsLimitReached(max: number): TransportError {
  return new TransportError(
    "LimitExceeded",
    `TLS accept: ${max} TLS connections are open or in their handshake (maxSessions)`,
  );
}

/** Opens a TCP or TLS connection with Deno's APIs. */
export async function connectTcp(options: TcpConnectOptions): Promise<RawConn> {
  const what = `connect to ${options.host}:${options.port}`;
  const tls = options.tls;
  if (tls && !tls.verifyPeer) {
    throw new UnsupportedError(
      "deno",
      "TLS connections without peer verification (verifyPeer: false)",
      "pass the server's CA in tls.ca instead, or use the node adapter",
    );
  }
  if (options.signal?.aborted) {
    throw new TransportError("Aborted", `${what}: aborted`, { cause: options.signal.reason });
  }
  const serverName = tls?.serverName;
  const splitSni = tls !== null && serverName !== undefined && serverName !== options.host;
  if (splitSni && tls!.cert) {
    throw new UnsupportedError(
      "deno",
      "a TLS server name different from the host together with a client certificate",
      "connect to the server name itself, or use the node adapter",
    );
  }
  const controller = new AbortController();
  let phaseTls = false;
  let conn: Deno.Conn | null = null;
  const attempt = async (): Promise<RawConn> => {
    if (tls && !splitSni) {
      phaseTls = true;
      const c = await Deno.connectTls({
        hostname: options.host,
        port: options.port,
        caCerts: tls.ca,
        cert: tls.cert,
        key: tls.key,
        alpnProtocols: tls.alpnProtocols,
      });
      conn = c;
      const info = await c.handshake();
      return new DenoConn(c, true, info.alpnProtocol ?? null, options);
    }
    const plain = await Deno.connect({
      hostname: options.host,
      port: options.port,
      signal: controller.signal,
    });
    conn = plain;
    if (!tls) return new DenoConn(plain, false, null, options);
    phaseTls = true;
    const c = await Deno.startTls(plain, {
      hostname: serverName,
      caCerts: tls.ca,
      alpnProtocols: tls.alpnProtocols,
    });
    conn = c;
    const info = await c.handshake();
    return new DenoConn(c, true, info.alpnProtocol ?? null, options);
  };
  const pending = attempt();
  try {
    const raw = await withTimeout(
      pending,
      options.timeoutMs,
      () =>
        new TransportError(
          "ConnectTimeout",
          `${what} timed out after ${options.timeoutMs} ms`,
        ),
      options.signal,
      what,
    );
    tune(conn!, options);
    return raw;
  } catch (error) {
    controller.abort();
    // The attempt may still finish after a timeout: close whatever it opened.
    pending.then((raw) => raw.destroy(), () => {});
    const current = conn as Deno.Conn | null;
    try {
      current?.close();
    } catch { /* already closed */ }
    throw mapDenoError(error, what, phaseTls);
  }
}
