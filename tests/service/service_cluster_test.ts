// IoraService with [cluster]: two instances share their state through a real
// redis-server, /health reports Redis, and an unreachable Redis at start is a
// clear error naming the URL.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { IoraService } from "../../service/iora_service.ts";
import { parseServiceConfig } from "../../service/config.ts";
import { ServiceConfigError } from "../../service/errors.ts";
import { freePort, type TempDir, tempDir, waitFor } from "../harness.ts";
import { type RedisServer, startRedis } from "../fixtures/cluster/redis_server.ts";
import { serviceConfig } from "./_fixtures.ts";

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
  });
});
