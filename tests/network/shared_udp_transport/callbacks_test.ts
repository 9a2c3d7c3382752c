import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { availableAdapters } from "../../../network/adapters.ts";
import { SharedUdpTransport } from "../../../network/shared_udp_transport.ts";
import { TransportError } from "../../../network/transport.ts";
import { deferred, withDeadline } from "../../harness.ts";
import { text, utf8 } from "../_helpers.ts";

for (const runtime of availableAdapters()) {
  describe(`SharedUdpTransport with throwing callbacks on the ${runtime} adapter`, () => {
    it("a throwing onAccept drops that peer and the socket keeps receiving", async () => {
      const server = new SharedUdpTransport({ runtime });
      let accepts = 0;
      const failed = deferred<unknown>("onError");
      const second = deferred<string>("second peer's datagram");
      server.setCallbacks({
        onAccept: () => {
          if (++accepts === 1) throw new Error("boom in onAccept");
        },
        onData: (_sid, data) => second.resolve(text(data)),
        onError: (error) => failed.resolve(error),
      });
      const { port } = await server.listen("127.0.0.1", 0);
      const client = new SharedUdpTransport({ runtime });
      try {
        const a = await client.connect("127.0.0.1", port);
        client.send(a, utf8("first"));
        const error = await failed.wait(5_000);
        assert.ok(error instanceof TransportError, String(error));
        assert.equal((error.cause as Error).message, "boom in onAccept");
        assert.equal(server.getStats().sessionsCurrent, 0);
        const b = await client.connect("127.0.0.1", port);
        client.send(b, utf8("second"));
        assert.equal(await second.wait(5_000), "second");
      } finally {
        await client.stop();
        await server.stop();
      }
    });

    it("a throwing onClose is reported, and stop() still ends every session", async () => {
      const client = new SharedUdpTransport({ runtime });
      const errors: unknown[] = [];
      client.setCallbacks({
        onClose: () => {
          throw new Error("boom in onClose");
        },
        onError: (error) => errors.push(error),
      });
      try {
        await client.connect("127.0.0.1", 9);
        await client.connect("127.0.0.1", 9);
        await withDeadline(client.stop(), 5_000, "stop");
        assert.deepEqual(client.sessionIds(), []);
        assert.equal(errors.length, 2);
      } finally {
        await client.stop();
      }
    });
  });
}
