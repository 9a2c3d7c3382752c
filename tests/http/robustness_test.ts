import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { WebhookServer } from "../../http/server.ts";
import { withDeadline } from "../harness.ts";
import { netTransport } from "./_net_transport.ts";

// The small cousins of `deno task soak`.
describe("WebhookServer robustness", () => {
  it("100 half-header connections neither block a new client nor outlive the header timeout", async () => {
    const server = new WebhookServer({ transport: netTransport, headerTimeoutMs: 300 });
    server.onGet("/", (_q, r) => r.json({ ok: true }));
    await server.start({ hostname: "127.0.0.1", port: 0 });
    try {
      const sockets: Socket[] = [];
      const closed: Promise<void>[] = [];
      const connected: Promise<void>[] = [];
      for (let i = 0; i < 100; i++) {
        const s = connect(server.port, "127.0.0.1");
        s.on("error", () => {});
        s.resume();
        closed.push(new Promise((r) => s.on("close", () => r())));
        connected.push(
          new Promise((r) =>
            s.on("connect", () => {
              s.write("GET / HTTP/1.1\r\nHost: x\r\nX-Half: ");
              r();
            })
          ),
        );
        sockets.push(s);
      }
      await Promise.all(connected);
      const r = await fetch(`http://127.0.0.1:${server.port}/`);
      assert.deepEqual(await r.json(), { ok: true });
      await withDeadline(Promise.all(closed), 10_000, "stalled connections closed");
      assert.ok(server.getStats().timeouts >= 100);
      for (const s of sockets) s.destroy();
    } finally {
      await server.stop();
    }
  });

  it("answers a flood of malformed requests and keeps serving", async () => {
    const server = new WebhookServer({ transport: netTransport });
    server.onGet("/", (_q, r) => r.json({ ok: true }));
    await server.start({ hostname: "127.0.0.1", port: 0 });
    try {
      const bad = [
        "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        "GET / HTTP/1.1\r\n\r\n",
        "\x00\x01garbage\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nBad Name: x\r\n\r\n",
      ];
      const answers = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          withDeadline(
            new Promise<string>((resolve) => {
              const s = connect(server.port, "127.0.0.1");
              let text = "";
              s.on("data", (d: Uint8Array) => (text += new TextDecoder().decode(d)));
              s.on("error", () => {});
              s.on("close", () => resolve(text));
              s.on("connect", () => s.write(bad[i % bad.length]));
            }),
            10_000,
            "malformed answer",
          )),
      );
      assert.equal(answers.filter((a) => a.startsWith("HTTP/1.1 400 ")).length, 200);
      assert.equal(server.getStats().parseErrors, 200);
      const r = await fetch(`http://127.0.0.1:${server.port}/`);
      assert.equal(r.status, 200);
      await r.body?.cancel();
    } finally {
      await server.stop();
    }
  });
});
