import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { platform } from "../../core/platform/mod.ts";
import { ApiRegistry } from "../../service/api_registry.ts";
import { ApiUnavailableError, PluginError } from "../../service/errors.ts";
import {
  moduleNameOf,
  PluginHost,
  type PluginHostOptions,
  resolveModuleUrl,
} from "../../service/plugin_host.ts";
import { deferred, tempDir } from "../harness.ts";
import { pluginFixture, serviceModule } from "./_fixtures.ts";

interface TestService {
  events: string[];
  host?: PluginHost;
}

function setup(extra: Partial<PluginHostOptions> = {}) {
  const service: TestService = { events: [] };
  const registry = new ApiRegistry();
  const logs: string[] = [];
  const host = new PluginHost({
    service,
    registry,
    log: (level, message) => logs.push(`${level}: ${message}`),
    ...extra,
  });
  service.host = host;
  return { service, registry, host, logs };
}

function isPluginError(code: string, plugin?: string) {
  return (error: unknown) => {
    assert.ok(error instanceof PluginError, `expected a PluginError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (plugin !== undefined) assert.equal(error.plugin, plugin);
    return true;
  };
}

describe("PluginHost (trusted plugins)", () => {
  it("loads modules in order, logs and skips the ones that fail, continues with the rest", async () => {
    const { host, registry, logs } = setup();
    const result = await host.loadModules([
      pluginFixture("base"),
      pluginFixture("not_a_plugin"),
      pluginFixture("failing"),
      { url: pluginFixture("does_not_exist") },
      pluginFixture("dependent"),
    ]);
    assert.deepEqual(result.loaded, ["base", "dependent"]);
    assert.deepEqual(result.failed.map((f) => (f.error as PluginError).code), [
      "InvalidPlugin",
      "PluginLoadFailed",
      "PluginLoadFailed",
    ]);
    assert.match(result.failed[1].error.message, /failing on purpose/);
    assert.equal(registry.hasApi("failing.half"), false, "a failed load leaves no API behind");
    assert.ok(logs.some((l) => l.startsWith("error:") && l.includes("not_a_plugin")));
    assert.deepEqual(host.listModules().map((m) => [m.name, m.dependencies]), [
      ["base", []],
      ["dependent", ["base"]],
    ]);
    assert.deepEqual(host.listModules()[0].apis, ["base.add", "base.echo"]);
    await host.unloadAll();
  });

  it("fails a load whose require() names a module that is not loaded", async () => {
    const { host } = setup();
    await assert.rejects(
      host.loadSingleModule(pluginFixture("dependent")),
      (error: unknown) => {
        isPluginError("DependencyMissing", "dependent")(error);
        assert.match((error as Error).message, /requires "base", which is not loaded/);
        return true;
      },
    );
    assert.equal(host.isLoaded("dependent"), false);
  });

  it("notifies dependents before a dependency unloads and after it loads again", async () => {
    const { host, service } = setup();
    await host.loadSingleModule(pluginFixture("base"));
    await host.loadSingleModule(pluginFixture("dependent"));
    service.events.length = 0;
    await host.unloadSingleModule("base");
    assert.deepEqual(service.events, ["dependent:dependencyUnloaded:base", "base:unload"]);
    service.events.length = 0;
    await host.loadSingleModule(pluginFixture("base"));
    assert.deepEqual(service.events, ["base:load", "dependent:dependencyLoaded:base"]);
    await host.unloadAll();
  });

  it("detects and reports a dependency cycle", async () => {
    const { host } = setup();
    await host.loadSingleModule(pluginFixture("base"));
    await host.loadSingleModule({ url: pluginFixture("dependent"), name: "a" });
    await host.unloadSingleModule("base");
    // "base" comes back as a module that requires "a", which requires "base".
    await assert.rejects(
      host.loadSingleModule({
        url: pluginFixture("dependent"),
        name: "base",
        options: { requires: ["a"] },
      }),
      (error: unknown) => {
        isPluginError("DependencyCycle", "base")(error);
        assert.match((error as Error).message, /base -> a -> base/);
        return true;
      },
    );
    await assert.rejects(
      host.loadSingleModule({
        url: pluginFixture("dependent"),
        name: "self",
        options: { requires: ["self"] },
      }),
      isPluginError("DependencyCycle", "self"),
    );
    await host.unloadAll();
  });

  it("refuses a second module with the same name and unloading an unknown module", async () => {
    const { host } = setup();
    await host.loadSingleModule(pluginFixture("base"));
    await assert.rejects(
      host.loadSingleModule(pluginFixture("base")),
      isPluginError("PluginAlreadyLoaded"),
    );
    await assert.rejects(host.unloadSingleModule("nope"), isPluginError("PluginNotLoaded", "nope"));
    await assert.rejects(host.reloadModule("nope"), isPluginError("PluginNotLoaded", "nope"));
    await host.unloadAll();
  });

  it("unloads everything dependents-first and later loads first", async () => {
    const { host, service } = setup();
    await host.loadSingleModule(pluginFixture("base"));
    await host.loadSingleModule({ url: pluginFixture("dependent"), name: "a" });
    await host.loadSingleModule({
      url: pluginFixture("dependent"),
      name: "b",
      options: { requires: ["a"] },
    });
    await host.loadSingleModule(pluginFixture("defined"));
    service.events.length = 0;
    await host.unloadAll();
    const unloads = service.events.filter((e) => e.endsWith(":unload"));
    assert.deepEqual(unloads, ["defined:unload", "b:unload", "a:unload", "base:unload"]);
    assert.deepEqual(host.listModules(), []);
  });

  it("rejects loading a module from inside a plugin hook instead of deadlocking", async () => {
    const { host } = setup();
    await assert.rejects(
      host.loadSingleModule(pluginFixture("reentrant")),
      isPluginError("Reentrant"),
    );
    assert.deepEqual(host.listModules(), []);
  });

  it("reloadModule picks up changed code and safe accessors follow it", async () => {
    await using dir = await tempDir();
    const path = dir.join("versioned.js");
    const source = (version: number) =>
      `import { Plugin } from ${JSON.stringify(serviceModule("plugin"))};\n` +
      `export default class Versioned extends Plugin {\n` +
      `  onLoad() { this.exportApi("versioned.get", () => ${version}); }\n}\n`;
    await platform().writeTextFile(path, source(1));
    const { host, registry } = setup({ directory: dir.path });
    assert.equal(await host.loadSingleModule("versioned.js"), "versioned");
    const safe = registry.getExportedApiSafe<() => number>("versioned.get");
    const raw = registry.getExportedApi<() => number>("versioned.get");
    assert.equal(safe.call(), 1);
    await platform().writeTextFile(path, source(2));
    await host.reloadModule("versioned");
    assert.equal(safe.call(), 2, "the safe accessor picks up the reloaded function");
    assert.equal(registry.callExportedApi("versioned.get"), 2);
    assert.equal(raw(), 1, "the raw function is the stale old one");
    await platform().writeTextFile(path, source(3));
    await host.reloadModule("versioned");
    assert.equal(safe.call(), 3);
    await host.unloadAll();
  });

  it("the three accessors before and after an unload", async () => {
    const { host, registry } = setup();
    await host.loadSingleModule(pluginFixture("base"));
    type Add = (a: number, b: number) => number;
    const raw = registry.getExportedApi<Add>("base.add");
    const safe = registry.getExportedApiSafe<Add>("base.add");
    assert.equal(raw(2, 3), 5);
    assert.equal(safe.call(2, 3), 5);
    assert.equal(safe.bind()(4, 4), 8);
    assert.equal(registry.callExportedApi<number>("base.add", 1, 1), 2);
    assert.equal(safe.isAvailable(), true);
    assert.equal(safe.getModuleName(), "base");
    assert.equal(safe.getApiName(), "base.add");

    await host.unloadSingleModule("base");
    assert.throws(() => registry.getExportedApi<Add>("base.add"), ApiUnavailableError);
    assert.throws(() => safe.call(1, 2), (e: unknown) => {
      assert.ok(e instanceof ApiUnavailableError);
      assert.equal(e.code, "ApiUnavailable");
      assert.match(e.message, /"base" is not loaded/);
      return true;
    });
    assert.throws(() => registry.callExportedApi("base.add", 1, 2), ApiUnavailableError);
    assert.equal(safe.isAvailable(), false);
    assert.equal(safe.getModuleName(), "base");
    assert.equal(raw(1, 1), 2, "a raw function stays callable in JS, just stale");

    await host.loadSingleModule(pluginFixture("base"));
    assert.equal(safe.call(5, 5), 10, "the same safe handle works again after the module returns");
  });

  it("concurrent calls during an unload either succeed or throw ApiUnavailableError", async () => {
    const { host, registry } = setup();
    await host.loadSingleModule(pluginFixture("base"));
    await host.loadSingleModule(pluginFixture("dependent"));
    const safe = registry.getExportedApiSafe<(a: number, b: number) => number>("base.add");
    let ok = 0;
    let unavailable = 0;
    const someCalled = deferred("the first calls through the API");
    const caller = async (id: number) => {
      for (let i = 0; i < 300; i++) {
        try {
          assert.equal(safe.call(id, i), id + i);
          assert.equal(registry.callExportedApi("base.add", id, i), id + i);
          if (++ok === 8) someCalled.resolve();
        } catch (error) {
          if (!(error instanceof ApiUnavailableError)) throw error;
          unavailable++;
        }
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
    };
    const callers = [1, 2, 3, 4].map(caller);
    await someCalled.wait();
    await host.unloadSingleModule("base");
    await Promise.all(callers);
    assert.ok(ok > 0, "some calls ran before the unload");
    assert.ok(unavailable > 0, "some calls ran after the unload");
    await host.unloadAll();
  });

  it("emits loaded, loadFailed and unloaded events", async () => {
    const { host } = setup();
    const events: string[] = [];
    const off = host.onEvent((e) => events.push(`${e.type}:${e.name}`));
    await host.loadSingleModule(pluginFixture("base"));
    await host.loadSingleModule(pluginFixture("failing")).catch(() => {});
    await host.unloadSingleModule("base");
    off();
    await host.loadSingleModule(pluginFixture("base"));
    await host.unloadAll();
    assert.deepEqual(events, ["loaded:base", "loadFailed:failing", "unloaded:base"]);
  });
});

// Built at run time so the npm build does not take it for a dependency.
const NPM_SPEC = ["npm", "some-plugin@1"].join(":");

describe("module locations", () => {
  it("resolves paths against the directory and keeps URLs and specifiers", () => {
    assert.equal(resolveModuleUrl("kv.ts", "/opt/iora/plugins"), "file:///opt/iora/plugins/kv.ts");
    assert.equal(resolveModuleUrl("/abs/x.ts", "/opt"), "file:///abs/x.ts");
    assert.equal(resolveModuleUrl("https://example.com/p.ts", "/opt"), "https://example.com/p.ts");
    assert.equal(resolveModuleUrl(NPM_SPEC, "/opt"), NPM_SPEC);
    assert.equal(resolveModuleUrl("a b.ts", "/opt"), "file:///opt/a%20b.ts");
    assert.ok(resolveModuleUrl("p.ts").startsWith("file:///"));
  });

  it("names a module after its file", () => {
    assert.equal(moduleNameOf("file:///p/kvstore.ts"), "kvstore");
    assert.equal(moduleNameOf("https://x.example/a/mod_rpc.js?v=1"), "mod_rpc");
    assert.equal(moduleNameOf(NPM_SPEC.replace("@1", "")), "some-plugin");
  });
});
