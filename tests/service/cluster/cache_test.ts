import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ClusterCache } from "../../../service/cluster/cache.ts";
import { RedisConnection } from "../../../service/cluster/connection.ts";
import { ClusterError } from "../../../service/cluster/errors.ts";
import { waitFor } from "../../harness.ts";
import { type RedisServer, startRedis } from "../../fixtures/cluster/redis_server.ts";

let redis: RedisServer;
let n = 0;

describe("ClusterCache", () => {
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis.stop();
  });

  it("answers from the local level, then from Redis, and evicts on every instance on set/delete", async () => {
    const namespace = `c${++n}`;
    await using a = await ClusterCache.open<{ v: number }>({ url: redis.url, namespace });
    await using b = await ClusterCache.open<{ v: number }>({ url: redis.url, namespace });
    await a.set("k", { v: 1 });
    // A read racing with an invalidation is not kept locally: let this one arrive first.
    await waitFor(() => b.getStats().invalidations === 1);
    assert.deepEqual(await a.get("k"), { v: 1 });
    assert.equal(a.getStats().localHits, 1);
    assert.deepEqual(await b.get("k"), { v: 1 }); // from Redis, now local on b
    assert.deepEqual(await b.get("k"), { v: 1 });
    assert.deepEqual([b.getStats().remoteHits, b.getStats().localHits], [1, 1]);
    let seen = b.getStats().invalidations;
    await a.set("k", { v: 2 });
    await waitFor(() => b.getStats().invalidations > seen, { what: "b to get the invalidation" });
    assert.deepEqual(await b.get("k"), { v: 2 });
    seen = b.getStats().invalidations;
    assert.equal(await a.delete("k"), true);
    await waitFor(() => b.getStats().invalidations > seen);
    assert.equal(await b.get("k"), undefined);
    assert.equal(await a.delete("k"), false);
    assert.equal(b.getStats().misses, 1);
  });

  it("keeps entries for their TTL in Redis and loads once per key", async () => {
    const namespace = `t${++n}`;
    await using a = await ClusterCache.open<string>({ url: redis.url, namespace, ttlMs: 10_000 });
    await a.set("long", "x", 5000);
    await using raw = await RedisConnection.connect({ url: redis.url });
    const pttl = Number(await raw.command(["PTTL", `iora:cache:${namespace}:long`]));
    assert.ok(pttl > 0 && pttl <= 5000);
    await a.set("short", "x", 80);
    await waitFor(async () => (await a.get("short")) === undefined, {
      what: "the entry to expire",
    });
    let loads = 0;
    const load = async () => {
      loads++;
      await new Promise((r) => setTimeout(r, 5));
      return "loaded";
    };
    const got = await Promise.all([a.getOrLoad("k", load), a.getOrLoad("k", load)]);
    assert.deepEqual(got, ["loaded", "loaded"]);
    assert.equal(loads, 1);
    assert.equal(
      JSON.parse(String(await raw.command(["GET", `iora:cache:${namespace}:k`]))),
      "loaded",
    );
  });

  it("clears its local level after a lost subscription, and refuses bad input", async () => {
    const own = await startRedis();
    try {
      const a = await ClusterCache.open<number>({
        url: own.url,
        connectionOptions: { commandTimeoutMs: 300, reconnectMaxMs: 50 },
      });
      try {
        await a.set("k", 1);
        assert.equal(a.getStats().localSize, 1);
        await own.restart();
        await waitFor(() => a.getStats().localClears >= 1, {
          what: "the local level to be cleared",
        });
        assert.equal(a.getStats().localSize, 0);
        const invalid = (e: unknown) => e instanceof ClusterError && e.code === "InvalidArgument";
        await assert.rejects(a.set("", 1), invalid);
        await assert.rejects(a.set("k", 10n as unknown as number), invalid);
        await assert.rejects(a.set("k", 1, -5), invalid);
      } finally {
        await a.close();
      }
      await assert.rejects(a.get("k"), (e) => e instanceof ClusterError && e.code === "Closed");
    } finally {
      await own.stop();
    }
  });
});
