import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { availableAdapters } from "../../../network/adapters.ts";
import { SharedTransport } from "../../../network/shared_transport.ts";
import { SharedUdpTransport } from "../../../network/shared_udp_transport.ts";
import { TransportError } from "../../../network/transport.ts";
import { withDeadline } from "../../harness.ts";

/** The rejection of `promise`, or null when it resolved. */
async function outcome(promise: Promise<unknown>): Promise<unknown> {
  return await withDeadline(promise.then(() => null, (error: unknown) => error), 5_000, "settle");
}

function assertAborted(error: unknown): void {
  assert.ok(error instanceof TransportError, `expected an Aborted rejection, got ${String(error)}`);
  assert.equal(error.code, "Aborted");
}

for (const runtime of availableAdapters()) {
  describe(`stop() racing listen/connect on the ${runtime} adapter`, () => {
    for (
      const [kind, Transport] of [["TCP", SharedTransport], ["UDP", SharedUdpTransport]] as const
    ) {
      it(`${kind}: a listen in flight when stop() runs binds nothing`, async () => {
        const server = new Transport({ runtime });
        try {
          const pending = server.listen("127.0.0.1", 0);
          await server.stop();
          assertAborted(await outcome(pending));
        } finally {
          await server.stop();
        }
      });
    }

    it("TCP: two concurrent stop() calls both finish", async () => {
      const server = new SharedTransport({ runtime });
      const client = new SharedTransport({ runtime });
      try {
        const { port } = await server.listen("127.0.0.1", 0);
        await client.connect("127.0.0.1", port);
        await client.connect("127.0.0.1", port);
        await withDeadline(Promise.all([client.stop(), client.stop()]), 5_000, "both stops");
        assert.deepEqual(client.sessionIds(), []);
      } finally {
        await client.stop();
        await server.stop();
      }
    });

    it("UDP: a connect in flight when stop() runs leaves no session", async () => {
      const client = new SharedUdpTransport({ runtime });
      try {
        const pending = client.connect("127.0.0.1", 9);
        await client.stop();
        assertAborted(await outcome(pending));
        assert.deepEqual(client.sessionIds(), []);
      } finally {
        await client.stop();
      }
    });

    it("UDP: holds maxSessions against concurrent connects", async () => {
      const client = new SharedUdpTransport({ runtime, maxSessions: 1 });
      try {
        const results = await Promise.allSettled([
          client.connect("127.0.0.1", 9),
          client.connect("127.0.0.1", 9),
        ]);
        assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
        assert.equal(client.getStats().sessionsCurrent, 1);
      } finally {
        await client.stop();
      }
    });
  });
}
