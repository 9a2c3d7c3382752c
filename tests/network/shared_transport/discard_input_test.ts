// A lingering close reads and drops what a refused client still sends. Every byte must still be
// read and reported (the owner watches for quiet, and an unread socket answers with a reset), but
// where the adapter owns its read buffers (Deno) those reads must not cost memory of their own:
// they share one scratch buffer. Before `discardInput`, views stay owned by their receiver.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { availableAdapters } from "../../../network/adapters.ts";
import { SharedTransport } from "../../../network/shared_transport.ts";
import { waitFor } from "../../harness.ts";
import { patternBytes } from "../_helpers.ts";

function send(socket: Socket, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => socket.write(bytes, (e) => e ? reject(e) : resolve()));
}

for (const runtime of availableAdapters()) {
  describe(`discardInput on the ${runtime} adapter`, () => {
    it("still reports every byte read; on Deno the reads of all sessions share one buffer", async () => {
      const server = new SharedTransport({ runtime, readBufferSize: 4096 });
      const accepted: number[] = [];
      const sizes = new Map<number, number>();
      const buffers = new Map<number, ArrayBufferLike[]>();
      server.setCallbacks({
        onAccept: (sid) => void accepted.push(sid),
        onData: (sid, data) => {
          sizes.set(sid, (sizes.get(sid) ?? 0) + data.length);
          const seen = buffers.get(sid) ?? [];
          seen.push(data.buffer);
          buffers.set(sid, seen);
        },
      });
      const { port } = await server.listen("127.0.0.1", 0);
      const clients = [connect(port, "127.0.0.1"), connect(port, "127.0.0.1")];
      try {
        await waitFor(() => accepted.length === 2, { what: "both accepted" });
        const payload = patternBytes(256 * 1024);
        // Owned reads first: a view handed out is never reused for the next read.
        await send(clients[0], payload.subarray(0, 8192));
        await waitFor(() => sizes.get(accepted[0]) === 8192, { what: "the owned reads" });
        const ownedBuffers = buffers.get(accepted[0])!;
        for (const sid of accepted) {
          server.discardInput(sid);
          buffers.set(sid, []);
        }
        await Promise.all(clients.map((c) => send(c, payload)));
        await waitFor(
          () =>
            sizes.get(accepted[0]) === 8192 + payload.length &&
            sizes.get(accepted[1]) === payload.length,
          { what: "every discarded byte reported", timeoutMs: 10_000 },
        );
        if (runtime === "deno") {
          // Each session's first read after the call was already pending, into its own slab.
          const shared = new Set([
            ...buffers.get(accepted[0])!.slice(1),
            ...buffers.get(accepted[1])!.slice(1),
          ]);
          assert.equal(shared.size, 1, "the discarded reads of both sessions went into one buffer");
          assert.ok(
            !ownedBuffers.includes([...shared][0]),
            "the scratch buffer is not an owned slab",
          );
        }
      } finally {
        for (const c of clients) c.destroy();
        await server.stop();
      }
    });
  });
}
