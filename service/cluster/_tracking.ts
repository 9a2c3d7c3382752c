/**
 * The key prefixes a `RedisConnection` tracks (server-assisted client-side
 * caching, `CLIENT TRACKING ... BCAST NOLOOP`), the socket their invalidations
 * arrive on (RESP3, opened by the first `track`), and setting tracking up
 * again whenever the prefixes change or a socket was lost.
 *
 * @module
 */
import { ClusterError } from "./errors.ts";
import { LazySocket } from "./_lazy_socket.ts";
import { redisFailure, timeoutError } from "./_redis_failure.ts";
import { within } from "./_within.ts";
import type { ConnectionSettings } from "./_connection_options.ts";
import type { RedisClient, RedisClientOwner } from "./_redis_client.ts";
import type { RedisReply, RedisTrackingListener } from "./connection_types.ts";

/** The connection tracking is set up on: its sockets' owner, and its command socket. */
export interface TrackingOwner extends RedisClientOwner {
  /** Sends a command on the command socket (the one tracking is set up for). */
  command(args: readonly string[]): Promise<RedisReply>;
}

// The Redis keys of an `invalidate` push: Buffers (the client's push type mapping), or null.
function keyText(key: unknown): string | null {
  return key === null || key === undefined ? null : String(key);
}

/** Tracked prefixes and who hears about them, and the invalidations socket. */
export class PrefixTracking {
  /** The socket receiving the invalidations (opened by the first prefix). */
  readonly socket: LazySocket;
  readonly #owner: TrackingOwner;
  readonly #commandTimeoutMs: number;
  // Tracking is set up again whenever this changes and after a reconnect of the command or
  // the invalidations socket.
  #tracked = new Map<string, RedisTrackingListener>();
  #running: Promise<void> | undefined;
  #again = false;
  #resync = false;

  /** Tracking for the connection `owner`, its sockets opened with `settings`. */
  constructor(settings: ConnectionSettings, owner: TrackingOwner) {
    this.#owner = owner;
    this.#commandTimeoutMs = settings.commandTimeoutMs;
    this.socket = new LazySocket(
      settings,
      "invalidations",
      owner,
      (client) => client.on("invalidate", (key) => this.#invalidated(keyText(key))),
    );
  }

  /** True while a prefix is tracked. */
  get active(): boolean {
    return this.#tracked.size > 0;
  }

  /**
   * Tracks `prefix` for `listener` (see `RedisConnection.track`).
   *
   * @returns a function that stops tracking `prefix`
   */
  async add(prefix: string, listener: RedisTrackingListener): Promise<() => Promise<void>> {
    if (typeof prefix !== "string" || prefix === "") {
      throw new ClusterError("InvalidArgument", "a tracked prefix must be a non-empty string");
    }
    const url = this.#owner.url;
    for (const other of this.#tracked.keys()) {
      if (other.startsWith(prefix) || prefix.startsWith(other)) {
        throw new ClusterError(
          "InvalidArgument",
          `prefix ${JSON.stringify(prefix)} overlaps ${
            JSON.stringify(other)
          }, already tracked on this connection to ${url} (use another connection)`,
          url,
        );
      }
    }
    this.#tracked.set(prefix, listener);
    try {
      await this.retrack(false);
    } catch (error) {
      this.#tracked.delete(prefix);
      this.retrack(false).catch(() => {});
      throw error;
    }
    let done = false;
    return async () => {
      if (done || this.#owner.isClosed()) return;
      done = true;
      if (this.#tracked.get(prefix) === listener) this.#tracked.delete(prefix);
      await within(this.retrack(false).catch(() => {}), 1000);
    };
  }

  /** Forgets every prefix (the connection closes). */
  clear(): void {
    this.#tracked.clear();
  }

  /**
   * Sets tracking up for the current prefixes; runs are serialised (the last one wins).
   * `resync`: a socket was lost, so the listeners hear `resync()` once it is set up.
   */
  retrack(resync: boolean): Promise<void> {
    if (resync) this.#resync = true;
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    const run = (async () => {
      let failure: unknown;
      do {
        this.#again = false;
        failure = undefined;
        try {
          await this.#apply();
        } catch (error) {
          // Lost again: the next "ready" brings another run.
          failure = error;
        }
      } while (this.#again && !this.#owner.isClosed());
      if (failure === undefined && this.#resync) {
        this.#resync = false;
        for (const listener of [...this.#tracked.values()]) {
          try {
            listener.resync();
          } catch { /* a listener's failure is its own */ }
        }
      }
      if (failure !== undefined) throw failure;
    })();
    this.#running = run;
    const clear = () => {
      if (this.#running === run) this.#running = undefined;
    };
    run.then(clear, clear);
    return run;
  }

  async #apply(): Promise<void> {
    const owner = this.#owner;
    if (owner.isClosed()) return;
    const prefixes = [...this.#tracked.keys()];
    // OFF first: Redis refuses a prefix that overlaps one it already tracks for the client.
    const off = owner.command(["CLIENT", "TRACKING", "OFF"]);
    if (prefixes.length === 0) {
      await off;
      return;
    }
    const inv: RedisClient = await this.socket.open();
    const id = await within(
      inv.sendCommand<number>(["CLIENT", "ID"]).catch((error) => {
        throw redisFailure(error, "CLIENT ID", owner.url, this.#commandTimeoutMs, owner.isClosed());
      }),
      this.#commandTimeoutMs,
    );
    if (id === undefined) {
      await off.catch(() => {});
      throw timeoutError(owner.url, "CLIENT ID", this.#commandTimeoutMs);
    }
    const on = owner.command([
      "CLIENT",
      "TRACKING",
      "ON",
      "REDIRECT",
      String(id),
      "BCAST",
      ...prefixes.flatMap((p) => ["PREFIX", p]),
      "NOLOOP",
    ]);
    await Promise.all([off, on]);
  }

  #invalidated(key: string | null): void {
    for (const [prefix, listener] of this.#tracked) {
      if (key !== null && !key.startsWith(prefix)) continue;
      try {
        listener.invalidated(key);
      } catch { /* a listener's failure is its own */ }
    }
  }
}
