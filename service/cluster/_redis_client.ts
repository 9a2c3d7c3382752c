/**
 * One socket of a `RedisConnection`: an npm `@redis/client` client opened for
 * a role (command, subscriber, invalidations), reconnected with capped
 * exponential backoff and jitter once it was ready, its losses and returns
 * reported as status changes.
 *
 * @module
 */
import { createClient } from "@redis/client";
import { ClusterError } from "./errors.ts";
import type { ConnectionSettings } from "./_connection_options.ts";
import type { RedisSocketRole, RedisStatus } from "./connection_types.ts";

/**
 * The slice of the client's API used here: sendCommand keeps us independent of its
 * command typings, which are large and change between majors.
 */
export interface RedisClient {
  connect(): Promise<unknown>;
  sendCommand<T>(
    args: readonly string[],
    options?: { timeout?: number; abortSignal?: AbortSignal },
  ): Promise<T>;
  subscribe(channel: string, listener: (message: string, channel: string) => void): Promise<void>;
  unsubscribe(
    channel: string,
    listener?: (message: string, channel: string) => void,
  ): Promise<void>;
  close(): Promise<void>;
  destroy(): void;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  readonly isReady: boolean;
}

/** What a socket reports to the connection it belongs to. */
export interface RedisClientOwner {
  /** The URL without its password, for messages. */
  readonly url: string;
  /** True once the connection is closed: no reconnecting, no reports. */
  isClosed(): boolean;
  /**
   * The socket was lost (`reconnecting`), is back (`ready`) or was given up (`closed`);
   * only after it was ready once.
   */
  socketStatus(status: RedisStatus, role: RedisSocketRole): void;
}

/**
 * Opens a socket to `settings.url` as `role`, failing with {@linkcode ClusterError}
 * `Unavailable` (naming the URL) when Redis cannot be reached within `connectTimeoutMs`.
 */
export async function openRedisClient(
  settings: ConnectionSettings,
  role: RedisSocketRole,
  owner: RedisClientOwner,
): Promise<RedisClient> {
  const o = settings;
  let everReady = false;
  const client = createClient({
    url: o.url,
    // RESP3 only where pushes are needed: the invalidations socket's replies are never read
    // by a backend, while every backend reads the command socket's RESP2 replies.
    RESP: role === "invalidations" ? 3 : 2,
    emitInvalidate: role === "invalidations" ? true : undefined,
    name: o.clientName === undefined
      ? undefined
      : role === "subscriber"
      ? `${o.clientName}:sub`
      : role === "invalidations"
      ? `${o.clientName}:inv`
      : o.clientName,
    // Room beyond ours: the client queues its own commands (the name, the resubscriptions)
    // on a reconnect, and commands already written that timed out here stay in its queue
    // until Redis answers or the socket drops (unwritten ones are withdrawn, see `send`).
    // `maxPending` is enforced by the connection; the client's bound caps the rest.
    commandsQueueMaxLength: o.maxPending * 2 + 16,
    // No timer per command: since @redis/client 6 every command gets one by default
    // (`AbortSignal.timeout`, 5 s), which costs about a quarter of a single SET's CPU here;
    // the connection's own sweep enforces `commandTimeoutMs` instead, and withdraws a
    // command queued while Redis was away once it timed out, so it never runs late.
    commandOptions: { timeout: 0 },
    socket: {
      connectTimeout: o.connectTimeoutMs,
      reconnectStrategy: (retries: number, cause: Error) => {
        if (owner.isClosed()) return false;
        // Before the first connection, give up at once: connect() reports it, naming the URL.
        if (!everReady) return cause instanceof Error ? cause : new Error(String(cause));
        const base = Math.min(o.reconnectMaxMs, o.reconnectMinMs * 2 ** Math.min(retries, 20));
        return Math.round(base * (1 + Math.random() * 0.25));
      },
    },
  }) as unknown as RedisClient;
  let lost = false;
  client.on("error", () => {
    // Reported through status changes and failed commands; without a
    // listener the client's EventEmitter would throw.
  });
  client.on("end", () => {
    if (everReady && !owner.isClosed()) owner.socketStatus("closed", role);
  });
  client.on("reconnecting", () => {
    if (!everReady || owner.isClosed()) return;
    if (!lost) {
      lost = true;
      owner.socketStatus("reconnecting", role);
    }
  });
  client.on("ready", () => {
    if (!everReady || owner.isClosed()) return;
    if (lost) {
      lost = false;
      owner.socketStatus("ready", role);
    }
  });
  try {
    await client.connect();
  } catch (error) {
    client.destroy?.();
    if (error instanceof ClusterError) throw error;
    throw new ClusterError(
      "Unavailable",
      `cannot reach Redis at ${owner.url}: ${(error as Error)?.message ?? error}`,
      owner.url,
      { cause: error },
    );
  }
  everReady = true;
  return client;
}
