// An abortive close: the peer must see a reset, not an end of stream, so that a cut response
// is not taken for a complete one. Deno offers no way to send a reset: its adapter closes with a
// FIN (documented on `SharedTransport.reset`), which this test pins down as well.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { availableAdapters } from "../../../network/adapters.ts";
import { SharedTransport } from "../../../network/shared_transport.ts";
import { deferred } from "../../harness.ts";

for (const runtime of availableAdapters()) {
  describe(`reset on the ${runtime} adapter`, () => {
    it(
      runtime === "node"
        ? "the peer sees ECONNRESET after the bytes already sent"
        : "falls back to a plain close (Deno cannot send a reset)",
      async () => {
        const server = new SharedTransport({ runtime });
        const accepted = deferred<number>("the accept");
        server.setCallbacks({ onAccept: (sid) => accepted.resolve(sid) });
        const { port } = await server.listen("127.0.0.1", 0);
        const socket = connect(port, "127.0.0.1");
        const outcome = deferred<string>("the end of the connection");
        let got = "";
        socket.on("data", (d: Uint8Array) => {
          got += new TextDecoder().decode(d);
          if (got === "partial") server.reset(sid);
        });
        socket.on("end", () => outcome.resolve("end"));
        socket.on("error", (e: Error & { code?: string }) => outcome.resolve(e.code ?? e.message));
        const sid = await accepted.wait();
        try {
          server.send(sid, new TextEncoder().encode("partial"));
          assert.equal(await outcome.wait(), runtime === "node" ? "ECONNRESET" : "end");
          assert.equal(got, "partial");
        } finally {
          socket.destroy();
          await server.stop();
        }
      },
    );
  });
}
