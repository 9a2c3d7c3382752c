/**
 * `IoraService`: the service host. It owns the shared components (logger,
 * state store, timers, HTTP server), the exported-API registry and the
 * plugin host, and shuts all of them down gracefully.
 *
 * @module
 */
import { ConfigLoader } from "../core/config.ts";
import { EventQueue } from "../core/event_queue.ts";
import { ExpiringCache } from "../core/expiring_cache.ts";
import { ConsoleSink, FileSink, Logger } from "../core/logger.ts";
import type { LogSink } from "../core/logger.ts";
import { platform } from "../core/platform/mod.ts";
import { JsonFileStore } from "../core/state_store.ts";
import type { ClusterHealth, ClusterServices } from "./cluster/cluster.ts";
import type { RedisStateStore } from "./cluster/state_store.ts";
import type { Registration } from "./cluster/registry.ts";
import { TimerService } from "../core/timer.ts";
import {
  type Gauge,
  MetricsRegistry,
  negotiateMetricsFormat,
  OPENMETRICS_CONTENT_TYPE,
  PROMETHEUS_CONTENT_TYPE,
} from "../core/metrics.ts";
import { DnsClient } from "../dns/client.ts";
import { HttpClient, type HttpClientConfig } from "../http/client.ts";
import { type RouteBuilder, type ServerTransportFactory, WebhookServer } from "../http/server.ts";
import { type ApiFunction, ApiRegistry, type SafeApiFunction } from "./api_registry.ts";
import {
  loadServiceConfig,
  parseServiceConfig,
  type ServiceConfig,
  type ServiceConfigInput,
} from "./config.ts";
import { asRangeError, IoraError } from "../core/errors.ts";
import { ThreadPool } from "../core/thread_pool.ts";
import { type ThreadPoolConfig, ThreadPoolError } from "../core/thread_pool_types.ts";
import { Tracing } from "../core/tracing.ts";
import type { TracerProvider } from "../core/tracing_api.ts";
import { PluginError } from "./errors.ts";
import { measureEventLoopLag, registerServiceMetrics } from "./_service_metrics.ts";
import { registerStatusPage } from "./_status_page.ts";
import { HEALTH_CONTENT_TYPE, type HealthReport, HealthReporter } from "./health.ts";
import type { LoadedModuleInfo, ServiceContext } from "./service_context.ts";
import { type ModuleSpec, PluginHost, type PluginHostLogLevel } from "./plugin_host.ts";

/** Options of {@linkcode IoraService.init} and {@linkcode IoraService.create}. */
export interface IoraServiceOptions {
  /**
   * Shut down gracefully on SIGINT/SIGTERM, then exit; the process stays
   * alive until then, even with no server. Default true for `init` (the
   * process-wide service), false for `create`.
   */
  handleSignals?: boolean;
  /**
   * Exit code `handleSignals` exits with once shut down; default 0. Set
   * to null to shut down without exiting.
   */
  exitCode?: number | null;
  /**
   * Adjusts the validated configuration before anything starts (the CLI's
   * `--port` and `--log-level` use it).
   *
   * @param config the configuration, to modify in place
   */
  override?(config: ServiceConfig): void;
  /** The byte transport of the HTTP server; default Iora's network transport. */
  serverTransport?: ServerTransportFactory;
  /**
   * Where the service's spans go (server requests, exported-API calls, HTTP client requests):
   * an OpenTelemetry `TracerProvider`. Default: Deno's built-in one when it runs with
   * `OTEL_DENO=true`, else no tracing.
   */
  tracerProvider?: TracerProvider;
  /**
   * How long shutdown waits for plugins to unload before it goes on
   * without them, in milliseconds; default 10000.
   */
  unloadTimeoutMs?: number;
}

/**
 * The service host (the seed's `iora::IoraService`). `init` makes the
 * process-wide instance; `create` makes an independent one (tests, several
 * services in one process).
 *
 * @example
 * ```ts ignore
 * import { IoraService } from "./iora_service.ts";
 * const service = await IoraService.init({ server: { port: 0 }, state: { file: "/tmp/s.json" } });
 * await service.loadSingleModule("plugins/kvstore.ts");
 * const set = service.getExportedApiSafe<(k: string, v: string) => void>("kvstore.set");
 * set.call("a", "1");
 * await IoraService.shutdown();
 * ```
 */
export class IoraService implements ServiceContext, AsyncDisposable {
  static #instance: IoraService | undefined;

  /** The validated configuration. */
  readonly config: ServiceConfig;
  /** The loader the configuration file was read with (empty when configured in code). */
  readonly configLoader: ConfigLoader;
  /** The HTTP server (started from `config.server` unless `server.enabled = false`). */
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
  /** A shared TTL + LRU cache (sized by `config.cache`). Prefix keys with your plugin's name. */
  readonly cache: ExpiringCache<string, unknown>;
  /** The exported-API registry. */
  readonly apiRegistry: ApiRegistry;
  /**
   * The service's metrics: every component's stats, read at scrape time, served by
   * `GET /metrics` (Prometheus text 0.0.4) unless `server.metrics = false`. Plugins add theirs.
   */
  readonly metrics: MetricsRegistry;
  /** The DNS client, configured by `[dns]` (the HTTP client resolves names with it). */
  readonly dnsClient: DnsClient;
  /** The shared HTTP client, configured by `[http.client]`; closed at shutdown. */
  readonly httpClient: HttpClient;
  /** The plugin host. */
  readonly pluginHost: PluginHost;
  /** When the service started, in `platform().now()` milliseconds. */
  readonly startedAt: number;
  /** The service's tracing, or null when no `TracerProvider` is configured or built in. */
  readonly tracing: Tracing | null;

  #stopping: Promise<void> | undefined;
  #unloadTimeoutMs = 10_000;
  #signalOffs: (() => void)[] = [];
  // The owner of the route being added for a sandbox (its routes arrive outside its onLoad).
  #routeOwner: string | undefined;
  // Bytes of state each sandbox holds, counted once from the store and kept up to date.
  #sandboxStateBytes = new Map<string, number>();
  // This instance's entry in the cluster registry (`[cluster] registry = true`).
  #registration: Registration | undefined;
  #instanceId: string | undefined;
  // Set when Redis was unreachable at start and `[cluster] fallback = "local"` let it run alone.
  #clusterFallback: ClusterHealth | undefined;
  #health: HealthReporter;
  #eventLoopLag: Gauge | undefined;
  /** The pools of {@linkcode IoraService.makeThreadPool}, by name, for the metrics. */
  readonly #threadPools = new Map<string, ThreadPool>();

  private constructor(
    config: ServiceConfig,
    configLoader: ConfigLoader,
    logger: Logger,
    stateStore: JsonFileStore | RedisStateStore,
    cluster: ClusterServices | undefined,
    transport: ServerTransportFactory | undefined,
    tracing: Tracing | null,
  ) {
    this.config = config;
    this.tracing = tracing;
    this.configLoader = configLoader;
    this.logger = logger;
    this.stateStore = stateStore;
    this.cluster = cluster;
    this.startedAt = platform().now();
    this.timerService = new TimerService({
      name: "iora",
      errorHandler: (error, message) => logger.error(`timer handler failed: ${message}`, { error }),
    });
    this.timerService.start();
    this.cache = new ExpiringCache<string, unknown>({
      ttlMs: config.cache.ttlMs,
      maxSize: config.cache.maxSize,
    });
    this.eventQueue = new EventQueue({
      onHandlerError: (error, event) =>
        logger.error("event handler failed", { topic: event.topic, error }),
    });
    this.metrics = new MetricsRegistry();
    this.#health = new HealthReporter(this, () => this.cluster?.health() ?? this.#clusterFallback);
    this.webhookServer = new WebhookServer({
      logger: logger.child({ component: "http" }),
      metrics: config.server.metrics ? this.metrics : undefined,
      tracing: tracing ?? undefined,
      transport,
      // Routes added while a plugin loads are that plugin's, and go when it unloads.
      routeOwner: () => this.#routeOwner ?? this.pluginHost.currentlyLoading(),
    });
    this.apiRegistry = new ApiRegistry();
    this.apiRegistry.tracing = tracing;
    this.dnsClient = new DnsClient(config.dns);
    this.httpClient = this.makeHttpClient();
    const pluginLog = logger.child({ component: "plugins" });
    this.pluginHost = new PluginHost({
      service: this,
      registry: this.apiRegistry,
      directory: config.modules.directory,
      log: (level: PluginHostLogLevel, message: string) => pluginLog[level](message),
      sandboxServices: {
        state: (owner, op, args, limits) =>
          Promise.resolve(this.#sandboxState(owner, op, args, limits.maxStateBytes)),
        addRoute: (owner, path, handler) => this.#addSandboxRoute(owner, path, handler),
        removeRoutes: (owner) => {
          this.webhookServer.removeRoutesOf(owner);
          this.#sandboxStateBytes.delete(owner);
        },
      },
    });
  }

  /**
   * Creates and starts an independent service: logger, state store,
   * timers, then the configured modules (when `modules.autoLoad`).
   *
   * @param config a configuration object, or the path of a TOML file
   * @param options signal handling
   * @returns the running service
   */
  static async create(
    config: ServiceConfigInput | string = {},
    options: IoraServiceOptions = {},
  ): Promise<IoraService> {
    const configLoader = new ConfigLoader();
    let full: ServiceConfig;
    if (typeof config === "string") full = await loadServiceConfig(config, configLoader);
    else {
      configLoader.loadString("", "<code>");
      full = parseServiceConfig(config);
    }
    if (options.override) {
      options.override(full);
      full = parseServiceConfig(full);
    }
    const sinks: LogSink[] = full.log.file
      ? [
        new FileSink({
          path: full.log.file,
          format: full.log.format ?? "json",
          rotation: full.log.rotation,
        }),
      ]
      : [new ConsoleSink({ format: full.log.format ?? "text" })];
    const logger = new Logger({ level: full.log.level, sinks });
    let cluster: ClusterServices | undefined;
    let clusterFallback: ClusterHealth | undefined;
    let instanceId: string | undefined;
    let stateStore: JsonFileStore | RedisStateStore;
    try {
      const c = full.cluster;
      if (c.url !== undefined) {
        instanceId = crypto.randomUUID();
        // Loaded only when configured: a service that runs alone never loads the Redis client.
        const { ClusterServices } = await import("./cluster/cluster.ts");
        const { ClusterError, redactUrl } = await import("./cluster/errors.ts");
        cluster = await ClusterServices.start({
          url: c.url,
          prefix: c.prefix,
          state: c.state
            ? { onWriteError: (error) => logger.error("cluster state write failed", { error }) }
            : undefined,
          // One id names this instance in the registry and as the work queue's consumer.
          events: c.events
            ? { group: c.group ?? "iora", claimIdleMs: c.claimIdleMs, consumer: instanceId }
            : undefined,
          locks: c.locks ? {} : undefined,
          registry: c.registry ? { ttlMs: c.ttlMs } : undefined,
        }).catch((error) => {
          if (
            c.fallback !== "local" || !(error instanceof ClusterError) ||
            error.code !== "Unavailable"
          ) throw error;
          // [cluster] fallback = "local": alone on the embedded backends until restarted.
          clusterFallback = {
            status: "down",
            redis: "closed",
            url: redactUrl(c.url!),
            fallback: "local",
          };
          logger.error("Redis unreachable at start: running alone on the embedded backends", {
            cluster: clusterFallback.url,
            fallback: "local",
            error,
          });
          return undefined;
        });
      }
      stateStore = cluster?.state ?? await JsonFileStore.open(full.state.file, {
        onFlushError: (error) => logger.error("state store flush failed", { error }),
      });
    } catch (error) {
      logger.fatal("cannot open the state store or the cluster", {
        file: full.state.file,
        cluster: full.cluster.url,
        error,
      });
      await cluster?.stop().catch(() => {});
      await logger.close();
      throw error;
    }
    const service = new IoraService(
      full,
      configLoader,
      logger,
      stateStore,
      cluster,
      options.serverTransport,
      options.tracerProvider
        ? new Tracing({ tracerProvider: options.tracerProvider })
        : Tracing.fromRuntime(),
    );
    service.#unloadTimeoutMs = options.unloadTimeoutMs ?? 10_000;
    service.#instanceId = instanceId;
    service.#clusterFallback = clusterFallback;
    if (options.handleSignals) service.#handleSignals(options.exitCode ?? 0);
    try {
      await service.#start();
    } catch (error) {
      await service.shutdown();
      throw error;
    }
    return service;
  }

  /**
   * Creates the process-wide service. Fails when one is already running.
   *
   * @param config a configuration object, or the path of a TOML file
   * @param options signal handling (on by default here)
   * @returns the running service
   */
  static async init(
    config: ServiceConfigInput | string = {},
    options: IoraServiceOptions = {},
  ): Promise<IoraService> {
    if (IoraService.#instance) {
      throw new IoraError("AlreadyInitialized", "IoraService.init was already called");
    }
    const service = await IoraService.create(config, { handleSignals: true, ...options });
    IoraService.#instance = service;
    return service;
  }

  /**
   * The process-wide service, or undefined before `init`.
   *
   * @returns the service or undefined
   */
  static instance(): IoraService | undefined {
    return IoraService.#instance;
  }

  /**
   * The process-wide service; throws before `init`.
   *
   * @returns the service
   */
  static instanceRef(): IoraService {
    const service = IoraService.#instance;
    if (!service) throw new IoraError("NotInitialized", "IoraService.init has not been called");
    return service;
  }

  /** Shuts the process-wide service down (no-op when there is none). */
  static async shutdown(): Promise<void> {
    const service = IoraService.#instance;
    if (service) await service.shutdown();
  }

  /**
   * Exports `fn` as `name`. Inside a plugin's `onLoad` the export belongs
   * to that plugin (and goes away when it unloads); elsewhere it belongs
   * to the host. Prefer the plugin's own `this.exportApi`.
   *
   * @param name the API name
   * @param fn the function
   */
  exportApi(name: string, fn: ApiFunction): void {
    this.apiRegistry.exportApi(this.pluginHost.currentlyLoading() ?? "host", name, fn);
  }

  /**
   * The exported function itself (fastest; stale after its plugin unloads).
   *
   * @param name the API name
   * @returns the function
   */
  getExportedApi<F extends ApiFunction>(name: string): F {
    return this.apiRegistry.getExportedApi<F>(name);
  }

  /**
   * A handle that throws `ApiUnavailableError` after an unload and follows reloads.
   *
   * @param name the API name
   * @returns the safe handle
   */
  getExportedApiSafe<F extends ApiFunction>(name: string): SafeApiFunction<F> {
    return this.apiRegistry.getExportedApiSafe<F>(name);
  }

  /**
   * Looks `name` up and calls it.
   *
   * @param name the API name
   * @param args its arguments
   * @returns its result
   */
  callExportedApi<R = unknown>(name: string, ...args: unknown[]): R {
    return this.apiRegistry.callExportedApi<R>(name, ...args);
  }

  /**
   * A new HTTP client with the service's `[http.client]` settings, `overrides` on top (the
   * seed's `makeHttpClient`). The caller owns it: close it when done. Most code should share
   * {@linkcode IoraService.httpClient} instead.
   *
   * @param overrides settings that differ from the service's
   * @returns the client
   */
  makeHttpClient(overrides: HttpClientConfig = {}): HttpClient {
    const { tls, retryLimit, ...client } = this.config.http.client;
    return new HttpClient({
      ...client,
      tlsConfig: tls,
      retry: retryLimit === undefined ? undefined : { limit: retryLimit },
      dns: this.dnsClient,
      tracing: this.tracing ?? undefined,
      ...overrides,
    });
  }

  /**
   * A new {@linkcode ThreadPool} whose counters the service's metrics report, as
   * `iora_thread_pool_*{pool="<name>"}`, until it is closed. The caller owns it: close it when
   * done (an open pool with workers keeps the process alive). Names are unique among the
   * service's open pools.
   *
   * @example
   * ```ts ignore
   * await using pool = service.makeThreadPool({ name: "resize", maxThreads: 2 });
   * const small = await pool.enqueue(new URL("./images.ts", import.meta.url), "resize", bytes);
   * ```
   *
   * @param config the pool's settings; `name` labels its series
   * @returns the pool
   */
  makeThreadPool(config: ThreadPoolConfig = {}): ThreadPool {
    const name = config.name ?? "iora-pool";
    const open = this.#threadPools.get(name);
    if (open !== undefined && !open.closing) {
      throw asRangeError(
        new ThreadPoolError("InvalidArgument", `the service has an open thread pool "${name}"`),
      );
    }
    const pool = new ThreadPool(config);
    this.#threadPools.set(name, pool);
    return pool;
  }

  /**
   * Routes on the HTTP server: `service.on("/api/x").handleJson(fn)`.
   *
   * @param path the route path (`{name}` parameters, `*` wildcard)
   * @returns the route builder
   */
  on(path: string): RouteBuilder {
    return this.webhookServer.on(path);
  }

  /**
   * Loads one module (see {@linkcode PluginHost.loadSingleModule}).
   *
   * @param spec its location or full spec
   * @returns the module name
   */
  async loadSingleModule(spec: string | ModuleSpec): Promise<string> {
    try {
      return await this.pluginHost.loadSingleModule(spec);
    } finally {
      await this.#announceApis();
    }
  }

  /**
   * Unloads one module.
   *
   * @param name the module name
   */
  async unloadSingleModule(name: string): Promise<void> {
    try {
      await this.pluginHost.unloadSingleModule(name);
    } finally {
      await this.#announceApis();
    }
  }

  /**
   * Reloads one module with fresh code.
   *
   * @param name the module name
   */
  async reloadModule(name: string): Promise<void> {
    try {
      await this.pluginHost.reloadModule(name);
    } finally {
      await this.#announceApis();
    }
  }

  /**
   * This instance's entry in the cluster registry (`[cluster] registry = true`): registered
   * once the server listens and the configured modules are loaded, its exported APIs kept up
   * to date, removed first thing at shutdown. Undefined when not registered.
   */
  get clusterRegistration(): Registration | undefined {
    return this.#registration;
  }

  /**
   * The loaded modules.
   *
   * @returns one entry per module
   */
  listModules(): LoadedModuleInfo[] {
    return this.pluginHost.listModules();
  }

  /**
   * The service's health, as `GET /health` reports it (`application/health+json`): `fail`
   * (answered with 503) as soon as a shutdown begins.
   *
   * @returns the overall status and a check per component
   */
  health(): HealthReport {
    return this.#health.report(this.#stopping !== undefined);
  }

  /**
   * Graceful shutdown: unloads plugins in reverse dependency order, stops
   * the server and timers, flushes the state store and the logs. Safe to
   * call more than once.
   */
  shutdown(): Promise<void> {
    this.#stopping ??= this.#shutdown();
    return this.#stopping;
  }

  /** Same as {@linkcode IoraService.shutdown}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }

  async #start(): Promise<void> {
    const { server } = this.config;
    this.#eventLoopLag = registerServiceMetrics(this.metrics, this, () => {
      // A closed pool's series go with it.
      for (const [name, pool] of this.#threadPools) {
        if (pool.closing) this.#threadPools.delete(name);
      }
      return this.#threadPools;
    });
    if (server.enabled) {
      this.webhookServer.onGet("/health", (_req, res) => {
        const report = this.health();
        res.status = report.status === "fail" ? 503 : 200;
        res.setContent(JSON.stringify(report), HEALTH_CONTENT_TYPE);
        res.headers.set("cache-control", "no-store");
      });
      if (server.metrics) {
        this.webhookServer.onGet("/metrics", async (req, res) => {
          this.#eventLoopLag?.set(await measureEventLoopLag());
          const format = negotiateMetricsFormat(req.headers.get("accept"));
          res.setContent(
            this.metrics.render(format),
            format === "openmetrics" ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE,
          );
        });
      }
      if (server.statusPage !== "off") registerStatusPage(this, server.statusPage === "loopback");
      if (server.tls) this.webhookServer.enableTls({ ...server.tls });
      await this.webhookServer.start({ hostname: server.host, port: server.port });
      const scheme = server.tls ? "https" : "http";
      this.logger.info(`listening on ${scheme}://${server.host}:${this.webhookServer.port}`);
    }
    if (this.config.modules.autoLoad && this.config.modules.modules.length > 0) {
      const { loaded, failed } = await this.pluginHost.loadModules(this.config.modules.modules);
      this.logger.info("modules loaded", { loaded, failed: failed.map((f) => f.spec.url) });
    }
    await this.#register();
  }

  // Registers this instance in the cluster registry, when configured.
  async #register(): Promise<void> {
    const registry = this.cluster?.registry;
    if (!registry) return;
    const { cluster, server } = this.config;
    const wildcard = server.host === "0.0.0.0" || server.host === "::" || server.host === "";
    this.#registration = await registry.register({
      id: this.#instanceId,
      name: cluster.name ?? "iora",
      address: cluster.address ?? (wildcard ? "127.0.0.1" : server.host),
      port: server.enabled ? this.webhookServer.port : 0,
      version: cluster.version,
      apis: this.apiRegistry.listApis().map((api) => api.name),
    });
    this.logger.info("registered in the cluster", {
      id: this.#registration.id,
      name: this.#registration.instance.name,
    });
  }

  // Tells the registry which APIs this instance exports now (after a module came or went).
  async #announceApis(): Promise<void> {
    if (!this.#registration || this.#stopping) return;
    await this.#registration.update({ apis: this.apiRegistry.listApis().map((api) => api.name) })
      .catch((error) => this.logger.warn("updating the cluster registration failed", { error }));
  }

  async #shutdown(): Promise<void> {
    for (const off of this.#signalOffs) off();
    this.#signalOffs = [];
    this.logger.info("shutting down");
    // Peers stop choosing this instance before it stops answering.
    await this.#registration?.deregister().catch((error) =>
      this.logger.warn("leaving the cluster registry failed", { error })
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), this.#unloadTimeoutMs);
    });
    // unloadAll shares the budget among the plugins; the race is for a hook that holds the
    // host's queue (a load in progress) and never lets unloadAll begin.
    const unloaded = await Promise.race([
      this.pluginHost.unloadAll(this.#unloadTimeoutMs).catch((error) =>
        this.logger.error("unloading plugins failed", { error })
      ),
      deadline,
    ]);
    clearTimeout(timer);
    if (unloaded === "timeout") {
      this.logger.error(`plugins did not unload within ${this.#unloadTimeoutMs} ms; going on`, {
        still: this.listModules().map((m) => m.name),
      });
    }
    await this.pluginHost.terminateSandboxes();
    await this.webhookServer.stop({ timeoutMs: 5000 }).catch((error) =>
      this.logger.error("stopping the HTTP server failed", { error })
    );
    await this.httpClient.close().catch((error) =>
      this.logger.error("closing the HTTP client failed", { error })
    );
    this.dnsClient.close();
    await this.eventQueue.close().catch((error) =>
      this.logger.error("closing the event queue failed", { error })
    );
    this.timerService.stop();
    this.cache.close();
    this.configLoader.close();
    await this.stateStore.close().catch((error) =>
      this.logger.error("closing the state store failed", { error })
    );
    await this.cluster?.stop().catch((error) =>
      this.logger.error("stopping the cluster services failed", { error })
    );
    if (IoraService.#instance === this) IoraService.#instance = undefined;
    this.logger.info("stopped");
    await this.logger.close();
  }

  #handleSignals(exitCode: number | null): void {
    // Signal listeners do not hold the event loop: without a server or a
    // pending timer the process would end at once.
    const keepAlive = setInterval(() => {}, 2 ** 30);
    this.#signalOffs.push(() => clearInterval(keepAlive));
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      this.#signalOffs.push(
        platform().onSignal(signal, () => {
          this.logger.info(`received ${signal}`);
          this.shutdown().finally(() => {
            if (exitCode !== null) platform().exit(exitCode);
          });
        }),
      );
    }
  }

  #addSandboxRoute(
    owner: string,
    path: string,
    handler: (body: unknown) => Promise<unknown>,
  ): void {
    this.#routeOwner = owner;
    try {
      this.webhookServer.route("POST", path, async (req, res) => {
        const body = req.body.length > 0 ? req.json() : null;
        const result = await handler(body);
        if (result === undefined) res.status = 204;
        else res.json(result);
      });
    } finally {
      this.#routeOwner = undefined;
    }
  }

  #sandboxState(
    owner: string,
    op: "get" | "set" | "remove" | "keys",
    args: unknown[],
    maxBytes: number,
  ): unknown {
    // Each sandbox sees only its own keys: they are stored under "<module>:".
    const prefix = `${owner}:`;
    const key = (value: unknown) => {
      if (typeof value !== "string") throw new TypeError("state keys are strings");
      return prefix + value;
    };
    const sizeOf = (k: string) => {
      const value = this.stateStore.get(k);
      return value === undefined ? 0 : k.length - prefix.length + value.length;
    };
    let used = this.#sandboxStateBytes.get(owner);
    if (used === undefined) {
      used = 0;
      for (const k of this.stateStore.findKeysWithPrefix(prefix)) used += sizeOf(k);
    }
    switch (op) {
      case "get":
        return this.stateStore.get(key(args[0]));
      case "set": {
        const k = key(args[0]);
        if (typeof args[1] !== "string") throw new TypeError("state values are strings");
        const next = used - sizeOf(k) + k.length - prefix.length + args[1].length;
        if (next > maxBytes) {
          throw new PluginError(
            "QuotaExceeded",
            owner,
            `sandbox "${owner}" may keep at most ${maxBytes} bytes of state (limits.maxStateBytes)`,
          );
        }
        this.stateStore.set(k, args[1]);
        this.#sandboxStateBytes.set(owner, next);
        return undefined;
      }
      case "remove": {
        const k = key(args[0]);
        this.#sandboxStateBytes.set(owner, used - sizeOf(k));
        return this.stateStore.remove(k);
      }
      case "keys":
        return this.stateStore.findKeysWithPrefix(prefix).map((k) => k.slice(prefix.length));
    }
  }
}
