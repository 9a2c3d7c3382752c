import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { WebhookServer } from "../../http/server.ts";
import { availableAdapters } from "../../network/adapters.ts";
import { withDeadline } from "../harness.ts";
import { RawClients } from "./_raw_client.ts";

const clients = new RawClients();
after(() => clients[Symbol.asyncDispose]());

// The small cousins of `deno task soak`.
for (const runtime of availableAdapters()) {
  describe(`WebhookServer robustness on the ${runtime} transport`, () => {
    it("100 half-header connections neither block a new client nor outlive the header timeout", async () => {
      const server = new WebhookServer({ network: { runtime }, headerTimeoutMs: 300 });
      server.onGet("/", (_q, r) => r.json({ ok: true }));
      await server.start({ hostname: "127.0.0.1", port: 0 });
      try {
        const conns = await Promise.all(
          Array.from({ length: 100 }, () => clients.open(server.port)),
        );
        for (const c of conns) c.write("GET / HTTP/1.1\r\nHost: x\r\nX-Half: ");
        const r = await fetch(`http://127.0.0.1:${server.port}/`);
        assert.deepEqual(await r.json(), { ok: true });
        await withDeadline(Promise.all(conns.map((c) => c.closed)), 10_000, "stalled closed");
        assert.ok(conns.every((c) => c.text.startsWith("HTTP/1.1 408 ")));
        assert.ok(server.getStats().timeouts >= 100);
      } finally {
        await server.stop();
      }
    });

    it("answers a flood of malformed requests and keeps serving", async () => {
      const server = new WebhookServer({ network: { runtime } });
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
          Array.from({ length: 200 }, (_, i) => clients.exchange(server.port, bad[i % bad.length])),
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
}
