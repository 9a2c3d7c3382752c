import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { formatTraceparent, parseTraceparent } from "../../core/tracing.ts";
import { recordingProvider } from "./_tracing.ts";
import { WebhookServer } from "../../http/server.ts";
import { HttpClient } from "../../http/client.ts";
import { IoraService } from "../../service/iora_service.ts";
import { tempDir } from "../harness.ts";
import { pluginFixture, serviceConfig } from "./_fixtures.ts";

describe("tracing", () => {
  it("parses and formats W3C traceparent, refusing malformed ones", () => {
    const header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const context = parseTraceparent(header)!;
    assert.deepEqual(context, {
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      spanId: "00f067aa0ba902b7",
      traceFlags: 1,
      isRemote: true,
    });
    assert.equal(formatTraceparent(context), header);
    for (
      const bad of [
        "",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        "00-4bf92f3577b34da6a3ce929d0e0e47-00f067aa0ba902b7-01",
      ]
    ) {
      assert.equal(parseTraceparent(bad), null, bad);
    }
    // A later version may carry more fields after the four it shares with version 00.
    assert.equal(
      parseTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-later")?.traceFlags,
      0,
    );
  });

  it("one trace covers server -> plugin API -> HttpClient -> upstream, which gets the traceparent", async () => {
    await using dir = await tempDir();
    const { provider, spans } = recordingProvider();
    await using upstream = new WebhookServer();
    upstream.onGet("/up", (req, res) => res.json({ traceparent: req.headers.get("traceparent") }));
    await upstream.start({ hostname: "127.0.0.1", port: 0 });
    const service = await IoraService.create(
      serviceConfig(dir, { modules: { modules: [pluginFixture("traced_fetch")] } }),
      { tracerProvider: provider },
    );
    const client = new HttpClient(); // the test's own client traces nothing
    try {
      service.on("/do").handle("GET", async (_req, res) => {
        res.json(
          await service.callExportedApi<Promise<unknown>>(
            "traced_fetch.get",
            `http://127.0.0.1:${upstream.port}/up`,
          ),
        );
      });
      const incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
      const response = await client.get(`http://127.0.0.1:${service.webhookServer.port}/do`, {
        headers: { traceparent: incoming },
      });
      assert.equal(response.statusCode, 200);
      const server = spans.find((s) => s.name === "GET /do")!;
      const api = spans.find((s) => s.name === "api traced_fetch.get")!;
      const outbound = spans.find((s) => s.kind === 2)!;
      assert.ok(server && api && outbound, JSON.stringify(spans.map((s) => s.name)));
      // One trace, continuing the caller's, each span the child of the one before.
      for (const span of [server, api, outbound]) {
        assert.equal(span.context.traceId, "4bf92f3577b34da6a3ce929d0e0e4736");
        assert.ok(span.ended, span.name);
      }
      assert.equal(server.parentSpanId, "00f067aa0ba902b7");
      assert.equal(api.parentSpanId, server.context.spanId);
      assert.equal(outbound.parentSpanId, api.context.spanId);
      assert.equal(server.kind, 1);
      assert.equal(server.attributes["http.route"], "/do");
      assert.equal(server.attributes["http.response.status_code"], 200);
      assert.equal(outbound.attributes["http.response.status_code"], 200);
      assert.equal(api.attributes["iora.plugin"], "traced_fetch");
      // The upstream got the client span's context.
      assert.equal(
        response.json<{ traceparent: string }>().traceparent,
        formatTraceparent(outbound.context),
      );
    } finally {
      await client.close();
      await service.shutdown();
    }
  });

  it("marks failures: a 500 answer, a throwing API, a refused connection", async () => {
    await using dir = await tempDir();
    const { provider, spans } = recordingProvider();
    const service = await IoraService.create(serviceConfig(dir), { tracerProvider: provider });
    try {
      service.exportApi("host.boom", () => {
        throw new Error("boom");
      });
      service.webhookServer.onGet("/fail", () => {
        service.callExportedApi("host.boom");
      });
      const base = `http://127.0.0.1:${service.webhookServer.port}`;
      const response = await fetch(`${base}/fail`);
      assert.equal(response.status, 500);
      await response.body?.cancel();
      const server = spans.find((s) => s.name === "GET /fail")!;
      assert.equal(server.status?.code, 2);
      assert.equal(server.parentSpanId, undefined); // no traceparent: a new trace
      const api = spans.find((s) => s.name === "api host.boom")!;
      assert.equal(api.status?.code, 2);
      assert.match(api.status?.message ?? "", /boom/);
      await assert.rejects(service.httpClient.get("http://127.0.0.1:1/"));
      const refused = spans.find((s) => s.kind === 2)!;
      assert.equal(refused.status?.code, 2);
      assert.ok(refused.ended);
      // Unmatched requests get a span named by method only (no raw path in the name).
      await (await fetch(`${base}/nope/123`)).body?.cancel();
      assert.ok(spans.some((s) => s.name === "GET" && s.kind === 1));
    } finally {
      await service.shutdown();
    }
  });

  it("is off without a provider (Node, or Deno without OTEL_DENO)", async () => {
    await using dir = await tempDir();
    const service = await IoraService.create(serviceConfig(dir));
    try {
      assert.equal(service.tracing, null);
      assert.equal(service.apiRegistry.tracing, null);
    } finally {
      await service.shutdown();
    }
  });
});
