/**
 * {@linkcode ClusterRegistry}: service instances register themselves with a
 * heartbeat TTL, so every instance can list its live peers.
 *
 * An instance's entry is a Redis key with a time to live (`ttlMs`), renewed
 * by a heartbeat every `heartbeatMs`; the entry of an instance that died
 * (or lost Redis) disappears within `ttlMs` of its last heartbeat. A sorted
 * set per service name indexes the entries by expiry, so listing needs no
 * `SCAN`. Changes (register, update, deregister) are announced on a channel;
 * {@linkcode ClusterRegistry.watch} adds a periodic check that catches the
 * silent ones (expiries). {@linkcode RegistryTargets} turns the live list
 * into round-robin targets with a circuit breaker per target, for HTTP or
 * JSON-RPC clients; DNS SRV discovery remains the other source of targets.
 *
 * @example
 * ```ts ignore
 * import { ClusterRegistry } from "./registry.ts";
 * await using registry = await ClusterRegistry.start({ url: "redis://127.0.0.1:6379", ttlMs: 15_000 });
 * await registry.register({ name: "billing", address: "10.0.0.5", port: 8080, version: "1.2.0" });
 * for (const peer of await registry.instances("billing")) console.log(peer.id, peer.address, peer.port);
 * ```
 *
 * @module
 */
import { parseJsonAs } from "./_json.ts";
import { CircuitBreaker, type CircuitBreakerConfig } from "../../network/circuit_breaker.ts";
import { ClusterError } from "./errors.ts";
import type { RedisConnection, RedisConnectionChoice } from "./connection.ts";
import { checkName, checkPositive } from "./_option_checks.ts";
import { ownedConnection, randomId } from "./_shared.ts";

/** What an instance says about itself when it registers. */
export interface InstanceRegistration {
  /** The service name (instances of one service share it). */
  name: string;
  /** Where it can be reached (host name or IP address). */
  address: string;
  /** Its port. */
  port: number;
  /** A unique id; default: a random one. */
  id?: string;
  /** Its version. */
  version?: string;
  /** The APIs it exports (such as `kvstore.get`). */
  apis?: string[];
  /** Its health as it sees it; default `"up"`. */
  health?: string;
  /** Anything else, as strings. */
  meta?: Record<string, string>;
}

/** A registered instance, as listed. */
export interface ServiceInstance {
  /** Its unique id. */
  id: string;
  /** The service name. */
  name: string;
  /** Where it can be reached. */
  address: string;
  /** Its port. */
  port: number;
  /** Its version, or `""`. */
  version: string;
  /** The APIs it exports. */
  apis: string[];
  /** Its health as it last reported it. */
  health: string;
  /** Anything else it registered. */
  meta: Record<string, string>;
  /** When it registered, in ms since the epoch (its own clock). */
  registeredAt: number;
}

/** Options of {@linkcode ClusterRegistry.start}. */
export interface ClusterRegistryOptions extends RedisConnectionChoice {
  /**
   * Prefix of every Redis key and channel.
   * @default {"iora:"}
   */
  prefix?: string;
  /**
   * An entry without a heartbeat for this long is gone.
   * @default {15000}
   */
  ttlMs?: number;
  /**
   * How often a registered instance renews its entry; also how often `watch` checks for
   * silent changes (expiries).
   * @default {ttlMs / 3}
   */
  heartbeatMs?: number;
}

/** The handle of one registration (see {@linkcode ClusterRegistry.register}). */
export interface Registration extends AsyncDisposable {
  /** The instance's id. */
  readonly id: string;
  /** What is registered now. */
  readonly instance: ServiceInstance;
  /** Changes the registered health, version, APIs or metadata, announcing the change. */
  update(
    changes: Partial<Pick<InstanceRegistration, "health" | "version" | "apis" | "meta">>,
  ): Promise<void>;
  /** Stops the heartbeat and removes the entry at once. */
  deregister(): Promise<void>;
}

/** What {@linkcode ClusterRegistry.watch} reports. */
export interface RegistryChange {
  /** The live instances now. */
  instances: ServiceInstance[];
  /** Ids that appeared since the last report. */
  added: string[];
  /** Ids that left (deregistered or expired). */
  removed: string[];
  /** Ids whose registration changed. */
  updated: string[];
}

/** Counters of a {@linkcode ClusterRegistry}. */
export interface ClusterRegistryStats {
  /** Heartbeats sent. */
  heartbeats: number;
  /** Heartbeats that failed (Redis lost); the entry expires if they keep failing. */
  heartbeatErrors: number;
  /** Listings made. */
  lookups: number;
  /** Registrations held now. */
  registrations: number;
  /** Watches running now. */
  watches: number;
}

const HEARTBEAT = {
  source: `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('ZADD', KEYS[2], string.format('%d', now + tonumber(ARGV[3])), ARGV[1])
if ARGV[4] ~= '' then redis.call('PUBLISH', ARGV[4], ARGV[1]) end
return 1`,
};

const LIST = {
  source: `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%d', now))
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
if #ids == 0 then return {} end
local keys = {}
for i, id in ipairs(ids) do keys[i] = ARGV[1] .. id end
return redis.call('MGET', unpack(keys))`,
};

const REMOVE = {
  source: `
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('PUBLISH', ARGV[2], ARGV[1])
return 1`,
};

function parseInstance(text: unknown): ServiceInstance | undefined {
  if (typeof text !== "string") return undefined;
  try {
    const v = parseJsonAs<Partial<ServiceInstance> | null>(text);
    if (typeof v?.id === "string" && typeof v.name === "string" && typeof v.port === "number") {
      return v as ServiceInstance;
    }
  } catch { /* not ours: skipped */ }
  return undefined;
}

function checkRegistration(info: InstanceRegistration): void {
  if (!info || typeof info !== "object") {
    throw new ClusterError(
      "InvalidArgument",
      "register needs the instance's name, address and port",
    );
  }
  checkName("name", info.name);
  if (typeof info.address !== "string" || info.address === "") {
    throw new ClusterError("InvalidArgument", "address must be a non-empty string");
  }
  if (!Number.isInteger(info.port) || info.port < 0 || info.port > 65535) {
    throw new ClusterError("InvalidArgument", `port must be an integer 0-65535, got ${info.port}`);
  }
  if (info.id !== undefined) checkName("id", info.id);
  if (
    info.apis !== undefined &&
    !(Array.isArray(info.apis) && info.apis.every((a) => typeof a === "string"))
  ) {
    throw new ClusterError("InvalidArgument", "apis must be an array of strings");
  }
}

/**
 * The instance registry (see the module documentation).
 *
 * @example
 * ```ts ignore
 * import { ClusterRegistry } from "./registry.ts";
 * const registry = await ClusterRegistry.start({ url: "redis://127.0.0.1:6379" });
 * const me = await registry.register({ name: "api", address: "127.0.0.1", port: 8080 });
 * const stop = await registry.watch("api", (change) => console.log(change.instances.length));
 * await me.update({ health: "degraded" });
 * await stop();
 * await registry.stop(); // deregisters `me`
 * ```
 */
export class ClusterRegistry implements AsyncDisposable {
  /** An entry without a heartbeat for this long is gone. */
  readonly ttlMs: number;
  /** The heartbeat (and watch check) interval. */
  readonly heartbeatMs: number;
  readonly #redis: RedisConnection;
  readonly #owns: boolean;
  readonly #prefix: string;
  #registrations = new Set<Registration>();
  #watches = new Set<() => Promise<void>>();
  #stopped = false;
  #stats = { heartbeats: 0, heartbeatErrors: 0, lookups: 0 };

  private constructor(redis: RedisConnection, owns: boolean, options: ClusterRegistryOptions) {
    this.#redis = redis;
    this.#owns = owns;
    this.#prefix = options.prefix ?? "iora:";
    this.ttlMs = Math.ceil(checkPositive("ttlMs", options.ttlMs, 15_000));
    this.heartbeatMs = checkPositive("heartbeatMs", options.heartbeatMs, this.ttlMs / 3);
    if (this.heartbeatMs >= this.ttlMs) {
      throw new ClusterError("InvalidArgument", "heartbeatMs must be shorter than ttlMs");
    }
  }

  /**
   * Connects (unless given a connection). Fails with {@linkcode ClusterError} `Unavailable`
   * naming the URL when Redis is down.
   *
   * @example
   * ```ts ignore
   * import { ClusterRegistry } from "./registry.ts";
   * const registry = await ClusterRegistry.start({ url: "redis://127.0.0.1:6379" });
   * await registry.stop();
   * ```
   */
  static async start(options: ClusterRegistryOptions): Promise<ClusterRegistry> {
    if (!options || typeof options !== "object") {
      throw new ClusterError("InvalidArgument", "ClusterRegistry.start needs options");
    }
    const { connection, owned } = await ownedConnection(options, "iora-registry");
    try {
      return new ClusterRegistry(connection, owned, options);
    } catch (error) {
      if (owned) await connection.close();
      throw error;
    }
  }

  #index(name: string): string {
    return `${this.#prefix}registry:${checkName("name", name)}`;
  }

  #channel(name: string): string {
    return `${this.#index(name)}:changes`;
  }

  #checkRunning(): void {
    if (this.#stopped) throw new ClusterError("Closed", "the cluster registry is stopped");
  }

  /**
   * Registers an instance and keeps its entry alive with a heartbeat until `deregister()`
   * or `stop()`. A heartbeat that fails (Redis lost) is retried at the next beat; the entry
   * expires if none gets through for `ttlMs`, and comes back with the next that does.
   *
   * @throws {ClusterError} `InvalidArgument` for a bad registration, or the connection's failures
   */
  async register(info: InstanceRegistration): Promise<Registration> {
    this.#checkRunning();
    checkRegistration(info);
    const instance: ServiceInstance = {
      id: info.id ?? randomId(),
      name: info.name,
      address: info.address,
      port: info.port,
      version: info.version ?? "",
      apis: [...(info.apis ?? [])],
      health: info.health ?? "up",
      meta: { ...info.meta },
      registeredAt: Date.now(),
    };
    const index = this.#index(instance.name);
    const key = `${index}:${instance.id}`;
    const channel = this.#channel(instance.name);
    let current = instance;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let beating: Promise<unknown> = Promise.resolve();
    const beat = async (announce: boolean) => {
      this.#stats.heartbeats++;
      await this.#redis.script(HEARTBEAT, [key, index], [
        current.id,
        JSON.stringify(current),
        this.ttlMs,
        announce ? channel : "",
      ]);
    };
    const schedule = () => {
      if (stopped) return;
      timer = setTimeout(() => {
        beating = beat(false).catch(() => this.#stats.heartbeatErrors++).then(schedule);
      }, this.heartbeatMs);
    };
    await beat(true);
    schedule();
    const registration: Registration = {
      id: instance.id,
      get instance() {
        return current;
      },
      update: async (changes) => {
        if (stopped) throw new ClusterError("Closed", `instance ${instance.id} is deregistered`);
        const next = { ...current, ...changes };
        checkRegistration(next);
        current = { ...next, apis: [...next.apis], meta: { ...next.meta } };
        await beat(true);
      },
      deregister: async () => {
        if (stopped) return;
        stopped = true;
        clearTimeout(timer);
        await beating;
        this.#registrations.delete(registration);
        await this.#redis.script(REMOVE, [key, index], [instance.id, channel]);
      },
      [Symbol.asyncDispose]: () => registration.deregister(),
    };
    this.#registrations.add(registration);
    return registration;
  }

  /**
   * The live instances of `name` (entries whose heartbeat is not older than `ttlMs`), in
   * id order.
   */
  async instances(name: string): Promise<ServiceInstance[]> {
    this.#checkRunning();
    const index = this.#index(name);
    const reply = await this.#redis.script(LIST, [index], [`${index}:`]);
    this.#stats.lookups++;
    const out: ServiceInstance[] = [];
    if (Array.isArray(reply)) {
      for (const text of reply) {
        const instance = parseInstance(text);
        if (instance) out.push(instance);
      }
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /**
   * Calls `listener` with the live instances of `name` now, then whenever they change:
   * at once for announced changes (register, update, deregister), within `heartbeatMs` for
   * expiries. After a lost connection the next check reports what changed meanwhile.
   *
   * @returns a function that ends the watch
   */
  async watch(
    name: string,
    listener: (change: RegistryChange) => void,
  ): Promise<() => Promise<void>> {
    this.#checkRunning();
    if (typeof listener !== "function") {
      throw new ClusterError("InvalidArgument", "listener must be a function");
    }
    let known = new Map<string, string>();
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let checking: Promise<void> | undefined;
    let again = false;
    const check = (): Promise<void> => {
      if (checking) {
        again = true;
        return checking;
      }
      checking = (async () => {
        do {
          again = false;
          let list: ServiceInstance[];
          try {
            list = await this.instances(name);
          } catch {
            return; // Redis lost: the next check reports what changed
          }
          if (stopped) return;
          const now = new Map(list.map((i) => [i.id, JSON.stringify(i)]));
          const added = [...now.keys()].filter((id) => !known.has(id));
          const removed = [...known.keys()].filter((id) => !now.has(id));
          const updated = [...now.keys()].filter((id) =>
            known.has(id) && known.get(id) !== now.get(id)
          );
          const first = known.size === 0 && checked === 0;
          known = now;
          checked++;
          if (first || added.length || removed.length || updated.length) {
            try {
              listener({ instances: list, added, removed, updated });
            } catch { /* the listener's failure is its own */ }
          }
        } while (again && !stopped);
      })().finally(() => (checking = undefined));
      return checking;
    };
    let checked = 0;
    const unsubscribe = await this.#redis.subscribe(this.#channel(name), () => void check());
    const schedule = () => {
      if (stopped) return;
      timer = setTimeout(() => void check().then(schedule), this.heartbeatMs);
    };
    await check();
    schedule();
    const stop = async () => {
      if (stopped) return;
      stopped = true;
      clearTimeout(timer);
      await unsubscribe();
      await checking;
      this.#watches.delete(stop);
    };
    this.#watches.add(stop);
    return stop;
  }

  /** Counters since start or the last `resetStats()`. */
  getStats(): ClusterRegistryStats {
    return {
      ...this.#stats,
      registrations: this.#registrations.size,
      watches: this.#watches.size,
    };
  }

  /** Zeroes the counters. */
  resetStats(): void {
    this.#stats = { heartbeats: 0, heartbeatErrors: 0, lookups: 0 };
  }

  /** Ends every watch, deregisters every registration, closes the own connection. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    await Promise.all([...this.#watches].map((stop) => stop()));
    await Promise.all([...this.#registrations].map((r) => r.deregister().catch(() => {})));
    this.#stopped = true;
    if (this.#owns) await this.#redis.close();
  }

  /** Same as {@linkcode stop}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

/** Options of {@linkcode RegistryTargets.request}. */
export interface RegistryRequestOptions<T> {
  /** Whether a result counts as a failure (a 5xx answer, say); by default only throwing does. */
  failed?: (result: T) => boolean;
  /**
   * How many targets to try at most.
   * @default {the number of targets}
   */
  attempts?: number;
  /**
   * The scheme of the base URL given to the request.
   * @default {"http"}
   */
  scheme?: string;
}

/** Options of {@linkcode RegistryTargets}. */
export interface RegistryTargetsOptions {
  /** The per-target circuit breakers' settings. */
  breaker?: CircuitBreakerConfig;
}

/**
 * Round-robin targets from a registry watch, each with its own circuit breaker: `next()`
 * skips targets whose breaker is open. For the HTTP and JSON-RPC clients' target lists.
 *
 * @example
 * ```ts ignore
 * import { ClusterRegistry, RegistryTargets } from "./registry.ts";
 * const registry = await ClusterRegistry.start({ url: "redis://127.0.0.1:6379" });
 * const targets = await RegistryTargets.watch(registry, "billing");
 * const target = targets.next();
 * if (target) {
 *   try {
 *     await fetch(`http://${target.address}:${target.port}/health`);
 *     targets.recordSuccess(target);
 *   } catch {
 *     targets.recordFailure(target);
 *   }
 * }
 * await targets.close();
 * ```
 */
export class RegistryTargets implements AsyncDisposable {
  #instances: ServiceInstance[] = [];
  #breakers = new Map<string, CircuitBreaker>();
  #cursor = 0;
  #config: CircuitBreakerConfig;
  #stop: (() => Promise<void>) | undefined;

  /**
   * Creates an empty target list; {@linkcode RegistryTargets.watch} fills it from a registry.
   *
   * @param options the circuit breakers' settings
   */
  constructor(options: RegistryTargetsOptions = {}) {
    this.#config = options.breaker ?? {};
  }

  /**
   * Targets kept up to date from `registry`'s watch of the service `name`.
   *
   * @example
   * ```ts ignore
   * import { ClusterRegistry, RegistryTargets } from "./registry.ts";
   * const registry = await ClusterRegistry.start({ url: "redis://127.0.0.1:6379" });
   * const targets = await RegistryTargets.watch(registry, "api");
   * console.log(targets.size);
   * ```
   */
  static async watch(
    registry: ClusterRegistry,
    name: string,
    options: RegistryTargetsOptions = {},
  ): Promise<RegistryTargets> {
    const targets = new RegistryTargets(options);
    targets.#stop = await registry.watch(name, (change) => targets.setInstances(change.instances));
    return targets;
  }

  /** Replaces the target list (breakers of targets that stay are kept). */
  setInstances(instances: readonly ServiceInstance[]): void {
    this.#instances = [...instances];
    const ids = new Set(instances.map((i) => i.id));
    for (const id of this.#breakers.keys()) if (!ids.has(id)) this.#breakers.delete(id);
  }

  /** How many targets there are. */
  get size(): number {
    return this.#instances.length;
  }

  /** The targets. */
  get instances(): readonly ServiceInstance[] {
    return this.#instances;
  }

  #breaker(id: string): CircuitBreaker {
    let breaker = this.#breakers.get(id);
    if (!breaker) {
      breaker = new CircuitBreaker(this.#config, id);
      this.#breakers.set(id, breaker);
    }
    return breaker;
  }

  /** The next target in turn whose breaker lets a request through, or undefined. */
  next(): ServiceInstance | undefined {
    const n = this.#instances.length;
    for (let i = 0; i < n; i++) {
      const instance = this.#instances[(this.#cursor + i) % n];
      if (this.#breaker(instance.id).allowRequest()) {
        this.#cursor = (this.#cursor + i + 1) % n;
        return instance;
      }
    }
    return undefined;
  }

  /** Reports a request to `target` that succeeded. */
  recordSuccess(target: Pick<ServiceInstance, "id">): void {
    this.#breakers.get(target.id)?.recordSuccess();
  }

  /** Reports a request to `target` that failed. */
  recordFailure(target: Pick<ServiceInstance, "id">): void {
    this.#breakers.get(target.id)?.recordFailure();
  }

  /**
   * Runs `request` against the next target in turn, given the target's base URL
   * (`http://address:port`, `scheme` chosen in the options), and records the outcome on its
   * breaker; a target that fails (the request throws, or `failed(result)` says so) is left for
   * the next one, up to `attempts` targets. This is how an `HttpClient` or a
   * `JsonRpcClient` takes the registry's live list: the client makes the request, the targets
   * choose where it goes.
   *
   * @example
   * ```ts ignore
   * import { HttpClient } from "../../http/client.ts";
   * import { ClusterRegistry, RegistryTargets } from "./registry.ts";
   * const registry = await ClusterRegistry.start({ url: "redis://127.0.0.1:6379" });
   * await using targets = await RegistryTargets.watch(registry, "billing");
   * const client = new HttpClient();
   * const response = await targets.request((base) => client.get(`${base}/invoices/42`), {
   *   failed: (r) => r.statusCode >= 500,
   * });
   * ```
   *
   * @param request makes the request to one target
   * @param options what counts as a failure, how many targets to try, the URL scheme
   * @returns what `request` returned for the first target that did not fail
   * @throws {ClusterError} `Unavailable` when no target is live or every breaker is open;
   *   otherwise the last target's failure
   */
  async request<T>(
    request: (baseUrl: string, target: ServiceInstance) => Promise<T>,
    options: RegistryRequestOptions<T> = {},
  ): Promise<T> {
    const attempts = options.attempts ?? Math.max(1, this.#instances.length);
    const scheme = options.scheme ?? "http";
    let last: { error: unknown } | { result: T } | undefined;
    for (let i = 0; i < attempts; i++) {
      const target = this.next();
      if (!target) break;
      const host = target.address.includes(":") ? `[${target.address}]` : target.address;
      try {
        const result = await request(`${scheme}://${host}:${target.port}`, target);
        if (options.failed?.(result)) {
          this.recordFailure(target);
          last = { result };
          continue;
        }
        this.recordSuccess(target);
        return result;
      } catch (error) {
        this.recordFailure(target);
        last = { error };
      }
    }
    if (last === undefined) {
      throw new ClusterError(
        "Unavailable",
        `no live target (${this.#instances.length} registered, the others' circuits open)`,
      );
    }
    if ("error" in last) throw last.error;
    return last.result;
  }

  /** Ends the registry watch. */
  async close(): Promise<void> {
    await this.#stop?.();
    this.#stop = undefined;
  }

  /** Same as {@linkcode close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
