/**
 * The commands a `RedisConnection` sent and that wait for their reply, oldest
 * first, and the sweep that fails those past their deadline: one timer per
 * connection instead of one per command.
 *
 * @module
 */
import { platform } from "../../core/platform/mod.ts";
import type { ClusterError } from "./errors.ts";
import type { RedisReply, RedisReplyCallback } from "./connection_types.ts";

/** A command waiting for its reply, with its deadline and who hears the outcome. */
export interface WaitingCommand {
  deadline: number;
  timeoutMs: number;
  name: string;
  // Set while the socket is down: withdraws the command from the client's queue on timeout.
  withdraw: AbortController | undefined;
  callback: RedisReplyCallback;
  // Answered, failed or timed out: the callback was called.
  done: boolean;
}

/** Calls a {@linkcode RedisReplyCallback}; what it throws is its own. */
export function callBack(
  callback: RedisReplyCallback,
  error: ClusterError | undefined,
  reply?: RedisReply,
): void {
  try {
    callback(error, reply);
  } catch { /* the caller's failure is its own */ }
}

/**
 * Commands waiting for a reply, oldest first from `#from`; one that is done is dropped
 * once none before it waits (replies come in order), or by the sweep.
 */
export class WaitingCommands {
  /** How many wait now. */
  pending = 0;
  #list: WaitingCommand[] = [];
  #from = 0;
  #sweeper: ReturnType<typeof setInterval> | undefined;
  readonly #expired: (waiting: WaitingCommand) => void;

  /** `expired` hears of each command the sweep finds past its deadline (already done). */
  constructor(expired: (waiting: WaitingCommand) => void) {
    this.#expired = expired;
  }

  /** Counts `waiting` in, at the back. */
  add(waiting: WaitingCommand): void {
    this.pending++;
    this.#list.push(waiting);
  }

  /** Marks `waiting` done and drops the done commands at the front. */
  done(waiting: WaitingCommand): void {
    waiting.done = true;
    this.pending--;
    const list = this.#list;
    let from = this.#from;
    while (from < list.length && list[from].done) from++;
    if (from === list.length) {
      list.length = 0;
      from = 0;
    }
    this.#from = from;
  }

  /** Sweeps every `tickMs` (unref'd: it keeps no process alive) until {@linkcode stop}. */
  start(tickMs: number): void {
    this.#sweeper = setInterval(() => this.#sweep(), tickMs);
    platform().unrefTimer(this.#sweeper);
  }

  /** Stops sweeping. */
  stop(): void {
    clearInterval(this.#sweeper);
  }

  #sweep(): void {
    const list = this.#list;
    if (list.length === 0) return;
    const now = Date.now();
    for (let i = this.#from; i < list.length; i++) {
      const waiting = list[i];
      if (!waiting.done && waiting.deadline <= now) {
        this.done(waiting);
        waiting.withdraw?.abort();
        this.#expired(waiting);
      }
    }
    // Done commands behind one still waiting (a blocking command, say) are dropped here.
    if (this.#list.length - this.#from > 1024) {
      this.#list = this.#list.slice(this.#from).filter((w) => !w.done);
      this.#from = 0;
    }
  }
}
