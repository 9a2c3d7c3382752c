// IoraService with [cluster]: two instances share their state through a real
// redis-server, /health reports Redis, and an unreachable Redis at start is a
// clear error naming the URL.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { IoraService } from "../../service/iora_service.ts";
import { JsonFileStore } from "../../core/state_store.ts";
import { platform } from "../../core/platform/mod.ts";
import { parseServiceConfig } from "../../service/config.ts";
import { ServiceConfigError } from "../../service/errors.ts";
import { freePort, type TempDir, tempDir, waitFor } from "../harness.ts";
import { type RedisServer, startRedis } from "../fixtures/cluster/redis_server.ts";
import { serviceConfig, shippedPlugin } from "./_fixtures.ts";
import { JsonRpcClient } from "../../http/jsonrpc_client.ts";
import { ClusterRegistry, RegistryTargets } from "../../service/cluster/registry.ts";

describe("IoraService [cluster]", () => {
  let redis: RedisServer;
  let dir: TempDir;

  before(async () => {
    redis = await startRedis();
    dir = await tempDir();
  });

  after(async () => {
    await redis.stop();
    await dir[Symbol.asyncDispose]();
  });

  it("two instances share the state store through Redis; /health reports it", async () => {
    const config = (name: string) =>
      serviceConfig(dir, {
        log: { file: dir.join(`${name}.log`) },
        state: { file: dir.join(`${name}.json`) },
        cluster: { url: redis.url, prefix: "test:", state: true, events: true, locks: true },
      });
    const a = await IoraService.create(config("a"));
    const b = await IoraService.create(config("b"));
    try {
      a.stateStore.set("leader", "a");
      await a.stateStore.flush();
      await waitFor(() => b.stateStore.get("leader") === "a", { what: "b to see a's write" });
      assert.ok(a.cluster?.events && a.cluster.locks, "the configured backends started");
      const health = await (await fetch(`http://127.0.0.1:${b.webhookServer.port}/health`)).json();
      assert.equal(health.checks["redis:connection"][0].status, "pass");
      assert.equal(health.checks["redis:connection"][0].componentId, redis.url);
    } finally {
      await a.shutdown();
      await b.shutdown();
    }
  });

  it("registers each instance, keeps its APIs current, and serves JSON-RPC through registry targets", async () => {
    const config = (name: string) =>
      serviceConfig(dir, {
        log: { file: dir.join(`${name}.log`) },
        state: { file: dir.join(`${name}.json`) },
        cluster: { url: redis.url, prefix: "reg:", registry: true, name: "rpc", ttlMs: 3000 },
      });
    const a = await IoraService.create(config("ra"));
    const b = await IoraService.create(config("rb"));
    const registry = await ClusterRegistry.start({ url: redis.url, prefix: "reg:", ttlMs: 3000 });
    const rpc = new JsonRpcClient();
    try {
      const ids = [a.clusterRegistration!.id, b.clusterRegistration!.id];
      assert.deepEqual((await registry.instances("rpc")).map((i) => i.id).sort(), [...ids].sort());
      for (const service of [a, b]) {
        await service.loadSingleModule(shippedPlugin("jsonrpc_server"));
        const port = service.webhookServer.port;
        service.exportApi("host.whoami", () => port);
        service.callExportedApi("jsonrpc.registerApi", "whoami", "host.whoami");
      }
      await waitFor(
        async () =>
          (await registry.instances("rpc")).every((i) => i.apis.includes("jsonrpc.register")),
        {
          what: "the registrations to list the loaded plugin's APIs",
        },
      );
      await using targets = await RegistryTargets.watch(registry, "rpc");
      const answers = new Set<number>();
      for (let i = 0; i < 4; i++) {
        answers.add(Number(await targets.request((base) => rpc.call(`${base}/rpc`, "whoami"))));
      }
      assert.deepEqual([...answers].sort(), [a.webhookServer.port, b.webhookServer.port].sort());
      await b.shutdown();
      assert.deepEqual((await registry.instances("rpc")).map((i) => i.id), [ids[0]]);
      await waitFor(() => targets.size === 1, { what: "the targets to drop b" });
      assert.equal(
        await targets.request((base) => rpc.call(`${base}/rpc`, "whoami")),
        a.webhookServer.port,
      );
    } finally {
      await rpc.close();
      await registry.stop();
      await a.shutdown();
      await b.shutdown();
    }
  });

  it("an unreachable Redis at start fails the start, naming the URL", async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    await assert.rejects(
      IoraService.create(serviceConfig(dir, { cluster: { url, state: true } })),
      (error: unknown) => {
        assert.match(String(error), new RegExp(url.replace(/[.:/]/g, "\\$&")));
        return true;
      },
    );
  });

  it('with fallback = "local", an unreachable Redis at start leaves the instance alone, reported as a warning', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const service = await IoraService.create(serviceConfig(dir, {
      log: { file: dir.join("fallback.log") },
      state: { file: dir.join("fallback.json") },
      cluster: { url, state: true, events: true, registry: true, fallback: "local" },
    }));
    try {
      assert.equal(service.cluster, undefined);
      assert.ok(service.stateStore instanceof JsonFileStore, "the embedded state store");
      service.stateStore.set("k", "v");
      assert.equal(service.stateStore.get("k"), "v");
      const res = await fetch(`http://127.0.0.1:${service.webhookServer.port}/health`);
      assert.equal(res.status, 200, "an instance running alone still serves");
      const health = await res.json();
      assert.equal(health.status, "warn");
      const [redis] = health.checks["redis:connection"];
      assert.equal(redis.status, "warn");
      assert.equal(redis.componentId, url);
      assert.equal(redis.observedValue, "closed");
      assert.match(redis.output, /unreachable at start/);
    } finally {
      await service.shutdown();
    }
    const log = await platform().readTextFile(dir.join("fallback.log"));
    assert.match(log, /Redis unreachable at start: running alone/);
  });

  it("checks the [cluster] keys", () => {
    assert.deepEqual(parseServiceConfig({}).cluster, {});
    assert.throws(
      () => parseServiceConfig({ cluster: { url: "http://x" } }),
      (e: unknown) => e instanceof ServiceConfigError && e.key === "cluster.url",
    );
    assert.throws(
      () => parseServiceConfig({ cluster: { url: "redis://x", state: "yes" } }),
      (e: unknown) => e instanceof ServiceConfigError && e.key === "cluster.state",
    );
    assert.throws(
      () => parseServiceConfig({ cluster: { url: "redis://x", registry: true, ttlMs: 5 } }),
      (e: unknown) => e instanceof ServiceConfigError && e.key === "cluster.ttlMs",
    );
    assert.throws(
      () => parseServiceConfig({ cluster: { url: "redis://x", fallback: "maybe" } }),
      (e: unknown) => e instanceof ServiceConfigError && e.key === "cluster.fallback",
    );
    assert.throws(
      () => parseServiceConfig({ cluster: { url: "redis://x", claimIdleMs: "1s" } }),
      (e: unknown) => e instanceof ServiceConfigError && e.key === "cluster.claimIdleMs",
    );
    assert.deepEqual(
      parseServiceConfig({
        cluster: { url: "redis://x", registry: true, name: "api", ttlMs: 5000, claimIdleMs: 900 },
      }).cluster,
      { url: "redis://x", registry: true, name: "api", ttlMs: 5000, claimIdleMs: 900 },
    );
  });
});
