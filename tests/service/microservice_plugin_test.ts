// The sample microservice plugin (plugins/microservice.ts) end to end:
// real HTTP in, a fake OpenAI-compatible upstream and a callback receiver
// as real local servers.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { platform } from "../../core/platform/mod.ts";
import { localSummary, type SummaryJob } from "../../plugins/microservice.ts";
import { IoraService } from "../../service/iora_service.ts";
import { deferred, type TempDir, tempDir } from "../harness.ts";
import { postJson, serviceConfig, shippedPlugin } from "./_fixtures.ts";

const TEXT = "Iora hosts plugins. It loads them at runtime. It also sandboxes them. The end.";
const OTHER = "Upstream is down now. The plugin degrades. It still answers.";

async function body(req: IncomingMessage): Promise<string> {
  let text = "";
  for await (const chunk of req) text += chunk;
  return text;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as { port: number }).port;
}

async function start(dir: TempDir, options: Record<string, unknown>): Promise<IoraService> {
  return await IoraService.create(serviceConfig(dir, {
    log: { level: "warn" },
    modules: { modules: [{ url: shippedPlugin("microservice"), options }] },
  }));
}

function post(service: IoraService, path: string, payload: unknown): Promise<Response> {
  return postJson(service.webhookServer.port, path, payload);
}

describe("sample microservice plugin", () => {
  it("summarizes locally when no upstream is configured, with status and events", async () => {
    await using dir = await tempDir();
    const service = await start(dir, { maxSentences: 2 });
    try {
      const completed = deferred<SummaryJob>("the job's completion event");
      service.eventQueue.subscribe(
        "microservice.completed",
        (job) => completed.resolve(job as SummaryJob),
      );
      const accepted = await post(service, "/summarize", { text: TEXT });
      assert.equal(accepted.status, 202);
      const { id, status } = await accepted.json();
      assert.equal(status, "queued");
      const job = await completed.wait();
      assert.equal(job.id, id);
      assert.deepEqual(job, { id, status: "done", summary: localSummary(TEXT, 2), degraded: true });
      const polled = await fetch(`http://127.0.0.1:${service.webhookServer.port}/summarize/${id}`);
      assert.deepEqual(await polled.json(), job);
      assert.equal(
        await service.callExportedApi<Promise<string>>("microservice.summarize", "A. B. C."),
        "A. B.",
      );
      const bad = await post(service, "/summarize", { text: 42 });
      assert.equal(bad.status, 400);
      await bad.body?.cancel();
      const missing = await fetch(`http://127.0.0.1:${service.webhookServer.port}/summarize/nope`);
      assert.equal(missing.status, 404);
      await missing.body?.cancel();
    } finally {
      await service.shutdown();
    }
  });

  it("uses the upstream model, posts the result to the callback, degrades when upstream fails", async () => {
    await using dir = await tempDir();
    let upstreamOk = true;
    const seenAuth: string[] = [];
    const upstream = createServer(async (req, res) => {
      const request = JSON.parse(await body(req));
      seenAuth.push(String(req.headers.authorization));
      if (!upstreamOk) {
        res.statusCode = 503;
        res.end();
        return;
      }
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({
        choices: [{
          message: { content: `model summary of ${request.messages[1].content.length} chars` },
        }],
      }));
    });
    const callbacks: SummaryJob[] = [];
    let callbackArrived = deferred<void>("a callback");
    const receiver = createServer(async (req, res) => {
      callbacks.push(JSON.parse(await body(req)));
      res.end("ok");
      callbackArrived.resolve();
    });
    platform().setEnv("IORA_TEST_MICROSERVICE_KEY", "sk-test");
    const upstreamPort = await listen(upstream);
    const receiverPort = await listen(receiver);
    const service = await start(dir, {
      upstreamUrl: `http://127.0.0.1:${upstreamPort}/v1/chat/completions`,
      apiKeyEnv: "IORA_TEST_MICROSERVICE_KEY",
    });
    try {
      const callbackUrl = `http://127.0.0.1:${receiverPort}/done`;
      await (await post(service, "/summarize", { text: TEXT, callbackUrl })).body?.cancel();
      await callbackArrived.wait();
      assert.equal(callbacks[0].status, "done");
      assert.equal(callbacks[0].summary, `model summary of ${TEXT.length} chars`);
      assert.equal(callbacks[0].degraded, undefined);
      assert.deepEqual(seenAuth, ["Bearer sk-test"]);
      assert.equal(
        await service.callExportedApi<Promise<string>>("microservice.summarize", TEXT),
        `model summary of ${TEXT.length} chars`,
      );
      assert.equal(seenAuth.length, 1, "the same text is answered from the cache");

      upstreamOk = false;
      callbackArrived = deferred<void>("a second callback");
      await (await post(service, "/summarize", { text: OTHER, callbackUrl })).body?.cancel();
      await callbackArrived.wait();
      assert.equal(callbacks[1].summary, localSummary(OTHER, 2));
      assert.equal(callbacks[1].degraded, true);
    } finally {
      await service.shutdown();
      platform().deleteEnv("IORA_TEST_MICROSERVICE_KEY");
      await new Promise((resolve) => upstream.close(resolve));
      await new Promise((resolve) => receiver.close(resolve));
    }
  });

  it("reloads: its routes go with the old instance and come back with the new one", async () => {
    await using dir = await tempDir();
    const service = await start(dir, { maxSentences: 1 });
    try {
      const owned = service.webhookServer.listRoutes().filter((r) => r.owner === "microservice");
      assert.ok(owned.length >= 2, JSON.stringify(owned));
      await service.reloadModule("microservice");
      assert.deepEqual(
        service.webhookServer.listRoutes().filter((r) => r.owner === "microservice"),
        owned,
      );
      const accepted = await post(service, "/summarize", { text: TEXT });
      assert.equal(accepted.status, 202);
      await accepted.body?.cancel();
      await service.unloadSingleModule("microservice");
      const gone = await post(service, "/summarize", { text: TEXT });
      assert.equal(gone.status, 404);
      await gone.body?.cancel();
    } finally {
      await service.shutdown();
    }
  });
});
