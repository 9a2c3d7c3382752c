// Sandboxed plugins, in child processes (the default) and in permission-scoped
// Deno workers (the weaker option): every test runs in both. Deno only: Node
// cannot enforce per-plugin permissions (its refusal is tested in sandbox_test.ts).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { platform } from "../../core/platform/mod.ts";
import type { WorkerPermissions } from "../../core/platform/mod.ts";
import { ApiRegistry } from "../../service/api_registry.ts";
import { ApiUnavailableError, PluginError } from "../../service/errors.ts";
import type { SandboxIsolation } from "../../service/module_spec.ts";
import { type ModuleSpec, type PluginEvent, PluginHost } from "../../service/plugin_host.ts";
import { IoraService } from "../../service/iora_service.ts";
import { deferred, type TempDir, tempDir, waitFor } from "../harness.ts";
import { pluginFixture } from "./_fixtures.ts";

type Probe = { ok: true; value: string } | { ok: false; error: string };
const DENIED = /NotCapable|PermissionDenied|Requires .* access/;

let isolation: SandboxIsolation = "process";

function setup() {
  const registry = new ApiRegistry();
  const logs: string[] = [];
  const state = new Map<string, string>();
  const events: PluginEvent[] = [];
  const service = { events: [] as string[] };
  const host = new PluginHost({
    service,
    registry,
    log: (level, message) => logs.push(`${level}: ${message}`),
    sandboxTimeoutMs: 2000,
    // Generous: on a cold cache a worker type-checks its modules before it starts, which can
    // take many seconds on a loaded machine. The load-timeout test uses its own short limit.
    sandboxLoadTimeoutMs: 60_000,
    sandboxIsolation: isolation,
    sandboxServices: {
      state: (_owner, op, args) => {
        const [key, value] = args as [string, string];
        if (op === "get") return Promise.resolve(state.get(key));
        if (op === "set") return Promise.resolve(void state.set(key, value));
        if (op === "remove") return Promise.resolve(state.delete(key));
        return Promise.resolve([...state.keys()]);
      },
    },
  });
  host.onEvent((e) => events.push(e));
  return { registry, host, logs, state, events, service };
}

async function probe(
  host: PluginHost,
  registry: ApiRegistry,
  name: string,
  permissions: WorkerPermissions,
  api: string,
  ...args: unknown[]
): Promise<Probe> {
  await host.loadSingleModule({
    url: pluginFixture("sandbox_probe"),
    name,
    sandbox: true,
    permissions,
  });
  try {
    return await registry.callExportedApi<Promise<Probe>>(`${name}.${api}`, ...args);
  } finally {
    await host.unloadSingleModule(name);
  }
}

for (const mode of ["process", "worker"] as const) {
  describe(`sandboxed plugins (${mode})`, () => {
    let dir: TempDir;
    let server: Server;
    let port = 0;

    before(async () => {
      isolation = mode;
      dir = await tempDir();
      await platform().writeTextFile(dir.join("secret.txt"), "s3cret");
      server = createServer((_req, res) => res.end("net-ok"));
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      port = (server.address() as { port: number }).port;
    });

    after(async () => {
      await new Promise((resolve) => server.close(resolve));
      await dir[Symbol.asyncDispose]();
    });

    it("denies reading by default and allows the granted path", async () => {
      const { host, registry } = setup();
      const file = dir.join("secret.txt");
      const denied = await probe(host, registry, "r1", {}, "read", file);
      assert.equal(denied.ok, false);
      assert.match((denied as { error: string }).error, DENIED);
      const granted = await probe(host, registry, "r2", { read: [dir.path] }, "read", file);
      assert.deepEqual(granted, { ok: true, value: "s3cret" });
    });

    it("denies writing by default and allows the granted path", async () => {
      const { host, registry } = setup();
      const file = dir.join("written.txt");
      const denied = await probe(host, registry, "w1", { read: [dir.path] }, "write", file, "x");
      assert.match((denied as { error: string }).error, DENIED);
      await assert.rejects(platform().stat(file), { code: "NotFound" });
      const granted = await probe(host, registry, "w2", { write: [dir.path] }, "write", file, "y");
      assert.deepEqual(granted, { ok: true, value: "written" });
      assert.equal(await platform().readTextFile(file), "y");
    });

    it("denies the network by default and allows the granted host", async () => {
      const { host, registry } = setup();
      const url = `http://127.0.0.1:${port}/`;
      const denied = await probe(host, registry, "n1", {}, "net", url);
      assert.match((denied as { error: string }).error, DENIED);
      const other = await probe(host, registry, "n2", { net: ["127.0.0.1:1"] }, "net", url);
      assert.match(
        (other as { error: string }).error,
        DENIED,
        "another port of the host stays denied",
      );
      const granted = await probe(host, registry, "n3", { net: [`127.0.0.1:${port}`] }, "net", url);
      assert.deepEqual(granted, { ok: true, value: "net-ok" });
    });

    it("denies the environment by default and allows the granted name", async () => {
      const { host, registry } = setup();
      platform().setEnv("IORA_SANDBOX_PROBE", "env-ok");
      try {
        const denied = await probe(host, registry, "e1", {}, "env", "IORA_SANDBOX_PROBE");
        assert.match((denied as { error: string }).error, DENIED);
        const granted = await probe(
          host,
          registry,
          "e2",
          { env: ["IORA_SANDBOX_PROBE"] },
          "env",
          "IORA_SANDBOX_PROBE",
        );
        assert.deepEqual(granted, { ok: true, value: "env-ok" });
        const otherName = await probe(
          host,
          registry,
          "e3",
          { env: ["IORA_SANDBOX_PROBE"] },
          "env",
          "HOME",
        );
        assert.match((otherName as { error: string }).error, DENIED);
      } finally {
        platform().deleteEnv("IORA_SANDBOX_PROBE");
      }
    });

    it("denies running commands by default and allows the granted command", async () => {
      const { host, registry } = setup();
      const denied = await probe(host, registry, "x1", {}, "run", "true", []);
      assert.match((denied as { error: string }).error, DENIED);
      const granted = await probe(host, registry, "x2", { run: ["true"] }, "run", "true", []);
      assert.deepEqual(granted, { ok: true, value: "0" });
    });

    it("calls granted host services and is refused the others", async () => {
      const { host, registry, logs, state } = setup();
      await host.loadSingleModule(pluginFixture("base"));
      const spec: ModuleSpec = {
        url: pluginFixture("sandbox_services"),
        name: "svc",
        sandbox: true,
        services: ["logger", "apis", "state"],
        options: { requireBase: true },
      };
      await host.loadSingleModule(spec);
      assert.ok(logs.includes("info: [svc] hello from svc"));
      assert.deepEqual(host.listModules().find((m) => m.name === "svc")?.dependencies, ["base"]);
      assert.equal(await registry.callExportedApi("svc.add", 2, 3), 5);
      assert.equal(
        await registry.getExportedApiSafe<(k: string, v: string) => Promise<string>>("svc.remember")
          .call("k", "v"),
        "v",
      );
      assert.equal(state.get("k"), "v");

      await host.loadSingleModule({ ...spec, name: "bare", services: [], options: {} });
      await assert.rejects(
        registry.callExportedApi<Promise<number>>("bare.add", 1, 2),
        /not granted the "apis" service/,
      );
      await assert.rejects(
        registry.callExportedApi<Promise<string>>("bare.remember", "k", "v"),
        /"state"/,
      );
      assert.ok(!logs.includes("info: [bare] hello from bare"), "no logger grant, no log lines");

      // The apis grant with an allow-list: names and prefixes.
      await host.loadSingleModule({ ...spec, name: "listed", apis: ["base."], options: {} });
      assert.equal(await registry.callExportedApi("listed.add", 2, 2), 4);
      await host.loadSingleModule({ ...spec, name: "narrow", apis: ["base.echo"], options: {} });
      await assert.rejects(
        registry.callExportedApi<Promise<number>>("narrow.add", 1, 2),
        /may not call API "base.add" \(not in its apis list\)/,
      );

      // The sandboxed dependent hears about its dependency going away.
      await host.unloadSingleModule("base");
      assert.ok(logs.includes("warn: [svc] dependency base unloaded"));
      await host.unloadAll();
    });

    it("a sandbox flooding the host with requests gets errors beyond the in-flight cap", async () => {
      const { host, registry, logs } = setup();
      const gate = deferred<void>("the release of the waiting calls");
      let waiting = 0;
      registry.exportApi("host", "test.wait", async () => {
        waiting++;
        await gate.wait();
        return "done";
      });
      await host.loadSingleModule({
        url: pluginFixture("sandbox_services"),
        name: "flooder",
        sandbox: true,
        services: ["apis", "logger"],
      });
      const flood = registry.callExportedApi<
        Promise<{ ok: number; refused: number; reason: string }>
      >(
        "flooder.flood",
        1100,
        "test.wait",
      );
      // Every request has been answered or is waiting: only then release them.
      const refusals = () => logs.filter((l) => l.endsWith("request refused")).length;
      await waitFor(() => waiting + refusals() === 1100, { what: "all 1100 requests to arrive" });
      assert.equal(waiting, 1024);
      gate.resolve();
      const result = await flood;
      assert.deepEqual([result.ok, result.refused], [1024, 76]);
      assert.match(result.reason, /more than 1024 concurrent requests/);
      await host.unloadAll();
    });

    it("fails a sandboxed require of a missing module", async () => {
      const { host } = setup();
      await assert.rejects(
        host.loadSingleModule({
          url: pluginFixture("sandbox_services"),
          name: "needy",
          sandbox: true,
          options: { requireBase: true },
        }),
        (e: unknown) => e instanceof PluginError && /requires "base"/.test(e.message),
      );
      assert.deepEqual(host.listModules(), []);
    });

    it("a throwing API rejects that call only; the plugin stays loaded", async () => {
      const { host, registry } = setup();
      await host.loadSingleModule({
        url: pluginFixture("sandbox_crash"),
        name: "c",
        sandbox: true,
      });
      await assert.rejects(registry.callExportedApi<Promise<void>>("c.throw"), /thrown on purpose/);
      assert.deepEqual(await registry.callExportedApi("c.ok", [1, "two"]), { echoed: [1, "two"] });
      assert.equal(host.isLoaded("c"), true);
      await host.unloadAll();
    });

    it("a hung call is cut off at the deadline, the plugin unloaded and its dependents notified", async () => {
      const { host, registry, events, service } = setup();
      await host.loadSingleModule({
        url: pluginFixture("sandbox_crash"),
        name: "h",
        sandbox: true,
        timeoutMs: 300,
      });
      await host.loadSingleModule({
        url: pluginFixture("dependent"),
        name: "d",
        options: { requires: ["h"] },
      });
      const unloaded = deferred<PluginEvent>("the hung plugin's unload");
      host.onEvent((e) => e.type === "unloaded" && e.name === "h" && unloaded.resolve(e));
      const safe = registry.getExportedApiSafe<() => Promise<void>>("h.ok");
      await assert.rejects(registry.callExportedApi<Promise<void>>("h.hang"), {
        code: "SandboxTimeout",
      });
      const event = await unloaded.wait();
      assert.equal(event.type === "unloaded" && event.reason, "timeout");
      assert.equal(host.isLoaded("h"), false);
      assert.equal(host.isLoaded("d"), true, "the host keeps serving the others");
      assert.throws(() => safe.call(), ApiUnavailableError);
      assert.equal(registry.callExportedApi("d.ping"), "pong");
      assert.ok(service.events.includes("d:dependencyUnloaded:h"));
      assert.ok(events.some((e) => e.type === "unloaded" && e.name === "h"));
      await host.unloadAll();
    });

    it("an uncaught error in the worker unloads the plugin and notifies its dependents", async () => {
      const { host, registry, service } = setup();
      await host.loadSingleModule({
        url: pluginFixture("sandbox_crash"),
        name: "k",
        sandbox: true,
      });
      await host.loadSingleModule({
        url: pluginFixture("sandbox_services"),
        name: "s",
        sandbox: true,
      });
      await host.loadSingleModule({
        url: pluginFixture("dependent"),
        name: "dk",
        options: { requires: ["k"] },
      });
      const unloaded = deferred<PluginEvent>("the crashed plugin's unload");
      host.onEvent((e) => e.type === "unloaded" && e.name === "k" && unloaded.resolve(e));
      const pending = registry.getExportedApi<() => Promise<string>>("k.crashLater")();
      assert.equal(await pending, "scheduled");
      const event = await unloaded.wait();
      assert.equal(event.type === "unloaded" && event.reason, "crashed");
      assert.match(
        String(event.type === "unloaded" && event.error?.message),
        /uncaught in the worker/,
      );
      assert.throws(() => registry.callExportedApi("k.ok", 1), ApiUnavailableError);
      assert.equal(
        await registry.callExportedApi("s.double", 21),
        42,
        "the other sandbox still serves",
      );
      assert.ok(service.events.includes("dk:dependencyUnloaded:k"));
      await host.unloadAll();
    });

    it("a sandbox that breaks the message protocol is treated as crashed", async () => {
      const { host, registry, logs } = setup();
      await host.loadSingleModule({
        url: pluginFixture("sandbox_crash"),
        name: "g",
        sandbox: true,
      });
      const unloaded = deferred<PluginEvent>("the hostile plugin's unload");
      host.onEvent((e) => e.type === "unloaded" && e.name === "g" && unloaded.resolve(e));
      await registry.callExportedApi<Promise<string>>("g.garbage").catch(() => {});
      const event = await unloaded.wait();
      assert.equal(event.type === "unloaded" && event.reason, "crashed");
      assert.ok(logs.some((l) => l.includes("broke the protocol")));
      await host.unloadAll();
    });

    it("a module that throws or hangs while loading fails the load and leaves no worker", async () => {
      const { host } = setup();
      await assert.rejects(
        host.loadSingleModule({
          url: pluginFixture("sandbox_crash"),
          name: "t",
          sandbox: true,
          options: { throwOnLoad: true },
        }),
        /refusing to load/,
      );
      const slow = new PluginHost({
        service: {},
        registry: new ApiRegistry(),
        sandboxLoadTimeoutMs: 500,
        sandboxIsolation: mode,
      });
      await assert.rejects(
        slow.loadSingleModule({
          url: pluginFixture("sandbox_crash"),
          name: "u",
          sandbox: true,
          options: { hangOnLoad: true },
        }),
        { code: "SandboxTimeout" },
      );
      await assert.rejects(
        host.loadSingleModule({ url: pluginFixture("does_not_exist"), name: "v", sandbox: true }),
        (e: unknown) =>
          e instanceof PluginError && e.code === "SandboxRefused" &&
          /does_not_exist/.test(e.message),
      );
      assert.deepEqual(host.listModules(), []);
      assert.deepEqual(slow.listModules(), []);
    });

    it("in-flight calls during an unload reject with ApiUnavailableError", async () => {
      const { host, registry } = setup();
      await host.loadSingleModule({
        url: pluginFixture("sandbox_crash"),
        name: "f",
        sandbox: true,
      });
      const fn = registry.getExportedApiSafe<(v: number) => Promise<unknown>>("f.ok");
      const calls: Promise<unknown>[] = [];
      for (let i = 0; i < 50; i++) calls.push(fn.call(i).catch((e) => e));
      const unloading = host.unloadSingleModule("f");
      for (let i = 0; i < 50; i++) {
        try {
          calls.push(fn.call(i).catch((e) => e));
        } catch (e) {
          calls.push(Promise.resolve(e));
        }
      }
      await unloading;
      const results = await Promise.all(calls);
      for (const r of results) {
        if (r instanceof Error) {
          assert.ok(
            r instanceof ApiUnavailableError ||
              (r instanceof PluginError && r.code === "PluginNotLoaded"),
            `${r.name}: ${r.message}`,
          );
        } else assert.ok(typeof r === "object");
      }
    });

    it("through IoraService: a granted sandbox serves a route and keeps its own state keys", async () => {
      await using tmp = await tempDir();
      const service = await IoraService.create({
        server: { port: 0 },
        log: { level: "warn", file: tmp.join("iora.log") },
        state: { file: tmp.join("state.json") },
        modules: {
          modules: [{
            url: pluginFixture("sandbox_services"),
            name: "svc",
            sandbox: true,
            services: ["state", "routes"],
            options: { route: "/svc/echo" },
          }],
        },
      });
      try {
        const url = `http://127.0.0.1:${service.webhookServer.port}/svc/echo`;
        const post = () =>
          fetch(url, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: "[1,2]",
          });
        const served = await post();
        assert.equal(served.status, 200);
        assert.deepEqual(await served.json(), { echoed: [1, 2], by: "svc" });
        const remember = service.getExportedApiSafe<(k: string, v: string) => Promise<string>>(
          "svc.remember",
        );
        assert.equal(await remember.call("color", "blue"), "blue");
        assert.equal(service.stateStore.get("svc:color"), "blue", "sandbox keys are namespaced");
        await service.unloadSingleModule("svc");
        const gone = await post();
        assert.equal(gone.status, 404, "its route went with it");
        await gone.body?.cancel();
      } finally {
        await service.shutdown();
      }
    });
  });
}
