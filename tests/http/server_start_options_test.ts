// WebhookServer.start({ port, tls, json, signal }): the options object beside setPort,
// setJsonConfig and enableTls, and a signal whose abort stops the server.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { platform } from "../../core/platform/mod.ts";
import { WebhookServer } from "../../http/server.ts";
import { tempDir, waitFor } from "../harness.ts";
import { generateTestCerts } from "../tls_certs.ts";

async function curl(args: string[]): Promise<{ code: number; out: string }> {
  const child = platform().spawn("curl", { args: ["-sS", "--max-time", "10", ...args] });
  const [out, , status] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.status,
  ]);
  return { code: status.code ?? -1, out };
}

describe("WebhookServer.start options", () => {
  it("aborting the signal stops the server and frees the port", async () => {
    const server = new WebhookServer();
    server.onGet("/ping", (_q, r) => r.setContent("pong", "text/plain"));
    const controller = new AbortController();
    await server.start({ hostname: "127.0.0.1", port: 0, signal: controller.signal });
    try {
      const port = server.port;
      const r = await fetch(`http://127.0.0.1:${port}/ping`);
      assert.equal(await r.text(), "pong");
      controller.abort();
      await waitFor(() => !server.running, { timeoutMs: 5_000 });
      await assert.rejects(fetch(`http://127.0.0.1:${port}/ping`));
      // A later start is not stopped by the old signal.
      await server.start({ hostname: "127.0.0.1", port: 0 });
      controller.abort();
      const again = await fetch(`http://127.0.0.1:${server.port}/ping`);
      assert.equal(await again.text(), "pong");
    } finally {
      await server.stop();
    }
  });

  it("an aborted signal rejects start with its reason and binds nothing", async () => {
    const server = new WebhookServer();
    const reason = new Error("not today");
    await assert.rejects(
      server.start({ hostname: "127.0.0.1", port: 0, signal: AbortSignal.abort(reason) }),
      (e: unknown) => e === reason,
    );
    assert.equal(server.running, false);
  });

  it("json sets the JSON limits, as setJsonConfig", async () => {
    const server = new WebhookServer();
    server.on("/echo").handleJson((body) => body);
    await server.start({ hostname: "127.0.0.1", port: 0, json: { maxPayloadSize: 16 } });
    try {
      const post = (body: unknown) =>
        fetch(`http://127.0.0.1:${server.port}/echo`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        });
      const small = await post({ a: 1 });
      assert.equal(small.status, 200);
      assert.deepEqual(await small.json(), { a: 1 });
      const big = await post({ a: "x".repeat(64) });
      assert.equal(big.status, 413);
      await big.body?.cancel();
    } finally {
      await server.stop();
    }
  });

  it("tls serves HTTPS, as enableTls, and a bad one fails the start", async () => {
    await using dir = await tempDir();
    const certs = await generateTestCerts(dir.path);
    const server = new WebhookServer();
    server.onGet("/secure", (_q, r) => r.setContent("secret", "text/plain"));
    await assert.rejects(
      server.start({ hostname: "127.0.0.1", port: 0, tls: { cert: certs.server.cert } }),
      (e: unknown) => (e as { code?: string }).code === "InvalidConfig",
    );
    assert.equal(server.running, false);
    await server.start({
      hostname: "127.0.0.1",
      port: 0,
      tls: { certFile: certs.server.certFile, keyFile: certs.server.keyFile },
    });
    try {
      const ok = await curl([
        "--cacert",
        certs.ca.certFile,
        `https://127.0.0.1:${server.port}/secure`,
      ]);
      assert.equal(ok.code, 0);
      assert.equal(ok.out, "secret");
    } finally {
      await server.stop();
    }
  });
});
