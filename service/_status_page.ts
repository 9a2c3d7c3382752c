// The status page: GET /_iora (HTML), /_iora/app.js (its script) and /_iora/stats (the JSON
// snapshot the script polls every second). No I/O per request: everything is read from the
// components' counters.
import { platform } from "../core/platform/mod.ts";
import { isLoopbackAddress } from "../network/ip_address.ts";
import type { WebhookRequest } from "../http/request.ts";
import type { WebhookResponse } from "../http/response.ts";
import type { ServiceContext } from "./service_context.ts";
import { STATUS_PAGE_HTML, STATUS_PAGE_SCRIPT } from "./_status_page_assets.ts";

/** The JSON the page polls (`GET /_iora/stats`). */
export interface StatusSnapshot {
  service: { startedAt: string; uptimeSeconds: number; runtime: string; health: string };
  plugins: {
    name: string;
    state: string;
    sandboxed: boolean;
    loadedAt: string;
    dependencies: string[];
    apis: { name: string; calls: number; errors: number }[];
  }[];
  routes: { method: string; pattern: string; owner: string | null }[];
  traffic: { route: string; method: string; requests: number; seconds: number }[];
  server: {
    requests: number;
    responses: Record<string, number>;
    connections: number;
    bytesIn: number;
    bytesOut: number;
  };
  latency: { count: number; seconds: number };
  client: { requests: number; responses: Record<string, number>; failures: number };
  breakers: { origin: string; state: string; failures: number; rejected: number }[];
  dns: { queries: number; cacheHits: number; timeouts: number; errors: number };
}

/** True for a `host:port` (IPv6 in brackets) on 127.0.0.0/8 or ::1. */
function isLoopback(remote: string): boolean {
  return isLoopbackAddress(remote.slice(0, remote.lastIndexOf(":")));
}

/** The snapshot of `service` now. */
export function statusSnapshot(service: ServiceContext): StatusSnapshot {
  const calls = new Map(service.apiRegistry.getCallStats().map((s) => [s.name, s]));
  const server = service.webhookServer.getStats();
  const traffic = service.webhookServer.getRouteStats().map((s) => ({
    route: s.route,
    method: s.method,
    requests: s.requests,
    seconds: s.seconds,
  }));
  const client = service.httpClient.getStats();
  const dns = service.dnsClient.getStats();
  const p = platform();
  return {
    service: {
      startedAt: new Date(Date.now() - (p.now() - service.startedAt)).toISOString(),
      uptimeSeconds: (p.now() - service.startedAt) / 1000,
      runtime: p.name,
      health: service.health().status,
    },
    plugins: service.listModules().map((m) => ({
      name: m.name,
      state: "loaded",
      sandboxed: m.sandboxed,
      loadedAt: new Date(m.loadedAt).toISOString(),
      dependencies: m.dependencies,
      apis: m.apis.map((name) => ({
        name,
        calls: calls.get(name)?.calls ?? 0,
        errors: calls.get(name)?.errors ?? 0,
      })),
    })),
    routes: service.webhookServer.listRoutes().map((r) => ({
      method: r.method,
      pattern: r.pattern,
      owner: r.owner ?? null,
    })),
    traffic,
    server: {
      requests: server.requests,
      responses: { ...server.responses },
      connections: server.activeConnections,
      bytesIn: server.bytesIn,
      bytesOut: server.bytesOut,
    },
    latency: {
      count: traffic.reduce((n, t) => n + t.requests, 0),
      seconds: traffic.reduce((n, t) => n + t.seconds, 0),
    },
    client: {
      requests: client.requests,
      responses: { ...client.responses },
      failures: Object.values(client.errors).reduce((n: number, v) => n + (v ?? 0), 0),
    },
    breakers: [...service.httpClient.getBreakerStats()].map(([origin, b]) => ({
      origin,
      state: b.state,
      failures: b.failures,
      rejected: b.rejected,
    })),
    dns: {
      queries: dns.totalQueries,
      cacheHits: dns.cacheHits,
      timeouts: dns.timeouts,
      errors: dns.errors,
    },
  };
}

const SECURITY_HEADERS: [string, string][] = [
  [
    "content-security-policy",
    "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; " +
    "img-src data:; base-uri 'none'; frame-ancestors 'none'",
  ],
  ["x-content-type-options", "nosniff"],
  ["cache-control", "no-store"],
];

/**
 * Serves the status page on the service's server.
 *
 * @param service the service
 * @param loopbackOnly answer clients on loopback addresses only (others get 404)
 */
export function registerStatusPage(service: ServiceContext, loopbackOnly: boolean): void {
  const serve = (
    body: (req: WebhookRequest) => string,
    contentType: string,
  ) =>
  (req: WebhookRequest, res: WebhookResponse) => {
    if (loopbackOnly && !isLoopback(req.remoteAddress)) {
      res.json({ error: "Not Found" }, 404);
      return;
    }
    res.setContent(body(req), contentType);
    for (const [name, value] of SECURITY_HEADERS) res.headers.set(name, value);
  };
  const server = service.webhookServer;
  server.onGet("/_iora", serve(() => STATUS_PAGE_HTML, "text/html; charset=utf-8"));
  server.onGet(
    "/_iora/app.js",
    serve(() => STATUS_PAGE_SCRIPT, "text/javascript; charset=utf-8"),
  );
  server.onGet(
    "/_iora/stats",
    serve(() => JSON.stringify(statusSnapshot(service)), "application/json"),
  );
}
