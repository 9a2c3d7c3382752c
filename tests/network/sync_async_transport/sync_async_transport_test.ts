import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { availableAdapters } from "../../../network/adapters.ts";
import { SharedTransport } from "../../../network/shared_transport.ts";
import { SharedUdpTransport } from "../../../network/shared_udp_transport.ts";
import { SyncAsyncTransport } from "../../../network/sync_async_transport.ts";
import { TransportError, type TransportErrorCode } from "../../../network/transport.ts";
import { deferred, withDeadline } from "../../harness.ts";
import { patternBytes, sameBytes, text, utf8 } from "../_helpers.ts";

async function rejectsWith(promise: Promise<unknown>, code: TransportErrorCode): Promise<void> {
  await assert.rejects(withDeadline(promise, 10_000, code), (error: unknown) => {
    assert.ok(error instanceof TransportError, String(error));
    assert.equal(error.code, code, error.message);
    return true;
  });
}

/** A raw server the test drives by hand, and a pull-mode client. */
async function setup(runtime: "deno" | "node", maxBufferedBytes?: number) {
  const server = new SharedTransport({ runtime });
  const accepted = deferred<number>("accept");
  server.setCallbacks({ onAccept: (sid) => accepted.resolve(sid) });
  const { port } = await server.listen("127.0.0.1", 0);
  const client = new SyncAsyncTransport(new SharedTransport({ runtime }), {
    defaultReadMode: "pull",
    maxBufferedBytes,
  });
  const sid = await client.connect("127.0.0.1", port);
  const peer = await accepted.wait();
  return {
    server,
    client,
    sid,
    peer,
    [Symbol.asyncDispose]: async () => {
      await client.stop();
      await server.stop();
    },
  };
}

for (const runtime of availableAdapters()) {
  describe(`SyncAsyncTransport on the ${runtime} adapter`, () => {
    it("receives, reads exactly and reads until a delimiter across chunks", async () => {
      await using t = await setup(runtime);
      t.server.send(t.peer, utf8("hel"));
      assert.equal(text((await t.client.receive(t.sid, 100, { timeoutMs: 5000 }))!), "hel");
      const line = t.client.readUntil(t.sid, "\r\n", 1024, { timeoutMs: 5000 });
      t.server.send(t.peer, utf8("first li"));
      t.server.send(t.peer, utf8("ne\r"));
      t.server.send(t.peer, utf8("\nsecond\r\nABCDEFGH"));
      assert.equal(text((await line)!), "first line\r\n");
      assert.equal(text((await t.client.readUntil(t.sid, "\r\n"))!), "second\r\n");
      assert.equal(text((await t.client.readExactly(t.sid, 3))!), "ABC");
      assert.equal(text((await t.client.receive(t.sid, 2))!), "DE");
      assert.equal(text((await t.client.readExactly(t.sid, 3, { timeoutMs: 5000 }))!), "FGH");
    });

    it("times out and aborts a read without closing the connection", async () => {
      await using t = await setup(runtime);
      await rejectsWith(t.client.receive(t.sid, 10, { timeoutMs: 50 }), "Timeout");
      const controller = new AbortController();
      const aborted = t.client.receive(t.sid, 10, { signal: controller.signal });
      controller.abort();
      await rejectsWith(aborted, "Aborted");
      t.server.send(t.peer, utf8("still here"));
      assert.equal(text((await t.client.receive(t.sid, 100, { timeoutMs: 5000 }))!), "still here");
      assert.equal(t.client.getStats().sessionsCurrent, 1);
    });

    it("switches read modes without losing or reordering bytes", async () => {
      await using t = await setup(runtime);
      const seen: string[] = [];
      const more = deferred<void>("callback data");
      t.client.setCallbacks({
        onData: (_sid, data) => {
          seen.push(text(data));
          if (seen.join("") === "onetwothree") more.resolve();
        },
      });
      t.server.send(t.peer, utf8("one"));
      t.server.send(t.peer, utf8("two"));
      // Wait until both are buffered in pull mode, then switch.
      assert.equal(text((await t.client.readExactly(t.sid, 1))!), "o");
      await withDeadline(
        (async () => {
          while (t.client.bufferedBytes(t.sid) < 5) await new Promise((r) => setTimeout(r, 2));
        })(),
        5000,
      );
      t.client.setReadMode(t.sid, "callback");
      assert.equal(t.client.getReadMode(t.sid), "callback");
      await rejectsWith(t.client.receive(t.sid), "ReadModeConflict");
      // "ne" + "two" came out of the buffer; now live data flows to the callback.
      t.server.send(t.peer, utf8("three"));
      seen.unshift("o");
      await more.wait();
      t.client.setReadMode(t.sid, "pull");
      t.server.send(t.peer, utf8("four"));
      assert.equal(text((await t.client.readExactly(t.sid, 4, { timeoutMs: 5000 }))!), "four");
    });

    it("fails reads waiting when the mode switches to callback", async () => {
      await using t = await setup(runtime);
      const waiting = t.client.receive(t.sid);
      t.client.setReadMode(t.sid, "callback");
      await rejectsWith(waiting, "ReadModeConflict");
    });

    it("sendAndWait gets the reply of an echo server", async () => {
      const server = new SharedTransport({ runtime });
      server.setCallbacks({ onData: (sid, data) => server.send(sid, data) });
      const { port } = await server.listen("127.0.0.1", 0);
      const client = new SyncAsyncTransport(new SharedTransport({ runtime }));
      try {
        const sid = await client.connect("127.0.0.1", port);
        await rejectsWith(client.sendAndWait(sid, utf8("x")), "ReadModeConflict");
        client.setReadMode(sid, "pull");
        const reply = await client.sendAndWait(sid, utf8("ping"), { timeoutMs: 5000 });
        assert.equal(text(reply!), "ping");
      } finally {
        await client.stop();
        await server.stop();
      }
    });

    it("hands out what is left after the peer closes, then null", async () => {
      await using t = await setup(runtime);
      t.server.send(t.peer, utf8("last words"));
      t.server.close(t.peer);
      assert.equal(text((await t.client.readUntil(t.sid, " "))!), "last ");
      assert.equal(text((await t.client.receive(t.sid))!), "words");
      assert.equal(await t.client.receive(t.sid, 10, { timeoutMs: 5000 }), null);
      // The end of the stream stays the end: a later read is null too, not SessionNotFound.
      assert.equal(await t.client.receive(t.sid), null);
    });

    it("fails readUntil past its limit and keeps the bytes", async () => {
      await using t = await setup(runtime);
      t.server.send(t.peer, utf8("0123456789"));
      await rejectsWith(t.client.readUntil(t.sid, "\n", 8), "LimitExceeded");
      assert.equal(text((await t.client.readExactly(t.sid, 10))!), "0123456789");
    });

    it("pauses reading when the pull buffer is full and loses nothing", async () => {
      await using t = await setup(runtime, 64 * 1024);
      const payload = patternBytes(2 * 1024 * 1024, 11);
      const writer = (async () => {
        for (let offset = 0; offset < payload.length; offset += 32 * 1024) {
          await t.server.sendAsync(t.peer, payload.subarray(offset, offset + 32 * 1024));
        }
      })();
      await withDeadline(
        (async () => {
          while (t.client.bufferedBytes(t.sid) < 64 * 1024) {
            await new Promise((r) => setTimeout(r, 2));
          }
        })(),
        5000,
      );
      // Reading paused: the buffer stays bounded (one read may land after the pause).
      await new Promise((r) => setTimeout(r, 50));
      assert.ok(t.client.bufferedBytes(t.sid) <= 64 * 1024 + 256 * 1024);
      // A read bigger than the buffer limit still completes (reading resumes for it).
      const head = await t.client.readExactly(t.sid, 1024 * 1024, { timeoutMs: 20_000 });
      const parts = [head!];
      let size = head!.length;
      while (size < payload.length) {
        const part = await t.client.receive(t.sid, 100_000, { timeoutMs: 20_000 });
        parts.push(part!);
        size += part!.length;
      }
      await writer;
      const got = new Uint8Array(size);
      let offset = 0;
      for (const p of parts) {
        got.set(p, offset);
        offset += p.length;
      }
      assert.ok(sameBytes(got, payload));
    });
  });

  it(`SyncAsyncTransport over UDP on the ${runtime} adapter`, async () => {
    const server = new SharedUdpTransport({ runtime });
    server.setCallbacks({ onData: (sid, data) => server.send(sid, data) });
    const { port } = await server.listen("127.0.0.1", 0);
    const client = new SyncAsyncTransport(new SharedUdpTransport({ runtime }), {
      defaultReadMode: "pull",
    });
    try {
      const sid = await client.connect("127.0.0.1", port);
      const reply = await client.sendAndWait(sid, utf8("dgram"), { timeoutMs: 5000 });
      assert.equal(text(reply!), "dgram");
    } finally {
      await client.stop();
      await server.stop();
    }
  });
}
