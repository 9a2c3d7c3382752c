// The service's components, read into its metrics registry at scrape time:
// each collector calls a component's getStats(), so nothing on a hot path
// pays for metrics it does not scrape.
import type { ResponsesByClass } from "../http/status_class.ts";
import type { Gauge, MetricSample, MetricsRegistry } from "../core/metrics.ts";
import { platform } from "../core/platform/mod.ts";
import type { ThreadPool } from "../core/thread_pool.ts";
import type { ThreadPoolStats } from "../core/thread_pool_types.ts";
import type { UnifiedStats } from "../network/transport.ts";
import type { ServiceContext } from "./service_context.ts";

type Collected = [
  name: string,
  help: string,
  type: "counter" | "gauge",
  read: () => MetricSample[],
];

const one = (value: number): MetricSample[] => [{ value }];

function byClass(responses: ResponsesByClass): MetricSample[] {
  return Object.entries(responses).map(([code, value]) => ({ labels: { code }, value }));
}

/**
 * How late a zero-delay timer fires, in seconds: the event loop's lag at this moment (the
 * `/metrics` handler measures it before each scrape, so nothing runs between scrapes).
 */
export function measureEventLoopLag(): Promise<number> {
  const start = platform().now();
  return new Promise((resolve) => setTimeout(() => resolve((platform().now() - start) / 1000), 0));
}

/**
 * Registers the service's collectors (names prefixed `iora_`, process metrics as Prometheus
 * names them).
 *
 * @param metrics the service's registry
 * @param service the service
 * @param threadPools the open pools the service made, by name
 * @returns the event-loop lag gauge, for the scrape handler to set
 */
export function registerServiceMetrics(
  metrics: MetricsRegistry,
  service: ServiceContext,
  threadPools: () => ReadonlyMap<string, ThreadPool>,
): Gauge {
  const server = () => service.webhookServer.getStats();
  const client = () => service.httpClient.getStats();
  const dns = () => service.dnsClient.getStats();
  const events = () => service.eventQueue.getStats();
  const timers = () => service.timerService.getStats();
  const apis = () => service.apiRegistry.getCallStats();
  const breakers = () => [...service.httpClient.getBreakerStats()];
  // Plugins that keep stats publish them as an API: read from the registry's entry, past the
  // accessors, so a scrape does not count as calls. No samples while the plugin is not loaded.
  const fromApi = <S>(api: string, read: (stats: S) => MetricSample[]) => (): MetricSample[] => {
    const fn = service.apiRegistry._entry(api)?.fn as (() => S) | undefined;
    return fn === undefined ? [] : read(fn());
  };
  // The transport under the HTTP server (none while it is stopped): one series per transport,
  // labelled, so other transports can join the families.
  const transport = (read: (stats: UnifiedStats) => number) => (): MetricSample[] => {
    const stats = service.webhookServer.getTransportStats();
    return stats === null ? [] : [{ labels: { transport: "http_server" }, value: read(stats) }];
  };
  const pools = (read: (stats: ThreadPoolStats) => MetricSample[]) => (): MetricSample[] => {
    const out: MetricSample[] = [];
    for (const [pool, p] of threadPools()) {
      for (const sample of read(p.getStats())) {
        out.push({ labels: { pool, ...sample.labels }, value: sample.value });
      }
    }
    return out;
  };
  type Rpc = {
    totalRequests: number;
    successfulRequests: number;
    failedRequests: number;
    timeoutRequests: number;
  };
  type Kv = {
    keys: number;
    fileBytes: number;
    writes: number;
    compactions: number;
    cacheHits: number;
    cacheMisses: number;
  };
  const collected: Collected[] = [
    [
      "process_resident_memory_bytes",
      "Resident memory.",
      "gauge",
      () => one(platform().processUsage().rssBytes),
    ],
    [
      "process_cpu_seconds_total",
      "CPU time, user and system.",
      "counter",
      () => one(platform().processUsage().cpuSeconds),
    ],
    [
      "iora_uptime_seconds",
      "Time since the service started.",
      "gauge",
      () => one((platform().now() - service.startedAt) / 1000),
    ],
    [
      "iora_http_server_requests_total",
      "Requests the HTTP server dispatched.",
      "counter",
      () => one(server().requests),
    ],
    [
      "iora_http_server_responses_total",
      "HTTP server responses by status class.",
      "counter",
      () => byClass(server().responses),
    ],
    [
      "iora_http_server_connections",
      "Open HTTP server connections.",
      "gauge",
      () => one(server().activeConnections),
    ],
    [
      "iora_http_server_received_bytes_total",
      "Bytes the HTTP server received.",
      "counter",
      () => one(server().bytesIn),
    ],
    [
      "iora_http_server_sent_bytes_total",
      "Bytes the HTTP server sent.",
      "counter",
      () => one(server().bytesOut),
    ],
    [
      "iora_http_server_buffered_bytes",
      "Request bytes held across connections.",
      "gauge",
      () => one(server().bufferedBytes),
    ],
    [
      "iora_http_server_timeouts_total",
      "Connections closed by a timeout.",
      "counter",
      () => one(server().timeouts),
    ],
    [
      "iora_transport_sessions_accepted_total",
      "Sessions a server transport accepted, by transport.",
      "counter",
      transport((t) => t.accepted),
    ],
    [
      "iora_transport_sessions_closed_total",
      "Sessions a server transport closed, for any reason, by transport.",
      "counter",
      transport((t) => t.closed),
    ],
    [
      "iora_transport_sessions",
      "Sessions a server transport has open, by transport.",
      "gauge",
      transport((t) => t.sessionsCurrent),
    ],
    [
      "iora_transport_sessions_peak",
      "Most sessions a server transport had open at once, by transport.",
      "gauge",
      transport((t) => t.sessionsPeak),
    ],
    [
      "iora_transport_errors_total",
      "Socket errors and failed handshakes of a server transport, by transport.",
      "counter",
      transport((t) => t.errors),
    ],
    [
      "iora_transport_tls_handshakes_total",
      "TLS handshakes a server transport completed, by transport.",
      "counter",
      transport((t) => t.tlsHandshakes),
    ],
    [
      "iora_transport_tls_failures_total",
      "TLS handshakes a server transport saw fail, by transport.",
      "counter",
      transport((t) => t.tlsFailures),
    ],
    [
      "iora_transport_received_bytes_total",
      "Bytes a server transport received, by transport.",
      "counter",
      transport((t) => t.bytesIn),
    ],
    [
      "iora_transport_sent_bytes_total",
      "Bytes a server transport queued for sending, by transport.",
      "counter",
      transport((t) => t.bytesOut),
    ],
    [
      "iora_transport_backpressure_closes_total",
      "Sessions a server transport closed because their write queue overflowed, by transport.",
      "counter",
      transport((t) => t.backpressureCloses),
    ],
    [
      "iora_thread_pool_tasks_submitted_total",
      "Tasks a thread pool accepted, by pool.",
      "counter",
      pools((p) => one(p.submitted)),
    ],
    [
      "iora_thread_pool_tasks_finished_total",
      "Tasks a thread pool finished, by pool and outcome.",
      "counter",
      pools((p) => [
        { labels: { outcome: "completed" }, value: p.completed },
        { labels: { outcome: "failed" }, value: p.failed },
        { labels: { outcome: "timed_out" }, value: p.timedOut },
        { labels: { outcome: "aborted" }, value: p.aborted },
      ]),
    ],
    [
      "iora_thread_pool_tasks_rejected_total",
      "Tasks a thread pool refused because its queue was full, by pool.",
      "counter",
      pools((p) => one(p.rejected)),
    ],
    [
      "iora_thread_pool_tasks_queued",
      "Tasks waiting for a worker, by pool.",
      "gauge",
      pools((p) => one(p.queued)),
    ],
    [
      "iora_thread_pool_tasks_running",
      "Tasks in workers, by pool.",
      "gauge",
      pools((p) => one(p.running)),
    ],
    [
      "iora_thread_pool_threads",
      "Workers alive, by pool.",
      "gauge",
      pools((p) => one(p.threads)),
    ],
    [
      "iora_thread_pool_threads_peak",
      "Most workers alive at once, by pool.",
      "gauge",
      pools((p) => one(p.peakThreads)),
    ],
    [
      "iora_thread_pool_workers_started_total",
      "Workers a thread pool started, by pool.",
      "counter",
      pools((p) => one(p.workersStarted)),
    ],
    [
      "iora_thread_pool_workers_crashed_total",
      "Workers of a thread pool that died unexpectedly, by pool.",
      "counter",
      pools((p) => one(p.workersCrashed)),
    ],
    [
      "iora_http_client_requests_total",
      "Requests of the shared HTTP client.",
      "counter",
      () => one(client().requests),
    ],
    [
      "iora_http_client_responses_total",
      "HTTP client responses by status class.",
      "counter",
      () => byClass(client().responses),
    ],
    [
      "iora_http_client_connections_opened_total",
      "HTTP client connections opened.",
      "counter",
      () => one(client().connectionsOpened),
    ],
    [
      "iora_http_client_retries_total",
      "HTTP client retries.",
      "counter",
      () => one(client().retries),
    ],
    [
      "iora_http_client_errors_total",
      "Failed HTTP client requests by code.",
      "counter",
      () =>
        Object.entries(client().errors).map(([code, value]) => ({
          labels: { code },
          value: value ?? 0,
        })),
    ],
    ["iora_dns_queries_total", "DNS questions asked.", "counter", () => one(dns().totalQueries)],
    [
      "iora_dns_cache_hits_total",
      "DNS answers from the cache.",
      "counter",
      () => one(dns().cacheHits),
    ],
    [
      "iora_dns_timeouts_total",
      "DNS queries that timed out.",
      "counter",
      () => one(dns().timeouts),
    ],
    [
      "iora_dns_spoofed_dropped_total",
      "DNS replies dropped as forged.",
      "counter",
      () => one(dns().spoofedDropped),
    ],
    ["iora_events_published_total", "Events published.", "counter", () => one(events().published)],
    [
      "iora_events_delivered_total",
      "Event deliveries to handlers.",
      "counter",
      () => one(events().delivered),
    ],
    [
      "iora_events_dropped_total",
      "Events dropped by the overflow policy.",
      "counter",
      () => one(events().dropped),
    ],
    ["iora_events_pending", "Events waiting for delivery.", "gauge", () => one(events().pending)],
    [
      "iora_cache_hits_total",
      "Shared cache hits.",
      "counter",
      () => one(service.cache.getStats().hits),
    ],
    [
      "iora_cache_misses_total",
      "Shared cache misses.",
      "counter",
      () => one(service.cache.getStats().misses),
    ],
    [
      "iora_state_flushes_total",
      "State store flushes.",
      "counter",
      () => one((service.stateStore.getStats() as { flushes?: number }).flushes ?? 0),
    ],
    ["iora_plugins_loaded", "Loaded plugins, by isolation.", "gauge", () => {
      const modules = service.listModules();
      const sandboxed = modules.filter((m) => m.sandboxed).length;
      return [
        { labels: { kind: "trusted" }, value: modules.length - sandboxed },
        { labels: { kind: "sandboxed" }, value: sandboxed },
      ];
    }],
    [
      "iora_exported_apis",
      "Exported APIs.",
      "gauge",
      () => one(service.apiRegistry.listApis().length),
    ],
    [
      "iora_api_calls_total",
      "Exported-API calls through the registry (every accessor), by API.",
      "counter",
      () => apis().map((a) => ({ labels: { api: a.name }, value: a.calls })),
    ],
    [
      "iora_api_errors_total",
      "Exported-API calls that threw or rejected, by API.",
      "counter",
      () => apis().map((a) => ({ labels: { api: a.name }, value: a.errors })),
    ],
    [
      "iora_timers_scheduled_total",
      "Timers scheduled.",
      "counter",
      () => one(timers().timersScheduled),
    ],
    [
      "iora_timers_executed_total",
      "Timer handlers run.",
      "counter",
      () => one(timers().timersExecuted),
    ],
    ["iora_timers_pending", "Timers waiting.", "gauge", () => one(timers().timersPending)],
    [
      "iora_timer_handler_errors_total",
      "Timer handlers that threw.",
      "counter",
      () => one(timers().exceptionsSwallowed),
    ],
    [
      "iora_circuit_breaker_open",
      "1 when the HTTP client's breaker of an origin is open, 0.5 half-open, 0 closed.",
      "gauge",
      () =>
        breakers().map(([origin, b]) => ({
          labels: { origin },
          value: b.state === "open" ? 1 : b.state === "half-open" ? 0.5 : 0,
        })),
    ],
    [
      "iora_circuit_breaker_rejected_total",
      "Requests the HTTP client's breakers refused, by origin.",
      "counter",
      () => breakers().map(([origin, b]) => ({ labels: { origin }, value: b.rejected })),
    ],
    [
      "iora_circuit_breaker_failures_total",
      "Failures the HTTP client's breakers counted, by origin.",
      "counter",
      () => breakers().map(([origin, b]) => ({ labels: { origin }, value: b.failures })),
    ],
    [
      "iora_jsonrpc_requests_total",
      "JSON-RPC requests the jsonrpc_server plugin answered, by outcome.",
      "counter",
      fromApi<Rpc>("jsonrpc.getStats", (r) => [
        { labels: { outcome: "success" }, value: r.successfulRequests },
        { labels: { outcome: "error" }, value: r.failedRequests },
        { labels: { outcome: "timeout" }, value: r.timeoutRequests },
      ]),
    ],
    [
      "iora_kv_keys",
      "Keys in the kvstore plugin's store.",
      "gauge",
      fromApi<Kv>("kvstore.stats", (k) => one(k.keys)),
    ],
    [
      "iora_kv_file_bytes",
      "Size of the kvstore plugin's file.",
      "gauge",
      fromApi<Kv>("kvstore.stats", (k) => one(k.fileBytes)),
    ],
    [
      "iora_kv_writes_total",
      "Writes to the kvstore plugin's store.",
      "counter",
      fromApi<Kv>("kvstore.stats", (k) => one(k.writes)),
    ],
    [
      "iora_kv_compactions_total",
      "Compactions of the kvstore plugin's file.",
      "counter",
      fromApi<Kv>("kvstore.stats", (k) => one(k.compactions)),
    ],
    [
      "iora_kv_cache_hits_total",
      "Reads the kvstore plugin's value cache answered.",
      "counter",
      fromApi<Kv>("kvstore.stats", (k) => one(k.cacheHits)),
    ],
  ];
  for (const [name, help, type, read] of collected) metrics.collect(name, help, type, read);
  return metrics.gauge(
    "iora_event_loop_lag_seconds",
    "How late a zero-delay timer fired, measured at the scrape.",
  );
}
