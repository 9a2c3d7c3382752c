// Sandboxing where the runtime cannot enforce a plugin's permissions (Node):
// a sandboxed module is refused with a clear error unless the config allows
// running it unsandboxed, and then it runs in a process of its own under
// Node's permission model. The refusal runs under Deno too, by driving the
// Node seam.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { loadPlatform, platform } from "../../core/platform/mod.ts";
import { ApiRegistry } from "../../service/api_registry.ts";
import { PluginError } from "../../service/errors.ts";
import { type PluginEvent, PluginHost } from "../../service/plugin_host.ts";
import { deferred, isDeno, tempDir, withPlatform } from "../harness.ts";
import { pluginFixture } from "./_fixtures.ts";

describe("sandboxed plugins on node", () => {
  it("refuses a sandboxed module with a clear error naming the runtime", async () => {
    await withPlatform(await loadPlatform("node"), async () => {
      const logs: string[] = [];
      const host = new PluginHost({
        service: {},
        registry: new ApiRegistry(),
        log: (level, message) => logs.push(`${level}: ${message}`),
      });
      await assert.rejects(
        host.loadSingleModule({
          url: pluginFixture("sandbox_crash"),
          name: "untrusted",
          sandbox: true,
          permissions: { net: ["example.com"] },
        }),
        (error: unknown) => {
          assert.ok(error instanceof PluginError);
          assert.equal(error.code, "SandboxRefused");
          assert.equal(error.plugin, "untrusted");
          assert.match(error.message, /not supported on node/);
          assert.match(error.message, /allowUnsandboxed/);
          return true;
        },
      );
      assert.deepEqual(host.listModules(), []);
      assert.ok(logs.some((l) => l.startsWith("error:") && l.includes("untrusted")));
    });
  });

  // Under Deno the Node seam would start node processes from Deno's compatibility layer; the real
  // proof is the Node run.
  it("with allowUnsandboxed, runs it in a process of its own under node's permission model", {
    skip: isDeno,
  }, async () => {
    const logs: string[] = [];
    const registry = new ApiRegistry();
    const host = new PluginHost({
      service: {},
      registry,
      log: (level, message) => logs.push(`${level}: ${message}`),
    });
    await using dir = await tempDir();
    await platform().writeTextFile(dir.join("secret.txt"), "s3cret");
    await host.loadSingleModule({
      url: pluginFixture("sandbox_probe"),
      name: "probe",
      sandbox: true,
      allowUnsandboxed: true,
    });
    assert.ok(logs.some((l) => l.startsWith("warn:") && l.includes("UNSANDBOXED")));
    const denied = await registry.callExportedApi<Promise<{ ok: boolean; error?: string }>>(
      "probe.read",
      dir.join("secret.txt"),
    );
    assert.equal(denied.ok, false, "files outside its root and grants stay closed");
    assert.match(String(denied.error), /ERR_ACCESS_DENIED|PermissionDenied|restricted/);
    await host.loadSingleModule({
      url: pluginFixture("sandbox_probe"),
      name: "reader",
      sandbox: true,
      allowUnsandboxed: true,
      permissions: { read: [dir.path] },
    });
    assert.deepEqual(await registry.callExportedApi("reader.read", dir.join("secret.txt")), {
      ok: true,
      value: "s3cret",
    });
    await host.unloadAll();
  });

  it("a node sandbox process that fills its heap dies alone, reported as out of memory", {
    skip: isDeno,
  }, async () => {
    const registry = new ApiRegistry();
    const host = new PluginHost({ service: {}, registry });
    await host.loadSingleModule({
      url: pluginFixture("sandbox_hostile"),
      name: "hog",
      sandbox: true,
      allowUnsandboxed: true,
      limits: { heapMb: 24 },
    });
    const unloaded = deferred<PluginEvent>("the unload of hog");
    host.onEvent((e) => e.type === "unloaded" && e.name === "hog" && unloaded.resolve(e));
    assert.equal(await registry.callExportedApi("hog.fillHeapLater"), "scheduled");
    const event = await unloaded.wait();
    assert.equal(event.type === "unloaded" && event.reason, "crashed");
    assert.match(String(event.type === "unloaded" && event.error?.message), /out of memory/);
    await host.unloadAll();
  });

  it("isolation = worker keeps the unsandboxed worker of earlier versions", {
    skip: isDeno,
  }, async () => {
    const registry = new ApiRegistry();
    const host = new PluginHost({ service: {}, registry });
    await host.loadSingleModule({
      url: pluginFixture("sandbox_crash"),
      name: "trusted_anyway",
      sandbox: true,
      isolation: "worker",
      allowUnsandboxed: true,
    });
    assert.deepEqual(await registry.callExportedApi("trusted_anyway.ok", 7), { echoed: 7 });
    await assert.rejects(
      registry.callExportedApi<Promise<void>>("trusted_anyway.throw"),
      /thrown on purpose/,
    );
    await host.unloadAll();
  });
});
