import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { RuntimeName } from "../../../core/platform/types.ts";
import { availableAdapters } from "../../../network/adapters.ts";
import { SharedTransport } from "../../../network/shared_transport.ts";
import { SyncAsyncTransport } from "../../../network/sync_async_transport.ts";
import { TransportError } from "../../../network/transport.ts";
import { deferred, withDeadline } from "../../harness.ts";
import { text, utf8 } from "../_helpers.ts";

/**
 * A pull-mode client connected to a local server, returned once its session has closed:
 * `onAccept` runs on the server's side, `onConnect` on the client's.
 */
async function closedPullSession(
  runtime: RuntimeName,
  sides: {
    onAccept?: (server: SharedTransport, sid: number) => void;
    onConnect?: (client: SyncAsyncTransport, sid: number) => void;
  },
): Promise<{ client: SyncAsyncTransport; sid: number } & AsyncDisposable> {
  const server = new SharedTransport({ runtime });
  server.setCallbacks({ onAccept: (sid) => sides.onAccept?.(server, sid) });
  const { port } = await server.listen("127.0.0.1", 0);
  const client = new SyncAsyncTransport(new SharedTransport({ runtime }), {
    defaultReadMode: "pull",
  });
  const closed = deferred<void>("client session closed");
  client.setCallbacks({
    onConnect: (sid) => sides.onConnect?.(client, sid),
    onClose: () => closed.resolve(),
  });
  const stop = async (): Promise<void> => {
    await client.stop();
    await server.stop();
  };
  try {
    const sid = await client.connect("127.0.0.1", port);
    await closed.wait(5_000);
    return { client, sid, [Symbol.asyncDispose]: stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

for (const runtime of availableAdapters()) {
  describe(`SyncAsyncTransport end of stream on the ${runtime} adapter`, () => {
    it("receive returns the last bytes, then null, after the peer closed", async () => {
      await using session = await closedPullSession(runtime, {
        onAccept: (server, sid) => {
          server.send(sid, utf8("last words"));
          server.close(sid);
        },
      });
      const { client, sid } = session;
      const first = await withDeadline(client.receive(sid), 5_000, "first receive");
      assert.equal(first === null ? null : text(first), "last words");
      assert.equal(await withDeadline(client.receive(sid), 5_000, "second receive"), null);
      assert.equal(await withDeadline(client.receive(sid), 5_000, "third receive"), null);
    });

    it("receive on a session that closed with nothing buffered returns null", async () => {
      await using session = await closedPullSession(runtime, {
        onAccept: (server, sid) => server.close(sid),
      });
      const { client, sid } = session;
      assert.equal(await withDeadline(client.receive(sid), 5_000, "receive"), null);
    });
  });

  describe(`SyncAsyncTransport, a session closed inside onConnect, on the ${runtime} adapter`, () => {
    it("reads on it end (null) instead of waiting forever", async () => {
      await using session = await closedPullSession(runtime, {
        onConnect: (client, sid) => client.abort(sid),
      });
      const { client, sid } = session;
      assert.equal(await withDeadline(client.receive(sid), 5_000, "receive"), null);
    });
  });
}

describe("SyncAsyncTransport argument checks", () => {
  it("refuses a fractional receive maxBytes (it broke the buffer's byte count)", async () => {
    const server = new SharedTransport();
    const accepted = deferred<number>("accept");
    server.setCallbacks({ onAccept: (sid) => accepted.resolve(sid) });
    const { port } = await server.listen("127.0.0.1", 0);
    const client = new SyncAsyncTransport(new SharedTransport(), { defaultReadMode: "pull" });
    try {
      const sid = await client.connect("127.0.0.1", port);
      server.send(await accepted.wait(), utf8("abc"));
      await assert.rejects(
        withDeadline(client.receive(sid, 1.5), 5_000, "receive"),
        (error: unknown) => error instanceof TransportError && error.code === "InvalidArgument",
      );
      const all = await withDeadline(client.readExactly(sid, 3), 5_000, "readExactly");
      assert.equal(all === null ? null : text(all), "abc");
      assert.equal(client.bufferedBytes(sid), 0);
    } finally {
      await client.stop();
      await server.stop();
    }
  });

  it("refuses a readUntil limit that is not a positive integer", async () => {
    const server = new SharedTransport();
    const { port } = await server.listen("127.0.0.1", 0);
    const client = new SyncAsyncTransport(new SharedTransport(), { defaultReadMode: "pull" });
    try {
      const sid = await client.connect("127.0.0.1", port);
      for (const limit of [Number.NaN, 0, -5, 1.5]) {
        await assert.rejects(
          withDeadline(client.readUntil(sid, "\n", limit), 5_000, `limit ${limit}`),
          (error: unknown) => error instanceof TransportError && error.code === "InvalidArgument",
          `limit ${limit}`,
        );
      }
    } finally {
      await client.stop();
      await server.stop();
    }
  });
});
