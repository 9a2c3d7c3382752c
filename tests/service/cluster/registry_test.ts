import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  ClusterRegistry,
  type RegistryChange,
  RegistryTargets,
  type ServiceInstance,
} from "../../../service/cluster/registry.ts";
import { ClusterError } from "../../../service/cluster/errors.ts";
import { RedisConnection } from "../../../service/cluster/connection.ts";
import { deferred, waitFor } from "../../harness.ts";
import { type RedisServer, startRedis } from "../../fixtures/cluster/redis_server.ts";

let redis: RedisServer;
let n = 0;

describe("ClusterRegistry", () => {
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis.stop();
  });

  it("lists registered instances and reports changes to watchers", async () => {
    const prefix = `r${++n}:`;
    await using a = await ClusterRegistry.start({ url: redis.url, prefix, ttlMs: 5000 });
    await using b = await ClusterRegistry.start({ url: redis.url, prefix, ttlMs: 5000 });
    const changes: RegistryChange[] = [];
    let wake = deferred();
    const stop = await b.watch("api", (c) => {
      changes.push(c);
      wake.resolve();
    });
    assert.deepEqual(changes[0], { instances: [], added: [], removed: [], updated: [] });
    wake = deferred();
    const one = await a.register({
      id: "one",
      name: "api",
      address: "127.0.0.1",
      port: 8080,
      version: "1.0.0",
      apis: ["kvstore.get"],
    });
    await wake.wait();
    assert.deepEqual(changes.at(-1)!.added, ["one"]);
    const two = await b.register({ id: "two", name: "api", address: "127.0.0.2", port: 8081 });
    await a.register({ id: "other", name: "db", address: "127.0.0.3", port: 5432 });
    const list = await a.instances("api");
    assert.deepEqual(list.map((i) => [i.id, i.address, i.port, i.version, i.health]), [
      ["one", "127.0.0.1", 8080, "1.0.0", "up"],
      ["two", "127.0.0.2", 8081, "", "up"],
    ]);
    assert.deepEqual(list[0].apis, ["kvstore.get"]);
    await waitFor(() => changes.at(-1)!.instances.length === 2);
    wake = deferred();
    await one.update({ health: "degraded" });
    await wake.wait();
    assert.deepEqual(changes.at(-1)!.updated, ["one"]);
    assert.equal(changes.at(-1)!.instances[0].health, "degraded");
    wake = deferred();
    await two.deregister();
    await wake.wait();
    assert.deepEqual(changes.at(-1)!.removed, ["two"]);
    assert.deepEqual((await a.instances("api")).map((i) => i.id), ["one"]);
    await stop();
    assert.equal(b.getStats().watches, 0);
    assert.ok(a.getStats().heartbeats >= 3);
  });

  it("drops an instance whose heartbeats stop within the TTL, and beats again after a Redis restart", async () => {
    const own = await startRedis();
    try {
      // An instance whose connection dies stops beating, as a killed process would.
      const connection = await RedisConnection.connect({ url: own.url });
      const dying = await ClusterRegistry.start({ connection, ttlMs: 300, heartbeatMs: 50 });
      const reg = await ClusterRegistry.start({
        url: own.url,
        ttlMs: 300,
        heartbeatMs: 50,
        connectionOptions: { commandTimeoutMs: 200, reconnectMaxMs: 50 },
      });
      try {
        await reg.register({ id: "alive", name: "svc", address: "h", port: 1 });
        await dying.register({ id: "dying", name: "svc", address: "h", port: 2 });
        const gone = deferred<number>("the dying instance to be dropped");
        const stopWatch = await reg.watch("svc", (c) => {
          if (c.removed.includes("dying")) gone.resolve(Date.now());
        });
        assert.equal((await reg.instances("svc")).length, 2);
        const died = Date.now();
        await connection.close({ graceMs: 0 });
        const at = await gone.wait();
        assert.ok(at - died <= 300 + 50 + 200, `dropped ${at - died} ms after its last heartbeat`);
        assert.deepEqual((await reg.instances("svc")).map((i) => i.id), ["alive"]);
        // Redis restarts empty: the live instance's next heartbeat registers it again.
        await own.restart();
        await waitFor(async () => {
          try {
            return (await reg.instances("svc")).length === 1;
          } catch {
            return false;
          }
        }, { what: "the entry to come back after the restart" });
        await stopWatch();
      } finally {
        await reg.stop();
        await dying.stop().catch(() => {});
      }
    } finally {
      await own.stop();
    }
  });

  it("refuses bad registrations with typed errors", async () => {
    await using reg = await ClusterRegistry.start({ url: redis.url, prefix: `bad${++n}:` });
    const invalid = (e: unknown) => e instanceof ClusterError && e.code === "InvalidArgument";
    await assert.rejects(reg.register({ name: "", address: "h", port: 1 }), invalid);
    await assert.rejects(reg.register({ name: "s", address: "", port: 1 }), invalid);
    await assert.rejects(reg.register({ name: "s", address: "h", port: 70000 }), invalid);
    await assert.rejects(
      reg.register({ name: "s", address: "h", port: 1, apis: [1 as unknown as string] }),
      invalid,
    );
    await assert.rejects(
      ClusterRegistry.start({ url: redis.url, ttlMs: 100, heartbeatMs: 100 }),
      invalid,
    );
    await reg.stop();
    await assert.rejects(
      reg.instances("s"),
      (e) => e instanceof ClusterError && e.code === "Closed",
    );
  });

  it("gives round-robin targets that skip those whose circuit is open", () => {
    const targets = new RegistryTargets({ breaker: { failureThreshold: 1, timeoutMs: 60_000 } });
    const inst = (id: string): ServiceInstance => ({
      id,
      name: "s",
      address: id,
      port: 1,
      version: "",
      apis: [],
      health: "up",
      meta: {},
      registeredAt: 0,
    });
    targets.setInstances([inst("a"), inst("b"), inst("c")]);
    assert.deepEqual([1, 2, 3, 4].map(() => targets.next()!.id), ["a", "b", "c", "a"]);
    targets.recordFailure(inst("b"));
    assert.deepEqual([1, 2, 3].map(() => targets.next()!.id), ["c", "a", "c"]);
    targets.setInstances([inst("b")]);
    assert.equal(targets.next(), undefined);
  });
});
