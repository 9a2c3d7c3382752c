import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { availableAdapters } from "../../../network/adapters.ts";
import { SharedTransport } from "../../../network/shared_transport.ts";
import { deferred } from "../../harness.ts";

const encoder = new TextEncoder();

for (const runtime of availableAdapters()) {
  describe(`half-open sessions on the ${runtime} adapter`, () => {
    it("with allowHalfOpen, a peer that ends its side still gets an answer sent after its end", async () => {
      const server = new SharedTransport({ runtime, allowHalfOpen: true });
      const ended = deferred<number>("the peer's end");
      server.setCallbacks({ onEnd: (sid) => ended.resolve(sid) });
      const { port } = await server.listen("127.0.0.1", 0);
      const socket = connect(port, "127.0.0.1");
      const answer = deferred<string>("the answer and the server's end");
      let got = "";
      socket.on("data", (d: Uint8Array) => got += new TextDecoder().decode(d));
      socket.on("end", () => answer.resolve(got));
      socket.on("error", (e) => answer.reject(e));
      try {
        socket.end("question");
        // Answered only once the transport has reported the end: the session must still be open.
        const sid = await ended.wait();
        assert.ok(server.getSessionInfo(sid) !== undefined, "the session is still open");
        assert.equal(server.send(sid, encoder.encode("answer")), true);
        server.close(sid);
        assert.equal(await answer.wait(), "answer");
      } finally {
        socket.destroy();
        await server.stop();
      }
    });

    it("without it, the peer's end closes the session (reason remote)", async () => {
      const server = new SharedTransport({ runtime });
      const closed = deferred<string>("the close");
      let endReported = false;
      server.setCallbacks({
        onEnd: () => void (endReported = true),
        onClose: (_sid, reason) => closed.resolve(reason),
      });
      const { port } = await server.listen("127.0.0.1", 0);
      const socket = connect(port, "127.0.0.1");
      socket.on("error", () => {});
      try {
        socket.end("bye");
        assert.equal(await closed.wait(), "remote");
        assert.equal(endReported, false);
      } finally {
        socket.destroy();
        await server.stop();
      }
    });
  });
}
