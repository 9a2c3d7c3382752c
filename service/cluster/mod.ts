/**
 * Cluster backends on Redis (through npm `@redis/client`), so that several
 * Iora instances behave as one service: {@linkcode RedisConnection} (one
 * client with typed failures, backoff and a bounded queue) and
 * {@linkcode RedisStateStore} (the `StateStore` API with a local replica),
 * {@linkcode ClusterEventBus} (broadcast and work-queue events),
 * {@linkcode ClusterLocks} (lease locks with fencing tokens, leader election),
 * {@linkcode ClusterRegistry} (live instances with a heartbeat TTL) and
 * {@linkcode RegistryTargets} (round-robin targets with circuit breakers), and
 * {@linkcode ClusterCache} (an in-process cache in front of Redis, with invalidation);
 * {@linkcode ClusterServices} starts the configured ones on one shared connection.
 *
 * @example
 * ```ts ignore
 * import { RedisStateStore } from "./mod.ts";
 * await using state = await RedisStateStore.open({ url: "redis://127.0.0.1:6379", namespace: "app" });
 * state.set("greeting", "hello");
 * await state.flush();
 * ```
 *
 * @module
 */
export { ClusterError, type ClusterErrorCode, redactUrl } from "./errors.ts";
export {
  RedisConnection,
  type RedisConnectionChoice,
  type RedisConnectionOptions,
  type RedisConnectionStats,
  type RedisMessageListener,
  type RedisReply,
  type RedisReplyCallback,
  type RedisScript,
  type RedisSocketRole,
  type RedisStatus,
  type RedisStatusListener,
  type RedisTrackingListener,
} from "./connection.ts";
export {
  type RedisStateSetOptions,
  RedisStateStore,
  type RedisStateStoreOptions,
  type RedisStateStoreStats,
} from "./state_store.ts";
export {
  ClusterEventBus,
  type ClusterEventBusOptions,
  type ClusterEventBusStats,
  type WorkHandler,
  type WorkItemInfo,
} from "./event_bus.ts";
export {
  type AcquireOptions,
  ClusterLocks,
  type ClusterLocksOptions,
  type ClusterLocksStats,
  type LeaderOptions,
  type Leadership,
  type Lease,
} from "./locks.ts";
export {
  ClusterRegistry,
  type ClusterRegistryOptions,
  type ClusterRegistryStats,
  type InstanceRegistration,
  type Registration,
  type RegistryChange,
  type RegistryRequestOptions,
  RegistryTargets,
  type RegistryTargetsOptions,
  type ServiceInstance,
} from "./registry.ts";
export { ClusterCache, type ClusterCacheOptions, type ClusterCacheStats } from "./cache.ts";
export {
  type ClusterBackendOptions,
  type ClusterHealth,
  ClusterServices,
  type ClusterServicesOptions,
} from "./cluster.ts";
