// maxSessions also bounds TLS connections still in their handshake: clients
// that connect and never send a ClientHello cannot pile up past it (each
// would otherwise hold a socket until the handshake timeout). On the Deno
// adapter the refusal is reported, but the socket closes only when the client
// goes: Deno's close() of a TLS connection before its handshake waits for it.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { availableAdapters } from "../../../network/adapters.ts";
import { SharedTransport } from "../../../network/shared_transport.ts";
import { TlsMode } from "../../../network/transport.ts";
import { deferred, waitFor, withDeadline } from "../../harness.ts";
import { makeCerts } from "../_helpers.ts";

function openSilent(port: number): Promise<{ socket: Socket; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const gone = deferred<void>("the socket to close");
    const socket = connect(port, "127.0.0.1", () => resolve({ socket, closed: gone.wait() }));
    socket.on("close", () => gone.resolve());
    socket.on("error", reject);
  });
}

for (const runtime of availableAdapters()) {
  describe(`TLS handshakes count against maxSessions (${runtime})`, () => {
    let certs: Awaited<ReturnType<typeof makeCerts>>;
    before(async () => certs = await makeCerts());
    after(() => certs.dispose());

    it("a connection past maxSessions is closed at once, even before its handshake", async () => {
      const refusals: string[] = [];
      const server = new SharedTransport({
        runtime,
        maxSessions: 3,
        tls: {
          certFile: certs.server.certFile,
          keyFile: certs.server.keyFile,
          handshakeTimeoutMs: 60_000,
        },
      }, { onError: (error) => refusals.push(error.code) });
      const { port } = await server.listen("127.0.0.1", 0, TlsMode.Server);
      const silent = [];
      try {
        for (let i = 0; i < 3; i++) silent.push(await openSilent(port));
        await waitFor(() => server.getStats().tlsHandshaking === 3, {
          what: "three handshakes in progress",
        });
        const extra = await openSilent(port);
        silent.push(extra);
        await waitFor(() => refusals.includes("LimitExceeded"), { what: "the refusal" });
        if (runtime === "node") {
          await withDeadline(extra.closed, 5000, "the connection past the limit to be closed");
        }
        let open = 0;
        for (const s of silent.slice(0, 3)) if (!s.socket.destroyed) open++;
        assert.equal(open, 3, "the first three still wait for their handshakes");
        assert.equal(refusals.filter((c) => c === "LimitExceeded").length, 1);
        // One goes away: there is room again.
        silent[0].socket.destroy();
        await silent[0].closed;
        await waitFor(() => server.getStats().tlsHandshaking === 2, {
          what: "the server to see the close",
        });
        if (runtime === "node") {
          const next = await openSilent(port);
          silent.push(next);
          // Taken into its handshake, not refused.
          await waitFor(() => server.getStats().tlsHandshaking === 3, {
            what: "the new connection's handshake",
          });
          assert.equal(next.socket.destroyed, false);
          assert.equal(refusals.filter((c) => c === "LimitExceeded").length, 1);
        }
      } finally {
        for (const s of silent) s.socket.destroy();
        await server.stop();
      }
    });
  });
}
