/**
 * What a trusted plugin may use of the service it runs in: {@linkcode ServiceContext}, which
 * `IoraService` implements and `Plugin.onLoad` receives by default. A leaf of the service layer
 * (it imports types only, and nothing that imports the plugin contract), so `plugin.ts` needs no
 * import of `iora_service.ts` and the layer has no import circle.
 *
 * @example
 * ```ts
 * import { Plugin } from "./plugin.ts";
 * import type { ServiceContext } from "./service_context.ts";
 *
 * export default class Greeter extends Plugin {
 *   override onLoad(service: ServiceContext): void {
 *     service.logger.info("greeter loaded");
 *     this.exportApi("greeter.greet", (who: string) => `hello ${who}`);
 *   }
 * }
 * ```
 *
 * @module
 */
import type { ConfigLoader } from "../core/config.ts";
import type { EventQueue } from "../core/event_queue.ts";
import type { ExpiringCache } from "../core/expiring_cache.ts";
import type { Logger } from "../core/logger.ts";
import type { MetricsRegistry } from "../core/metrics.ts";
import type { JsonFileStore } from "../core/state_store.ts";
import type { ThreadPool } from "../core/thread_pool.ts";
import type { ThreadPoolConfig } from "../core/thread_pool_types.ts";
import type { TimerService } from "../core/timer.ts";
import type { DnsClient } from "../dns/client.ts";
import type { HttpClient, HttpClientConfig } from "../http/client.ts";
import type { RouteBuilder, WebhookServer } from "../http/server.ts";
import type { ApiFunction, ApiRegistry, SafeApiFunction } from "./api_registry.ts";
import type { ClusterServices } from "./cluster/cluster.ts";
import type { HealthReport } from "./health_types.ts";
import type { RedisStateStore } from "./cluster/state_store.ts";
import type { ServiceConfig } from "./config.ts";
import type { ModuleSpec } from "./module_spec.ts";

/** What the plugin host reports of one loaded module. */
export interface LoadedModuleInfo {
  /** The module name. */
  name: string;
  /** The resolved URL it was imported from. */
  url: string;
  /** True when it runs in a sandbox worker. */
  sandboxed: boolean;
  /** When it finished loading, in milliseconds since the epoch. */
  loadedAt: number;
  /** The modules it required. */
  dependencies: string[];
  /** The APIs it exports. */
  apis: string[];
}

/**
 * The service as a trusted plugin sees it: its shared components, the exported-API registry and
 * the module operations. `IoraService` implements it; a plugin typed by it (the default of
 * `Plugin`) can run in any host that provides these.
 */
export interface ServiceContext {
  /** The validated configuration. */
  readonly config: ServiceConfig;
  /** The loader the configuration file was read with (empty when configured in code). */
  readonly configLoader: ConfigLoader;
  /** The HTTP server. */
  readonly webhookServer: WebhookServer;
  /** The service's logger. */
  readonly logger: Logger;
  /** The persistent key-value state: a JSON file, or Redis with `[cluster] state = true`. */
  readonly stateStore: JsonFileStore | RedisStateStore;
  /** The Redis-backed cluster services, when `[cluster] url` is set. */
  readonly cluster: ClusterServices | undefined;
  /** Timers for the service and its plugins. */
  readonly timerService: TimerService;
  /** Topic-based publish/subscribe between plugins (drained at shutdown). */
  readonly eventQueue: EventQueue;
  /** A shared TTL + LRU cache. Prefix keys with your plugin's name. */
  readonly cache: ExpiringCache<string, unknown>;
  /** The exported-API registry. */
  readonly apiRegistry: ApiRegistry;
  /** The service's metrics, served by `GET /metrics`. Plugins add theirs. */
  readonly metrics: MetricsRegistry;
  /** The DNS client, configured by `[dns]`. */
  readonly dnsClient: DnsClient;
  /** The shared HTTP client, configured by `[http.client]`; closed at shutdown. */
  readonly httpClient: HttpClient;
  /** When the service started, in `platform().now()` milliseconds. */
  readonly startedAt: number;

  /**
   * Exports `fn` as `name`, owned by the module loading now (or the host). Prefer the plugin's
   * own `this.exportApi`.
   *
   * @param name the API name
   * @param fn the function
   */
  exportApi(name: string, fn: ApiFunction): void;
  /**
   * The exported function itself (fastest; stale after its plugin unloads).
   *
   * @param name the API name
   * @returns the function
   */
  getExportedApi<F extends ApiFunction>(name: string): F;
  /**
   * A handle that throws `ApiUnavailableError` after an unload and follows reloads.
   *
   * @param name the API name
   * @returns the safe handle
   */
  getExportedApiSafe<F extends ApiFunction>(name: string): SafeApiFunction<F>;
  /**
   * Looks `name` up and calls it.
   *
   * @param name the API name
   * @param args its arguments
   * @returns its result
   */
  callExportedApi<R = unknown>(name: string, ...args: unknown[]): R;
  /**
   * A new HTTP client with the service's `[http.client]` settings, `overrides` on top. The
   * caller owns it: close it when done.
   *
   * @param overrides settings that differ from the service's
   * @returns the client
   */
  makeHttpClient(overrides?: HttpClientConfig): HttpClient;
  /**
   * A new thread pool whose counters the service's metrics report until it is closed. The
   * caller owns it: close it when done.
   *
   * @param config the pool's settings; `name` (unique among the open pools) labels its series
   * @returns the pool
   */
  makeThreadPool(config?: ThreadPoolConfig): ThreadPool;
  /**
   * Routes on the HTTP server: `service.on("/api/x").handleJson(fn)`.
   *
   * @param path the route path (`{name}` parameters, `*` wildcard)
   * @returns the route builder
   */
  on(path: string): RouteBuilder;
  /**
   * Loads one module.
   *
   * @param spec its location or full spec
   * @returns the module name
   */
  loadSingleModule(spec: string | ModuleSpec): Promise<string>;
  /**
   * Unloads one module.
   *
   * @param name the module name
   */
  unloadSingleModule(name: string): Promise<void>;
  /**
   * Reloads one module with fresh code.
   *
   * @param name the module name
   */
  reloadModule(name: string): Promise<void>;
  /**
   * The loaded modules.
   *
   * @returns one entry per module
   */
  listModules(): LoadedModuleInfo[];
  /**
   * The service's health, as `GET /health` reports it.
   *
   * @returns status, uptime and plugins
   */
  health(): HealthReport;
  /** Graceful shutdown of the whole service. Safe to call more than once. */
  shutdown(): Promise<void>;
}
