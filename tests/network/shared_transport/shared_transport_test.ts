import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { UnsupportedError } from "../../../core/errors.ts";
import { availableAdapters } from "../../../network/adapters.ts";
import { SharedTransport } from "../../../network/shared_transport.ts";
import {
  type CloseReason,
  type TransportConfig,
  TransportError,
  type TransportErrorCode,
} from "../../../network/transport.ts";
import { deferred, isDeno, withDeadline } from "../../harness.ts";
import type { TestCerts } from "../../tls_certs.ts";
import { Collector, makeCerts, patternBytes, sameBytes, text, utf8 } from "../_helpers.ts";

let certs: TestCerts & { dispose(): Promise<void> };
before(async () => {
  certs = await makeCerts();
});
after(async () => {
  await certs?.dispose();
});

async function rejectsWith(promise: Promise<unknown>, code: TransportErrorCode): Promise<void> {
  await assert.rejects(withDeadline(promise, 15_000, code), (error: unknown) => {
    assert.ok(error instanceof TransportError, `expected TransportError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return true;
  });
}

/** An echo server plus a client transport, both on `runtime`. */
async function echoPair(
  runtime: "deno" | "node",
  tls: boolean,
  serverConfig: TransportConfig = {},
  clientConfig: TransportConfig = {},
) {
  const server = new SharedTransport({
    runtime,
    tls: { cert: certs.server.cert, key: certs.server.key },
    ...serverConfig,
  });
  server.setCallbacks({ onData: (sid, data) => server.send(sid, data) });
  const listener = await server.listen("127.0.0.1", 0, tls ? "server" : "none");
  const received = new Collector();
  const client = new SharedTransport({ runtime, tls: { ca: certs.ca.cert }, ...clientConfig });
  client.setCallbacks({ onData: (sid, data) => received.add(sid, data) });
  return {
    server,
    client,
    port: listener.port,
    received,
    [Symbol.asyncDispose]: async () => {
      await client.stop();
      await server.stop();
    },
  };
}

for (const runtime of availableAdapters()) {
  describe(`SharedTransport on the ${runtime} adapter`, () => {
    for (const tls of [false, true]) {
      const kind = tls ? "TLS" : "TCP";

      it(`echoes over ${kind} and counts it`, async () => {
        await using pair = await echoPair(runtime, tls);
        const accepted = deferred<number>("accept");
        pair.server.setCallbacks({
          onAccept: (sid) => accepted.resolve(sid),
          onData: (sid, data) => pair.server.send(sid, data),
        });
        const sid = await pair.client.connect("127.0.0.1", pair.port, tls ? "client" : "none");
        assert.equal(pair.client.send(sid, utf8("hello, ")), true);
        assert.equal(pair.client.send(sid, utf8("iora")), true);
        assert.equal(text(await pair.received.waitFor(sid, 11)), "hello, iora");
        const serverSid = await accepted.wait();
        const info = pair.server.getSessionInfo(serverSid);
        assert.equal(info?.tls, tls);
        assert.equal(info?.outbound, false);
        assert.equal(info?.remoteAddress, "127.0.0.1");
        const cs = pair.client.getStats();
        assert.equal(cs.connected, 1);
        assert.equal(cs.bytesOut, 11);
        assert.equal(cs.bytesIn, 11);
        assert.equal(cs.tlsHandshakes, tls ? 1 : 0);
        assert.equal(cs.sessionsCurrent, 1);
        const ss = pair.server.getStats();
        assert.equal(ss.accepted, 1);
        assert.equal(ss.tlsHandshakes, tls ? 1 : 0);
        const closed = deferred<CloseReason>("server close");
        pair.server.setCallbacks({ onClose: (_sid, reason) => closed.resolve(reason) });
        pair.client.close(sid);
        assert.equal(await closed.wait(), "remote");
      });

      it(`carries 8 MiB both ways over ${kind} intact`, async () => {
        await using pair = await echoPair(runtime, tls);
        const sid = await pair.client.connect("127.0.0.1", pair.port, tls ? "client" : "none");
        const payload = patternBytes(8 * 1024 * 1024, 7);
        // Odd-sized slices exercise short writes and coalescing.
        for (let offset = 0; offset < payload.length; offset += 100_003) {
          await pair.client.sendAsync(sid, payload.subarray(offset, offset + 100_003));
        }
        const echoed = await pair.received.waitFor(sid, payload.length, 40_000);
        assert.equal(echoed.length, payload.length);
        assert.ok(sameBytes(echoed, payload), "echoed bytes differ");
      });
    }

    it("serves 300 concurrent sessions", async () => {
      await using pair = await echoPair(runtime, false);
      const sids = await Promise.all(
        Array.from({ length: 300 }, () => pair.client.connect("127.0.0.1", pair.port)),
      );
      assert.equal(new Set(sids).size, 300);
      sids.forEach((sid, i) => pair.client.send(sid, utf8(`message ${i};`)));
      const echoes = await Promise.all(
        sids.map((sid, i) => pair.received.waitFor(sid, `message ${i};`.length)),
      );
      echoes.forEach((bytes, i) => assert.equal(text(bytes), `message ${i};`));
      assert.equal(pair.server.getStats().sessionsPeak, 300);
      assert.equal(pair.client.getStats().sessionsCurrent, 300);
    });

    it("keeps concurrent sends in order", async () => {
      await using pair = await echoPair(runtime, false);
      const sid = await pair.client.connect("127.0.0.1", pair.port);
      const parts = Array.from({ length: 2000 }, (_, i) => utf8(`<${i}>`));
      await Promise.all(parts.map((p) => pair.client.sendAsync(sid, p)));
      const total = parts.reduce((n, p) => n + p.length, 0);
      const got = text(await pair.received.waitFor(sid, total));
      assert.equal(got, parts.map((p) => text(p)).join(""));
    });

    it("sendBatch sends to several sessions", async () => {
      await using pair = await echoPair(runtime, false);
      const a = await pair.client.connect("127.0.0.1", pair.port);
      const b = await pair.client.connect("127.0.0.1", pair.port);
      assert.equal(
        pair.client.sendBatch([[a, utf8("A")], [b, utf8("B")], [999_999, utf8("x")]]),
        2,
      );
      assert.equal(text(await pair.received.waitFor(a, 1)), "A");
      assert.equal(text(await pair.received.waitFor(b, 1)), "B");
    });

    it("survives a peer that disconnects mid-write", async () => {
      const server = new SharedTransport({ runtime });
      const accepted = deferred<number>("accept");
      const closed = deferred<CloseReason>("close");
      server.setCallbacks({
        onAccept: (sid) => accepted.resolve(sid),
        onClose: (_sid, reason) => closed.resolve(reason),
      });
      const { port } = await server.listen("127.0.0.1", 0);
      const client = new SharedTransport({ runtime });
      try {
        const csid = await client.connect("127.0.0.1", port);
        const sid = await accepted.wait();
        client.pauseReading(csid);
        const chunk = new Uint8Array(256 * 1024);
        let failure: unknown = null;
        const writer = (async () => {
          try {
            for (let i = 0; i < 400; i++) await server.sendAsync(sid, chunk);
          } catch (error) {
            failure = error;
          }
        })();
        client.abort(csid);
        await withDeadline(writer, 20_000, "writer");
        const reason = await closed.wait();
        assert.ok(reason === "error" || reason === "remote", `reason ${reason}`);
        assert.ok(failure instanceof TransportError, "the pending send was rejected");
        assert.equal(server.send(sid, chunk), false);
        assert.equal(server.getStats().sessionsCurrent, 0);
      } finally {
        await client.stop();
        await server.stop();
      }
    });

    it("closes a session that will not read under the 'close' policy", async () => {
      await using pair = await echoPair(runtime, false, {
        highWaterMark: 64 * 1024,
        backpressurePolicy: "close",
      });
      const accepted = deferred<number>("accept");
      const closed = deferred<[CloseReason, TransportError | undefined]>("close");
      pair.server.setCallbacks({
        onAccept: (sid) => accepted.resolve(sid),
        onClose: (_sid, reason, error) => closed.resolve([reason, error]),
      });
      const csid = await pair.client.connect("127.0.0.1", pair.port);
      pair.client.pauseReading(csid);
      const sid = await accepted.wait();
      const chunk = new Uint8Array(64 * 1024);
      let refused = false;
      for (let i = 0; i < 2000 && !refused; i++) {
        refused = !pair.server.send(sid, chunk);
        // Let the socket push what the kernel takes, as a real producer would.
        if (i % 8 === 7) await new Promise((resolve) => setTimeout(resolve, 0));
      }
      assert.ok(refused, "send was refused once the queue was over the mark");
      const [reason, error] = await closed.wait();
      assert.equal(reason, "backpressure");
      assert.equal(error?.code, "Backpressure");
      assert.equal(pair.server.getStats().backpressureCloses, 1);
    });

    it("makes sendAsync wait for drain under the 'wait' policy", async () => {
      await using pair = await echoPair(runtime, false, { highWaterMark: 64 * 1024 });
      const accepted = deferred<number>("accept");
      pair.server.setCallbacks({ onAccept: (sid) => accepted.resolve(sid) });
      const csid = await pair.client.connect("127.0.0.1", pair.port);
      pair.client.pauseReading(csid);
      const sid = await accepted.wait();
      const payload = patternBytes(64 * 1024 * 128, 3); // 8 MiB, far beyond socket buffers
      let waited = false;
      let sent = 0;
      const writer = (async () => {
        for (let offset = 0; offset < payload.length; offset += 64 * 1024) {
          const p = pair.server.sendAsync(sid, payload.subarray(offset, offset + 64 * 1024));
          if (pair.server.writeQueueSize(sid) > 64 * 1024) waited = true;
          await p;
          sent = offset;
        }
      })();
      // The writer must stall while the client does not read.
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.ok(sent < payload.length - 64 * 1024, "writer stalled");
      assert.ok(waited, "the queue went over the mark");
      pair.client.resumeReading(csid);
      await withDeadline(writer, 30_000, "writer");
      const got = await pair.received.waitFor(csid, payload.length, 30_000);
      assert.ok(sameBytes(got, payload));
      assert.equal(pair.server.getStats().backpressureCloses, 0);
    });

    it("closes a session whose onData throws, without crashing", async () => {
      await using pair = await echoPair(runtime, false);
      const failed = deferred<TransportError>("callback failure");
      const closed = deferred<CloseReason>("close");
      pair.client.setCallbacks({
        onData: () => {
          throw new Error("handler bug");
        },
        onError: (error) => failed.resolve(error),
        onClose: (_sid, reason) => closed.resolve(reason),
      });
      const sid = await pair.client.connect("127.0.0.1", pair.port);
      pair.client.send(sid, utf8("boom"));
      const error = await failed.wait();
      assert.match(error.message, /onData callback/);
      assert.equal(await closed.wait(), "error");
    });

    it("closes idle sessions", async () => {
      await using pair = await echoPair(runtime, false, { idleTimeoutMs: 100 });
      const closed = deferred<CloseReason>("idle close");
      pair.server.setCallbacks({ onClose: (_sid, reason) => closed.resolve(reason) });
      await pair.client.connect("127.0.0.1", pair.port);
      assert.equal(await closed.wait(5_000), "idle");
    });

    it("holds to maxSessions on both sides", async () => {
      await using pair = await echoPair(runtime, false, { maxSessions: 1 }, { maxSessions: 1 });
      const refused = deferred<TransportError>("inbound over the limit");
      pair.server.setCallbacks({ onError: (error) => refused.resolve(error as TransportError) });
      await pair.client.connect("127.0.0.1", pair.port);
      await rejectsWith(pair.client.connect("127.0.0.1", pair.port), "LimitExceeded");
      // A second client gets through its own limit; the server turns it away.
      const other = new SharedTransport({ runtime });
      try {
        await other.connect("127.0.0.1", pair.port);
        const error = await refused.wait(5_000);
        assert.equal(error.code, "LimitExceeded");
        assert.equal(error.message, "session limit 1 reached");
        assert.equal(pair.server.getStats().accepted, 1);
      } finally {
        await other.stop();
      }
    });

    it("reports a refused connection", async () => {
      const probe = new SharedTransport({ runtime });
      const { port } = await probe.listen("127.0.0.1", 0);
      await probe.stop();
      const client = new SharedTransport({ runtime });
      await rejectsWith(client.connect("127.0.0.1", port), "ConnectionRefused");
      assert.equal(client.getStats().errors, 1);
      await client.stop();
    });

    describe("against a peer that never answers", () => {
      let silent: Server;
      let port = 0;
      const sockets = new Set<Socket>();
      before(async () => {
        silent = createServer((socket) => {
          sockets.add(socket);
          socket.on("error", () => {});
          socket.on("close", () => sockets.delete(socket));
        });
        await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
        port = (silent.address() as { port: number }).port;
      });
      after(async () => {
        for (const s of sockets) s.destroy();
        await new Promise<void>((resolve) => silent.close(() => resolve()));
      });

      it("times out a TLS connect whose handshake never completes", async () => {
        const client = new SharedTransport({ runtime, tls: { ca: certs.ca.cert } });
        await rejectsWith(
          client.connect("127.0.0.1", port, "client", { timeoutMs: 300 }),
          "ConnectTimeout",
        );
        await client.stop();
      });

      it("aborts a connect through its signal", async () => {
        const client = new SharedTransport({ runtime, tls: { ca: certs.ca.cert } });
        const controller = new AbortController();
        const pending = client.connect("127.0.0.1", port, "client", {
          signal: controller.signal,
        });
        setTimeout(() => controller.abort(), 50);
        await rejectsWith(pending, "Aborted");
        await client.stop();
      });
    });

    it("fails TLS against the wrong CA with a clear error", async () => {
      await using pair = await echoPair(runtime, true, {}, { tls: { ca: certs.otherCa.cert } });
      await rejectsWith(pair.client.connect("127.0.0.1", pair.port, "client"), "TlsHandshake");
      assert.equal(pair.client.getStats().tlsFailures, 1);
      assert.equal(pair.client.getStats().sessionsCurrent, 0);
    });

    it("fails TLS when the name does not match the certificate", async () => {
      await using pair = await echoPair(runtime, true);
      await rejectsWith(
        pair.client.connect("127.0.0.1", pair.port, "client", {
          tls: { serverName: "not-this-host.example" },
        }),
        "TlsHandshake",
      );
    });

    it("negotiates ALPN", async () => {
      await using pair = await echoPair(
        runtime,
        true,
        {
          tls: {
            cert: certs.server.cert,
            key: certs.server.key,
            alpnProtocols: ["h2", "http/1.1"],
          },
        },
        { tls: { ca: certs.ca.cert, alpnProtocols: ["http/1.1"] } },
      );
      const sid = await pair.client.connect("127.0.0.1", pair.port, "client");
      assert.equal(pair.client.getSessionInfo(sid)?.alpnProtocol, "http/1.1");
    });

    it("reads certificates from files", async () => {
      await using pair = await echoPair(
        runtime,
        true,
        { tls: { certFile: certs.server.certFile, keyFile: certs.server.keyFile } },
        { tls: { caFile: certs.ca.certFile } },
      );
      const sid = await pair.client.connect("127.0.0.1", pair.port, "client");
      pair.client.send(sid, utf8("file"));
      assert.equal(text(await pair.received.waitFor(sid, 4)), "file");
    });

    it("refuses bad arguments with typed errors", async () => {
      const t = new SharedTransport({ runtime });
      await rejectsWith(t.connect("127.0.0.1", 0), "InvalidArgument");
      await rejectsWith(t.connect("", 80), "InvalidArgument");
      await rejectsWith(t.listen("127.0.0.1", 70000), "InvalidArgument");
      await rejectsWith(t.listen("127.0.0.1", 0, "server"), "TlsConfig");
      await rejectsWith(
        new SharedTransport({ runtime, tls: { certFile: "/nonexistent/cert.pem", key: "x" } })
          .listen("127.0.0.1", 0, "server"),
        "TlsConfig",
      );
      assert.throws(
        () => new SharedTransport({ runtime, highWaterMark: -1 }),
        (e: unknown) => e instanceof TransportError && e.code === "InvalidArgument",
      );
      await rejectsWith(t.sendAsync(12345678, utf8("x")), "SessionNotFound");
      assert.equal(t.send(12345678, utf8("x")), false);
      await t.stop();
    });

    it("reports an address in use", async () => {
      const a = new SharedTransport({ runtime });
      const { port } = await a.listen("127.0.0.1", 0);
      const b = new SharedTransport({ runtime });
      await rejectsWith(b.listen("127.0.0.1", port), "AddressInUse");
      await a.stop();
      await b.stop();
    });

    if (isDeno) {
      it("refuses requireClientCert under Deno with a clear error", async () => {
        const server = new SharedTransport({
          runtime,
          tls: {
            cert: certs.server.cert,
            key: certs.server.key,
            ca: certs.ca.cert,
            requireClientCert: true,
          },
        });
        await assert.rejects(
          server.listen("127.0.0.1", 0, "server"),
          (e: unknown) => e instanceof UnsupportedError && /deno/.test(e.message),
        );
        await server.stop();
      });
    }
  });
}

if (!isDeno) {
  describe("mutual TLS on the node adapter", () => {
    it("accepts a client certificate from the CA and refuses others", async () => {
      const server = new SharedTransport({
        runtime: "node",
        tls: {
          cert: certs.server.cert,
          key: certs.server.key,
          ca: certs.ca.cert,
          requireClientCert: true,
        },
      });
      server.setCallbacks({ onData: (sid, data) => server.send(sid, data) });
      const { port } = await server.listen("127.0.0.1", 0, "server");
      const received = new Collector();
      const client = new SharedTransport({ runtime: "node", tls: { ca: certs.ca.cert } });
      client.setCallbacks({ onData: (sid, data) => received.add(sid, data) });
      try {
        const sid = await client.connect("127.0.0.1", port, "client", {
          tls: { cert: certs.client.cert, key: certs.client.key },
        });
        client.send(sid, utf8("mtls"));
        assert.equal(text(await received.waitFor(sid, 4)), "mtls");

        // Without a certificate, or with one from another CA, the server refuses:
        // TLS 1.3 may report it at connect or as the session's first event.
        for (const tls of [{}, { cert: certs.otherClient.cert, key: certs.otherClient.key }]) {
          const refused = deferred<string>("refusal");
          client.setCallbacks({ onClose: (_sid, reason) => refused.resolve(reason) });
          try {
            const bad = await client.connect("127.0.0.1", port, "client", { tls });
            client.send(bad, utf8("x"));
            const reason = await refused.wait();
            assert.ok(reason === "error" || reason === "remote", reason);
          } catch (error) {
            assert.ok(error instanceof TransportError);
            assert.equal(error.code, "TlsHandshake");
          }
        }
        assert.ok(server.getStats().tlsFailures >= 2);
      } finally {
        await client.stop();
        await server.stop();
      }
    });
  });
}
