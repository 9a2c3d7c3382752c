import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { RedisConnection, type RedisStatus } from "../../../service/cluster/connection.ts";
import { ClusterError, redactUrl } from "../../../service/cluster/errors.ts";
import { freePort, waitFor } from "../../harness.ts";
import { startRedis } from "../../fixtures/cluster/redis_server.ts";

describe("RedisConnection", () => {
  it("refuses bad URLs and options, and names the URL when Redis is down", async () => {
    const invalid = (e: unknown) => e instanceof ClusterError && e.code === "InvalidArgument";
    await assert.rejects(RedisConnection.connect({ url: "" }), invalid);
    await assert.rejects(RedisConnection.connect({ url: "not a url" }), invalid);
    await assert.rejects(RedisConnection.connect({ url: "http://127.0.0.1:1" }), invalid);
    await assert.rejects(
      RedisConnection.connect({ url: "redis://127.0.0.1:1", maxPending: 0 }),
      invalid,
    );
    const port = await freePort();
    await assert.rejects(
      RedisConnection.connect({ url: `redis://app:secret@127.0.0.1:${port}/2` }),
      (e) =>
        e instanceof ClusterError && e.code === "Unavailable" &&
        e.message.includes(`redis://app:***@127.0.0.1:${port}/2`) && !e.message.includes("secret"),
    );
    assert.equal(redactUrl("redis://:pw@h:1"), "redis://:***@h:1");
  });

  it("bounds what waits while Redis is lost, fails it with typed errors, and reconnects", async () => {
    const redis = await startRedis();
    const statuses: string[] = [];
    const conn = await RedisConnection.connect({
      url: redis.url,
      maxPending: 20,
      commandTimeoutMs: 300,
      reconnectMinMs: 20,
      reconnectMaxMs: 100,
    });
    try {
      conn.onStatus((status: RedisStatus, role) => statuses.push(`${role}:${status}`));
      await conn.subscribe("ch", () => {});
      assert.equal(await conn.command(["SET", "k", "v"]), "OK");
      await redis.kill();
      await waitFor(() => conn.status === "reconnecting", { what: "the loss to be noticed" });
      const waiting = Array.from({ length: 20 }, () => conn.command(["GET", "k"]));
      await assert.rejects(
        conn.command(["GET", "k"]),
        (e) => e instanceof ClusterError && e.code === "QueueFull" && e.url === redis.url,
      );
      const results = await Promise.allSettled(waiting);
      assert.ok(
        results.every((r) =>
          r.status === "rejected" && r.reason instanceof ClusterError &&
          ["Timeout", "Unavailable"].includes(r.reason.code)
        ),
      );
      assert.equal(conn.getStats().pending, 0);
      assert.equal(conn.getStats().rejectedQueueFull, 1);
      await redis.restart();
      await waitFor(() => conn.status === "ready", { what: "the reconnect" });
      // Redis came back empty and forgot the scripts: script() loads them again.
      const script = { source: "return redis.call('INCRBY', KEYS[1], ARGV[1])" };
      assert.equal(await conn.script(script, ["n"], [2]), 2);
      await redis.restart();
      await waitFor(async () => {
        try {
          return (await conn.script(script, ["n"], [3])) === 3;
        } catch {
          return false;
        }
      }, { what: "the script to run after another restart" });
      await waitFor(() => statuses.includes("subscriber:ready"));
      assert.ok(statuses.includes("command:reconnecting") && statuses.includes("command:ready"));
      assert.ok(conn.getStats().reconnects >= 2);
      await assert.rejects(
        conn.command(["NOSUCHCOMMAND"]),
        (e) => e instanceof ClusterError && e.code === "Protocol",
      );
    } finally {
      await conn.close();
      await conn.close();
      await redis.stop();
    }
    await assert.rejects(
      conn.command(["PING"]),
      (e) => e instanceof ClusterError && e.code === "Closed",
    );
  });
});
