import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { availableAdapters } from "../../../network/adapters.ts";
import { SharedTransport } from "../../../network/shared_transport.ts";
import { TransportError } from "../../../network/transport.ts";
import { deferred, withDeadline } from "../../harness.ts";
import { Collector, text, utf8 } from "../_helpers.ts";

/** A plain TCP echo server and a client transport on `runtime`. */
async function echoPair(runtime: "deno" | "node", clientConfig = {}) {
  const server = new SharedTransport({ runtime });
  server.setCallbacks({ onData: (sid, data) => server.send(sid, data) });
  const listener = await server.listen("127.0.0.1", 0);
  const received = new Collector();
  const client = new SharedTransport({ runtime, ...clientConfig });
  client.setCallbacks({ onData: (sid, data) => received.add(sid, data) });
  return {
    server,
    client,
    listener,
    received,
    [Symbol.asyncDispose]: async () => {
      await client.stop();
      await server.stop();
    },
  };
}

for (const runtime of availableAdapters()) {
  describe(`SharedTransport races and counters on the ${runtime} adapter`, () => {
    it("counts bytesIn of open sessions after resetStats", async () => {
      await using pair = await echoPair(runtime);
      const sid = await pair.client.connect("127.0.0.1", pair.listener.port);
      pair.client.send(sid, utf8("one"));
      await pair.received.waitFor(sid, 3);
      pair.client.resetStats();
      pair.client.send(sid, utf8("two"));
      assert.equal(text(await pair.received.waitFor(sid, 6)), "onetwo");
      const stats = pair.client.getStats();
      assert.equal(stats.bytesOut, 3);
      assert.equal(stats.bytesIn, 3);
    });

    it("closeListener returns while the sessions it accepted stay open", async () => {
      await using pair = await echoPair(runtime);
      const accepted = deferred<number>("accept");
      pair.server.setCallbacks({
        onAccept: (sid) => accepted.resolve(sid),
        onData: (sid, data) => pair.server.send(sid, data),
      });
      const sid = await pair.client.connect("127.0.0.1", pair.listener.port);
      await accepted.wait();
      await withDeadline(pair.server.closeListener(pair.listener.id), 5_000, "closeListener");
      pair.client.send(sid, utf8("still here"));
      assert.equal(text(await pair.received.waitFor(sid, 10)), "still here");
    });

    it("stop() while a connect is in flight leaves no session behind", async () => {
      await using pair = await echoPair(runtime);
      const pending = pair.client.connect("127.0.0.1", pair.listener.port);
      await withDeadline(pair.client.stop(), 5_000, "stop");
      const outcome = await withDeadline(
        pending.then(() => null, (error: unknown) => error),
        5_000,
        "connect",
      );
      assert.ok(outcome instanceof TransportError, `connect resolved: ${String(outcome)}`);
      assert.equal(outcome.code, "Aborted");
      assert.equal(pair.client.getStats().sessionsCurrent, 0);
      assert.deepEqual(pair.client.sessionIds(), []);
    });

    it("leaves no listener on a long-lived AbortSignal after connects", async () => {
      await using pair = await echoPair(runtime);
      const controller = new AbortController();
      for (let i = 0; i < 3; i++) {
        await pair.client.connect("127.0.0.1", pair.listener.port, "none", {
          signal: controller.signal,
        });
      }
      assert.equal(getEventListeners(controller.signal, "abort").length, 0);
    });

    it("holds maxSessions against concurrent connects", async () => {
      await using pair = await echoPair(runtime, { maxSessions: 1 });
      const results = await withDeadline(
        Promise.allSettled([
          pair.client.connect("127.0.0.1", pair.listener.port),
          pair.client.connect("127.0.0.1", pair.listener.port),
        ]),
        5_000,
        "connects",
      );
      const fulfilled = results.filter((r) => r.status === "fulfilled");
      const rejected = results.filter((r) => r.status === "rejected");
      assert.equal(fulfilled.length, 1);
      assert.equal(rejected.length, 1);
      const error = (rejected[0] as PromiseRejectedResult).reason;
      assert.ok(error instanceof TransportError);
      assert.equal(error.code, "LimitExceeded");
      assert.equal(pair.client.getStats().sessionsCurrent, 1);
    });
  });
}
