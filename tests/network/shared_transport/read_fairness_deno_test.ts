import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { SharedTransport } from "../../../network/shared_transport.ts";
import { deferred, waitFor } from "../../harness.ts";
import { patternBytes } from "../_helpers.ts";

// Deno completes a read whose bytes are already there without a turn of the event loop, so a
// connection with a backlog could read on and on while another's bytes, arrived meanwhile,
// waited for the loop to poll its socket. The adapter bounds the reads per turn.
describe("read fairness on the deno adapter", () => {
  it("a connection with a backlog lets another connection's bytes in before it drains", async () => {
    const backlog = 32 * 1024;
    const server = new SharedTransport({ runtime: "deno", readBufferSize: 512 });
    const accepted: number[] = [];
    const sizes = new Map<number, number>();
    const bArrived = deferred<number>("B's byte");
    server.setCallbacks({
      onAccept: (sid) => void accepted.push(sid),
      onData: (sid, data) => {
        sizes.set(sid, (sizes.get(sid) ?? 0) + data.length);
        // What A had received when B's byte came in.
        if (sid === accepted[1]) bArrived.resolve(sizes.get(accepted[0]) ?? 0);
      },
    });
    const { port } = await server.listen("127.0.0.1", 0);
    const a = await Deno.connect({ hostname: "127.0.0.1", port });
    await waitFor(() => accepted.length === 1, { what: "A accepted" });
    const b = await Deno.connect({ hostname: "127.0.0.1", port });
    await waitFor(() => accepted.length === 2, { what: "B accepted" });
    try {
      const [sidA] = accepted;
      server.pauseReading(sidA);
      // A's pending read takes the first bytes; the rest waits in the socket while A is paused.
      const payload = patternBytes(backlog);
      for (let at = 0; at < payload.length;) at += await a.write(payload.subarray(at));
      await waitFor(() => (sizes.get(sidA) ?? 0) > 0, { what: "A's first read" });
      // B's read is pending; its byte arrives while A is paused, then A resumes with a backlog.
      await b.write(new Uint8Array([98]));
      server.resumeReading(sidA);
      const aHadThen = await bArrived.wait(5_000);
      assert.ok(
        aHadThen < backlog,
        `B's byte was held back until A had read its whole backlog (${aHadThen} bytes)`,
      );
      await waitFor(() => sizes.get(sidA) === backlog, { what: "A's backlog" });
    } finally {
      a.close();
      b.close();
      await server.stop();
    }
  });
});
