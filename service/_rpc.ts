// A tiny request/response + notification protocol over a worker message
// port, used on both sides of a sandbox. The host treats everything coming
// from a sandbox as untrusted: shapes are checked and only registered ops
// run.
import { IoraError } from "../core/errors.ts";
import { ApiUnavailableError } from "./errors.ts";

export interface WireError {
  name: string;
  message: string;
  code?: string;
}

export type RpcMessage =
  // tp: the W3C traceparent of the caller's active span, when tracing.
  | { iora: 1; k: "req"; id: number; op: string; args: unknown[]; tp?: string }
  | { iora: 1; k: "res"; id: number; ok: true; value: unknown }
  | { iora: 1; k: "res"; id: number; ok: false; error: WireError }
  | { iora: 1; k: "note"; op: string; args: unknown[] };

export type RpcHandler = (args: unknown[]) => unknown;

interface Pending {
  resolve(value: unknown): void;
  reject(error: unknown): void;
  deadline: number;
  timeoutError: (() => Error) | undefined;
}

export function toWireError(error: unknown): WireError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return {
      name: error.name,
      message: error.message,
      code: typeof code === "string" ? code : undefined,
    };
  }
  return { name: "Error", message: String(error) };
}

/** An error that happened on the other side of the port. */
export class RemoteError extends IoraError {
  readonly remoteName: string;
  constructor(wire: WireError) {
    super(typeof wire.code === "string" ? wire.code : "RemoteError", String(wire.message));
    this.remoteName = String(wire.name);
  }
}

export function fromWireError(wire: WireError): Error {
  if (wire.name === "ApiUnavailableError" && typeof wire.message === "string") {
    const match = /^API "(.*)" is not available/.exec(wire.message);
    return new ApiUnavailableError(match ? match[1] : "?", "reported by the other side");
  }
  return new RemoteError(wire);
}

function isRpcMessage(value: unknown): value is RpcMessage {
  if (typeof value !== "object" || value === null) return false;
  const m = value as Record<string, unknown>;
  if (m.iora !== 1) return false;
  if (m.k === "req") {
    return typeof m.id === "number" && typeof m.op === "string" && Array.isArray(m.args) &&
      (m.tp === undefined || (typeof m.tp === "string" && m.tp.length <= 128));
  }
  if (m.k === "res") {
    if (typeof m.id !== "number" || typeof m.ok !== "boolean") return false;
    return m.ok || (typeof m.error === "object" && m.error !== null);
  }
  if (m.k === "note") return typeof m.op === "string" && Array.isArray(m.args);
  return false;
}

export class RpcPeer {
  #post: (message: RpcMessage) => void;
  #handlers = new Map<string, RpcHandler>();
  #notes = new Map<string, RpcHandler>();
  #pending = new Map<number, Pending>();
  #nextId = 1;
  #closed: Error | undefined;
  // One timer for every deadline (re-armed for the earliest one): a timer
  // per request would cost more than the message round trip itself.
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
  onProtocolError: (detail: string) => void = () => {};
  // Requests from the other side being served now, and the most allowed:
  // a flooding sandbox gets errors instead of growing the host's memory.
  #inbound = 0;
  maxInbound = 1024;
  // Trace context across the port: the traceparent to send with a request (null: none), and
  // how to run a handler under the traceparent a request came with.
  traceOut: (() => string | null) | null = null;
  traceIn: (<R>(traceparent: string, fn: () => R) => R) | null = null;

  constructor(post: (message: RpcMessage) => void) {
    this.#post = post;
  }

  get pendingCount(): number {
    return this.#pending.size;
  }

  handle(op: string, handler: RpcHandler): void {
    this.#handlers.set(op, handler);
  }

  onNote(op: string, handler: RpcHandler): void {
    this.#notes.set(op, handler);
  }

  notify(op: string, args: unknown[]): void {
    if (this.#closed) return;
    this.#post({ iora: 1, k: "note", op, args });
  }

  request(
    op: string,
    args: unknown[],
    timeout?: { ms: number; error: () => Error },
  ): Promise<unknown> {
    if (this.#closed) return Promise.reject(this.#closed);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const deadline = timeout && Number.isFinite(timeout.ms)
        ? performance.now() + timeout.ms
        : Infinity;
      this.#pending.set(id, { resolve, reject, deadline, timeoutError: timeout?.error });
      const tp = this.traceOut?.() ?? null;
      try {
        this.#post(
          tp === null
            ? { iora: 1, k: "req", id, op, args }
            : { iora: 1, k: "req", id, op, args, tp },
        );
      } catch (error) {
        // Arguments that cannot be structured-cloned fail here, not remotely.
        this.#pending.delete(id);
        reject(error);
        return;
      }
      if (deadline < this.#timerAt) this.#arm(deadline);
    });
  }

  receive(message: unknown): void {
    if (!isRpcMessage(message)) {
      this.onProtocolError("malformed message");
      return;
    }
    if (message.k === "res") {
      const pending = this.#pending.get(message.id);
      if (!pending) return; // late answer after a timeout
      this.#pending.delete(message.id);
      if (this.#pending.size === 0) this.#disarm();
      if (message.ok) pending.resolve(message.value);
      else pending.reject(fromWireError(message.error));
      return;
    }
    if (message.k === "note") {
      const handler = this.#notes.get(message.op);
      if (!handler) {
        this.onProtocolError(`unknown notification "${message.op}"`);
        return;
      }
      try {
        handler(message.args);
      } catch (error) {
        this.onProtocolError(`notification "${message.op}" failed: ${String(error)}`);
      }
      return;
    }
    const { id, op, args, tp } = message;
    if (this.#inbound >= this.maxInbound) {
      this.#reply(id, false, undefined, {
        name: "Error",
        message: `more than ${this.maxInbound} concurrent requests`,
      });
      return;
    }
    const handler = this.#handlers.get(op);
    if (!handler) {
      this.#reply(id, false, undefined, { name: "Error", message: `unknown operation "${op}"` });
      return;
    }
    let result: unknown;
    try {
      const traceIn = this.traceIn;
      result = tp === undefined || traceIn === null
        ? handler(args)
        : traceIn(tp, () => handler(args));
    } catch (error) {
      this.#reply(id, false, undefined, toWireError(error));
      return;
    }
    if (!(result instanceof Promise)) {
      this.#reply(id, true, result);
      return;
    }
    this.#inbound++;
    result.then(
      (value) => {
        this.#inbound--;
        this.#reply(id, true, value);
      },
      (error) => {
        this.#inbound--;
        this.#reply(id, false, undefined, toWireError(error));
      },
    );
  }

  close(error: Error): void {
    if (this.#closed) return;
    this.#closed = error;
    this.#disarm();
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }

  #arm(at: number): void {
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => this.#expire(), Math.max(0, at - performance.now()));
  }

  #disarm(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  #expire(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = performance.now();
    let next = Infinity;
    for (const [id, pending] of this.#pending) {
      if (pending.deadline <= now) {
        this.#pending.delete(id);
        pending.reject(pending.timeoutError ? pending.timeoutError() : new Error("timed out"));
      } else if (pending.deadline < next) next = pending.deadline;
    }
    if (next < Infinity && !this.#closed) this.#arm(next);
  }

  #reply(id: number, ok: boolean, value: unknown, error?: WireError): void {
    if (this.#closed) return;
    try {
      if (ok) this.#post({ iora: 1, k: "res", id, ok: true, value });
      else this.#post({ iora: 1, k: "res", id, ok: false, error: error! });
    } catch (cloneError) {
      // The value could not cross the port: answer with why instead.
      this.#post({ iora: 1, k: "res", id, ok: false, error: toWireError(cloneError) });
    }
  }
}
