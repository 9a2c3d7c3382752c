/**
 * An extra socket of a `RedisConnection` opened on first use: the subscriber
 * (by the first `subscribe`) and the one receiving key invalidations (by the
 * first `track`). Concurrent first uses share one opening; a failed opening
 * is tried again by the next use.
 *
 * @module
 */
import { closedError } from "./_redis_failure.ts";
import type { ConnectionSettings } from "./_connection_options.ts";
import { openRedisClient, type RedisClient, type RedisClientOwner } from "./_redis_client.ts";

/** A socket opened on first use, and its opening while under way. */
export class LazySocket {
  /** The socket, once open. */
  client: RedisClient | undefined;
  #connecting: Promise<RedisClient> | undefined;
  readonly #settings: ConnectionSettings;
  readonly #role: "subscriber" | "invalidations";
  readonly #owner: RedisClientOwner;
  readonly #setup: ((client: RedisClient) => void) | undefined;

  /** A socket opened as `role` at the first {@linkcode open}; `setup` runs on it once. */
  constructor(
    settings: ConnectionSettings,
    role: "subscriber" | "invalidations",
    owner: RedisClientOwner,
    setup?: (client: RedisClient) => void,
  ) {
    this.#settings = settings;
    this.#role = role;
    this.#owner = owner;
    this.#setup = setup;
  }

  /** The socket, opened at the first call; `Closed` when the connection closed meanwhile. */
  open(): Promise<RedisClient> {
    if (this.client) return Promise.resolve(this.client);
    this.#connecting ??= openRedisClient(this.#settings, this.#role, this.#owner).then(
      (client) => {
        if (this.#owner.isClosed()) {
          client.destroy();
          throw closedError(this.#owner.url);
        }
        this.#setup?.(client);
        this.client = client;
        return client;
      },
      (error) => {
        this.#connecting = undefined;
        throw error;
      },
    );
    return this.#connecting;
  }
}
