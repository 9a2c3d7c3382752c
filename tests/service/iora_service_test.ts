import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { platform } from "../../core/platform/mod.ts";
import { ShellRunner } from "../../core/shell_runner.ts";
import { IoraService } from "../../service/iora_service.ts";
import { ApiUnavailableError, ServiceConfigError } from "../../service/errors.ts";
import type { ServiceConfigInput } from "../../service/config.ts";
import { deferred, tempDir } from "../harness.ts";
import { pluginFixture, postJson, serviceConfig } from "./_fixtures.ts";

describe("IoraService", () => {
  it("starts the server, serves /health with uptime and plugins, routes for plugins", async () => {
    await using dir = await tempDir();
    const service = await IoraService.create(
      serviceConfig(dir, {
        modules: { modules: [pluginFixture("base"), pluginFixture("service_user")] },
      }),
    );
    try {
      const port = service.webhookServer.port;
      assert.ok(port > 0);
      const response = await fetch(`http://127.0.0.1:${port}/health`);
      assert.equal(response.status, 200);
      const health = await response.json();
      assert.equal(health.status, "pass");
      assert.equal(typeof health.checks.uptime[0].observedValue, "number");
      assert.deepEqual(
        health.checks["plugins:loaded"].map((p: { componentId: string }) => p.componentId),
        [
          "base",
          "service_user",
        ],
      );
      const echoed = await postJson(port, "/user/echo", { a: 1 });
      assert.deepEqual(await echoed.json(), { echoed: { a: 1 } });
    } finally {
      await service.shutdown();
    }
  });

  it("httpClient follows [http.client] and is closed at shutdown", async () => {
    await using dir = await tempDir();
    const service = await IoraService.create(
      serviceConfig(dir, { http: { client: { userAgent: "svc-test/1" } } }),
    );
    service.on("/agent").handle(
      "GET",
      (req, res) => res.json({ agent: req.headers.get("user-agent") }),
    );
    const url = `http://127.0.0.1:${service.webhookServer.port}/agent`;
    assert.deepEqual(await service.httpClient.getJson(url), { agent: "svc-test/1" });
    const own = service.makeHttpClient({ userAgent: "override/2" });
    assert.deepEqual(await own.getJson(url), { agent: "override/2" });
    await own.close();
    await service.shutdown();
    await assert.rejects(service.httpClient.get(url), { code: "Closed" });
  });

  it("a route has one owner: another plugin cannot take it until its owner unloads", async () => {
    await using dir = await tempDir();
    const route = (name: string) => ({
      url: pluginFixture("route_user"),
      name,
      options: { path: "/shared" },
    });
    const service = await IoraService.create(
      serviceConfig(dir, { modules: { modules: [route("owner")] } }),
    );
    try {
      assert.deepEqual(
        service.webhookServer.listRoutes().find((r) => r.pattern === "/shared"),
        { method: "POST", pattern: "/shared", owner: "owner" },
      );
      await assert.rejects(
        service.loadSingleModule(route("thief")),
        /POST \/shared is already registered/,
      );
      const port = service.webhookServer.port;
      assert.deepEqual(await (await postJson(port, "/shared", {})).json(), { by: "owner" });
      await service.unloadSingleModule("owner");
      const gone = await postJson(port, "/shared", {});
      assert.equal(gone.status, 404);
      await gone.body?.cancel();
      await service.loadSingleModule(route("heir"));
      assert.deepEqual(await (await postJson(port, "/shared", {})).json(), { by: "heir" });
    } finally {
      await service.shutdown();
    }
  });

  it("loads configured modules in order, logs and skips failures, and honours autoLoad", async () => {
    await using dir = await tempDir();
    const modules = [pluginFixture("base"), pluginFixture("failing"), pluginFixture("dependent")];
    const service = await IoraService.create(
      serviceConfig(dir, { server: { enabled: false }, modules: { modules } }),
    );
    assert.deepEqual(service.listModules().map((m) => m.name), ["base", "dependent"]);
    await service.shutdown();
    const log = await platform().readTextFile(dir.join("iora.log"));
    assert.match(log, /failing on purpose/);

    const idle = await IoraService.create(
      serviceConfig(dir, { server: { enabled: false }, modules: { modules, autoLoad: false } }),
    );
    assert.deepEqual(idle.listModules(), []);
    await idle.shutdown();
  });

  it("attributes service.exportApi inside onLoad to the loading plugin", async () => {
    await using dir = await tempDir();
    const service = await IoraService.create(serviceConfig(dir));
    try {
      service.exportApi("host.thing", () => "host");
      await service.loadSingleModule(pluginFixture("service_user"));
      const safe = service.getExportedApiSafe<() => string>("user.viaService");
      assert.equal(safe.call(), "owned by the plugin");
      assert.equal(safe.getModuleName(), "service_user");
      assert.equal(service.callExportedApi("host.thing"), "host");
      await service.unloadSingleModule("service_user");
      assert.throws(() => safe.call(), ApiUnavailableError);
      assert.equal(service.getExportedApi<() => string>("host.thing")(), "host");
      assert.equal(service.stateStore.get("user.unloaded"), "yes");
    } finally {
      await service.shutdown();
    }
  });

  it("shuts down gracefully: plugins in reverse dependency order, state flushed, logs closed", async () => {
    await using dir = await tempDir();
    const service = await IoraService.create(
      serviceConfig(dir, {
        modules: {
          modules: [
            pluginFixture("base"),
            { url: pluginFixture("service_user"), options: { requireBase: true } },
          ],
        },
      }),
    );
    const port = service.webhookServer.port;
    await service.shutdown();
    await service.shutdown(); // twice is harmless
    assert.deepEqual(service.listModules(), []);
    assert.equal(service.health().status, "fail");
    const state = JSON.parse(await platform().readTextFile(dir.join("state.json")));
    assert.equal(Object.values(state).includes("yes"), true, `state: ${JSON.stringify(state)}`);
    const log = await platform().readTextFile(dir.join("iora.log"));
    const order = ['module \\"service_user\\" unloaded', 'module \\"base\\" unloaded', "stopped"]
      .map((needle) => log.indexOf(needle));
    assert.ok(order.every((i) => i >= 0), log);
    assert.deepEqual(
      [...order].sort((a, b) => a - b),
      order,
      "service_user, then base, then stopped",
    );
    await assert.rejects(fetch(`http://127.0.0.1:${port}/health`), "the server is stopped");
  });

  it("is a process-wide singleton through init/instance/instanceRef/shutdown", async () => {
    await using dir = await tempDir();
    assert.equal(IoraService.instance(), undefined);
    assert.throws(() => IoraService.instanceRef(), { code: "NotInitialized" });
    const service = await IoraService.init(serviceConfig(dir, { server: { enabled: false } }), {
      handleSignals: false,
    });
    try {
      assert.equal(IoraService.instanceRef(), service);
      await assert.rejects(IoraService.init(serviceConfig(dir)), { code: "AlreadyInitialized" });
    } finally {
      await IoraService.shutdown();
    }
    assert.equal(IoraService.instance(), undefined);
  });

  it("reads a TOML file with environment overrides and rejects bad config clearly", async () => {
    await using dir = await tempDir();
    const file = dir.join("iora.toml");
    await platform().writeTextFile(
      file,
      `[server]\nenabled = false\nport = 1234\n[log]\nlevel = "warn"\nfile = "${
        dir.join("x.log")
      }"\n` +
        `[state]\nfile = "${dir.join("s.json")}"\n`,
    );
    platform().setEnv("IORA__SERVER__PORT", "4321");
    try {
      const service = await IoraService.create(file);
      assert.equal(service.config.server.port, 4321);
      assert.equal(service.config.log.level, "warn");
      assert.equal(service.configLoader.path, file);
      await service.shutdown();
    } finally {
      platform().deleteEnv("IORA__SERVER__PORT");
    }
    await assert.rejects(
      IoraService.create(serviceConfig(dir, { server: { port: 70000 } })),
      (e: unknown) => e instanceof ServiceConfigError && e.key === "server.port",
    );
    await assert.rejects(
      IoraService.create({ ...serviceConfig(dir), bogus: 1 } as ServiceConfigInput),
      (e: unknown) => e instanceof ServiceConfigError && e.key === "bogus",
    );
  });

  it("exposes the event queue and the timer service, and drains events at shutdown", async () => {
    await using dir = await tempDir();
    const service = await IoraService.create(serviceConfig(dir, { server: { enabled: false } }));
    const fired = deferred<string>("a timer");
    service.timerService.scheduleAfter(1, () => fired.resolve("fired"));
    assert.equal(await fired.wait(), "fired");
    const seen: unknown[] = [];
    service.eventQueue.subscribe("orders.*", (payload) => void seen.push(payload));
    await service.eventQueue.publish("orders.created", { id: 1 });
    service.eventQueue.tryPublish("orders.paid", { id: 1 });
    await service.shutdown();
    assert.deepEqual(
      seen,
      [{ id: 1 }, { id: 1 }],
      "buffered events were delivered before stopping",
    );
    assert.equal(service.eventQueue.closed, true);
  });

  it("shutdown waits for a plugin still loading, then unloads it", async () => {
    await using dir = await tempDir();
    const service = await IoraService.create(serviceConfig(dir, { server: { enabled: false } }));
    const gate = deferred<void>("the gate");
    const entered = deferred<void>("onLoad waiting on the gate");
    service.exportApi("test.gate", () => {
      entered.resolve();
      return gate.wait();
    });
    const loading = service.loadSingleModule({
      url: pluginFixture("slow"),
      options: { gateOnLoad: true },
    });
    await entered.wait();
    const stopping = service.shutdown();
    gate.resolve();
    assert.equal(await loading, "slow");
    await stopping;
    assert.deepEqual(service.listModules(), []);
  });

  it("shutdown goes on when a plugin's onUnload hangs past unloadTimeoutMs", async () => {
    await using dir = await tempDir();
    const service = await IoraService.create(
      serviceConfig(dir, {
        server: { enabled: false },
        modules: { modules: [{ url: pluginFixture("slow"), options: { hangOnUnload: true } }] },
      }),
      { unloadTimeoutMs: 200 },
    );
    await service.shutdown();
    const log = await platform().readTextFile(dir.join("iora.log"));
    assert.match(log, /onUnload of \\"slow\\" did not finish within 200 ms/);
    assert.match(log, /"stopped"/);
  });
});

describe("IoraService metrics", () => {
  it("GET /metrics serves every component's stats in the Prometheus text format", async () => {
    await using dir = await tempDir();
    const service = await IoraService.create(
      serviceConfig(dir, { modules: { modules: [pluginFixture("base")] } }),
    );
    try {
      const base = `http://127.0.0.1:${service.webhookServer.port}`;
      await (await fetch(`${base}/health`)).body?.cancel();
      const response = await fetch(`${base}/metrics`);
      assert.equal(response.status, 200);
      assert.equal(
        response.headers.get("content-type"),
        "text/plain; version=0.0.4; charset=utf-8",
      );
      const text = await response.text();
      for (
        const name of [
          "process_resident_memory_bytes",
          "process_cpu_seconds_total",
          "iora_http_server_requests_total",
          "iora_http_client_requests_total",
          "iora_dns_queries_total",
          "iora_events_published_total",
          "iora_plugins_loaded",
        ]
      ) {
        assert.match(text, new RegExp(`^# TYPE ${name} (counter|gauge)$`, "m"), name);
      }
      assert.ok(Number(/^iora_http_server_requests_total (\d+)$/m.exec(text)![1]) >= 1);
      assert.match(text, /^iora_plugins_loaded\{kind="trusted"\} 1$/m);
      assert.match(text, /^iora_http_server_responses_total\{code="2xx"\} \d+$/m);
      // The Prometheus project's own linter finds nothing to report.
      const lint = await new ShellRunner().run("promtool", ["check", "metrics"], { stdin: text });
      assert.equal(lint.code, 0, lint.stdout + lint.stderr);
      assert.equal(lint.stdout + lint.stderr, "");
      // Every sample line belongs to a family announced by its TYPE line.
      const families = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
      for (const line of text.split("\n").filter((l) => l !== "" && !l.startsWith("#"))) {
        const name = line.split(/[{ ]/)[0];
        assert.ok(
          families.has(name) || families.has(name.replace(/_(bucket|sum|count)$/, "")),
          line,
        );
      }
    } finally {
      await service.shutdown();
    }
    const quiet = await IoraService.create(serviceConfig(dir, { server: { metrics: false } }));
    try {
      const off = await fetch(`http://127.0.0.1:${quiet.webhookServer.port}/metrics`);
      assert.equal(off.status, 404);
      await off.body?.cancel();
      assert.match(quiet.metrics.render(), /iora_uptime_seconds/);
    } finally {
      await quiet.shutdown();
    }
  });
});
