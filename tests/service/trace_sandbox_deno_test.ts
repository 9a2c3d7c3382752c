// The sandbox RPC carries the trace context: a host API a sandboxed plugin calls back while
// serving a call joins the trace of that call. Deno only, as the other sandbox tests.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { IoraService } from "../../service/iora_service.ts";
import { tempDir } from "../harness.ts";
import { pluginFixture, serviceConfig } from "./_fixtures.ts";
import { recordingProvider } from "./_tracing.ts";

describe("tracing across the sandbox", () => {
  it("an API the sandbox calls back is a child of the call into the sandbox", async () => {
    await using dir = await tempDir();
    const { provider, spans } = recordingProvider();
    const service = await IoraService.create(
      serviceConfig(dir, {
        modules: {
          modules: [
            pluginFixture("base"),
            {
              url: pluginFixture("sandbox_services"),
              name: "svc",
              sandbox: true,
              services: ["apis", "logger"],
              options: { requireBase: true },
            },
          ],
        },
      }),
      { tracerProvider: provider },
    );
    try {
      service.webhookServer.onGet("/sum", async (_req, res) => {
        res.json({ sum: await service.callExportedApi<Promise<number>>("svc.add", 2, 3) });
      });
      const response = await fetch(`http://127.0.0.1:${service.webhookServer.port}/sum`, {
        headers: { traceparent: "00-11112222333344445555666677778888-1111222233334444-01" },
      });
      assert.deepEqual(await response.json(), { sum: 5 });
      const server = spans.find((s) => s.name === "GET /sum")!;
      const outer = spans.find((s) => s.name === "api svc.add")!;
      const inner = spans.find((s) => s.name === "api base.add")!;
      assert.ok(server && outer && inner, JSON.stringify(spans.map((s) => s.name)));
      for (const span of [server, outer, inner]) {
        assert.equal(span.context.traceId, "11112222333344445555666677778888", span.name);
        assert.ok(span.ended, span.name);
      }
      assert.equal(outer.parentSpanId, server.context.spanId);
      // Through the sandbox process and back: the callback's parent is the call into it.
      assert.equal(inner.parentSpanId, outer.context.spanId);
      // Without a trace, the callback starts none of its own.
      const before = spans.length;
      assert.equal(await service.callExportedApi<Promise<number>>("svc.add", 1, 1), 2);
      const fresh = spans.slice(before);
      assert.equal(fresh.length, 2);
      assert.equal(fresh[1].parentSpanId, fresh[0].context.spanId);
      assert.equal(fresh[0].parentSpanId, undefined);
    } finally {
      await service.shutdown();
    }
  });
});
