import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { availableAdapters } from "../../../network/adapters.ts";
import { SharedTransport } from "../../../network/shared_transport.ts";
import { deferred, withDeadline } from "../../harness.ts";

for (const runtime of availableAdapters()) {
  describe(`backpressure 'wait' with a small highWaterMark on the ${runtime} adapter`, () => {
    it("settles sendAsync once a queue over the mark is written out", async () => {
      const sink = new SharedTransport({ runtime });
      const accepted = deferred<number>("accept");
      let received = 0;
      const all = deferred<void>("all bytes at the sink");
      const chunk = new Uint8Array(4096);
      let expected = Number.POSITIVE_INFINITY;
      sink.setCallbacks({
        onAccept: (sid) => {
          sink.pauseReading(sid);
          accepted.resolve(sid);
        },
        onData: (_sid, data) => {
          received += data.length;
          if (received >= expected) all.resolve();
        },
      });
      const { port } = await sink.listen("127.0.0.1", 0);
      const client = new SharedTransport({ runtime, highWaterMark: 100 });
      try {
        const sid = await client.connect("127.0.0.1", port);
        const peer = await accepted.wait();
        // Fill the socket buffers until bytes stay queued in the transport.
        let sent = 0;
        while (client.writeQueueSize(sid) === 0 && sent < 64 * 1024 * 1024) {
          client.send(sid, chunk);
          sent += chunk.length;
        }
        assert.ok(client.writeQueueSize(sid) > 100, "nothing queued");
        const settled = client.sendAsync(sid, chunk);
        sent += chunk.length;
        expected = sent;
        sink.resumeReading(peer);
        await withDeadline(all.wait(20_000), 20_000, "sink");
        await withDeadline(settled, 5_000, "sendAsync to settle");
        assert.equal(received, sent);
      } finally {
        await client.stop();
        await sink.stop();
      }
    });
  });
}
