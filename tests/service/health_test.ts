import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { platform } from "../../core/platform/mod.ts";
import { IoraService } from "../../service/iora_service.ts";
import { freePort, tempDir } from "../harness.ts";
import { pluginFixture, serviceConfig } from "./_fixtures.ts";

describe("GET /health (application/health+json)", () => {
  it("passes with a check per component, warns while a breaker is open", async () => {
    await using dir = await tempDir();
    const closed = await freePort();
    const service = await IoraService.create(
      serviceConfig(dir, {
        modules: { modules: [pluginFixture("base")] },
        http: { client: { circuitBreaker: { failureThreshold: 1 }, retryLimit: 0 } },
      }),
    );
    try {
      const url = `http://127.0.0.1:${service.webhookServer.port}/health`;
      const ok = await fetch(url);
      assert.equal(ok.status, 200);
      assert.equal(ok.headers.get("content-type"), "application/health+json");
      const report = await ok.json();
      assert.equal(report.status, "pass");
      assert.deepEqual(Object.keys(report.checks).sort(), [
        "dns:queries",
        "http-client:circuit-breakers",
        "plugins:loaded",
        "state:store",
        "uptime",
      ]);
      assert.equal(report.checks["plugins:loaded"][0].componentId, "base");
      assert.equal(report.checks["plugins:loaded"][0].observedValue, 2);
      assert.ok(!Number.isNaN(Date.parse(report.checks["state:store"][0].time)));

      // One failure opens the breaker of that origin: the service still works, with a warning.
      await assert.rejects(service.httpClient.get(`http://127.0.0.1:${closed}/`));
      const warned = await fetch(url);
      assert.equal(warned.status, 200);
      const warning = await warned.json();
      assert.equal(warning.status, "warn");
      const [breaker] = warning.checks["http-client:circuit-breakers"];
      assert.equal(breaker.status, "warn");
      assert.equal(breaker.observedValue, "open");
      assert.match(breaker.componentId, new RegExp(String(closed)));
    } finally {
      await service.shutdown();
    }
  });

  it("warns while the state store's writes fail, passes again once one succeeds", async () => {
    await using dir = await tempDir();
    const stateDir = dir.join("state");
    await platform().mkdir(stateDir, { recursive: true });
    const service = await IoraService.create(
      serviceConfig(dir, { state: { file: `${stateDir}/state.json` } }),
    );
    const url = `http://127.0.0.1:${service.webhookServer.port}/health`;
    try {
      // A file where the store's folder was: its next write fails (not a directory).
      await platform().remove(stateDir, { recursive: true });
      await platform().writeTextFile(stateDir, "in the way");
      service.stateStore.set("k", "v");
      await assert.rejects(service.stateStore.flush());
      const warned = await (await fetch(url)).json();
      assert.equal(warned.status, "warn");
      assert.equal(warned.checks["state:store"][0].status, "warn");
      await platform().remove(stateDir);
      await platform().mkdir(stateDir, { recursive: true });
      await service.stateStore.flush();
      assert.equal((await (await fetch(url)).json()).status, "pass");
    } finally {
      await service.shutdown();
    }
  });

  it("fails with 503 as soon as a shutdown begins, while plugins still unload", async () => {
    await using dir = await tempDir();
    const service = await IoraService.create(
      serviceConfig(dir, {
        modules: { modules: [{ url: pluginFixture("slow"), options: { hangOnUnload: true } }] },
      }),
      { unloadTimeoutMs: 3_000 },
    );
    const url = `http://127.0.0.1:${service.webhookServer.port}/health`;
    assert.equal((await (await fetch(url)).json()).status, "pass");
    const stopping = service.shutdown(); // the slow plugin holds it for 3 s
    const response = await fetch(url);
    assert.equal(response.status, 503);
    assert.equal(response.headers.get("content-type"), "application/health+json");
    const report = await response.json();
    assert.equal(report.status, "fail");
    assert.equal(report.output, "shutting down");
    await stopping;
  });
});
