import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { availableAdapters } from "../../../network/adapters.ts";
import { SharedUdpTransport } from "../../../network/shared_udp_transport.ts";
import { type CloseReason, TransportError } from "../../../network/transport.ts";
import { deferred } from "../../harness.ts";
import { Collector, text, utf8 } from "../_helpers.ts";

for (const runtime of availableAdapters()) {
  describe(`SharedUdpTransport on the ${runtime} adapter`, () => {
    it("echoes datagrams and tracks peers as sessions", async () => {
      const server = new SharedUdpTransport({ runtime });
      const accepted: number[] = [];
      server.setCallbacks({
        onAccept: (sid) => accepted.push(sid),
        onData: (sid, data) => server.send(sid, data),
      });
      const { port } = await server.listen("127.0.0.1", 0);
      const received = new Collector();
      const client = new SharedUdpTransport({ runtime });
      client.setCallbacks({ onData: (sid, data) => received.add(sid, data) });
      try {
        const a = await client.connect("127.0.0.1", port);
        const b = await client.connect("127.0.0.1", port);
        assert.equal(client.send(a, utf8("ping-a")), true);
        assert.equal(text(await received.waitFor(a, 6)), "ping-a");
        await client.sendAsync(b, utf8("ping-b"));
        assert.equal(text(await received.waitFor(b, 6)), "ping-b");
        // A second datagram from a known peer reuses its session.
        client.send(a, utf8("!"));
        await received.waitFor(a, 7);
        assert.equal(accepted.length, 2, "one session per remote address and port");
        const s = server.getStats();
        assert.equal(s.accepted, 2);
        assert.equal(s.bytesIn, 13);
        assert.equal(s.bytesOut, 13);
        assert.equal(s.sessionsCurrent, 2);
        const info = server.getSessionInfo(accepted[0]);
        assert.equal(info?.remoteAddress, "127.0.0.1");
        assert.equal(client.getStats().connected, 2);
      } finally {
        await client.stop();
        await server.stop();
      }
    });

    it("enforces the maximum datagram size both ways", async () => {
      const server = new SharedUdpTransport({ runtime, maxDatagramSize: 512 });
      const dropped = deferred<TransportError>("oversize drop");
      const accepted = deferred<number>("session for the datagram within the limit");
      const got = new Collector();
      server.setCallbacks({
        onError: (error) => dropped.resolve(error),
        onData: (sid, data) => got.add(sid, data),
        onAccept: (sid) => accepted.resolve(sid),
      });
      const { port } = await server.listen("127.0.0.1", 0);
      const client = new SharedUdpTransport({ runtime, maxDatagramSize: 4096 });
      const strict = new SharedUdpTransport({ runtime, maxDatagramSize: 100 });
      try {
        const sid = await client.connect("127.0.0.1", port);
        client.send(sid, new Uint8Array(1000));
        const error = await dropped.wait();
        assert.equal(error.code, "DatagramTooLarge");
        assert.equal(server.getStats().sessionsCurrent, 0, "no session for a dropped datagram");

        const small = await strict.connect("127.0.0.1", port);
        assert.equal(strict.send(small, new Uint8Array(101)), false);
        await assert.rejects(
          strict.sendAsync(small, new Uint8Array(101)),
          (e: unknown) => e instanceof TransportError && e.code === "DatagramTooLarge",
        );
        assert.equal(strict.send(small, new Uint8Array(100)), true);
        // The server only sees the datagram within the limit.
        assert.equal((await got.waitFor(await accepted.wait(), 100)).length, 100);
      } finally {
        await strict.stop();
        await client.stop();
        await server.stop();
      }
    });

    it("expires idle peers", async () => {
      const server = new SharedUdpTransport({ runtime, udpSessionIdleMs: 100 });
      const closed = deferred<CloseReason>("expiry");
      const accepted = deferred<number>("accept");
      server.setCallbacks({
        onAccept: (sid) => accepted.resolve(sid),
        onClose: (_sid, reason) => closed.resolve(reason),
      });
      const { port } = await server.listen("127.0.0.1", 0);
      const client = new SharedUdpTransport({ runtime });
      try {
        const sid = await client.connect("127.0.0.1", port);
        client.send(sid, utf8("hi"));
        const serverSid = await accepted.wait();
        assert.equal(await closed.wait(5_000), "idle");
        assert.equal(server.getSessionInfo(serverSid), undefined);
      } finally {
        await client.stop();
        await server.stop();
      }
    });

    it("refuses a connect over maxSessions", async () => {
      const t = new SharedUdpTransport({ runtime, maxSessions: 1 });
      try {
        await t.connect("127.0.0.1", 9);
        await assert.rejects(
          t.connect("127.0.0.1", 9),
          (e: unknown) =>
            e instanceof TransportError && e.code === "LimitExceeded" &&
            e.message === "session limit 1 reached",
        );
        assert.equal(t.getStats().sessionsCurrent, 1);
      } finally {
        await t.stop();
      }
    });

    it("refuses TLS and bad ports", async () => {
      const t = new SharedUdpTransport({ runtime });
      await assert.rejects(
        t.listen("127.0.0.1", 0, "server"),
        (e: unknown) => e instanceof TransportError && e.code === "InvalidArgument",
      );
      await assert.rejects(
        t.connect("127.0.0.1", 0),
        (e: unknown) => e instanceof TransportError && e.code === "InvalidArgument",
      );
      await t.stop();
    });
  });
}
