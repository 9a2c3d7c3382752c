// Sandboxes tried as an attacker would: a plugin with no permissions and
// only the default services tries each known escape. Every test asserts
// that the host is alive and still serving, that the grant held, and that
// the failure was reported. Deno only: process sandboxes need Deno.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { platform } from "../../core/platform/mod.ts";
import { ApiRegistry } from "../../service/api_registry.ts";
import { PluginError } from "../../service/errors.ts";
import { IoraService } from "../../service/iora_service.ts";
import type { ModuleSpec } from "../../service/module_spec.ts";
import { type PluginEvent, PluginHost } from "../../service/plugin_host.ts";
import { sandboxArgs } from "../../service/_sandbox_process.ts";
import { deferred, tempDir, waitFor } from "../harness.ts";
import { pluginFixture } from "./_fixtures.ts";

function setup(timeoutMs = 2000) {
  const registry = new ApiRegistry();
  const logs: string[] = [];
  const host = new PluginHost({
    service: { events: [] as string[] },
    registry,
    log: (level, message) => logs.push(`${level}: ${message}`),
    sandboxTimeoutMs: timeoutMs,
    sandboxLoadTimeoutMs: 60_000,
  });
  const call = <T>(api: string, ...args: unknown[]) =>
    registry.callExportedApi<Promise<T>>(api, ...args);
  return { registry, host, logs, call };
}

function hostile(name: string, extra: Partial<ModuleSpec> = {}): ModuleSpec {
  return { url: pluginFixture("sandbox_hostile"), name, sandbox: true, ...extra };
}

function unloadedEvent(host: PluginHost, name: string) {
  const event = deferred<PluginEvent>(`the unload of ${name}`);
  host.onEvent((e) => e.type === "unloaded" && e.name === name && event.resolve(e));
  return event;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The host keeps serving: a trusted plugin answers, another sandbox answers. */
async function assertServing(host: PluginHost, registry: ApiRegistry): Promise<void> {
  if (!host.isLoaded("base")) await host.loadSingleModule(pluginFixture("base"));
  assert.equal(registry.callExportedApi("base.add", 2, 3), 5);
  if (!host.isLoaded("witness")) await host.loadSingleModule(hostile("witness"));
  assert.equal(await registry.callExportedApi("witness.echo", "still here"), "still here");
}

describe("hostile sandboxes (process isolation)", () => {
  it("cannot signal the host; killing itself is reported and unloads only itself", async () => {
    const { host, registry, call, logs } = setup();
    await host.loadSingleModule(hostile("killer"));
    const pid = await call<number>("killer.pid");
    assert.notEqual(pid, platform().pid(), "the sandbox is a process of its own");
    for (const signal of ["SIGKILL", "SIGSTOP", "SIGTERM"]) {
      assert.match(await call<string>("killer.killHost", signal), /NotCapable|run access/);
    }
    const unloaded = unloadedEvent(host, "killer");
    assert.equal(await call<string>("killer.killSelf", "SIGKILL"), "sent");
    const event = await unloaded.wait();
    assert.equal(event.type === "unloaded" && event.reason, "crashed");
    assert.match(String(event.type === "unloaded" && event.error?.message), /killed by SIGKILL/);
    assert.ok(logs.some((l) => l.startsWith("error:") && l.includes("killer")));
    await assertServing(host, registry);
    await host.unloadAll();
  });

  it("a sandbox that stops itself (SIGSTOP) is cut off at the call deadline", async () => {
    const { host, registry, call } = setup(500);
    await host.loadSingleModule(hostile("stopper"));
    const pid = await call<number>("stopper.pid");
    const unloaded = unloadedEvent(host, "stopper");
    await assert.rejects(call("stopper.killSelf", "SIGSTOP", true), { code: "SandboxTimeout" });
    assert.equal((await unloaded.wait()).type, "unloaded");
    await waitFor(() => !alive(pid), { what: "the stopped sandbox to be killed" });
    await assertServing(host, registry);
    await host.unloadAll();
  });

  it("spinning between calls is found by the heartbeat: stopped and reported", async () => {
    const { host, registry, call } = setup(300);
    await host.loadSingleModule(hostile("spinner"));
    const pid = await call<number>("spinner.pid");
    const unloaded = unloadedEvent(host, "spinner");
    assert.equal(await call<string>("spinner.spinLater"), "scheduled");
    const event = await unloaded.wait();
    assert.equal(event.type === "unloaded" && event.reason, "timeout");
    assert.match(String(event.type === "unloaded" && event.error?.message), /"ping"/);
    await waitFor(() => !alive(pid), { what: "the spinning sandbox to be killed" });
    await assertServing(host, registry);
    await host.unloadAll();
  });

  it("filling its heap from a timer kills only the sandbox, reported as out of memory", async () => {
    const { host, registry, call } = setup();
    await host.loadSingleModule(hostile("hog", { limits: { heapMb: 24 } }));
    const unloaded = unloadedEvent(host, "hog");
    assert.equal(await call<string>("hog.fillHeapLater"), "scheduled");
    const event = await unloaded.wait();
    assert.equal(event.type === "unloaded" && event.reason, "crashed");
    assert.match(String(event.type === "unloaded" && event.error?.message), /out of memory/);
    await assertServing(host, registry);
    await host.unloadAll();
  });

  it("a static import outside the plugin's root refuses the load, naming the specifier", async () => {
    const { host } = setup();
    await assert.rejects(
      host.loadSingleModule({
        url: pluginFixture("sandbox_json_import"),
        name: "leaky",
        sandbox: true,
        permissions: { read: true },
      }),
      (error: unknown) => {
        assert.ok(error instanceof PluginError);
        assert.equal(error.code, "SandboxRefused");
        assert.match(error.message, /outside_root\/state\.json/);
        assert.match(error.message, /outside the plugin's root/);
        return true;
      },
    );
    assert.deepEqual(host.listModules(), []);
  });

  it("a computed dynamic import outside its root is denied by the process's permissions", async () => {
    const { host, call } = setup();
    await host.loadSingleModule(hostile("importer"));
    const url = new URL("../fixtures/outside_root/state.json", import.meta.url).href;
    assert.match(await call<string>("importer.importOutside", url), /NotCapable|read access/);
    await host.unloadAll();
  });

  it("exports only under its own namespace: it cannot take a trusted plugin's API names", async () => {
    const { host, registry } = setup();
    // Loaded first, it tries to take base.add: the load fails, one error names why.
    await assert.rejects(
      host.loadSingleModule(hostile("squatter", { options: { exportOutside: true } })),
      /may export only under its namespaces \(squatter\)/,
    );
    await host.loadSingleModule(pluginFixture("base"));
    assert.equal(registry.callExportedApi("base.add", 1, 1), 2);
    // Loaded while base reloads, it still cannot.
    const reload = host.reloadModule("base");
    const during = host.loadSingleModule(hostile("squatter", { options: { exportOutside: true } }))
      .then(() => "loaded", (e: Error) => e.message);
    await reload;
    assert.match(await during, /base\.add/);
    assert.equal(host.isLoaded("squatter"), false);
    assert.equal(registry.listApis().find((a) => a.name === "base.add")?.owner, "base");
    // A namespace granted in its configuration has one owner at a time.
    await assert.rejects(
      host.loadSingleModule(hostile("other", { namespaces: ["base"] })),
      { code: "NamespaceConflict" },
    );
    await host.unloadAll();
  });

  it("quotas: exports, message size and calls in flight, each refusal logged once", async () => {
    const { host, registry, call, logs } = setup();
    await host.loadSingleModule(
      hostile("greedy", {
        limits: { maxExports: 50, maxMessageBytes: 100_000, maxCallsInFlight: 8 },
      }),
    );
    assert.equal(await call<number>("greedy.exportMany", 1000, "greedy.x"), 0);
    await call("greedy.echo", "sync"); // the export notes have all arrived
    const exported = registry.listApis().filter((a) => a.owner === "greedy").length;
    assert.equal(exported, 50);
    assert.equal(logs.filter((l) => l.includes("export refused")).length, 1);

    await assert.rejects(call("greedy.bigResult", 200_000), /exceeds the 100000-byte limit/);
    await assert.rejects(call("greedy.echo", "y".repeat(200_000)), /exceeds the 100000-byte limit/);
    assert.equal(await call<string>("greedy.bigResult", 10), "xxxxxxxxxx", "still serving");

    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => call<number>("greedy.echo", i)),
    );
    const refused = results.filter((r) => r.status === "rejected");
    assert.equal(refused.length, 12);
    assert.match(String((refused[0] as PromiseRejectedResult).reason), /maxCallsInFlight/);
    await host.unloadAll();
  });

  it("results are copies: shared memory does not cross back", async () => {
    const { host, call } = setup();
    await host.loadSingleModule(hostile("sharer"));
    const result = await call<Uint8Array>("sharer.sharedResult");
    assert.ok(result instanceof Uint8Array && !(result.buffer instanceof SharedArrayBuffer));
    const before = [...result];
    await call("sharer.echo", "after the timer ran");
    assert.deepEqual([...result], before);
    await host.unloadAll();
  });

  it("log floods are cut to the rate limit with one line counting the drop", async () => {
    const { host, call, logs } = setup();
    await host.loadSingleModule(hostile("noisy", { limits: { maxLogLinesPerSecond: 20 } }));
    await call("noisy.logFlood", 5000);
    await call("noisy.echo", "sync");
    const lines = logs.filter((l) => l.includes("[noisy]") && l.includes("flood"));
    assert.ok(lines.length <= 20, `${lines.length} lines passed`);
    await host.unloadAll();
  });

  it("two sandboxes share no BroadcastChannel and no origin storage", async () => {
    const { host, call } = setup();
    await host.loadSingleModule(hostile("alice"));
    await host.loadSingleModule(hostile("bob"));
    await call("bob.listen", "leak");
    assert.equal(await call("alice.broadcast", "leak", "psst"), "psst", "sent inside alice");
    await call("bob.echo", "sync");
    assert.deepEqual(await call("bob.heard"), []);
    await call("alice.storage", "write");
    assert.deepEqual(await call("bob.storage", "read"), { local: null, cache: null });
    assert.deepEqual(await call("alice.storage", "read"), { local: "alice", cache: "alice" });
    await host.unloadAll();
  });

  it("an onUnload that never answers is cut off at the deadline and leaves no process", async () => {
    const { host, call } = setup(300);
    await host.loadSingleModule(hostile("clinger", { options: { hangOnUnload: true } }));
    const pid = await call<number>("clinger.pid");
    await host.unloadSingleModule("clinger");
    assert.equal(alive(pid), false);
  });

  it("shutdown keeps its budget, unloads the plugins after a hung one, leaves no process", async () => {
    await using dir = await tempDir();
    const service = await IoraService.create({
      server: { enabled: false },
      log: { level: "error", file: dir.join("iora.log") },
      state: { file: dir.join("state.json") },
      modules: {
        modules: [
          pluginFixture("service_user"),
          { ...hostile("clinger", { options: { hangOnUnload: true } }), timeoutMs: 60_000 },
        ],
      },
    }, { unloadTimeoutMs: 1000 });
    const pid = await service.callExportedApi<Promise<number>>("clinger.pid");
    const t0 = performance.now();
    await service.shutdown();
    const took = performance.now() - t0;
    assert.ok(took < 5000, `shutdown took ${took} ms`);
    assert.equal(alive(pid), false);
    assert.equal(service.stateStore.get("user.unloaded"), "yes", "the trusted plugin unloaded");
  });

  it("routes only under its prefix, within its quota; state within its bytes", async () => {
    await using dir = await tempDir();
    const service = await IoraService.create({
      server: { port: 0 },
      log: { level: "error", file: dir.join("iora.log") },
      state: { file: dir.join("state.json") },
      modules: {
        modules: [hostile("router", {
          services: ["routes", "state"],
          limits: { maxRoutes: 2, maxStateBytes: 1000 },
        })],
      },
    });
    try {
      const add = (path: string) =>
        service.callExportedApi<Promise<string>>("router.addRoute", path);
      assert.match(await add("/health"), /only under \/router/);
      assert.match(await add("/routerx"), /only under \/router/);
      assert.equal(await add("/router/a"), "added");
      assert.equal(await add("/router/b"), "added");
      assert.match(await add("/router/c"), /at most 2 routes/);
      const health = await fetch(`http://127.0.0.1:${service.webhookServer.port}/health`);
      assert.equal((await health.json()).status, "pass", "the host's route is untouched");
      const store = (n: number) => service.callExportedApi<Promise<string>>("router.storeBytes", n);
      assert.equal(await store(900), "stored");
      assert.match(await store(2000), /at most 1000 bytes of state/);
      assert.equal(await store(500), "stored", "replacing a value frees its bytes");
    } finally {
      await service.shutdown();
    }
  });

  it("a sandbox process gets exactly its grants, no prompt, no fetching; so does the start task", async () => {
    const base = {
      name: "p",
      importUrl: "file:///plugins/p.ts",
      graphFiles: ["/plugins/p.ts", "/iora/service/plugin.ts"],
      root: "file:///plugins/",
      heapMb: 64,
      maxMessageBytes: 1000,
      onStderr: () => {},
    };
    const bare = await sandboxArgs({ ...base, permissions: {} });
    for (const flag of ["--no-prompt", "--cached-only", "--no-lock", "--deny-import"]) {
      assert.ok(bare.includes(flag), `${flag} in ${bare.join(" ")}`);
    }
    assert.ok(bare.includes("--v8-flags=--max-old-space-size=64"));
    assert.deepEqual(bare.filter((a) => a.startsWith("--allow-")), [
      "--allow-read=/plugins/p.ts,/iora/service/plugin.ts",
    ]);
    assert.match(
      bare.find((a) => a.startsWith("--location="))!,
      /^--location=http:\/\/s[0-9a-f]{32}\./,
    );
    const granted = await sandboxArgs({
      ...base,
      permissions: {
        read: ["/data"],
        net: ["127.0.0.1:80"],
        env: ["HOME"],
        import: ["example.com"],
      },
    });
    assert.deepEqual(granted.filter((a) => a.startsWith("--allow-") || a === "--deny-import"), [
      "--allow-read=/data,/plugins/p.ts,/iora/service/plugin.ts",
      "--allow-net=127.0.0.1:80",
      "--allow-env=HOME",
      "--allow-import=example.com",
    ]);
    const config = JSON.parse(
      await platform().readTextFile(new URL("../../deno.json", import.meta.url).pathname),
    ) as { tasks: Record<string, string> };
    assert.match(config.tasks.start, /--no-prompt/);
    assert.match(config.tasks.compile, /--no-prompt/);
    const readme = await platform().readTextFile(
      new URL("../../README.md", import.meta.url).pathname,
    );
    assert.match(readme, /deno install -g -n iora --no-prompt/);
  });
});
