import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { availableAdapters } from "../../../network/adapters.ts";
import { SharedUdpTransport } from "../../../network/shared_udp_transport.ts";
import { SyncAsyncTransport } from "../../../network/sync_async_transport.ts";
import { TransportError } from "../../../network/transport.ts";
import { deferred, withDeadline } from "../../harness.ts";
import { text, utf8 } from "../_helpers.ts";

for (const runtime of availableAdapters()) {
  describe(`SyncAsyncTransport when a send fails on the ${runtime} adapter`, () => {
    it("sendAndWait whose send is refused leaves no read behind to eat the next reply", async () => {
      const server = new SharedUdpTransport({ runtime });
      const peer = deferred<number>("first datagram");
      server.setCallbacks({ onAccept: (sid) => peer.resolve(sid) });
      const { port } = await server.listen("127.0.0.1", 0);
      const client = new SyncAsyncTransport(
        new SharedUdpTransport({ runtime, maxDatagramSize: 16 }),
        { defaultReadMode: "pull" },
      );
      try {
        const sid = await client.connect("127.0.0.1", port);
        client.send(sid, utf8("hello"));
        const peerSid = await peer.wait();
        await assert.rejects(
          client.sendAndWait(sid, new Uint8Array(17)),
          (error: unknown) => error instanceof TransportError && error.code === "DatagramTooLarge",
        );
        server.send(peerSid, utf8("pong"));
        const reply = await withDeadline(client.receive(sid, 64, { timeoutMs: 5_000 }), 6_000);
        assert.equal(reply === null ? null : text(reply), "pong");
      } finally {
        await client.stop();
        await server.stop();
      }
    });
  });
}
