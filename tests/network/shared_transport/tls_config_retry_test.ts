import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { platform } from "../../../core/platform/mod.ts";
import { availableAdapters } from "../../../network/adapters.ts";
import { SharedTransport } from "../../../network/shared_transport.ts";
import { TransportError } from "../../../network/transport.ts";
import type { TestCerts } from "../../tls_certs.ts";
import { makeCerts } from "../_helpers.ts";

let certs: TestCerts & { dispose(): Promise<void> };
before(async () => {
  certs = await makeCerts();
});
after(async () => {
  await certs?.dispose();
});

for (const runtime of availableAdapters()) {
  describe(`client TLS settings on the ${runtime} adapter`, () => {
    it("are read again after a connect failed to read them", async () => {
      const server = new SharedTransport({
        runtime,
        tls: { cert: certs.server.cert, key: certs.server.key },
      });
      const { port } = await server.listen("127.0.0.1", 0, "server");
      const caFile = `${certs.dir}/late-ca-${runtime}.pem`;
      const client = new SharedTransport({ runtime, tls: { caFile } });
      try {
        await assert.rejects(
          client.connect("127.0.0.1", port, "client"),
          (error: unknown) => error instanceof TransportError && error.code === "TlsConfig",
        );
        // The file shows up (a deployment finished): the next connect must read it.
        await platform().writeTextFile(caFile, certs.ca.cert);
        const sid = await client.connect("127.0.0.1", port, "client");
        assert.equal(client.getSessionInfo(sid)?.tls, true);
        assert.equal(client.getStats().errors, 1);
      } finally {
        await client.stop();
        await server.stop();
      }
    });
  });
}
