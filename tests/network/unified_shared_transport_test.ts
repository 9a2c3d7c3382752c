import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { availableAdapters } from "../../network/adapters.ts";
import { Capability, hasCapability, TransportError } from "../../network/transport.ts";
import { UnifiedSharedTransport } from "../../network/unified_shared_transport.ts";
import { deferred } from "../harness.ts";
import type { TestCerts } from "../tls_certs.ts";
import { makeCerts, text, utf8 } from "./_helpers.ts";

let certs: TestCerts & { dispose(): Promise<void> };
before(async () => {
  certs = await makeCerts();
});
after(async () => {
  await certs?.dispose();
});

function echo(t: UnifiedSharedTransport): void {
  t.setCallbacks({ onData: (sid, data) => t.send(sid, data) });
}

for (const runtime of availableAdapters()) {
  describe(`UnifiedSharedTransport on the ${runtime} adapter`, () => {
    for (const protocol of ["tcp", "tls", "udp"] as const) {
      it(`round-trips over ${protocol} with sendAndWait`, async () => {
        const server = protocol === "tls"
          ? UnifiedSharedTransport.createTls(
            { cert: certs.server.cert, key: certs.server.key },
            { runtime },
          )
          : protocol === "udp"
          ? UnifiedSharedTransport.createUdp({ runtime })
          : UnifiedSharedTransport.createTcp({ runtime });
        echo(server);
        const client = new UnifiedSharedTransport({
          runtime,
          protocol,
          tls: protocol === "tls" ? { ca: certs.ca.cert } : undefined,
          defaultReadMode: "pull",
        });
        try {
          const { port, tls } = await server.listen("127.0.0.1", 0);
          assert.equal(tls, protocol === "tls");
          const sid = await client.connect("127.0.0.1", port);
          assert.equal(client.getSessionInfo(sid)?.tls, protocol === "tls");
          const reply = await client.sendAndWait(sid, utf8(`via ${protocol}`), { timeoutMs: 5000 });
          assert.equal(text(reply!), `via ${protocol}`);
          const caps = client.getCapabilities();
          assert.equal(hasCapability(caps, Capability.HasTls), protocol === "tls");
          assert.equal(hasCapability(caps, Capability.IsConnectionOriented), protocol !== "udp");
          assert.ok(hasCapability(caps, Capability.SupportsSyncOperations));
          assert.ok(hasCapability(caps, Capability.SupportsReadModes));
          assert.ok(hasCapability(caps, Capability.SupportsBatchSend));
          assert.equal(client.getStats().connected, 1);
        } finally {
          await client.stop();
          await server.stop();
        }
      });
    }

    it("reports a session unhealthy while its peer does not read, healthy once it drains", async () => {
      const server = UnifiedSharedTransport.createTcp({
        runtime,
        highWaterMark: 16 * 1024,
        healthCheckIntervalMs: 30,
      });
      const accepted = deferred<number>("accept");
      server.setCallbacks({ onAccept: (sid) => accepted.resolve(sid) });
      const sick = deferred<number>("unhealthy");
      const well = deferred<number>("healthy again");
      server.onConnectionHealthChanged((sid, healthy) => (healthy ? well : sick).resolve(sid));
      const { port } = await server.listen("127.0.0.1", 0);
      const client = UnifiedSharedTransport.createTcp({ runtime });
      let got = 0;
      client.setCallbacks({ onData: (_sid, data) => got += data.length });
      try {
        const csid = await client.connect("127.0.0.1", port);
        client.pauseReading(csid);
        const sid = await accepted.wait();
        assert.equal(server.isHealthy(sid), true);
        // Fill the socket buffers and then the write queue.
        const chunk = new Uint8Array(64 * 1024);
        let queued = 0;
        while (server.writeQueueSize(sid) <= 16 * 1024 || queued < 8 * 1024 * 1024) {
          server.send(sid, chunk);
          queued += chunk.length;
          if (queued > 64 * 1024 * 1024) break;
          await new Promise((r) => setTimeout(r, 0));
        }
        assert.equal(await sick.wait(), sid);
        assert.equal(server.isHealthy(sid), false);
        client.resumeReading(csid);
        assert.equal(await well.wait(), sid);
      } finally {
        await client.stop();
        await server.stop();
      }
    });

    it("refuses a TLS protocol without TLS settings and an unknown protocol", () => {
      assert.throws(
        () => new UnifiedSharedTransport({ runtime, protocol: "tls" }),
        (e: unknown) => e instanceof TransportError && e.code === "TlsConfig",
      );
      assert.throws(
        // deno-lint-ignore no-explicit-any
        () => new UnifiedSharedTransport({ runtime, protocol: "sctp" as any }),
        (e: unknown) => e instanceof TransportError && e.code === "InvalidArgument",
      );
    });
  });
}
