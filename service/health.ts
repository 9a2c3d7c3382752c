/**
 * The service's health in the `application/health+json` format of
 * draft-inadarei-api-health-check: an overall `status` (`pass`, `warn` or
 * `fail`) and a `checks` map with one entry per component. Built from the
 * components' counters and states only (no I/O), so load balancers may ask
 * as often as they like.
 *
 * @example
 * ```ts ignore
 * import { IoraService } from "./iora_service.ts";
 * const service = await IoraService.create({ server: { port: 0 } });
 * const report = service.health();
 * console.log(report.status, Object.keys(report.checks));
 * ```
 *
 * @module
 */
import { platform } from "../core/platform/mod.ts";
import type { ClusterHealth } from "./cluster/cluster.ts";
import type { ServiceContext } from "./service_context.ts";
import type { HealthCheck, HealthReport, HealthStatus } from "./health_types.ts";

export { HEALTH_CONTENT_TYPE } from "./health_types.ts";
export type { HealthCheck, HealthReport, HealthStatus } from "./health_types.ts";

const DESCRIPTION = "Iora service";
const RANK: Record<HealthStatus, number> = { pass: 0, warn: 1, fail: 2 };

/** Counters seen at the previous report, to tell what failed since. */
interface Seen {
  ok: number;
  failed: number;
  failing: boolean;
}

/** Whether the latest of a component's operations failed, judged from two counters. */
function failingSince(seen: Seen, ok: number, failed: number): boolean {
  if (ok > seen.ok) seen.failing = false;
  else if (failed > seen.failed) seen.failing = true;
  seen.ok = ok;
  seen.failed = failed;
  return seen.failing;
}

/**
 * Builds {@linkcode HealthReport}s of one service. It remembers the counters of the previous
 * report, so a state store whose writes fail since then, or a DNS client whose every query
 * failed since then, reports `warn`.
 */
export class HealthReporter {
  readonly #service: ServiceContext;
  readonly #cluster: () => ClusterHealth | undefined;
  readonly #state: Seen = { ok: 0, failed: 0, failing: false };
  readonly #dns: Seen = { ok: 0, failed: 0, failing: false };

  /**
   * Creates the reporter.
   *
   * @param service the service to report on
   * @param cluster the cluster's health, when the service runs in one (or fell back from one)
   */
  constructor(service: ServiceContext, cluster: () => ClusterHealth | undefined = () => undefined) {
    this.#service = service;
    this.#cluster = cluster;
  }

  /**
   * The current report.
   *
   * @param stopping true once the service shuts down: the report is then `fail` with no checks
   * @returns the report
   */
  report(stopping: boolean): HealthReport {
    if (stopping) {
      return { status: "fail", description: DESCRIPTION, output: "shutting down", checks: {} };
    }
    const service = this.#service;
    const time = new Date().toISOString();
    const checks: Record<string, HealthCheck[]> = {};
    checks["uptime"] = [{
      componentType: "system",
      observedValue: Math.round(platform().now() - service.startedAt) / 1000,
      observedUnit: "s",
      status: "pass",
      time,
    }];
    checks["plugins:loaded"] = service.listModules().map((m) => ({
      componentId: m.name,
      componentType: "component",
      observedValue: m.apis.length,
      observedUnit: "exported APIs",
      status: "pass",
      time,
    }));
    const store = service.stateStore.getStats() as {
      flushes?: number;
      flushErrors?: number;
      writes?: number;
      writeErrors?: number;
    };
    const storeFailing = failingSince(
      this.#state,
      store.flushes ?? store.writes ?? 0,
      store.flushErrors ?? store.writeErrors ?? 0,
    );
    checks["state:store"] = [{
      componentType: "datastore",
      status: storeFailing ? "warn" : "pass",
      time,
      ...(storeFailing ? { output: "the latest write of the state store failed" } : {}),
    }];
    checks["http-client:circuit-breakers"] = [...service.httpClient.getBreakerStats()].map((
      [origin, breaker],
    ) => ({
      componentId: origin,
      componentType: "component",
      observedValue: breaker.state,
      status: breaker.state === "open" ? "warn" : "pass",
      time,
      ...(breaker.state === "open" ? { output: `circuit open for ${origin}` } : {}),
    }));
    const dns = service.dnsClient.getStats();
    const failed = dns.timeouts + dns.errors;
    const dnsFailing = failingSince(this.#dns, dns.totalQueries - failed, failed);
    checks["dns:queries"] = [{
      componentType: "component",
      observedValue: dns.totalQueries,
      observedUnit: "queries",
      status: dnsFailing ? "warn" : "pass",
      time,
      ...(dnsFailing ? { output: "every DNS query since the previous check failed" } : {}),
    }];
    const cluster = this.#cluster();
    if (cluster !== undefined) {
      // Running alone after Redis was unreachable at start (`fallback = "local"`) serves, so it
      // warns; Redis lost while running in the cluster fails.
      const status: HealthStatus = cluster.status === "ok"
        ? "pass"
        : cluster.status === "degraded" || cluster.fallback === "local"
        ? "warn"
        : "fail";
      checks["redis:connection"] = [{
        componentId: cluster.url,
        componentType: "datastore",
        observedValue: cluster.redis,
        status,
        time,
        ...(status === "pass" ? {} : {
          output: cluster.fallback === "local"
            ? "Redis was unreachable at start: running alone on the embedded backends"
            : `Redis is ${cluster.status}`,
        }),
      }];
    }
    let status: HealthStatus = "pass";
    for (const list of Object.values(checks)) {
      for (const check of list) if (RANK[check.status] > RANK[status]) status = check.status;
    }
    const report: HealthReport = { status, description: DESCRIPTION, checks };
    if (status !== "pass") report.output = "a check is not passing";
    return report;
  }
}
