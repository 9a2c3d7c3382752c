/**
 * {@linkcode ClusterServices}: every cluster backend on one shared Redis
 * connection, opened and stopped together, with one health report: what a
 * service host wires from its configuration in a few lines.
 *
 * @example
 * ```ts ignore
 * import { ClusterServices } from "./cluster.ts";
 * const cluster = await ClusterServices.start({
 *   url: "redis://127.0.0.1:6379",
 *   state: { namespace: "orders" },
 *   events: { group: "orders-service" },
 *   registry: { ttlMs: 15_000 },
 * });
 * cluster.state?.set("greeting", "hello");
 * console.log(cluster.health()); // { status: "ok", redis: "ready", url: "redis://127.0.0.1:6379" }
 * await cluster.stop();
 * ```
 *
 * @module
 */
import { ClusterError } from "./errors.ts";
import {
  RedisConnection,
  type RedisConnectionChoice,
  type RedisConnectionOptions,
  type RedisStatus,
} from "./connection.ts";
import { RedisStateStore, type RedisStateStoreOptions } from "./state_store.ts";
import { ClusterCache, type ClusterCacheOptions } from "./cache.ts";
import { ClusterEventBus, type ClusterEventBusOptions } from "./event_bus.ts";
import { ClusterLocks, type ClusterLocksOptions } from "./locks.ts";
import { ClusterRegistry, type ClusterRegistryOptions } from "./registry.ts";

/**
 * A backend's options without how it reaches Redis and its prefix: {@linkcode ClusterServices}
 * gives every backend the shared connection and prefix.
 */
export type ClusterBackendOptions<T> = Omit<T, keyof RedisConnectionChoice | "prefix">;

/** Options of {@linkcode ClusterServices.start}: which backends, and their options. */
export interface ClusterServicesOptions {
  /** The Redis URL (`redis://[user:password@]host:port[/db]`, `rediss://` for TLS). */
  url: string;
  /** Options of the shared connection (timeouts, `maxPending`, backoff). */
  connection?: Omit<RedisConnectionOptions, "url">;
  /**
   * Prefix of every Redis key and channel (one per application sharing a Redis).
   * @default {"iora:"}
   */
  prefix?: string;
  /** The shared state store; omitted: none. */
  state?: ClusterBackendOptions<RedisStateStoreOptions>;
  /** The two-level cache; omitted: none. */
  cache?: ClusterBackendOptions<ClusterCacheOptions>;
  /** The event bus; omitted: none. */
  events?: ClusterBackendOptions<ClusterEventBusOptions>;
  /** Locks and leader election; omitted: none. */
  locks?: ClusterBackendOptions<ClusterLocksOptions>;
  /** The instance registry; omitted: none. */
  registry?: ClusterBackendOptions<ClusterRegistryOptions>;
}

/** What {@linkcode ClusterServices.health} reports. */
export interface ClusterHealth {
  /** `ok` while Redis answers, `degraded` while it is being reconnected, `down` once stopped. */
  status: "ok" | "degraded" | "down";
  /** The shared connection's status. */
  redis: RedisStatus;
  /** The Redis URL, password removed. */
  url: string;
  /**
   * Set when Redis could not be reached at start and the service runs alone on its embedded
   * backends (`[cluster] fallback = "local"`); it does not rejoin without a restart.
   */
  fallback?: "local";
}

/**
 * The cluster backends a configuration asked for, on one shared connection.
 *
 * @example
 * ```ts ignore
 * import { ClusterServices } from "./cluster.ts";
 * await using cluster = await ClusterServices.start({ url: "redis://127.0.0.1:6379", locks: {} });
 * const lease = await cluster.locks!.acquire("nightly", { ttlMs: 30_000 });
 * await lease?.release();
 * ```
 */
export class ClusterServices implements AsyncDisposable {
  /** The shared connection. */
  readonly connection: RedisConnection;
  /** The state store, when configured. */
  readonly state: RedisStateStore | undefined;
  /** The two-level cache, when configured. */
  readonly cache: ClusterCache | undefined;
  /** The event bus, when configured. */
  readonly events: ClusterEventBus | undefined;
  /** Locks and leader election, when configured. */
  readonly locks: ClusterLocks | undefined;
  /** The instance registry, when configured. */
  readonly registry: ClusterRegistry | undefined;
  #stopped = false;

  private constructor(connection: RedisConnection, parts: Partial<ClusterServices>) {
    this.connection = connection;
    this.state = parts.state;
    this.cache = parts.cache;
    this.events = parts.events;
    this.locks = parts.locks;
    this.registry = parts.registry;
  }

  /**
   * Connects and starts the configured backends. Fails with {@linkcode ClusterError}
   * `Unavailable` naming the URL when Redis cannot be reached (whatever started is stopped).
   *
   * @example
   * ```ts ignore
   * import { ClusterServices } from "./cluster.ts";
   * const cluster = await ClusterServices.start({ url: "redis://127.0.0.1:6379", state: {} });
   * await cluster.stop();
   * ```
   */
  static async start(options: ClusterServicesOptions): Promise<ClusterServices> {
    if (!options || typeof options !== "object") {
      throw new ClusterError("InvalidArgument", "ClusterServices.start needs options");
    }
    const connection = await RedisConnection.connect({
      clientName: "iora",
      ...options.connection,
      url: options.url,
    });
    const shared = { connection, prefix: options.prefix };
    const parts: {
      state?: RedisStateStore;
      cache?: ClusterCache;
      events?: ClusterEventBus;
      locks?: ClusterLocks;
      registry?: ClusterRegistry;
    } = {};
    try {
      if (options.state) parts.state = await RedisStateStore.open({ ...options.state, ...shared });
      if (options.cache) parts.cache = await ClusterCache.open({ ...options.cache, ...shared });
      if (options.events) {
        parts.events = await ClusterEventBus.start({ ...options.events, ...shared });
      }
      if (options.locks) parts.locks = await ClusterLocks.start({ ...options.locks, ...shared });
      if (options.registry) {
        parts.registry = await ClusterRegistry.start({ ...options.registry, ...shared });
      }
    } catch (error) {
      await new ClusterServices(connection, parts).stop().catch(() => {});
      throw error;
    }
    return new ClusterServices(connection, parts);
  }

  /** The health of the shared connection, for `/health`. */
  health(): ClusterHealth {
    const redis = this.connection.status;
    return {
      status: redis === "ready" ? "ok" : redis === "closed" ? "down" : "degraded",
      redis,
      url: this.connection.url,
    };
  }

  /** Every backend's counters, by name (only the configured ones). */
  getStats(): Record<string, unknown> {
    const stats: Record<string, unknown> = { connection: this.connection.getStats() };
    if (this.state) stats.state = this.state.getStats();
    if (this.cache) stats.cache = this.cache.getStats();
    if (this.events) stats.events = this.events.getStats();
    if (this.locks) stats.locks = this.locks.getStats();
    if (this.registry) stats.registry = this.registry.getStats();
    return stats;
  }

  /** Zeroes every backend's counters. */
  resetStats(): void {
    this.connection.resetStats();
    this.state?.resetStats();
    this.cache?.resetStats();
    this.events?.resetStats();
    this.locks?.resetStats();
    this.registry?.resetStats();
  }

  /**
   * Stops the backends (the registry first, so peers see this instance leave; the state
   * store last, after its pending writes) and closes the connection. Stopping twice is
   * harmless; a state store's failed flush is rethrown after everything stopped.
   */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    let failure: unknown;
    const run = async (fn: (() => Promise<void>) | undefined) => {
      try {
        await fn?.();
      } catch (error) {
        failure ??= error;
      }
    };
    await run(this.registry && (() => this.registry!.stop()));
    await run(this.locks && (() => this.locks!.stop()));
    await run(this.events && (() => this.events!.stop()));
    await run(this.cache && (() => this.cache!.close()));
    await run(this.state && (() => this.state!.close()));
    await this.connection.close();
    if (failure) throw failure;
  }

  /** Same as {@linkcode stop}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}
