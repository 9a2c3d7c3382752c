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

  it("keeps each entry as a JSON string key of Redis, with Redis's expiry for a TTL", async () => {
    const namespace = `layout${++ns}`;
    await using a = await RedisStateStore.open({ url: redis.url, namespace });
    a.set("Greeting", 'hé "there"\n');
    a.set("Short", "1", { ttlMs: 60_000 });
    await a.flush();
    await using raw = await RedisConnection.connect({ url: redis.url });
    const stored = await raw.command(["GET", `iora:state:{${namespace}}:greeting`]);
    assert.deepEqual(JSON.parse(String(stored)), ["Greeting", 'hé "there"\n']);
    assert.equal(await raw.command(["PTTL", `iora:state:{${namespace}}:greeting`]), -1);
    const left = Number(await raw.command(["PTTL", `iora:state:{${namespace}}:short`]));
    assert.ok(left > 0 && left <= 60_000, `PTTL ${left}`);
    // Setting again without a TTL makes it permanent.
    a.set("short", "2");
    await a.flush();
    assert.equal(await raw.command(["PTTL", `iora:state:{${namespace}}:short`]), -1);
    assert.deepEqual(
      (await raw.command(["KEYS", `iora:state:{${namespace}}:*`]) as string[]).sort(),
      [`iora:state:{${namespace}}:greeting`, `iora:state:{${namespace}}:short`],
    );
  });

  it("sends a lone write at once, and the rest of the tick behind it as one MSET", async () => {
    const namespace = `pipe${++ns}`;
    await using shared = await RedisConnection.connect({ url: redis.url });
    await using store = await RedisStateStore.open({ connection: shared, namespace });
    const sent = () => shared.getStats().commands;
    const before = sent();
    store.set("a", "1");
    assert.equal(sent(), before + 1, "a write with none on its way is sent at once");
    store.set("b", "2");
    store.set("c", "3");
    assert.equal(sent(), before + 1, "later writes of the tick wait for its end");
    await store.flush();
    assert.equal(sent(), before + 2, "and go together, as one command");
    assert.deepEqual(
      await shared.command([
        "MGET",
        ...["a", "b", "c"].map((k) => `iora:state:{${namespace}}:${k}`),
      ]),
      [["a", "1"], ["b", "2"], ["c", "3"]].map((pair) => JSON.stringify(pair)),
    );
    // Concurrent writes of one tick: one MSET, in order (the last write of a key wins).
    const burst = sent();
    for (let i = 0; i < 50; i++) store.set(`k${i % 10}`, String(i));
    await store.flush();
    assert.equal(sent(), burst + 2); // the first at once, the other 49 as one MSET
    assert.equal(
      await shared.command(["GET", `iora:state:{${namespace}}:k3`]),
      JSON.stringify(["k3", "43"]),
    );
  });

  it("flush waits for the writes made before it, not for later ones", async () => {
    const namespace = `flushes${++ns}`;
    const gate = `iora-test-gate:${namespace}`;
    await using shared = await RedisConnection.connect({ url: redis.url });
    await using store = await RedisStateStore.open({ connection: shared, namespace });
    await using other = await RedisConnection.connect({ url: redis.url });
    store.set("first", "1");
    const first = store.flush();
    // Redis answers a connection's commands in order: the blocked BLPOP holds back what the
    // store sends after it.
    const blocked = shared.command(["BLPOP", gate, "0"], { timeoutMs: 30_000 });
    store.set("second", "2");
    const second = store.flush();
    await first;
    assert.equal(store.dirty, true, "the later write is still on its way");
    assert.equal(await other.command(["EXISTS", `iora:state:{${namespace}}:second`]), 0);
    await other.command(["LPUSH", gate, "go"]);
    await blocked;
    await second;
    assert.equal(store.dirty, false);
    assert.equal(await other.command(["EXISTS", `iora:state:{${namespace}}:second`]), 1);
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
    await using raw = await RedisConnection.connect({ url: redis.url });
    await waitFor(
      async () => (await raw.command(["EXISTS", `iora:state:{${namespace}}:short`])) === 0,
      {
        what: "Redis to expire the key",
      },
    );
    // A replica opened later does not load it either.
    await using c = await RedisStateStore.open({ url: redis.url, namespace });
    assert.deepEqual(c.keys(), ["long"]);
    // A TTL given in Redis alone (no replica counts it) reaches every replica as Redis expires it.
    await raw.command(["PEXPIRE", `iora:state:{${namespace}}:long`, 50]);
    await waitFor(() => !a.has("long") && !b.has("long") && !c.has("long"), {
      what: "Redis's expiry to reach the replicas",
    });
  });

  it("converges on the value Redis kept when instances write one key concurrently", async () => {
    const namespace = `race${++ns}`;
    await using a = await RedisStateStore.open({ url: redis.url, namespace });
    await using b = await RedisStateStore.open({ url: redis.url, namespace });
    await using c = await RedisStateStore.open({ url: redis.url, namespace });
    await using raw = await RedisConnection.connect({ url: redis.url });
    const key = `iora:state:{${namespace}}:k`;
    const stores = [a, b, c];
    for (let round = 0; round < 12; round++) {
      for (let i = 0; i < 60; i++) {
        a.set("k", `a${i}`);
        b.set("K", `b${i}`);
        if (i % 7 === 0) a.remove("k");
        if (i % 11 === 0) c.set("k", `c${i}`, { ttlMs: 60_000 });
        if (i % 17 === 0) c.clear();
        // Ends the tick: many small batches, interleaved in Redis; a macrotask now and then lets
        // invalidations and re-reads arrive between writes.
        if (i % 3 === 0) await null;
        if (i % 2 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      // The last writer changes from round to round. It writes as soon as the others' writes
      // are in Redis, so that it often still waits for its re-read of them: that re-read ran
      // before its write and must not replace it (Redis tells a writer nothing of its own write).
      const last = stores[round % 3];
      await Promise.all(stores.filter((s) => s !== last).map((s) => s.flush()));
      if (round === 11) last.remove("k");
      else last.set("k", `last${round}`);
      await last.flush();
      const stored = await raw.command(["GET", key]);
      const kept = stored === null ? undefined : JSON.parse(String(stored))[1];
      await waitFor(() => stores.every((s) => s.get("k") === kept), {
        what: `every replica to hold ${kept} (${stores.map((s) => s.get("k")).join(", ")})`,
      });
    }
  });

  it("sees set, remove and clear of another instance, and leaves other namespaces alone", async () => {
    const namespace = `scope${++ns}`;
    await using a = await RedisStateStore.open({ url: redis.url, namespace });
    await using b = await RedisStateStore.open({ url: redis.url, namespace });
    // Namespaces whose names extend this one, and a plain key that looks alike.
    await using longer = await RedisStateStore.open({
      url: redis.url,
      namespace: `${namespace}:x`,
    });
    await using other = await RedisStateStore.open({ url: redis.url, namespace: `${namespace}x` });
    await using raw = await RedisConnection.connect({ url: redis.url });
    await raw.command(["SET", `iora:state:${namespace}:k`, "untouched"]);
    longer.set("k", "L");
    other.set("k", "O");
    await Promise.all([longer.flush(), other.flush()]);
    a.set("k", "1");
    a.set("j", "2");
    await a.flush();
    await waitFor(() => b.get("k") === "1" && b.get("j") === "2", { what: "b to see a's sets" });
    a.remove("j");
    await a.flush();
    await waitFor(() => !b.has("j"), { what: "b to see a's removal" });
    b.clear();
    await b.flush();
    await waitFor(() => a.size === 0, { what: "a to see b's clear" });
    assert.equal(longer.get("k"), "L");
    assert.equal(other.get("k"), "O");
    assert.deepEqual(longer.keys(), ["k"]);
    assert.equal(await raw.command(["GET", `iora:state:${namespace}:k`]), "untouched");
    assert.equal(
      JSON.parse(String(await raw.command(["GET", `iora:state:{${namespace}x}:k`])))[1],
      "O",
    );
    // A write after the clear is kept (Redis runs the clear first), here and elsewhere.
    b.clear();
    b.set("after", "1");
    await b.flush();
    await waitFor(() => a.get("after") === "1", { what: "a to see the write after the clear" });
    assert.equal(b.get("after"), "1");
    // A whole-database flush reaches the replicas as a reload.
    await raw.command(["FLUSHDB"]);
    await waitFor(() => a.size === 0 && b.size === 0 && other.size === 0, {
      what: "the replicas to follow FLUSHDB",
    });
  });

  it("skips and reports values planted under the namespace, never crashing", async () => {
    const namespace = `hostile${++ns}`;
    await using raw = await RedisConnection.connect({ url: redis.url });
    const at = (k: string) => `iora:state:{${namespace}}:${k}`;
    await raw.command(["SET", at("good"), JSON.stringify(["Good", "yes"])]);
    await raw.command(["SET", at("notjson"), "{nope"]);
    await raw.command(["SET", at("wrongkey"), JSON.stringify(["Other", "v"])]);
    await raw.command(["SET", at("shape"), JSON.stringify({ key: "shape", value: 1 })]);
    await raw.command(["HSET", at("hash"), "f", "v"]);
    await raw.command(["SET", at("number"), JSON.stringify(["number", 42])]);
    const store = await RedisStateStore.open({ url: redis.url, namespace });
    try {
      assert.deepEqual(store.toObject(), { Good: "yes" });
      assert.equal(store.getStats().badEntries, 5);
      // A value planted while the replica runs: the previous value is dropped, not kept.
      store.set("victim", "ok");
      await store.flush();
      await raw.command(["SET", at("victim"), "\u0000garbage"]);
      await waitFor(() => !store.has("victim"), { what: "the planted value to drop the entry" });
      assert.equal(store.getStats().badEntries, 6);
      store.set("victim", "again");
      await store.flush();
      assert.equal(store.get("victim"), "again");
    } finally {
      await store.close();
    }
  });

  it("refuses a second store of one namespace on a shared connection, not of two", async () => {
    const namespace = `shared${++ns}`;
    await using conn = await RedisConnection.connect({ url: redis.url });
    await using a = await RedisStateStore.open({ connection: conn, namespace });
    await assert.rejects(
      RedisStateStore.open({ connection: conn, namespace }),
      (e) => e instanceof ClusterError && e.code === "InvalidArgument",
    );
    await using b = await RedisStateStore.open({ connection: conn, namespace: `${namespace}b` });
    await using elsewhere = await RedisStateStore.open({ url: redis.url, namespace });
    await using elsewhereB = await RedisStateStore.open({
      url: redis.url,
      namespace: `${namespace}b`,
    });
    elsewhere.set("k", "1");
    elsewhereB.set("k", "2");
    await Promise.all([elsewhere.flush(), elsewhereB.flush()]);
    await waitFor(() => a.get("k") === "1" && b.get("k") === "2", {
      what: "both stores of the shared connection to see their namespace",
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
        // A write reported failed may still have reached Redis (the client sends what was
        // queued when the socket comes back, before anything the reload asks): either way the
        // replicas hold what Redis holds, never a write Redis does not have.
        await using raw = await RedisConnection.connect({ url: own.url });
        for (let i = 0; i < 5; i++) {
          const inRedis =
            (await raw.command(["EXISTS", `iora:state:{${namespace}}:during${i}`])) === 1;
          assert.equal(a.has(`during${i}`), inRedis, `a holds during${i} as Redis does`);
          await waitFor(() => b.has(`during${i}`) === inRedis, {
            what: `b to agree on during${i}`,
          });
        }
        assert.equal(b.has("before"), false, "the replica follows the restarted (empty) Redis");
        a.set("after", "2");
        await a.flush();
        await waitFor(() => b.get("after") === "2", { what: "b to see a write after the restart" });
        // Tracking is back on both: a change made in Redis by anyone reaches both replicas.
        await raw.command([
          "SET",
          `iora:state:{${namespace}}:direct`,
          JSON.stringify(["Direct", "3"]),
        ]);
        await waitFor(() => a.get("direct") === "3" && b.get("direct") === "3", {
          what: "both replicas to see a change made in the restarted Redis",
        });
      } finally {
        await a.close().catch(() => {});
        await b.close().catch(() => {});
      }
    } finally {
      await own.stop();
    }
  });
});
