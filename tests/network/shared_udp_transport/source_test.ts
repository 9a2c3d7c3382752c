import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { availableAdapters } from "../../../network/adapters.ts";
import { SharedUdpTransport } from "../../../network/shared_udp_transport.ts";
import { deferred } from "../../harness.ts";
import { Collector, text, utf8 } from "../_helpers.ts";

for (const runtime of availableAdapters()) {
  describe(`SharedUdpTransport outbound sessions on the ${runtime} adapter`, () => {
    it("take datagrams only from the peer they were connected to", async () => {
      const server = new SharedUdpTransport({ runtime });
      const client = new SharedUdpTransport({ runtime });
      // A raw socket: its two datagrams leave in order, from one address and port.
      const stranger = createSocket("udp4");
      stranger.on("error", () => {});
      try {
        const hello = deferred<number>("hello at the server");
        let clientPeer = 0;
        server.setCallbacks({
          onData: (sid, data) => {
            if (text(data) === "hello") hello.resolve(sid);
            // "go" comes from the stranger after its spoofed datagram: answer the client.
            else if (text(data) === "go") server.send(clientPeer, utf8("real"));
          },
        });
        const { port } = await server.listen("127.0.0.1", 0);
        const received = new Collector();
        client.setCallbacks({ onData: (sid, data) => received.add(sid, data) });
        const sid = await client.connect("127.0.0.1", port);
        client.send(sid, utf8("hello"));
        clientPeer = await hello.wait();
        const clientPort = client.getSessionInfo(sid)!.localPort;
        stranger.send(utf8("spoof"), clientPort, "127.0.0.1");
        stranger.send(utf8("go"), port, "127.0.0.1");
        assert.equal(text(await received.waitFor(sid, 4)), "real");
      } finally {
        await new Promise<void>((resolve) => stranger.close(() => resolve()));
        await client.stop();
        await server.stop();
      }
    });
  });
}
