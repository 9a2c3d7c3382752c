import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { RedisStateStore } from "../../../service/cluster/state_store.ts";
import { RedisConnection } from "../../../service/cluster/connection.ts";
import { ClusterError } from "../../../service/cluster/errors.ts";
import { StateStoreError } from "../../../core/state_store.ts";
import { freePort, waitFor } from "../../harness.ts";
import { type RedisServer, startRedis } from "../../fixtures/cluster/redis_server.ts";

let redis: RedisServer;
let ns = 0;
const fast = { commandTimeoutMs: 400, reconnectMaxMs: 100 };

describe("RedisStateStore", () => {
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis.stop();
  });

  it("shares keys between instances, case-insensitively, and loads them at open", async () => {
    const namespace = `share${++ns}`;
    await using a = await RedisStateStore.open({ url: redis.url, namespace });
    await using b = await RedisStateStore.open({ url: redis.url, namespace });
    a.set("Session.User", "ada");
    a.set("session.role", "admin");
    a.set("other", "x");
    assert.equal(a.get("SESSION.USER"), "ada"); // read-your-writes, before any round trip
    assert.equal(a.dirty, true);
    await a.flush();
    assert.equal(a.dirty, false);
    await waitFor(() => b.size === 3, { what: "b to see a's writes" });
    assert.equal(b.get("session.user"), "ada");
    assert.deepEqual(b.findKeysWithPrefix("SESSION.").sort(), ["Session.User", "session.role"]);
    assert.equal(b.remove("OTHER"), true);
    await b.flush();
    await waitFor(() => !a.has("other"), { what: "a to see b's removal" });
    await using c = await RedisStateStore.open({ url: redis.url, namespace });
    assert.deepEqual(c.toObject(), { "Session.User": "ada", "session.role": "admin" });
    c.clear();
    await c.flush();
    await waitFor(() => a.size === 0 && b.size === 0, { what: "the clear to reach a and b" });
    assert.ok(b.getStats().remoteUpdates >= 2);
    // Another namespace sees none of it.
    await using d = await RedisStateStore.open({ url: redis.url, namespace: `${namespace}x` });
    a.set("k", "v");
    await a.flush();
    await waitFor(() => b.has("k"));
    assert.equal(d.has("k"), false);
  });

  it("keeps values as JSON in a namespaced hash of Redis", async () => {
    const namespace = `layout${++ns}`;
    await using a = await RedisStateStore.open({ url: redis.url, namespace });
    a.set("Greeting", 'hé "there"\n');
    await a.flush();
    await using raw = await RedisConnection.connect({ url: redis.url });
    const stored = await raw.command(["HGET", `iora:state:${namespace}`, "greeting"]);
    assert.deepEqual(JSON.parse(String(stored)), ["Greeting", 'hé "there"\n']);
  });

  it("expires entries with a TTL on every instance and in Redis", async () => {
    const namespace = `ttl${++ns}`;
    await using a = await RedisStateStore.open({ url: redis.url, namespace });
    await using b = await RedisStateStore.open({ url: redis.url, namespace });
    a.set("short", "1", { ttlMs: 80 });
    a.set("long", "2");
    await a.flush();
    await waitFor(() => b.has("long"));
    assert.equal(b.get("short"), "1");
    await waitFor(() => !a.has("short") && !b.has("short"), { what: "the entry to expire" });
    assert.deepEqual(b.keys(), ["long"]);
    // A replica opened later does not load it either, and the load removed it from Redis.
    await using c = await RedisStateStore.open({ url: redis.url, namespace });
    assert.deepEqual(c.keys(), ["long"]);
    await using raw = await RedisConnection.connect({ url: redis.url });
    assert.equal(await raw.command(["HEXISTS", `iora:state:${namespace}`, "short"]), 0);
    // Setting again without a TTL makes it permanent.
    a.set("long", "3", { ttlMs: 60_000 });
    a.set("long", "4");
    await a.flush();
    assert.equal(await raw.command(["HEXISTS", `iora:state:${namespace}:ttl`, "long"]), 0);
  });

  it("converges on the value Redis kept when two instances write one key concurrently", async () => {
    const namespace = `race${++ns}`;
    await using a = await RedisStateStore.open({ url: redis.url, namespace });
    await using b = await RedisStateStore.open({ url: redis.url, namespace });
    for (let i = 0; i < 300; i++) {
      a.set("k", `a${i}`);
      b.set("k", `b${i}`);
      if (i % 7 === 0) a.remove("k");
      if (i % 3 === 0) await null; // ends the tick: many small batches, interleaved in Redis
    }
    await Promise.all([a.flush(), b.flush()]);
    await using raw = await RedisConnection.connect({ url: redis.url });
    const kept = JSON.parse(String(await raw.command(["HGET", `iora:state:${namespace}`, "k"])))[1];
    await waitFor(() => a.get("k") === kept && b.get("k") === kept, {
      what: `both replicas to hold ${kept} (a: ${a.get("k")}, b: ${b.get("k")})`,
    });
  });

  it("refuses bad input with typed errors", async () => {
    await assert.rejects(
      RedisStateStore.open({ url: redis.url, namespace: "has space" }),
      (e) => e instanceof ClusterError && e.code === "InvalidArgument",
    );
    await assert.rejects(
      RedisStateStore.open({ url: redis.url, maxPendingWrites: 0 }),
      (e) => e instanceof ClusterError && e.code === "InvalidArgument",
    );
    await assert.rejects(
      RedisStateStore.open({ url: "http://127.0.0.1:1" }),
      (e) => e instanceof ClusterError && e.code === "InvalidArgument",
    );
    const store = await RedisStateStore.open({ url: redis.url, namespace: `bad${++ns}` });
    assert.throws(
      () => store.set("k", 1 as unknown as string),
      (e) => e instanceof StateStoreError && e.code === "InvalidValue",
    );
    assert.throws(
      () => store.set("k", "v", { ttlMs: 0 }),
      (e) => e instanceof ClusterError && e.code === "InvalidArgument",
    );
    assert.equal(store.has("k"), false);
    await store.close();
    await store.close();
    assert.throws(
      () => store.set("k", "v"),
      (e) => e instanceof ClusterError && e.code === "Closed",
    );
  });

  it("fails at open with an error naming the URL when Redis is down", async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    await assert.rejects(
      RedisStateStore.open({ url, namespace: "down" }),
      (e) =>
        e instanceof ClusterError && e.code === "Unavailable" && e.message.includes(url) &&
        e.url === url,
    );
  });

  it("bounds writes while Redis is lost, reports them, and resumes after a restart", async () => {
    const own = await startRedis();
    try {
      const namespace = "outage";
      const errors: ClusterError[] = [];
      const a = await RedisStateStore.open({
        url: own.url,
        namespace,
        connectionOptions: fast,
        maxPendingWrites: 5,
        onWriteError: (e) => errors.push(e),
      });
      const b = await RedisStateStore.open({ url: own.url, namespace, connectionOptions: fast });
      try {
        a.set("before", "1");
        await a.flush();
        await waitFor(() => b.has("before"));
        await own.kill();
        for (let i = 0; i < 5; i++) a.set(`during${i}`, "x"); // applied locally, queued
        assert.equal(a.get("during0"), "x");
        assert.throws(
          () => a.set("one-too-many", "x"),
          (e) => e instanceof ClusterError && e.code === "QueueFull" && e.message.includes(own.url),
        );
        assert.equal(a.has("one-too-many"), false);
        await assert.rejects(
          a.flush(),
          (e) => e instanceof ClusterError && e.code === "WriteFailed" && e.url === own.url,
        );
        assert.ok(errors.length >= 1); // one per batch
        assert.equal(a.getStats().writeErrors, 5);
        assert.equal(a.getStats().pendingWrites, 0);
        await own.restart(); // empty: no persistence
        // Subscriptions resume: a write made after the restart reaches b.
        await waitFor(() => a.getStats().reloads >= 1 && b.getStats().reloads >= 1, {
          what: "both replicas to reload after the restart",
        });
        assert.equal(a.has("during0"), false, "a write Redis never got is not kept");
        assert.equal(b.has("before"), false, "the replica follows the restarted (empty) Redis");
        a.set("after", "2");
        await a.flush();
        await waitFor(() => b.get("after") === "2", { what: "b to see a write after the restart" });
      } finally {
        await a.close().catch(() => {});
        await b.close().catch(() => {});
      }
    } finally {
      await own.stop();
    }
  });
});
