// The sample microservice plugin (plugins/microservice.ts) end to end: real HTTP in, a fake
// OpenAI-compatible upstream (tests/plugins/microservice_fake_openai.ts) and a callback
// receiver as real local servers; upstream failures, slow answers and an open breaker; the
// callback address policy; job expiry, resumption after a restart and across a reload; its
// metrics on /metrics.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { platform } from "../../core/platform/mod.ts";
import {
  CallbackPolicy,
  CallbackRefusedError,
  localSummary,
  type SummaryJob,
} from "../../plugins/microservice.ts";
import { IoraService } from "../../service/iora_service.ts";
import { deferred, type TempDir, tempDir, waitFor } from "../harness.ts";
import { postJson, serviceConfig, shippedPlugin } from "../service/_fixtures.ts";
import { FakeOpenAI } from "./microservice_fake_openai.ts";

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

async function start(
  dir: TempDir,
  options: Record<string, unknown>,
  state = "state.json",
): Promise<IoraService> {
  return await IoraService.create(serviceConfig(dir, {
    log: { level: "warn" },
    state: { file: dir.join(state) },
    modules: { modules: [{ url: shippedPlugin("microservice"), options }] },
  }));
}

function post(service: IoraService, payload: unknown): Promise<Response> {
  return postJson(service.webhookServer.port, "/summarize", payload);
}

async function get(service: IoraService, path: string): Promise<Response> {
  return await fetch(`http://127.0.0.1:${service.webhookServer.port}${path}`);
}

async function metrics(service: IoraService): Promise<string> {
  return await (await get(service, "/metrics")).text();
}

function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

function completions(service: IoraService): { next(): Promise<SummaryJob> } {
  const queue: SummaryJob[] = [];
  let waiting: ((job: SummaryJob) => void) | undefined;
  service.eventQueue.subscribe("microservice.completed", (job) => {
    if (waiting) {
      const w = waiting;
      waiting = undefined;
      w(job as SummaryJob);
    } else queue.push(job as SummaryJob);
  });
  return {
    next() {
      if (queue.length) return Promise.resolve(queue.shift()!);
      const d = deferred<SummaryJob>("a job's completion event");
      waiting = d.resolve;
      return d.wait();
    },
  };
}

describe("sample microservice plugin", () => {
  it("summarizes locally without an upstream, with status, events and its metrics", async () => {
    await using dir = await tempDir();
    const service = await start(dir, { maxSentences: 2 });
    try {
      const done = completions(service);
      const accepted = await post(service, { text: TEXT });
      assert.equal(accepted.status, 202);
      const { id, status } = await accepted.json();
      assert.equal(status, "queued");
      const job = await done.next();
      assert.equal(job.id, id);
      assert.equal(job.status, "done");
      assert.equal(job.summary, localSummary(TEXT, 2));
      assert.equal(job.degraded, true);
      assert.ok(job.expiresAt - job.createdAt === 3_600_000, "the default job TTL");
      assert.deepEqual(await (await get(service, `/summarize/${id}`)).json(), job);
      assert.equal(
        await service.callExportedApi<Promise<string>>("microservice.summarize", "A. B. C."),
        "A. B.",
      );
      const bad = await post(service, { text: 42 });
      assert.equal(bad.status, 400);
      await bad.body?.cancel();
      const missing = await get(service, "/summarize/nope");
      assert.equal(missing.status, 404);
      await missing.body?.cancel();
      const text = await metrics(service);
      assert.equal(sample(text, "iora_microservice_jobs_accepted_total"), 1);
      assert.equal(
        sample(text, 'iora_microservice_jobs_completed_total{outcome="degraded"}'),
        1,
      );
      assert.equal(sample(text, 'iora_microservice_jobs_rejected_total{reason="invalid"}'), 1);
      assert.equal(sample(text, "iora_microservice_job_duration_seconds_count"), 1);
      assert.equal(sample(text, "iora_microservice_upstream_circuit_open"), 0);
    } finally {
      await service.shutdown();
    }
  });

  it("uses the upstream through the HttpClient and posts the result to an allowed callback", async () => {
    await using dir = await tempDir();
    const upstream = await FakeOpenAI.start();
    const callbacks: SummaryJob[] = [];
    const arrived = deferred<void>("a callback");
    const receiver = createServer(async (req, res) => {
      callbacks.push(JSON.parse(await body(req)));
      res.end("ok");
      arrived.resolve();
    });
    platform().setEnv("IORA_TEST_MICROSERVICE_KEY", "sk-test");
    const receiverPort = await listen(receiver);
    const service = await start(dir, {
      upstreamUrl: upstream.url,
      apiKeyEnv: "IORA_TEST_MICROSERVICE_KEY",
      model: "test-model",
      callbackAllowlist: ["127.0.0.1"],
    });
    try {
      const clientBefore = service.httpClient.getStats().requests;
      const callbackUrl = `http://127.0.0.1:${receiverPort}/done`;
      await (await post(service, { text: TEXT, callbackUrl })).body?.cancel();
      await arrived.wait();
      assert.equal(callbacks[0].status, "done");
      assert.equal(callbacks[0].summary, FakeOpenAI.summaryOf(TEXT));
      assert.equal(callbacks[0].degraded, undefined);
      assert.deepEqual(upstream.requests, [
        { authorization: "Bearer sk-test", model: "test-model", text: TEXT },
      ]);
      assert.ok(
        service.httpClient.getStats().requests >= clientBefore + 2,
        "the upstream call and the callback went through the service's HttpClient",
      );
      assert.equal(
        await service.callExportedApi<Promise<string>>("microservice.summarize", TEXT),
        FakeOpenAI.summaryOf(TEXT),
      );
      assert.equal(upstream.requests.length, 1, "the same text is answered from the cache");
      await waitFor(
        async () =>
          sample(await metrics(service), 'iora_microservice_callbacks_total{result="sent"}') === 1,
        {
          what: "the sent callback to be counted",
        },
      );
      assert.equal(
        sample(await metrics(service), 'iora_microservice_upstream_requests_total{result="ok"}'),
        1,
      );
    } finally {
      await service.shutdown();
      platform().deleteEnv("IORA_TEST_MICROSERVICE_KEY");
      await upstream.close();
      await new Promise((resolve) => receiver.close(resolve));
    }
  });

  it("degrades on upstream failures and slow answers, then opens the breaker and stops calling", async () => {
    await using dir = await tempDir();
    const upstream = await FakeOpenAI.start();
    const service = await start(dir, {
      upstreamUrl: upstream.url,
      timeoutMs: 300,
      breakerFailures: 2,
      breakerResetMs: 60_000,
    });
    try {
      const done = completions(service);
      upstream.mode = "fail";
      await (await post(service, { text: OTHER })).body?.cancel();
      const failed = await done.next();
      assert.deepEqual([failed.summary, failed.degraded], [localSummary(OTHER, 2), true]);

      upstream.mode = "slow";
      await (await post(service, { text: TEXT })).body?.cancel();
      const slow = await done.next();
      assert.deepEqual([slow.summary, slow.degraded], [localSummary(TEXT, 2), true]);
      assert.equal(upstream.requests.length, 2);

      // Two failures in a row: the circuit is open, the upstream is not asked any more.
      upstream.mode = "ok";
      await (await post(service, { text: "Third text. Still local." })).body?.cancel();
      const open = await done.next();
      assert.equal(open.degraded, true);
      assert.equal(upstream.requests.length, 2, "no request while the circuit is open");
      const text = await metrics(service);
      assert.equal(sample(text, "iora_microservice_upstream_circuit_open"), 1);
      assert.equal(
        sample(text, 'iora_microservice_upstream_requests_total{result="short_circuited"}'),
        1,
      );
      assert.equal(sample(text, 'iora_microservice_upstream_requests_total{result="failed"}'), 2);
    } finally {
      await service.shutdown();
      await upstream.close();
    }
  });

  it("answers 503 with Retry-After while the breaker is open when rejectWhenOpen is set", async () => {
    await using dir = await tempDir();
    const upstream = await FakeOpenAI.start();
    upstream.mode = "fail";
    const service = await start(dir, {
      upstreamUrl: upstream.url,
      breakerFailures: 1,
      breakerResetMs: 30_000,
      rejectWhenOpen: true,
    });
    try {
      const done = completions(service);
      await (await post(service, { text: TEXT })).body?.cancel();
      assert.equal((await done.next()).degraded, true);
      const refused = await post(service, { text: OTHER });
      assert.equal(refused.status, 503);
      const retryAfter = Number(refused.headers.get("retry-after"));
      assert.ok(retryAfter >= 1 && retryAfter <= 30, `Retry-After ${retryAfter}`);
      assert.match((await refused.json()).error, /upstream/);
      assert.equal(upstream.requests.length, 1);
      assert.equal(
        sample(
          await metrics(service),
          'iora_microservice_jobs_rejected_total{reason="circuit_open"}',
        ),
        1,
      );
    } finally {
      await service.shutdown();
      await upstream.close();
    }
  });

  it("refuses callbacks to internal addresses unless listed, resolving names first", async () => {
    await using dir = await tempDir();
    const service = await start(dir, { callbackAllowlist: ["10.1.0.0/16"] });
    try {
      for (
        const [url, why] of [
          ["http://127.0.0.1:9/x", /loopback/],
          ["http://localhost:9/x", /loopback/],
          ["http://169.254.169.254/latest/meta-data", /link-local/],
          ["http://192.168.1.10/x", /private/],
          ["http://[::1]:9/x", /loopback/],
          ["http://[::ffff:127.0.0.1]/x", /loopback/],
          ["http://[fd00::1]/x", /private/],
          ["ftp://example.com/x", /only http/],
          ["not a url", /not a URL/],
        ] as const
      ) {
        const response = await post(service, { text: TEXT, callbackUrl: url });
        assert.equal(response.status, 400, url);
        assert.match((await response.json()).error, why, url);
      }
      const listed = await post(service, { text: TEXT, callbackUrl: "http://10.1.2.3:9/x" });
      assert.equal(listed.status, 202, "a listed range is allowed");
      await listed.body?.cancel();
      assert.equal(
        sample(await metrics(service), 'iora_microservice_jobs_rejected_total{reason="callback"}'),
        9,
      );
    } finally {
      await service.shutdown();
    }
    const policy = new CallbackPolicy(["hooks.internal", "192.168.5.0/24"]);
    assert.equal(policy.refusal("8.8.8.8"), undefined);
    assert.equal(policy.refusal("192.168.5.9"), undefined);
    assert.equal(policy.refusal("192.168.6.9"), "192.168.6.9 is a private address");
    assert.equal(policy.refusal("100.64.0.1"), "100.64.0.1 is a carrier-grade NAT address");
    assert.equal(policy.refusal("2001:db8::1"), undefined);
    const resolveTo = (addresses: string[]) => () => Promise.resolve(addresses);
    await policy.check("http://hooks.internal/x", resolveTo(["10.0.0.1"]));
    await assert.rejects(
      policy.check("https://rebind.example/x", resolveTo(["93.184.216.34", "10.0.0.1"])),
      (e: unknown) => e instanceof CallbackRefusedError && e.code === "CallbackRefused",
      "every address a name resolves to is checked",
    );
    assert.throws(() => new CallbackPolicy([42]), CallbackRefusedError);
  });

  it("expires job records after jobTtlMs", async () => {
    await using dir = await tempDir();
    const service = await start(dir, { jobTtlMs: 200 });
    try {
      const done = completions(service);
      const { id } = await (await post(service, { text: TEXT })).json();
      await done.next();
      assert.ok(service.stateStore.get(`microservice:job:${id}`), "the record is kept first");
      await waitFor(
        () => service.stateStore.get(`microservice:job:${id}`) === undefined,
        { what: "the sweep to remove the expired record", timeoutMs: 5000 },
      );
      const gone = await get(service, `/summarize/${id}`);
      assert.equal(gone.status, 404);
      await gone.body?.cancel();
    } finally {
      await service.shutdown();
    }
  });

  it("resumes a job left unfinished by a restart", async () => {
    await using dir = await tempDir();
    const upstream = await FakeOpenAI.start();
    upstream.mode = "hold";
    const first = await start(dir, { upstreamUrl: upstream.url });
    let id: string;
    try {
      id = (await (await post(first, { text: TEXT })).json()).id;
      await upstream.received(1); // the job is running, its upstream call held
    } finally {
      await first.shutdown();
    }
    upstream.mode = "ok";
    const second = await start(dir, { upstreamUrl: upstream.url });
    try {
      await waitFor(async () => {
        const job = await (await get(second, `/summarize/${id}`)).json();
        return job.status === "done";
      }, { what: "the resumed job to finish" });
      const job = await (await get(second, `/summarize/${id}`)).json();
      assert.equal(job.summary, FakeOpenAI.summaryOf(TEXT));
      assert.equal(upstream.requests.length, 2, "asked again after the restart");
    } finally {
      await second.shutdown();
      await upstream.close();
    }
  });

  it("keeps its routes and metrics working across a reload, finishing a job queued before it", async () => {
    await using dir = await tempDir();
    const upstream = await FakeOpenAI.start();
    upstream.mode = "hold";
    const service = await start(dir, { upstreamUrl: upstream.url, maxSentences: 1 });
    try {
      const owned = service.webhookServer.listRoutes().filter((r) => r.owner === "microservice");
      assert.ok(owned.length >= 2, JSON.stringify(owned));
      const { id } = await (await post(service, { text: TEXT })).json();
      await upstream.received(1);
      upstream.mode = "ok";
      await service.reloadModule("microservice");
      assert.deepEqual(
        service.webhookServer.listRoutes().filter((r) => r.owner === "microservice"),
        owned,
      );
      await waitFor(async () => {
        const job = await (await get(service, `/summarize/${id}`)).json();
        return job.status === "done";
      }, { what: "the job queued before the reload to finish" });
      const accepted = await post(service, { text: OTHER });
      assert.equal(accepted.status, 202);
      await accepted.body?.cancel();
      assert.match(await metrics(service), /iora_microservice_jobs_accepted_total 1/);
      await service.unloadSingleModule("microservice");
      const gone = await post(service, { text: TEXT });
      assert.equal(gone.status, 404);
      await gone.body?.cancel();
      assert.doesNotMatch(await metrics(service), /iora_microservice_/);
    } finally {
      await service.shutdown();
      await upstream.close();
    }
  });
});
