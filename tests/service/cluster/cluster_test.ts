import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ClusterServices } from "../../../service/cluster/cluster.ts";
import { ClusterError } from "../../../service/cluster/errors.ts";
import { deferred, freePort, waitFor } from "../../harness.ts";
import { startRedis } from "../../fixtures/cluster/redis_server.ts";

describe("ClusterServices", () => {
  it("starts the configured backends on one connection and reports health", async () => {
    const redis = await startRedis();
    try {
      const options = {
        url: redis.url,
        prefix: "app:",
        connection: { commandTimeoutMs: 300, reconnectMaxMs: 50 },
        state: { namespace: "s" },
        cache: {},
        events: { group: "g" },
        locks: {},
        registry: { ttlMs: 2000 },
      };
      const a = await ClusterServices.start(options);
      const b = await ClusterServices.start({ ...options, cache: undefined, locks: undefined });
      try {
        assert.equal(b.cache, undefined);
        assert.equal(b.locks, undefined);
        a.state!.set("k", "v");
        await a.state!.flush();
        await waitFor(() => b.state!.get("k") === "v");
        const heard = deferred<unknown>();
        b.events!.subscribe("hello", (p) => heard.resolve(p));
        await a.events!.broadcast("hello", 1);
        assert.equal(await heard.wait(), 1);
        await a.registry!.register({ name: "svc", address: "h", port: 1 });
        assert.equal((await b.registry!.instances("svc")).length, 1);
        assert.ok((await a.locks!.acquire("x"))!.token > 0);
        assert.deepEqual(a.health(), { status: "ok", redis: "ready", url: redis.url });
        assert.deepEqual(Object.keys(a.getStats()).sort(), [
          "cache",
          "connection",
          "events",
          "locks",
          "registry",
          "state",
        ]);
        await redis.kill();
        await waitFor(() => a.health().status === "degraded");
        await redis.restart();
        await waitFor(() => a.health().status === "ok");
      } finally {
        await a.stop();
        await b.stop();
      }
      assert.equal(a.health().status, "down");
    } finally {
      await redis.stop();
    }
  });

  it("fails with the URL when Redis is down at start", async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    await assert.rejects(
      ClusterServices.start({ url, state: {} }),
      (e) => e instanceof ClusterError && e.code === "Unavailable" && e.message.includes(url),
    );
  });
});
