// The server's memory under hostile load: request bodies buffered across all
// connections have a ceiling (maxBufferedBytes); past it a request is refused
// with 503 instead of pinning more memory, and the others go on.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { WebhookServer } from "../../http/server.ts";
import { waitFor } from "../harness.ts";
import { RawClients } from "./_raw_client.ts";

describe("WebhookServer buffered-body ceiling", () => {
  it("refuses with 503 the request that would pass maxBufferedBytes; the others complete", async () => {
    const server = new WebhookServer({
      limits: { maxBodyBytes: 4 * 1024 * 1024 },
      maxBufferedBytes: 1024 * 1024,
    });
    server.onPost("/upload", (req, res) => res.json({ got: req.body.length }));
    await server.start({ hostname: "127.0.0.1", port: 0 });
    await using clients = new RawClients();
    try {
      const head = (size: number) =>
        `POST /upload HTTP/1.1\r\nhost: x\r\ncontent-length: ${size}\r\n\r\n`;
      const first = await clients.open(server.port);
      first.write(head(700_000) + "a".repeat(600_000)); // 600 kB held, body incomplete
      await waitFor(() => server.getStats().bufferedBytes >= 600_000, {
        what: "the server to hold the first upload's bytes",
      });
      const second = await clients.open(server.port);
      second.write(head(700_000) + "b".repeat(600_000)); // would hold 1.2 MB in all
      await waitFor(() => second.text.length > 0, { what: "the second request's answer" });
      assert.match(second.text, /^HTTP\/1\.1 503 /);
      assert.match(second.text, /retry-after: \d+/i);
      first.write("a".repeat(100_000));
      await waitFor(() => first.text.includes("\r\n\r\n{"), { what: "the first request's answer" });
      assert.match(first.text, /^HTTP\/1\.1 200 /);
      assert.match(first.text, /"got":700000/);
      // Its bytes are released: a new request fits again.
      const third = await clients.open(server.port);
      third.write(head(10) + "c".repeat(10));
      await waitFor(() => third.text.includes("\r\n\r\n{"), { what: "the third request's answer" });
      assert.match(third.text, /^HTTP\/1\.1 200 /);
      assert.equal(server.getStats().bufferedBytes, 0);
    } finally {
      await server.stop({ timeoutMs: 1000 });
    }
  });
});
