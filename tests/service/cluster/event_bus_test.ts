import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ClusterEventBus, type WorkItemInfo } from "../../../service/cluster/event_bus.ts";
import { RedisConnection } from "../../../service/cluster/connection.ts";
import { ClusterError } from "../../../service/cluster/errors.ts";
import { deferred, waitFor } from "../../harness.ts";
import { type RedisServer, startRedis } from "../../fixtures/cluster/redis_server.ts";

let redis: RedisServer;
let n = 0;
const fast = { commandTimeoutMs: 500, reconnectMaxMs: 100 };

describe("ClusterEventBus", () => {
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis.stop();
  });

  it("broadcasts to every instance, the publisher included, through the local queue's patterns", async () => {
    const prefix = `b${++n}:`;
    await using a = await ClusterEventBus.start({ url: redis.url, prefix });
    await using b = await ClusterEventBus.start({ url: redis.url, prefix });
    const gotA: string[] = [];
    const gotB: string[] = [];
    const bDone = deferred();
    a.subscribe("orders.*", (p, topic) => {
      gotA.push(`${topic}=${JSON.stringify(p)}`);
    });
    b.subscribe("orders.#", (p, topic) => {
      gotB.push(`${topic}=${JSON.stringify(p)}`);
      if (gotB.length === 3) bDone.resolve();
    });
    assert.equal(await a.broadcast("orders.created", { id: 1 }), 2);
    await a.broadcast("other", 0);
    await b.broadcast("orders.paid", "x");
    await a.broadcast("orders.eu.paid", [1]);
    await bDone.wait();
    await waitFor(() => gotA.length === 2);
    assert.deepEqual(gotA, ['orders.created={"id":1}', 'orders.paid="x"']);
    assert.deepEqual(gotB, ['orders.created={"id":1}', 'orders.paid="x"', "orders.eu.paid=[1]"]);
    assert.equal(a.getStats().broadcastsSent, 3);
  });

  it("refuses bad topics and payloads with typed errors", async () => {
    await using a = await ClusterEventBus.start({ url: redis.url, prefix: `bad${++n}:` });
    const invalid = (e: unknown) => e instanceof ClusterError && e.code === "InvalidArgument";
    await assert.rejects(a.broadcast("", 1), invalid);
    await assert.rejects(a.broadcast("has space", 1), invalid);
    await assert.rejects(a.enqueue("t", 10n), invalid);
    await assert.rejects(a.enqueue("t", undefined), invalid);
    await assert.rejects(a.consume("t", "no" as unknown as () => void), invalid);
    await assert.rejects(
      ClusterEventBus.start({ url: redis.url, claimIdleMs: -1 }),
      invalid,
    );
    await a.stop();
    await assert.rejects(
      a.enqueue("t", 1),
      (e) => e instanceof ClusterError && e.code === "Closed",
    );
  });

  it("gives each work-queue event to one consumer of the group and acknowledges it", async () => {
    const prefix = `w${++n}:`;
    await using a = await ClusterEventBus.start({ url: redis.url, prefix, group: "svc" });
    await using b = await ClusterEventBus.start({ url: redis.url, prefix, group: "svc" });
    // Enqueued before any consumer exists: still handled.
    for (let i = 0; i < 50; i++) await a.enqueue("jobs", { i });
    const seen = new Map<number, string>();
    const all = deferred();
    const handler = (who: string) => (p: { i: number }) => {
      assert.equal(seen.has(p.i), false, `event ${p.i} handled twice`);
      seen.set(p.i, who);
      if (seen.size === 200) all.resolve();
    };
    await a.consume("jobs", handler("a"));
    await b.consume("jobs", handler("b"));
    await Promise.all(Array.from({ length: 150 }, (_, i) => b.enqueue("jobs", { i: i + 50 })));
    await all.wait();
    await waitFor(() => a.getStats().acknowledged + b.getStats().acknowledged === 200);
    await using raw = await RedisConnection.connect({ url: redis.url });
    assert.equal(
      await raw.command(["XLEN", a.streamOf("jobs")]),
      0,
      "acknowledged entries are deleted",
    );
    const groups = await raw.command(["XINFO", "GROUPS", a.streamOf("jobs")]) as unknown[][];
    assert.equal(groups[0][groups[0].indexOf("pending") + 1], 0);
  });

  it("retries an event whose handler failed, then dead-letters it after maxDeliveries", async () => {
    const prefix = `r${++n}:`;
    const errors: string[] = [];
    await using a = await ClusterEventBus.start({
      url: redis.url,
      prefix,
      claimIdleMs: 30,
      claimIntervalMs: 20,
      maxDeliveries: 3,
      onHandlerError: (e, topic, id) => errors.push(`${topic}:${id}:${(e as Error).message}`),
    });
    const infos: WorkItemInfo[] = [];
    const okDone = deferred();
    await a.consume<string>("flaky", (payload, info) => {
      infos.push(info);
      if (payload === "always-bad") throw new Error("nope");
      if (infos.filter((x) => x.id === info.id).length < 2) throw new Error("first try fails");
      okDone.resolve();
    });
    const okId = await a.enqueue("flaky", "ok-second-time");
    await okDone.wait();
    const okTries = infos.filter((x) => x.id === okId);
    assert.deepEqual(okTries.map((x) => x.redelivered), [false, true]);
    const badId = await a.enqueue("flaky", "always-bad");
    await waitFor(() => a.getStats().deadLettered === 1, {
      what: "the bad event to be dead-lettered",
    });
    assert.equal(infos.filter((x) => x.id === badId).length, 3);
    await using raw = await RedisConnection.connect({ url: redis.url });
    const dead = await raw.command([
      "XRANGE",
      `${a.streamOf("flaky")}:dead`,
      "-",
      "+",
    ]) as unknown[][];
    assert.equal(dead.length, 1);
    assert.ok((dead[0][1] as string[]).includes(badId));
    assert.equal(await raw.command(["XLEN", a.streamOf("flaky")]), 0);
    assert.ok(errors.some((e) => e.includes(badId) && e.includes("nope")));
  });

  it("claims the pending events of a consumer that died, once idle for claimIdleMs", async () => {
    const prefix = `c${++n}:`;
    await using b = await ClusterEventBus.start({
      url: redis.url,
      prefix,
      group: "svc",
      claimIdleMs: 150,
      claimIntervalMs: 50,
    });
    const stream = b.streamOf("jobs");
    await using raw = await RedisConnection.connect({ url: redis.url });
    await raw.command(["XGROUP", "CREATE", stream, "svc", "0", "MKSTREAM"]);
    for (let i = 0; i < 5; i++) await b.enqueue("jobs", i);
    // A consumer that reads and then dies: its entries stay pending under its name.
    const taken = await raw.command([
      "XREADGROUP",
      "GROUP",
      "svc",
      "dead-one",
      "STREAMS",
      stream,
      ">",
    ]);
    assert.equal(((taken as unknown[][])[0][1] as unknown[]).length, 5);
    const got: { p: number; redelivered: boolean; at: number }[] = [];
    const done = deferred();
    const t0 = Date.now();
    await b.consume<number>("jobs", (p, info) => {
      got.push({ p, redelivered: info.redelivered, at: Date.now() - t0 });
      if (got.length === 5) done.resolve();
    });
    await done.wait();
    assert.deepEqual(got.map((g) => g.p), [0, 1, 2, 3, 4]);
    assert.ok(got.every((g) => g.redelivered));
    assert.ok(
      got[0].at >= 120,
      `claimed after ${got[0].at} ms, before the entries were idle 150 ms`,
    );
    assert.equal(b.getStats().claimed, 5);
    const pending = await raw.command(["XPENDING", stream, "svc"]) as unknown[];
    assert.equal(pending[0], 0);
  });

  it("handles its own pending events first when a consumer of the same name restarts", async () => {
    const prefix = `o${++n}:`;
    await using b = await ClusterEventBus.start({
      url: redis.url,
      prefix,
      group: "svc",
      consumer: "fixed",
      claimIdleMs: 60_000,
      onHandlerError: () => {},
    });
    const stream = b.streamOf("jobs");
    await using raw = await RedisConnection.connect({ url: redis.url });
    await raw.command(["XGROUP", "CREATE", stream, "svc", "0", "MKSTREAM"]);
    for (let i = 0; i < 3; i++) await b.enqueue("jobs", i);
    // The previous life of "fixed" read them and died before acknowledging.
    await raw.command(["XREADGROUP", "GROUP", "svc", "fixed", "STREAMS", stream, ">"]);
    await b.enqueue("jobs", 3);
    const got: [number, boolean][] = [];
    const done = deferred();
    let failedOnce = false;
    await b.consume<number>("jobs", (p, info) => {
      if (p === 1 && !failedOnce) {
        failedOnce = true;
        throw new Error("fails once"); // stays pending, not retried in a loop
      }
      got.push([p, info.redelivered]);
      if (got.length === 3) done.resolve();
    });
    await done.wait();
    assert.deepEqual(got, [[0, true], [2, true], [3, false]]);
    const pending = await raw.command(["XPENDING", stream, "svc"]) as unknown[];
    assert.equal(pending[0], 1, "the failed one waits for claimIdleMs");
  });

  it("resumes broadcasts and recreates consumer groups after Redis restarts", async () => {
    const own = await startRedis();
    try {
      const a = await ClusterEventBus.start({ url: own.url, connectionOptions: fast });
      const b = await ClusterEventBus.start({ url: own.url, connectionOptions: fast });
      try {
        const heard: unknown[] = [];
        b.subscribe("ping", (p) => {
          heard.push(p);
        });
        const handled: unknown[] = [];
        await b.consume("jobs", (p) => {
          handled.push(p);
        });
        await a.enqueue("jobs", "before");
        await waitFor(() => handled.length === 1);
        await own.kill();
        await assert.rejects(
          a.enqueue("jobs", "during"),
          (e) => e instanceof ClusterError && ["Unavailable", "Timeout"].includes(e.code),
        );
        await own.restart();
        // Retry until the connections are back (the test waits on the outcome, not on time).
        await waitFor(async () => {
          try {
            await a.enqueue("jobs", "after");
            return true;
          } catch {
            return false;
          }
        }, { what: "enqueue to work again" });
        await waitFor(() => handled.includes("after"), { what: "the consumer to resume" });
        assert.ok(b.getStats().groupsRecreated >= 1);
        await waitFor(async () => {
          await a.broadcast("ping", "again");
          return heard.includes("again");
        }, { what: "broadcasts to resume" });
      } finally {
        await a.stop();
        await b.stop();
      }
    } finally {
      await own.stop();
    }
  });

  it("fails at start with an error naming the URL when Redis is down", async () => {
    await assert.rejects(
      ClusterEventBus.start({ url: "redis://127.0.0.1:1" }),
      (e) =>
        e instanceof ClusterError && e.code === "Unavailable" &&
        e.message.includes("redis://127.0.0.1:1"),
    );
  });
});
