// Sandboxing where the runtime has no per-worker permissions (Node): a
// sandboxed module is refused with a clear error unless the config allows
// running it unsandboxed. Runs under Deno too, by driving the Node seam.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { nodePlatform } from "../../core/platform/mod.ts";
import { ApiRegistry } from "../../service/api_registry.ts";
import { PluginError } from "../../service/errors.ts";
import { PluginHost } from "../../service/plugin_host.ts";
import { isDeno, withPlatform } from "../harness.ts";
import { pluginFixture } from "./_fixtures.ts";

describe("sandboxed plugins on node", () => {
  it("refuses a sandboxed module with a clear error naming the runtime", async () => {
    await withPlatform(nodePlatform, async () => {
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

  // Under Deno the Node seam would start a node:worker_threads worker
  // inside Deno's compatibility layer; the real proof is the Node run.
  it("runs it in a worker with the host's permissions when allowUnsandboxed is set", {
    skip: isDeno,
  }, async () => {
    const logs: string[] = [];
    const registry = new ApiRegistry();
    const host = new PluginHost({
      service: {},
      registry,
      log: (level, message) => logs.push(`${level}: ${message}`),
    });
    await host.loadSingleModule({
      url: pluginFixture("sandbox_crash"),
      name: "trusted_anyway",
      sandbox: true,
      allowUnsandboxed: true,
    });
    assert.ok(logs.some((l) => l.startsWith("warn:") && l.includes("UNSANDBOXED")));
    assert.deepEqual(await registry.callExportedApi("trusted_anyway.ok", 7), { echoed: 7 });
    await assert.rejects(
      registry.callExportedApi<Promise<void>>("trusted_anyway.throw"),
      /thrown on purpose/,
    );
    await host.unloadAll();
  });
});
