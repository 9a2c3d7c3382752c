import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ShellRunner } from "../../core/shell_runner.ts";
import type { ThreadPool } from "../../core/thread_pool.ts";
import { IoraService } from "../../service/iora_service.ts";
import { WebhookServer } from "../../http/server.ts";
import { spawn } from "node:child_process";
import { platform } from "../../core/platform/mod.ts";
import { freePort, tempDir, waitFor } from "../harness.ts";
import { pluginFixture, serviceConfig, shippedPlugin } from "./_fixtures.ts";

const EXT = new URL(import.meta.url).pathname.endsWith(".js") ? ".js" : ".ts";
const POOL_TASKS = new URL(`../fixtures/core/pool_tasks${EXT}`, import.meta.url);

/** The value of the sample line `name{labels}` in `text`, or undefined. */
function sample(text: string, series: string): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

async function scrape(base: string, accept?: string): Promise<Response> {
  return await fetch(`${base}/metrics`, accept ? { headers: { accept } } : {});
}

describe("service metrics", () => {
  it("counts requests by route pattern, method and status class, never by raw path", async () => {
    await using dir = await tempDir();
    const service = await IoraService.create(serviceConfig(dir));
    try {
      service.webhookServer.onGet("/users/{id}", (req, res) => {
        if (req.params.id === "0") res.json({ error: "no such user" }, 404);
        else res.json({ id: req.params.id });
      });
      service.webhookServer.onPost("/users/{id}", () => {
        throw new Error("boom");
      });
      const base = `http://127.0.0.1:${service.webhookServer.port}`;
      for (const path of ["/users/1", "/users/2", "/users/3", "/users/0"]) {
        await (await fetch(base + path)).body?.cancel();
      }
      await (await fetch(`${base}/users/9`, { method: "POST" })).body?.cancel();
      for (const path of ["/nope/1", "/nope/2"]) await (await fetch(base + path)).body?.cancel();
      await (await fetch(`${base}/users/1`, { method: "BREW" })).body?.cancel(); // 405
      await (await fetch(`${base}/zzz`, { method: "BREW2" })).body?.cancel();
      const text = await (await scrape(base)).text();
      const requests = "iora_http_server_route_requests_total";
      assert.equal(sample(text, `${requests}{route="/users/{id}",method="GET",code="2xx"}`), 3);
      assert.equal(sample(text, `${requests}{route="/users/{id}",method="GET",code="4xx"}`), 1);
      assert.equal(sample(text, `${requests}{route="/users/{id}",method="POST",code="5xx"}`), 1);
      // Unmatched paths share one label; unknown methods share "OTHER".
      assert.equal(sample(text, `${requests}{route="(unmatched)",method="GET",code="4xx"}`), 2);
      assert.equal(sample(text, `${requests}{route="(unmatched)",method="OTHER",code="4xx"}`), 2);
      assert.doesNotMatch(text, /\/users\/1|\/nope|BREW/);
      const latency = "iora_http_server_request_duration_seconds";
      const labels = `route="/users/{id}",method="GET"`;
      assert.equal(sample(text, `${latency}_count{${labels}}`), 4);
      assert.equal(sample(text, `${latency}_bucket{${labels},le="+Inf"}`), 4);
      const sum = sample(text, `${latency}_sum{${labels}}`)!;
      assert.ok(sum > 0 && sum < 10, `latency sum ${sum} s`);
      // The same counts, as the status page reads them.
      const stats = service.webhookServer.getRouteStats();
      const users = stats.find((s) => s.route === "/users/{id}" && s.method === "GET")!;
      assert.equal(users.requests, 4);
      assert.equal(users.responses["2xx"], 3);
    } finally {
      await service.shutdown();
    }
  });

  it("a server without metrics keeps no route stats", async () => {
    await using server = new WebhookServer();
    server.onGet("/x", (_req, res) => res.setContent("x", "text/plain"));
    await server.start({ hostname: "127.0.0.1", port: 0 });
    await (await fetch(`http://127.0.0.1:${server.port}/x`)).body?.cancel();
    assert.deepEqual(server.getRouteStats(), []);
  });

  it("counts exported-API calls and their failures, across a reload", async () => {
    await using dir = await tempDir();
    const service = await IoraService.create(
      serviceConfig(dir, { modules: { modules: [pluginFixture("base")] } }),
    );
    try {
      service.apiRegistry.exportApi("host", "host.fail", () => {
        throw new Error("no");
      });
      service.apiRegistry.exportApi("host", "host.reject", () => Promise.reject(new Error("no")));
      assert.equal(service.callExportedApi("base.add", 1, 2), 3);
      const add = service.getExportedApiSafe<(a: number, b: number) => number>("base.add");
      assert.equal(add.call(2, 3), 5);
      assert.throws(() => service.callExportedApi("host.fail"), /no/);
      await assert.rejects(service.callExportedApi<Promise<void>>("host.reject"), /no/);
      // The raw function counts too: the same one each time, its throws and rejections as errors.
      const raw = service.getExportedApi<(a: number, b: number) => number>("base.add");
      assert.equal(raw, service.getExportedApi("base.add"));
      assert.equal(raw(2, 2), 4);
      assert.throws(() => service.getExportedApi<() => void>("host.fail")(), /no/);
      await assert.rejects(service.getExportedApi<() => Promise<void>>("host.reject")(), /no/);
      await service.reloadModule("base");
      assert.equal(add.call(1, 1), 2);
      assert.equal(service.getExportedApi<(a: number, b: number) => number>("base.add")(1, 1), 2);
      const text = service.metrics.render();
      assert.equal(sample(text, `iora_api_calls_total{api="base.add"}`), 5);
      assert.equal(sample(text, `iora_api_errors_total{api="base.add"}`), 0);
      assert.equal(sample(text, `iora_api_calls_total{api="host.fail"}`), 2);
      assert.equal(sample(text, `iora_api_errors_total{api="host.fail"}`), 2);
      assert.equal(sample(text, `iora_api_errors_total{api="host.reject"}`), 2);
    } finally {
      await service.shutdown();
    }
  });

  it("answers OpenMetrics when the scraper asks for it, and promtool finds nothing in either format with every component active", async () => {
    await using dir = await tempDir();
    const closed = await freePort();
    const service = await IoraService.create(
      serviceConfig(dir, {
        modules: {
          modules: [
            pluginFixture("base"),
            { url: shippedPlugin("kvstore"), options: { path: dir.join("kv.bin") } },
            shippedPlugin("jsonrpc_server"),
          ],
        },
        http: { client: { circuitBreaker: { failureThreshold: 1 }, retryLimit: 0 } },
        dns: { servers: [`127.0.0.1:${closed}`], timeout: 200, retryCount: 0 },
      }),
    );
    let pool: ThreadPool | undefined;
    try {
      const base = `http://127.0.0.1:${service.webhookServer.port}`;
      service.webhookServer.onGet("/items/{id}", (req, res) => res.json({ id: req.params.id }));
      await (await fetch(`${base}/items/1`)).body?.cancel();
      await (await fetch(`${base}/missing`)).body?.cancel();
      service.callExportedApi("base.add", 1, 2);
      // Breakers, DNS, events, timers, cache and state all have something to count.
      await assert.rejects(service.httpClient.get(`http://127.0.0.1:${closed}/`));
      await assert.rejects(service.dnsClient.resolveA("nowhere.test"));
      await service.eventQueue.publish("t", 1);
      service.timerService.scheduleAfter(1, () => {});
      service.cache.set("k", 1);
      service.cache.get("k");
      service.stateStore.set("k", "v");
      await service.callExportedApi<Promise<void>>("kvstore.setString", "a", "1");
      const rpc = await fetch(`${base}/rpc`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "nope" }),
      });
      await rpc.body?.cancel();
      // A pool the service made, with a job done and one failed.
      pool = service.makeThreadPool({ name: "crunch", minThreads: 1, maxThreads: 1 });
      assert.equal(await pool.enqueue<number>(POOL_TASKS, "add", 2, 3), 5);
      await assert.rejects(pool.enqueue(POOL_TASKS, "fail", "no"), /no/);
      assert.throws(() => service.makeThreadPool({ name: "crunch" }), RangeError);
      await scrape(base); // a scrape reads the plugins' stats APIs: not counted as calls
      const prom = await scrape(base);
      assert.equal(prom.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
      const text = await prom.text();
      assert.match(text, /^iora_circuit_breaker_open\{origin="[^"]+"\} 1$/m);
      assert.match(text, /^iora_event_loop_lag_seconds \d/m);
      assert.ok(sample(text, "iora_dns_queries_total")! >= 1);
      assert.equal(sample(text, "iora_kv_keys"), 1);
      assert.equal(sample(text, `iora_jsonrpc_requests_total{outcome="error"}`), 1);
      assert.equal(sample(text, `iora_api_calls_total{api="kvstore.stats"}`), 0);
      assert.equal(sample(text, `iora_api_calls_total{api="jsonrpc.getStats"}`), 0);
      const crunch = `pool="crunch"`;
      assert.equal(sample(text, `iora_thread_pool_tasks_submitted_total{${crunch}}`), 2);
      const finished = "iora_thread_pool_tasks_finished_total";
      assert.equal(sample(text, `${finished}{${crunch},outcome="completed"}`), 1);
      assert.equal(sample(text, `${finished}{${crunch},outcome="failed"}`), 1);
      assert.equal(sample(text, `iora_thread_pool_threads{${crunch}}`), 1);
      assert.equal(sample(text, `iora_thread_pool_workers_started_total{${crunch}}`), 1);
      // The server's transport: every fetch above was a connection of its own or kept alive;
      // this scrape's connection is open now.
      const http = `transport="http_server"`;
      const accepted = sample(text, `iora_transport_sessions_accepted_total{${http}}`)!;
      assert.ok(accepted >= 1, `accepted ${accepted}`);
      assert.ok(sample(text, `iora_transport_sessions{${http}}`)! >= 1);
      assert.ok(sample(text, `iora_transport_sessions_peak{${http}}`)! >= 1);
      assert.equal(
        sample(text, `iora_transport_received_bytes_total{${http}}`),
        sample(text, "iora_http_server_received_bytes_total"),
      );
      assert.equal(sample(text, `iora_transport_tls_failures_total{${http}}`), 0);
      // Every sample line belongs to a family announced by its TYPE line.
      const families = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
      for (const line of text.split("\n").filter((l) => l !== "" && !l.startsWith("#"))) {
        const name = line.split(/[{ ]/)[0].replace(/_(bucket|sum|count)$/, "");
        assert.ok(families.has(name) || families.has(line.split(/[{ ]/)[0]), line);
      }
      const lint = await new ShellRunner().run("promtool", ["check", "metrics"], { stdin: text });
      assert.equal(lint.stdout + lint.stderr, "");
      assert.equal(lint.code, 0);

      const prometheusAccept = "application/openmetrics-text;version=1.0.0," +
        "application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
      const open = await scrape(base, prometheusAccept);
      assert.equal(
        open.headers.get("content-type"),
        "application/openmetrics-text; version=1.0.0; charset=utf-8",
      );
      const om = await open.text();
      assert.ok(om.endsWith("# EOF\n"), om.slice(-100));
      // Counter families drop _total, their samples keep it; base units are declared.
      assert.match(om, /^# TYPE iora_api_calls counter$/m);
      assert.match(om, /^iora_api_calls_total\{api="base.add"\} 1$/m);
      assert.match(om, /^# UNIT process_cpu_seconds seconds$/m);
      assert.match(om, /^# UNIT iora_http_server_request_duration_seconds seconds$/m);
      assert.doesNotMatch(om, /^# TYPE \S+_total /m);
      // A closed pool's series go with it.
      await pool.close();
      assert.doesNotMatch(service.metrics.render(), /pool="crunch"/);
    } finally {
      await pool?.close();
      await service.shutdown();
    }
  });

  it("a real Prometheus server scrapes the OpenMetrics answer without error", async () => {
    await using dir = await tempDir();
    const service = await IoraService.create(
      serviceConfig(dir, { modules: { modules: [pluginFixture("base")] } }),
    );
    const webPort = await freePort();
    const accepts: string[] = [];
    service.webhookServer.onGet("/scrape", async (req, res) => {
      accepts.push(req.headers.get("accept") ?? "");
      const inner = await fetch(`http://127.0.0.1:${service.webhookServer.port}/metrics`, {
        headers: { accept: req.headers.get("accept") ?? "" },
      });
      res.setContent(await inner.text(), inner.headers.get("content-type")!);
    });
    service.callExportedApi("base.add", 1, 2);
    await platform().writeTextFile(
      dir.join("prometheus.yml"),
      `global: { scrape_interval: 1s, scrape_timeout: 1s }
scrape_configs:
  - job_name: iora
    metrics_path: /scrape
    static_configs: [{ targets: ["127.0.0.1:${service.webhookServer.port}"] }]
`,
    );
    const prometheus = spawn("prometheus", [
      `--config.file=${dir.join("prometheus.yml")}`,
      `--storage.tsdb.path=${dir.join("data")}`,
      `--web.listen-address=127.0.0.1:${webPort}`,
    ], { stdio: ["ignore", "ignore", "pipe"] });
    let log = "";
    prometheus.stderr!.on("data", (chunk: Uint8Array) => log += new TextDecoder().decode(chunk));
    const exited = new Promise((resolve) => prometheus.once("exit", resolve));
    try {
      type Target = { health: string; lastError: string };
      let target: Target | undefined;
      await waitFor(async () => {
        try {
          const body = await (await fetch(`http://127.0.0.1:${webPort}/api/v1/targets`)).json();
          target = body.data.activeTargets[0];
          return target !== undefined && target.health !== "unknown";
        } catch {
          return false; // not listening yet
        }
      }, { timeoutMs: 20_000, what: `Prometheus to scrape (log: ${log.slice(-500)})` });
      assert.equal(target!.lastError, "");
      assert.equal(target!.health, "up");
      assert.match(accepts[0], /^application\/openmetrics-text/);
      const query = await fetch(
        `http://127.0.0.1:${webPort}/api/v1/query?query=iora_api_calls_total`,
      );
      const result = (await query.json()).data.result;
      assert.equal(result[0].metric.api, "base.add");
      assert.equal(result[0].value[1], "1");
    } finally {
      prometheus.kill("SIGTERM");
      await exited;
      await service.shutdown();
    }
  });
});
