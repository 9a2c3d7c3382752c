/**
 * `SyncAsyncTransport`: awaitable reads on top of any {@linkcode Transport},
 * by composition. Each session is in one exclusive read mode: `"callback"`
 * (bytes go to `onData`) or `"pull"` (bytes are buffered for `receive`,
 * `readUntil`, `readExactly`, `sendAndWait`). Switching modes is safe: bytes
 * buffered in pull mode are handed to `onData` on the switch, in order.
 * A waiting read can time out or be aborted without closing the connection.
 *
 * @example
 * ```ts
 * import { SharedTransport } from "./shared_transport.ts";
 * import { SyncAsyncTransport } from "./sync_async_transport.ts";
 * const t = new SyncAsyncTransport(new SharedTransport(), { defaultReadMode: "pull" });
 * const sid = await t.connect("127.0.0.1", 7);
 * const reply = await t.sendAndWait(sid, new TextEncoder().encode("ping\n"), { timeoutMs: 1000 });
 * await t.stop();
 * ```
 *
 * @module
 */
import type { RuntimeName } from "../core/platform/types.ts";
import { CallbackSet } from "./_callbacks.ts";
import { sessionNotFound } from "./_util.ts";
import {
  type Capabilities,
  Capability,
  type CloseReason,
  type ConnectOptions,
  type ListenerInfo,
  type SessionId,
  type SessionInfo,
  TlsMode,
  type Transport,
  type TransportCallbacks,
  TransportError,
  type UnifiedStats,
} from "./transport.ts";

/**
 * The exclusive read modes of a session.
 *
 * @example
 * ```ts
 * import { ReadMode } from "./sync_async_transport.ts";
 * const mode: ReadMode = ReadMode.Pull;
 * ```
 */
export const ReadMode: {
  /** Bytes are delivered to the `onData` callback. */
  readonly Callback: "callback";
  /** Bytes are buffered for `receive` and friends. */
  readonly Pull: "pull";
} = { Callback: "callback", Pull: "pull" };

/** One of the {@linkcode ReadMode} values. */
export type ReadMode = typeof ReadMode[keyof typeof ReadMode];

/** Options of the awaitable reads. */
export interface ReceiveOptions {
  /** Fail with `Timeout` after this long; the connection stays open. */
  timeoutMs?: number;
  /** Fail with `Aborted` when this signal fires; the connection stays open. */
  signal?: AbortSignal;
}

/** Options of {@linkcode SyncAsyncTransport.sendAndWait}. */
export interface SendAndWaitOptions extends ReceiveOptions {
  /** Most bytes to return. Default: everything buffered. */
  maxBytes?: number;
}

/** Settings of {@linkcode SyncAsyncTransport}. */
export interface SyncAsyncConfig {
  /** The read mode new sessions start in. Default `"callback"`. */
  defaultReadMode?: ReadMode;
  /** Bytes buffered per pull-mode session before reading pauses. Default 4 MiB. */
  maxBufferedBytes?: number;
}

type Op =
  | { kind: "receive"; max: number }
  | { kind: "exact"; n: number }
  | { kind: "until"; delimiter: Uint8Array; limit: number };

interface Pending {
  op: Op;
  resolve(value: Uint8Array | null): void;
  reject(error: TransportError): void;
  cleanup(): void;
}

/** Lets the caller of `#enqueue` withdraw the read it queued. */
interface ReadHandle {
  drop?: (error: TransportError) => void;
}

interface State {
  mode: ReadMode;
  chunks: Uint8Array[];
  buffered: number;
  pending: Pending[];
  paused: boolean;
  closed: boolean;
}

const noop = (): void => {};
/** How many closed sessions still answer reads with null rather than `SessionNotFound`. */
const ENDED_REMEMBERED = 4096;

/**
 * The error for a `maxBytes` that is not a positive integer or Infinity, else null (a fraction
 * would leave a fractional byte count behind, and a read of a missing chunk).
 */
function invalidMaxBytes(n: number): TransportError | null {
  return n === Number.POSITIVE_INFINITY || (Number.isInteger(n) && n >= 1)
    ? null
    : new TransportError("InvalidArgument", "maxBytes must be a positive integer or Infinity");
}
const encoder = new TextEncoder();

/** Sync/async wrapper (the seed's `SyncAsyncTransport`) around a base transport. */
export class SyncAsyncTransport implements Transport {
  /** The base transport's adapter. */
  readonly runtime: RuntimeName;
  #base: Transport;
  #states = new Map<SessionId, State>();
  /** Recently closed sessions whose state is gone: reads on them return null (end of stream). */
  #ended = new Set<SessionId>();
  #defaultMode: ReadMode;
  #maxBuffered: number;
  readonly #callbacks = new CallbackSet();

  /**
   * Wraps `base`, taking over its callbacks.
   *
   * @param base the transport to wrap (TCP, TLS or UDP)
   * @param config the default read mode and the pull-mode buffer limit
   */
  constructor(base: Transport, config: SyncAsyncConfig = {}) {
    this.#base = base;
    this.runtime = base.runtime;
    const mode = config.defaultReadMode ?? ReadMode.Callback;
    if (mode !== ReadMode.Callback && mode !== ReadMode.Pull) {
      throw new TransportError("InvalidArgument", `unknown read mode ${String(mode)}`);
    }
    this.#defaultMode = mode;
    this.#maxBuffered = config.maxBufferedBytes ?? 4 * 1024 * 1024;
    if (!(this.#maxBuffered >= 1)) {
      throw new TransportError("InvalidArgument", "maxBufferedBytes must be >= 1");
    }
    base.setCallbacks({
      onAccept: (sid, info) => {
        this.#state(sid);
        this.#callbacks.onAccept(sid, info);
      },
      onConnect: (sid, info) => {
        this.#state(sid);
        this.#callbacks.onConnect(sid, info);
      },
      onData: (sid, data) => this.#data(sid, data),
      onClose: (sid, reason, error) => this.#closed(sid, reason, error),
      onError: (error, sid) => this.#callbacks.onError(error, sid),
    });
  }

  /** The wrapped transport. */
  get base(): Transport {
    return this.#base;
  }

  #state(sid: SessionId): State {
    let s = this.#states.get(sid);
    if (s === undefined) {
      s = {
        mode: this.#defaultMode,
        chunks: [],
        buffered: 0,
        pending: [],
        paused: false,
        closed: false,
      };
      this.#states.set(sid, s);
    }
    return s;
  }

  #data(sid: SessionId, data: Uint8Array): void {
    const s = this.#states.get(sid) ?? this.#state(sid);
    if (s.mode === ReadMode.Callback) {
      this.#callbacks.onData(sid, data);
      return;
    }
    // A small view into a large read buffer would pin the whole buffer while it waits here.
    s.chunks.push(data.length < data.buffer.byteLength >>> 3 ? data.slice() : data);
    s.buffered += data.length;
    this.#serve(sid, s);
    if (!s.paused && s.buffered > this.#maxBuffered && s.buffered >= this.#want(s)) {
      s.paused = true;
      this.#base.pauseReading(sid);
    }
  }

  #closed(sid: SessionId, reason: CloseReason, error?: TransportError): void {
    const s = this.#states.get(sid);
    if (s) {
      s.closed = true;
      this.#serve(sid, s);
      if (s.buffered === 0) this.#forget(sid);
    }
    this.#callbacks.onClose(sid, reason, error);
  }

  /** Drops a closed session's state, remembering (boundedly) that it ended. */
  #forget(sid: SessionId): void {
    this.#states.delete(sid);
    this.#ended.add(sid);
    if (this.#ended.size > ENDED_REMEMBERED) {
      this.#ended.delete(this.#ended.values().next().value!);
    }
  }

  /** Replaces the callbacks; absent ones become no-ops. */
  setCallbacks(callbacks: TransportCallbacks): void {
    this.#callbacks.replace(callbacks);
  }

  /**
   * Sets a session's read mode. Leaving pull mode hands buffered bytes to
   * `onData` (in order) and fails waiting reads with `ReadModeConflict`.
   */
  setReadMode(sid: SessionId, mode: ReadMode): void {
    if (mode !== ReadMode.Callback && mode !== ReadMode.Pull) {
      throw new TransportError("InvalidArgument", `unknown read mode ${String(mode)}`);
    }
    const s = this.#states.get(sid);
    if (s === undefined) throw sessionNotFound(sid);
    if (s.mode === mode) return;
    s.mode = mode;
    if (mode === ReadMode.Callback) {
      for (const p of s.pending.splice(0)) {
        p.cleanup();
        p.reject(
          new TransportError("ReadModeConflict", `session ${sid} switched to callback mode`, {
            sid,
          }),
        );
      }
      const chunks = s.chunks;
      s.chunks = [];
      s.buffered = 0;
      this.#resumeIfPaused(sid, s);
      for (const c of chunks) this.#callbacks.onData(sid, c);
      if (s.closed) this.#forget(sid);
    }
  }

  /** A session's read mode (the default for an unknown one). */
  getReadMode(sid: SessionId): ReadMode {
    return this.#states.get(sid)?.mode ?? this.#defaultMode;
  }

  /** Bytes buffered for a pull-mode session. */
  bufferedBytes(sid: SessionId): number {
    return this.#states.get(sid)?.buffered ?? 0;
  }

  /**
   * Waits for bytes on a pull-mode session and returns up to `maxBytes` of
   * them (at least one), or null once the session closed and nothing is left.
   */
  receive(
    sid: SessionId,
    maxBytes: number = Number.POSITIVE_INFINITY,
    options: ReceiveOptions = {},
  ): Promise<Uint8Array | null> {
    const invalid = invalidMaxBytes(maxBytes);
    if (invalid) return Promise.reject(invalid);
    return this.#enqueue(sid, { kind: "receive", max: maxBytes }, options);
  }

  /** Waits for exactly `n` bytes; null when the session closes before they arrive. */
  readExactly(sid: SessionId, n: number, options: ReceiveOptions = {}): Promise<Uint8Array | null> {
    if (!Number.isInteger(n) || n < 1) {
      return Promise.reject(new TransportError("InvalidArgument", "n must be a positive integer"));
    }
    return this.#enqueue(sid, { kind: "exact", n }, options);
  }

  /**
   * Waits until `delimiter` arrives and returns the bytes up to and
   * including it. Fails with `LimitExceeded` when `limit` bytes are
   * buffered without it (the bytes stay buffered); null when the session
   * closes first.
   */
  readUntil(
    sid: SessionId,
    delimiter: Uint8Array | string,
    limit: number = 64 * 1024,
    options: ReceiveOptions = {},
  ): Promise<Uint8Array | null> {
    const d = typeof delimiter === "string" ? encoder.encode(delimiter) : delimiter;
    if (d.length === 0) {
      return Promise.reject(new TransportError("InvalidArgument", "empty delimiter"));
    }
    // NaN would never trip the limit (buffering without bound); 0 or less would trip at once.
    if (!Number.isInteger(limit) || limit < 1) {
      return Promise.reject(
        new TransportError("InvalidArgument", `limit must be a positive integer, got ${limit}`),
      );
    }
    return this.#enqueue(sid, { kind: "until", delimiter: d, limit }, options);
  }

  /**
   * Sends `data`, then waits for the reply bytes (as `receive`). The session
   * must be in pull mode.
   */
  async sendAndWait(
    sid: SessionId,
    data: Uint8Array,
    options: SendAndWaitOptions = {},
  ): Promise<Uint8Array | null> {
    const s = this.#states.get(sid);
    if (s === undefined) throw sessionNotFound(sid);
    if (s.mode !== ReadMode.Pull) throw this.#conflict(sid);
    const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
    const invalid = invalidMaxBytes(maxBytes);
    if (invalid) throw invalid;
    // Register the read before sending, so a fast reply cannot slip past it.
    const handle: ReadHandle = {};
    const reply = this.#enqueue(sid, { kind: "receive", max: maxBytes }, options, handle);
    try {
      await this.#base.sendAsync(sid, data);
    } catch (error) {
      reply.catch(noop);
      // The session may live on (a refused datagram): the read must not take the next reply.
      handle.drop?.(
        new TransportError("Aborted", `read on session ${sid} aborted: the send failed`, {
          sid,
          cause: error,
        }),
      );
      throw error;
    }
    return await reply;
  }

  #conflict(sid: SessionId): TransportError {
    return new TransportError(
      "ReadModeConflict",
      `session ${sid} is in callback mode; setReadMode(sid, "pull") first`,
      { sid },
    );
  }

  #enqueue(
    sid: SessionId,
    op: Op,
    options: ReceiveOptions,
    handle?: ReadHandle,
  ): Promise<Uint8Array | null> {
    const s = this.#states.get(sid);
    if (s === undefined) {
      return this.#ended.has(sid) ? Promise.resolve(null) : Promise.reject(sessionNotFound(sid));
    }
    if (s.mode !== ReadMode.Pull) return Promise.reject(this.#conflict(sid));
    const signal = options.signal;
    if (signal?.aborted) {
      return Promise.reject(
        new TransportError("Aborted", `read on session ${sid} aborted`, {
          sid,
          cause: signal.reason,
        }),
      );
    }
    return new Promise<Uint8Array | null>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const drop = (error: TransportError) => {
        const i = s.pending.indexOf(pending);
        if (i >= 0) s.pending.splice(i, 1);
        pending.cleanup();
        reject(error);
        // A later read may now be servable (it was queued behind this one).
        this.#serve(sid, s);
      };
      const onAbort = () =>
        drop(
          new TransportError("Aborted", `read on session ${sid} aborted`, {
            sid,
            cause: signal?.reason,
          }),
        );
      const pending: Pending = {
        op,
        resolve,
        reject,
        cleanup: () => {
          if (timer !== undefined) clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
        },
      };
      if (options.timeoutMs !== undefined) {
        timer = setTimeout(
          () =>
            drop(
              new TransportError(
                "Timeout",
                `no data on session ${sid} within ${options.timeoutMs} ms`,
                { sid },
              ),
            ),
          options.timeoutMs,
        );
      }
      signal?.addEventListener("abort", onAbort, { once: true });
      if (handle) handle.drop = drop;
      s.pending.push(pending);
      this.#serve(sid, s);
    });
  }

  #serve(sid: SessionId, s: State): void {
    while (s.pending.length > 0) {
      const p = s.pending[0];
      const result = this.#try(p.op, s);
      if (result === undefined) break;
      s.pending.shift();
      p.cleanup();
      if (result instanceof TransportError) p.reject(result);
      else p.resolve(result);
    }
    this.#resumeIfPaused(sid, s);
    if (s.closed && s.buffered === 0 && s.pending.length === 0) this.#forget(sid);
  }

  /** Bytes the first waiting read needs (a big `readExactly` may exceed the buffer limit). */
  #want(s: State): number {
    const head = s.pending[0];
    if (head === undefined) return 0;
    if (head.op.kind === "exact") return head.op.n;
    if (head.op.kind === "until") return head.op.limit;
    return 1;
  }

  #resumeIfPaused(sid: SessionId, s: State): void {
    if (s.paused && (s.buffered <= this.#maxBuffered / 2 || s.buffered < this.#want(s))) {
      s.paused = false;
      this.#base.resumeReading(sid);
    }
  }

  /** The result of an op now, or undefined when it must wait. */
  #try(op: Op, s: State): Uint8Array | null | TransportError | undefined {
    switch (op.kind) {
      case "receive":
        if (s.buffered > 0) return this.#take(s, Math.min(op.max, s.buffered));
        return s.closed ? null : undefined;
      case "exact":
        if (s.buffered >= op.n) return this.#take(s, op.n);
        return s.closed ? null : undefined;
      case "until": {
        const index = this.#find(s, op.delimiter);
        if (index >= 0) {
          const end = index + op.delimiter.length;
          if (end > op.limit) return this.#limit(op.limit);
          return this.#take(s, end);
        }
        if (s.buffered >= op.limit) return this.#limit(op.limit);
        return s.closed ? null : undefined;
      }
    }
  }

  #limit(limit: number): TransportError {
    return new TransportError("LimitExceeded", `delimiter not found within ${limit} bytes`);
  }

  #flatten(s: State): Uint8Array {
    if (s.chunks.length === 1) return s.chunks[0];
    const all = new Uint8Array(s.buffered);
    let offset = 0;
    for (const c of s.chunks) {
      all.set(c, offset);
      offset += c.length;
    }
    s.chunks = s.buffered > 0 ? [all] : [];
    return all;
  }

  #find(s: State, delimiter: Uint8Array): number {
    if (s.buffered < delimiter.length) return -1;
    const all = this.#flatten(s);
    const first = delimiter[0];
    const last = all.length - delimiter.length;
    for (let i = all.indexOf(first); i >= 0 && i <= last; i = all.indexOf(first, i + 1)) {
      let j = 1;
      while (j < delimiter.length && all[i + j] === delimiter[j]) j++;
      if (j === delimiter.length) return i;
    }
    return -1;
  }

  #take(s: State, n: number): Uint8Array {
    const head = s.chunks[0];
    if (head.length === n) {
      s.chunks.shift();
      s.buffered -= n;
      return head;
    }
    if (head.length > n) {
      s.chunks[0] = head.subarray(n);
      s.buffered -= n;
      return head.subarray(0, n);
    }
    const out = new Uint8Array(n);
    let offset = 0;
    while (offset < n) {
      const c = s.chunks[0];
      const need = n - offset;
      if (c.length <= need) {
        out.set(c, offset);
        offset += c.length;
        s.chunks.shift();
      } else {
        out.set(c.subarray(0, need), offset);
        s.chunks[0] = c.subarray(need);
        offset = n;
      }
    }
    s.buffered -= n;
    return out;
  }

  // Delegation to the base transport.

  /** Starts the base transport. */
  start(): void {
    this.#base.start();
  }

  /** Binds a listener on the base transport. */
  listen(host: string, port: number, tlsMode: TlsMode = TlsMode.None): Promise<ListenerInfo> {
    return this.#base.listen(host, port, tlsMode);
  }

  /** Closes one listener. */
  closeListener(id: number): Promise<void> {
    return this.#base.closeListener(id);
  }

  /** Closes every listener. */
  stopListening(): Promise<void> {
    return this.#base.stopListening();
  }

  /** Opens a session on the base transport (in the default read mode). */
  async connect(
    host: string,
    port: number,
    tlsMode: TlsMode = TlsMode.None,
    options?: ConnectOptions,
  ): Promise<SessionId> {
    const sid = await this.#base.connect(host, port, tlsMode, options);
    // Closed already (inside onConnect): a fresh state would wait for a close that came and went.
    if (!this.#ended.has(sid)) this.#state(sid);
    return sid;
  }

  /** Queues bytes (see {@linkcode Transport.send}). */
  send(sid: SessionId, data: Uint8Array): boolean {
    return this.#base.send(sid, data);
  }

  /** Queues bytes and waits for room (see {@linkcode Transport.sendAsync}). */
  sendAsync(sid: SessionId, data: Uint8Array): Promise<void> {
    return this.#base.sendAsync(sid, data);
  }

  /** Waits for the write queue to drain (see {@linkcode Transport.drain}). */
  drain(sid: SessionId): Promise<void> {
    return this.#base.drain(sid);
  }

  /** Sends many messages. */
  sendBatch(items: Iterable<readonly [SessionId, Uint8Array]>): number {
    return this.#base.sendBatch(items);
  }

  /** Closes a session gracefully; bytes already buffered stay readable. */
  close(sid: SessionId): void {
    this.#base.close(sid);
  }

  /** Closes a session at once. */
  abort(sid: SessionId): void {
    this.#base.abort(sid);
  }

  /** Stops reading from a session. */
  pauseReading(sid: SessionId): void {
    this.#base.pauseReading(sid);
  }

  /** Resumes reading. */
  resumeReading(sid: SessionId): void {
    this.#base.resumeReading(sid);
  }

  /** What is known about a session. */
  getSessionInfo(sid: SessionId): SessionInfo | undefined {
    return this.#base.getSessionInfo(sid);
  }

  /** Bytes queued for writing on a session. */
  writeQueueSize(sid: SessionId): number {
    return this.#base.writeQueueSize(sid);
  }

  /** The base capabilities plus `SupportsSyncOperations | SupportsReadModes`. */
  getCapabilities(): Capabilities {
    return this.#base.getCapabilities() | Capability.SupportsSyncOperations |
      Capability.SupportsReadModes;
  }

  /** The base transport's counters. */
  getStats(): UnifiedStats {
    return this.#base.getStats();
  }

  /** Zeroes the base transport's counters. */
  resetStats(): void {
    this.#base.resetStats();
  }

  /** Stops the base transport; waiting reads end (null, or their buffered bytes). */
  async stop(): Promise<void> {
    await this.#base.stop();
    for (const [sid, s] of this.#states) {
      s.closed = true;
      this.#serve(sid, s);
    }
    this.#states.clear();
  }

  /** Same as {@linkcode stop}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}
