// The Node adapter's listening socket queues as many handshaken connections as the system
// allows, not Node's default 511: with a thousand clients connecting while the event loop is
// busy, a shorter queue overflows and the kernel drops their handshakes (each retried after a
// second or more). The queue's depth is read from the kernel with `ss` (iproute2), whose
// Send-Q column gives a listening socket's backlog.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { SharedTransport } from "../../../network/shared_transport.ts";
import { LISTEN_BACKLOG } from "../../../network/node/tcp.ts";
import { isDeno } from "../../harness.ts";

/** The backlog the kernel holds for the socket listening on 127.0.0.1:`port`. */
function kernelBacklog(port: number): number {
  const out = execFileSync("ss", ["-ltnH", `sport = :${port}`], { encoding: "utf8" });
  const fields = out.trim().split(/\s+/);
  assert.equal(fields[0], "LISTEN", `ss: ${out}`);
  return Number(fields[2]);
}

describe("the Node adapter's listen backlog", () => {
  // Deno's node:net listens through Deno.listen, whose backlog is fixed: the option is Node's.
  it("is as deep as the system allows", { skip: isDeno && "node:net under Deno" }, async () => {
    const server = new SharedTransport({ runtime: "node" });
    try {
      const { port } = await server.listen("127.0.0.1", 0);
      const max = Number(readFileSync("/proc/sys/net/core/somaxconn", "utf8"));
      assert.equal(kernelBacklog(port), Math.min(LISTEN_BACKLOG, max));
      assert.ok(kernelBacklog(port) > 511 || max <= 511, "no deeper than Node's default");
    } finally {
      await server.stop();
    }
  });
});
