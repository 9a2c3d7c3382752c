// Full IoraService instances as separate processes (the `iora` CLI with a config file), on a
// real redis-server: each registers itself in the cluster registry; a summarization job of
// the sample microservice queued on one instance runs on any, its status is readable on every
// one; SIGKILL of the instance running it: its registry entry expires within the TTL and
// another instance claims the unacknowledged job and finishes it. The HttpClient then reaches
// the instances through a registry-backed target list.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { platform } from "../../../core/platform/mod.ts";
import { HttpClient } from "../../../http/client.ts";
import { ClusterRegistry, RegistryTargets } from "../../../service/cluster/registry.ts";
import { deferred, type TempDir, tempDir, waitFor } from "../../harness.ts";
import { type RedisServer, startRedis } from "../../fixtures/cluster/redis_server.ts";
import { serviceModule, shippedPlugin } from "../_fixtures.ts";
import { FakeOpenAI } from "../../plugins/microservice_fake_openai.ts";

const isDeno = "Deno" in globalThis;
const TTL = 1500;
const CLAIM_IDLE = 1500;
const TEXT = "A job for the cluster. Any instance may run it. Another finishes it.";

interface Instance {
  child: ChildProcess;
  port: number;
  exited: Promise<void>;
  kill(signal: "SIGKILL" | "SIGTERM"): Promise<void>;
}

async function startInstance(dir: TempDir, name: string, toml: string): Promise<Instance> {
  const config = dir.join(`${name}.toml`);
  await platform().writeTextFile(config, toml.replaceAll("@NAME@", name));
  const main = new URL(serviceModule("main")).pathname;
  const args = isDeno
    ? [
      "run",
      "--config",
      new URL("../../../deno.json", import.meta.url).pathname,
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-net",
      "--allow-sys",
      main,
      "--config",
      config,
    ]
    : [main, "--config", config];
  const child = spawn(platform().execPath(), args, { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const banner = deferred<number>(`instance ${name} to listen`);
  let out = "";
  child.stdout!.on("data", (chunk: Uint8Array) => {
    out += new TextDecoder().decode(chunk);
    const port = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1];
    if (port) banner.resolve(Number(port));
  });
  child.once("exit", (code) => banner.reject(new Error(`${name} exited with ${code}: ${out}`)));
  let port: number;
  try {
    port = await banner.wait(30_000);
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  return {
    child,
    port,
    exited,
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

async function job(port: number, id: string): Promise<Record<string, unknown>> {
  const response = await fetch(`http://127.0.0.1:${port}/summarize/${id}`);
  return await response.json();
}

describe("IoraService instances in separate processes", () => {
  let redis: RedisServer;
  let dir: TempDir;
  let upstream: FakeOpenAI;

  before(async () => {
    redis = await startRedis();
    dir = await tempDir();
    upstream = await FakeOpenAI.start();
  });
  after(async () => {
    await upstream.close();
    await redis.stop();
    await dir[Symbol.asyncDispose]();
  });

  it("register, share jobs, and finish the job of an instance killed with SIGKILL", async () => {
    const toml = `
[server]
host = "127.0.0.1"
port = 0
[log]
level = "warn"
file = "${dir.join("@NAME@.log")}"
[state]
file = "${dir.join("@NAME@.json")}"
[cluster]
url = "${redis.url}"
prefix = "svc:"
state = true
events = true
registry = true
name = "summarizer"
version = "1.2.3"
ttlMs = ${TTL}
claimIdleMs = ${CLAIM_IDLE}
[[modules.modules]]
url = "${shippedPlugin("microservice")}"
options = { upstreamUrl = "${upstream.url}", timeoutMs = 60000 }
`;
    upstream.mode = "hold";
    const instances = await Promise.all(["a", "b"].map((n) => startInstance(dir, n, toml)));
    const registry = await ClusterRegistry.start({
      url: redis.url,
      prefix: "svc:",
      ttlMs: TTL,
      heartbeatMs: 200,
    });
    const client = new HttpClient();
    try {
      // Both registered, with what they are.
      await waitFor(async () => (await registry.instances("summarizer")).length === 2, {
        what: "both instances to register",
      });
      const listed = await registry.instances("summarizer");
      assert.deepEqual(listed.map((i) => i.port).sort(), instances.map((i) => i.port).sort());
      for (const entry of listed) {
        assert.equal(entry.version, "1.2.3");
        assert.equal(entry.address, "127.0.0.1");
        assert.ok(entry.apis.includes("microservice.summarize"), entry.apis.join());
      }

      // The registry-backed target list: requests go round-robin to both instances.
      await using targets = await RegistryTargets.watch(registry, "summarizer");
      const seen = new Set<string>();
      for (let i = 0; i < 4; i++) {
        await targets.request(async (base, target) => {
          const response = await client.get(`${base}/health`);
          assert.equal(response.statusCode, 200);
          seen.add(target.id);
        });
      }
      assert.equal(seen.size, 2, "both instances were chosen");

      // A job queued on a; whichever instance runs it holds the upstream request.
      const accepted = await fetch(`http://127.0.0.1:${instances[0].port}/summarize`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ text: TEXT }),
      });
      assert.equal(accepted.status, 202);
      const { id } = await accepted.json();
      await upstream.received(1);
      let runner = "";
      await waitFor(async () => {
        const states = await Promise.all(instances.map((i) => job(i.port, id)));
        runner = String(states[0].instance ?? "");
        return states.every((s) => s.status === "running" && s.instance === runner);
      }, { what: "both instances to show the job running" });
      const victim = instances.find((i) => listed.find((e) => e.id === runner)?.port === i.port);
      assert.ok(victim, `the runner ${runner} is one of the instances`);
      const survivor = instances.find((i) => i !== victim)!;

      // kill -9 of the runner: its entry expires within the TTL, its job is claimed.
      const gone = deferred<number>("the victim's registry entry to expire");
      const stopWatch = await registry.watch("summarizer", (change) => {
        if (change.removed.includes(runner)) gone.resolve(Date.now());
      });
      upstream.mode = "ok";
      const killedAt = Date.now();
      await victim.kill("SIGKILL");
      const goneAt = await gone.wait(10_000);
      await stopWatch();
      assert.ok(
        goneAt - killedAt <= TTL + 1000,
        `expired ${
          goneAt - killedAt
        } ms after the kill (TTL ${TTL} ms, checks every ${registry.heartbeatMs} ms)`,
      );
      await waitFor(async () => (await job(survivor.port, id)).status === "done", {
        what: "the survivor to finish the killed instance's job",
        timeoutMs: 20_000,
      });
      const finished = await job(survivor.port, id);
      assert.equal(finished.summary, FakeOpenAI.summaryOf(TEXT));
      assert.notEqual(finished.instance, runner, "finished by another instance");
      assert.equal(upstream.requests.length, 2, "asked again by the survivor");

      // The target list follows: only the survivor is left.
      await waitFor(() => targets.size === 1, { what: "the target list to drop the victim" });
      const ports = new Set<number>();
      for (let i = 0; i < 2; i++) {
        await targets.request(async (base, target) => {
          await (await client.get(`${base}/health`)).body;
          ports.add(target.port);
        });
      }
      assert.deepEqual([...ports], [survivor.port]);

      // A graceful stop deregisters at once.
      await survivor.kill("SIGTERM");
      assert.deepEqual(await registry.instances("summarizer"), []);
    } finally {
      await Promise.all(instances.map((i) => i.kill("SIGKILL")));
      await client.close();
      await registry.stop();
    }
  });
});
