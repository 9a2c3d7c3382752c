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

  it("send calls back once with the reply or a typed error, never synchronously", async () => {
    const redis = await startRedis();
    const conn = await RedisConnection.connect({ url: redis.url, maxPending: 2 });
    try {
      const outcome = (args: (string | number)[], options?: { timeoutMs?: number }) => {
        let calls = 0;
        let sync = true;
        const done = new Promise<[ClusterError | undefined, unknown]>((resolve) =>
          conn.send(args, (error, reply) => {
            calls++;
            assert.equal(sync, false, "called back synchronously");
            resolve([error, reply]);
          }, options)
        );
        sync = false;
        return done.then(async (result) => {
          await new Promise((r) => setTimeout(r, 0)); // a second call would have come by now
          assert.equal(calls, 1);
          return result;
        });
      };
      assert.deepEqual(await outcome(["SET", "n", 41]), [undefined, "OK"]);
      assert.deepEqual(await outcome(["INCR", "n"]), [undefined, 42]);
      const [refused] = await outcome(["INCR", "no", "such", "arity"]);
      assert.ok(refused instanceof ClusterError && refused.code === "Protocol");
      // maxPending 2: two blocked commands fill it; a third fails at once with QueueFull, the
      // blocked ones with Timeout when their deadline passes.
      const blocked = [
        outcome(["BLPOP", "never", "0"], { timeoutMs: 200 }),
        outcome(["BLPOP", "never", "0"], { timeoutMs: 200 }),
      ];
      const [full] = await outcome(["PING"]);
      assert.ok(full instanceof ClusterError && full.code === "QueueFull");
      for (const [error] of await Promise.all(blocked)) {
        assert.ok(error instanceof ClusterError && error.code === "Timeout");
      }
      // A command behind one that waits longer (the socket is still blocked) times out on its
      // own deadline; the one waiting longer ends with the connection.
      const longer = outcome(["PING"], { timeoutMs: 60_000 });
      const [behind] = await outcome(["PING"], { timeoutMs: 100 });
      assert.ok(behind instanceof ClusterError && behind.code === "Timeout");
      await conn.close({ graceMs: 0 });
      const [ended] = await longer;
      assert.ok(ended instanceof ClusterError && ended.code === "Closed", String(ended));
      const [closed] = await outcome(["PING"]);
      assert.ok(closed instanceof ClusterError && closed.code === "Closed");
    } finally {
      await conn.close({ graceMs: 0 });
      await redis.stop();
    }
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
  it("a command that timed out while Redis was away never runs after the reconnect", async () => {
    const redis = await startRedis();
    const conn = await RedisConnection.connect({
      url: redis.url,
      commandTimeoutMs: 200,
      reconnectMinMs: 20,
      reconnectMaxMs: 100,
    });
    try {
      await redis.kill();
      await waitFor(() => conn.status === "reconnecting", { what: "the loss to be noticed" });
      await assert.rejects(
        conn.command(["SET", "ghost", "1"]),
        (e) => e instanceof ClusterError && ["Timeout", "Unavailable"].includes(e.code),
      );
      await redis.restart();
      await waitFor(() => conn.status === "ready", { what: "the reconnect" });
      // Reported as failed, so it must not have happened: the queue was flushed ahead of this.
      assert.equal(await conn.command(["GET", "ghost"]), null);
    } finally {
      await conn.close();
      await redis.stop();
    }
  });

  it("tracks prefixes: reports others' changes and expiry, not its own, and resyncs after a restart", async () => {
    const redis = await startRedis();
    const conn = await RedisConnection.connect({ url: redis.url, reconnectMaxMs: 100 });
    const other = await RedisConnection.connect({ url: redis.url, reconnectMaxMs: 100 });
    try {
      const heard: (string | null)[] = [];
      let resyncs = 0;
      const stop = await conn.track("t:a:", {
        invalidated: (key) => heard.push(key),
        resync: () => resyncs++,
      });
      await assert.rejects(
        conn.track("t:a:b:", { invalidated() {}, resync() {} }),
        (e) => e instanceof ClusterError && e.code === "InvalidArgument",
      );
      await assert.rejects(
        conn.track("t:", { invalidated() {}, resync() {} }),
        (e) => e instanceof ClusterError && e.code === "InvalidArgument",
      );
      await conn.command(["SET", "t:a:own", "1"]); // NOLOOP: not reported back
      await other.command(["SET", "t:a:x", "1"]);
      await other.command(["SET", "t:b:x", "1"]); // another prefix
      await other.command(["SET", "t:a:ttl", "1", "PX", "30"]);
      await waitFor(() => heard.filter((k) => k === "t:a:ttl").length === 2, {
        what: "the set and the expiry of t:a:ttl to be reported",
      });
      assert.deepEqual(heard, ["t:a:x", "t:a:ttl", "t:a:ttl"]);
      await redis.restart();
      await waitFor(() => resyncs >= 1, { what: "tracking to be set up again" });
      await waitFor(async () => {
        try {
          await other.command(["SET", "t:a:after", "1"]);
          return heard.includes("t:a:after");
        } catch {
          return false;
        }
      }, { what: "a change after the restart to be reported" });
      await stop();
      heard.length = 0;
      await other.command(["SET", "t:a:y", "1"]);
      await other.command(["SET", "t:a:sentinel", "1"]);
      assert.equal(await other.command(["GET", "t:a:sentinel"]), "1");
      // Nothing is reported once stopped (the prefix may be tracked again).
      const again: string[] = [];
      await conn.track("t:a:", { invalidated: (k) => k && again.push(k), resync() {} });
      await other.command(["SET", "t:a:z", "1"]);
      await waitFor(() => again.includes("t:a:z"));
      assert.deepEqual(heard, []);
    } finally {
      await other.close();
      await conn.close();
      await redis.stop();
    }
  });
});
