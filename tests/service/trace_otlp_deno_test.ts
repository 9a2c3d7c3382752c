// Deno's built-in OpenTelemetry: a child Deno process with OTEL_DENO=true runs a service whose
// spans go to Deno's OTLP/HTTP exporter, pointed at a fake collector written here (Deno sends
// OTLP JSON with OTEL_EXPORTER_OTLP_PROTOCOL=http/json). Deno only: OTEL_DENO is Deno's.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tempDir } from "../harness.ts";

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
}

interface OtlpExport {
  resourceSpans: { scopeSpans: { scope?: { name: string }; spans: OtlpSpan[] }[] }[];
}

describe("tracing through Deno.telemetry (OTEL_DENO=true)", () => {
  it("exports one trace server -> plugin -> HttpClient -> upstream to an OTLP/HTTP collector", async () => {
    await using dir = await tempDir();
    const received: { path: string; contentType: string | undefined; body: OtlpExport }[] = [];
    const collector = createServer((req, res) => {
      const chunks: Uint8Array[] = [];
      req.on("data", (c: Uint8Array) => chunks.push(c));
      req.on("end", () => {
        const text = new TextDecoder().decode(
          chunks.length === 1 ? chunks[0] : new Uint8Array(chunks.flatMap((c) => [...c])),
        );
        received.push({
          path: req.url ?? "",
          contentType: req.headers["content-type"],
          body: JSON.parse(text),
        });
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, "127.0.0.1", resolve));
    const port = (collector.address() as AddressInfo).port;
    try {
      const incoming = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-all",
          new URL("../fixtures/tracing/serve_once.ts", import.meta.url).pathname,
          dir.join("state.json"),
          incoming,
        ],
        env: {
          OTEL_DENO: "true",
          OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
          OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
          OTEL_SERVICE_NAME: "iora-trace-test",
        },
        stdout: "piped",
        stderr: "piped",
      });
      const out = await child.output(); // Deno exports its pending spans as the child exits
      const stderr = new TextDecoder().decode(out.stderr);
      assert.ok(out.success, stderr);
      const result = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").pop()!);
      assert.equal(result.status, 200, stderr);
      assert.equal(result.tracing, true, "the service picked up Deno's tracer provider");

      // Deno exports logs and metrics too; the spans are on /v1/traces.
      const traces = received.filter((r) => r.path === "/v1/traces");
      assert.ok(traces.length > 0, JSON.stringify(received.map((r) => r.path)));
      assert.match(traces[0].contentType ?? "", /application\/json/);
      const spans = traces.flatMap((r) =>
        r.body.resourceSpans.flatMap((rs) =>
          rs.scopeSpans.filter((ss) => ss.scope?.name === "iora").flatMap((ss) => ss.spans)
        )
      );
      const server = spans.find((s) => s.name === "GET /do");
      const api = spans.find((s) => s.name === "api traced_fetch.get");
      const client = spans.find((s) => s.name === "GET" && s.parentSpanId === api?.spanId);
      assert.ok(server && api && client, JSON.stringify(spans.map((s) => s.name)));
      for (const span of [server, api, client]) {
        assert.equal(span.traceId, "0af7651916cd43dd8448eb211c80319c", span.name);
      }
      assert.equal(server.parentSpanId, "b7ad6b7169203331");
      assert.equal(api.parentSpanId, server.spanId);
      assert.equal(client.parentSpanId, api.spanId);
      // The upstream received the client span's traceparent.
      assert.equal(result.traceparent, `00-${client.traceId}-${client.spanId}-01`);
    } finally {
      await new Promise<void>((resolve) => collector.close(() => resolve()));
    }
  });
});
