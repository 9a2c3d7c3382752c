import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { availableAdapters } from "../../../network/adapters.ts";
import { SharedTransport } from "../../../network/shared_transport.ts";
import type { CloseReason } from "../../../network/transport.ts";
import { deferred, withDeadline } from "../../harness.ts";
import { patternBytes } from "../_helpers.ts";

// On Node one large write (or one writev of all queued chunks) keeps writableLength put until it
// is done; the adapter's writeProgress follows libuv's own queue, which shrinks as bytes go out.
for (const runtime of availableAdapters()) {
  describe(`idle timeout against a slow reader on the ${runtime} adapter`, () => {
    const size = 32 * 1024 * 1024;
    for (const piece of [65_536, size]) {
      it(`keeps a session whose queued bytes are still being written (${piece}-byte sends)`, async () => {
        const payload = patternBytes(size, 3);
        const server = new SharedTransport({ runtime, idleTimeoutMs: 1_000 });
        const serverClosed = deferred<CloseReason>("server close");
        server.setCallbacks({
          // Queue everything at once: from here on only the write queue moves.
          onAccept: (sid) => {
            for (let at = 0; at < size; at += piece) {
              server.send(sid, payload.subarray(at, at + piece));
            }
          },
          onClose: (_sid, reason) => serverClosed.resolve(reason),
        });
        const { port } = await server.listen("127.0.0.1", 0);
        const client = new SharedTransport({ runtime, readBufferSize: 16 * 1024 });
        const done = deferred<number>("all bytes or a close");
        let received = 0;
        const timers = new Set<ReturnType<typeof setTimeout>>();
        client.setCallbacks({
          // A slow reader: a pause after every read, so the transfer outlasts the idle limit.
          onData: (sid, data) => {
            received += data.length;
            if (received >= size) return done.resolve(received);
            client.pauseReading(sid);
            const timer = setTimeout(() => {
              timers.delete(timer);
              client.resumeReading(sid);
            }, 2);
            timers.add(timer);
          },
          onClose: () => done.resolve(received),
        });
        try {
          await client.connect("127.0.0.1", port);
          assert.equal(await withDeadline(done.wait(60_000), 60_000, "transfer"), size);
          assert.notEqual(server.getStats().closed > 0 ? await serverClosed.wait() : "", "idle");
        } finally {
          for (const t of timers) clearTimeout(t);
          await client.stop();
          await server.stop();
        }
      });
    }
  });
}
