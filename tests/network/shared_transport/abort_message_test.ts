import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { availableAdapters } from "../../../network/adapters.ts";
import { SharedTransport } from "../../../network/shared_transport.ts";
import { TransportError } from "../../../network/transport.ts";
import { type Deferred, deferred, withDeadline } from "../../harness.ts";
import type { TestCerts } from "../../tls_certs.ts";
import { makeCerts } from "../_helpers.ts";

let certs: TestCerts & { dispose(): Promise<void> };
let silent: Server;
let port = 0;
const sockets = new Set<Socket>();
let accepted: Deferred<void> | null = null;
before(async () => {
  certs = await makeCerts();
  silent = createServer((socket) => {
    sockets.add(socket);
    accepted?.resolve();
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  port = (silent.address() as { port: number }).port;
});
after(async () => {
  for (const s of sockets) s.destroy();
  await new Promise<void>((resolve) => silent.close(() => resolve()));
  await certs?.dispose();
});

for (const runtime of availableAdapters()) {
  describe(`an aborted connect on the ${runtime} adapter`, () => {
    it("names the endpoint, as every other connect failure does", async () => {
      const client = new SharedTransport({ runtime, tls: { ca: certs.ca.cert } });
      const controller = new AbortController();
      accepted = deferred("the peer to accept");
      try {
        // The peer accepts TCP and never answers the handshake: the abort lands mid-connect.
        const pending = client.connect("127.0.0.1", port, "client", { signal: controller.signal });
        await accepted.wait(5_000);
        controller.abort();
        await assert.rejects(withDeadline(pending, 5_000, "abort"), (error: unknown) => {
          assert.ok(error instanceof TransportError, String(error));
          assert.equal(error.code, "Aborted");
          assert.equal(error.message, `connect to 127.0.0.1:${port}: aborted`);
          return true;
        });
      } finally {
        await client.stop();
      }
    });
  });
}
