import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { availableAdapters } from "../../../network/adapters.ts";
import { SharedTransport } from "../../../network/shared_transport.ts";
import { type CloseReason, TransportError } from "../../../network/transport.ts";
import { deferred, withDeadline } from "../../harness.ts";
import { Collector, text, utf8 } from "../_helpers.ts";

for (const runtime of availableAdapters()) {
  describe(`SharedTransport with throwing callbacks on the ${runtime} adapter`, () => {
    it("a throwing onAccept closes that session and the listener keeps serving", async () => {
      const server = new SharedTransport({ runtime });
      let accepts = 0;
      const failed = deferred<TransportError>("onError");
      server.setCallbacks({
        onAccept: () => {
          if (++accepts === 1) throw new Error("boom in onAccept");
        },
        onData: (sid, data) => server.send(sid, data),
        onError: (error) => failed.resolve(error as TransportError),
      });
      const { port } = await server.listen("127.0.0.1", 0);
      const client = new SharedTransport({ runtime });
      const received = new Collector();
      const closed = deferred<CloseReason>("first session closed");
      client.setCallbacks({
        onData: (sid, data) => received.add(sid, data),
        onClose: (_sid, reason) => closed.resolve(reason),
      });
      try {
        await client.connect("127.0.0.1", port);
        const error = await failed.wait(5_000);
        assert.ok(error instanceof TransportError);
        assert.equal((error.cause as Error).message, "boom in onAccept");
        assert.equal(await closed.wait(5_000), "remote");
        const sid = await withDeadline(client.connect("127.0.0.1", port), 5_000, "connect");
        client.send(sid, utf8("again"));
        assert.equal(text(await received.waitFor(sid, 5)), "again");
      } finally {
        await client.stop();
        await server.stop();
      }
    });

    it("a throwing onConnect fails the connect and leaves no session", async () => {
      const server = new SharedTransport({ runtime });
      const { port } = await server.listen("127.0.0.1", 0);
      const client = new SharedTransport({ runtime });
      const closed = deferred<CloseReason>("session closed");
      client.setCallbacks({
        onConnect: () => {
          throw new Error("boom in onConnect");
        },
        onClose: (_sid, reason) => closed.resolve(reason),
      });
      try {
        await assert.rejects(client.connect("127.0.0.1", port), (error: unknown) => {
          assert.ok(error instanceof TransportError, String(error));
          assert.equal((error.cause as Error).message, "boom in onConnect");
          return true;
        });
        assert.equal(await closed.wait(5_000), "error");
        assert.deepEqual(client.sessionIds(), []);
      } finally {
        await client.stop();
        await server.stop();
      }
    });

    it("a throwing onClose is reported, and stop() still closes every session", async () => {
      const server = new SharedTransport({ runtime });
      const accepted = deferred<void>("two accepts");
      let accepts = 0;
      server.setCallbacks({
        onAccept: () => {
          if (++accepts === 2) accepted.resolve();
        },
      });
      const { port } = await server.listen("127.0.0.1", 0);
      const client = new SharedTransport({ runtime });
      const errors: unknown[] = [];
      client.setCallbacks({
        onClose: () => {
          throw new Error("boom in onClose");
        },
        onError: (error) => errors.push(error),
      });
      try {
        await client.connect("127.0.0.1", port);
        await client.connect("127.0.0.1", port);
        await accepted.wait(5_000);
        await withDeadline(client.stop(), 5_000, "stop");
        assert.deepEqual(client.sessionIds(), []);
        assert.equal(errors.length, 2);
      } finally {
        await client.stop();
        await server.stop();
      }
    });
  });
}
