import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ClusterLocks, type Lease } from "../../../service/cluster/locks.ts";
import { RedisConnection } from "../../../service/cluster/connection.ts";
import { ClusterError } from "../../../service/cluster/errors.ts";
import { deferred, waitFor } from "../../harness.ts";
import { type RedisServer, startRedis } from "../../fixtures/cluster/redis_server.ts";

let redis: RedisServer;
let n = 0;

describe("ClusterLocks", () => {
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis.stop();
  });

  it("gives a lock to one holder at a time, with growing fencing tokens", async () => {
    const prefix = `l${++n}:`;
    await using a = await ClusterLocks.start({ url: redis.url, prefix, owner: "a" });
    await using b = await ClusterLocks.start({ url: redis.url, prefix, owner: "b" });
    const first = await a.acquire("job", { ttlMs: 10_000 });
    assert.ok(first);
    assert.equal(await b.acquire("job"), undefined);
    assert.deepEqual(await b.holder("job"), { owner: "a", token: first.token });
    assert.equal(await first.renew(), true);
    assert.equal(await first.release(), true);
    assert.equal(await b.holder("job"), undefined);
    const second = await b.acquire("job");
    assert.ok(second && second.token > first.token);
    assert.equal(await first.release(), false, "a released lease cannot free the next holder's");
    assert.equal(await b.holder("job").then((h) => h?.owner), "b");
    assert.equal(a.getStats().acquired, 1);
    assert.equal(b.getStats().contended, 1);
    await second.release();
  });

  it("lets another holder take over only after the lease expired, and refuses the old token", async () => {
    const prefix = `t${++n}:`;
    await using a = await ClusterLocks.start({ url: redis.url, prefix, owner: "a" });
    await using b = await ClusterLocks.start({ url: redis.url, prefix, owner: "b" });
    const t0 = Date.now();
    const old = await a.acquire("singleton", { ttlMs: 300 }) as Lease;
    // a "hangs": no renewal. b waits for the lock.
    const next = await b.acquire("singleton", { ttlMs: 10_000, waitMs: 5000, retryMs: 20 });
    const waited = Date.now() - t0;
    assert.ok(next, "b got the lock after the lease ran out");
    assert.ok(waited >= 280, `taken over after ${waited} ms, before the 300 ms lease expired`);
    assert.ok(next.token > old.token);
    // a wakes up: everything it tries with its old token is refused.
    assert.equal(await old.renew(), false);
    await assert.rejects(
      a.fenced(old, ["SET", `${prefix}report`, "from-a"]),
      (e) => e instanceof ClusterError && e.code === "StaleToken",
    );
    assert.equal(await b.fenced(next, ["SET", `${prefix}report`, "from-b"]), "OK");
    await using raw = await RedisConnection.connect({ url: redis.url });
    assert.equal(await raw.command(["GET", `${prefix}report`]), "from-b");
    assert.equal(a.getStats().staleTokens, 1);
    await assert.rejects(
      a.acquire("bad name"),
      (e) => e instanceof ClusterError && e.code === "InvalidArgument",
    );
    await assert.rejects(
      a.acquire("x", { ttlMs: 0 }),
      (e) => e instanceof ClusterError && e.code === "InvalidArgument",
    );
  });

  it("elects one leader, and hands over when it leaves", async () => {
    const prefix = `e${++n}:`;
    const events: string[] = [];
    await using a = await ClusterLocks.start({ url: redis.url, prefix, owner: "a" });
    await using b = await ClusterLocks.start({ url: redis.url, prefix, owner: "b" });
    const la = await a.leader("L", {
      ttlMs: 1000,
      onElected: () => events.push("a elected"),
      onLost: (r) => events.push(`a ${r}`),
    });
    const bElected = deferred<Lease>();
    const lb = await b.leader("L", {
      ttlMs: 1000,
      renewIntervalMs: 50,
      onElected: (lease) => {
        events.push("b elected");
        bElected.resolve(lease);
      },
    });
    assert.equal(la.isLeader, true);
    assert.equal(lb.isLeader, false);
    await la.stop();
    const lease = await bElected.wait();
    assert.ok(lease.token > 0);
    assert.equal(lb.isLeader, true);
    assert.deepEqual(events, ["a elected", "a stopped", "b elected"]);
    assert.equal(b.getStats().elections, 1);
    await lb.stop();
    assert.equal(await a.holder("L"), undefined);
  });

  it("ends leadership when Redis is lost for longer than the lease", async () => {
    const own = await startRedis();
    try {
      const a = await ClusterLocks.start({
        url: own.url,
        connectionOptions: { commandTimeoutMs: 2000, reconnectMaxMs: 50 },
      });
      try {
        const lost = deferred<string>();
        const elected: number[] = [];
        const l = await a.leader("L", {
          ttlMs: 400,
          renewIntervalMs: 100,
          onElected: (lease) => elected.push(lease.token),
          onLost: (reason) => lost.resolve(reason),
        });
        assert.equal(l.isLeader, true);
        const t0 = Date.now();
        await own.kill();
        assert.equal(await lost.wait(), "expired");
        assert.ok(Date.now() - t0 <= 1500, "leadership ended near the lease's end");
        assert.equal(l.isLeader, false);
        await own.restart();
        await waitFor(() => l.isLeader, { what: "re-election after Redis came back" });
        assert.equal(elected.length, 2);
        assert.ok(elected[1] > elected[0], "tokens grow across a Redis that lost its data");
        await l.stop();
      } finally {
        await a.stop();
      }
    } finally {
      await own.stop();
    }
  });
});
