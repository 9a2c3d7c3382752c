// A sandboxed plugin (a child process; Deno only) serves a JSON-RPC method through the
// jsonrpc_server plugin's exported-API route, and the method goes when the sandbox unloads.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { IoraService } from "../../service/iora_service.ts";
import { tempDir } from "../harness.ts";
import { serviceConfig, shippedPlugin } from "./_fixtures.ts";

const sandboxed = new URL("../fixtures/jsonrpc/sandboxed_methods.ts", import.meta.url).href;

describe("jsonrpc_server plugin and a sandboxed plugin", () => {
  it("serves a sandbox's exported API as a method (registerApi) until the sandbox unloads", async () => {
    await using dir = await tempDir();
    const service = await IoraService.create(serviceConfig(dir, {
      log: { level: "warn" },
      modules: { modules: [{ url: shippedPlugin("jsonrpc_server") }] },
    }));
    try {
      await service.loadSingleModule({
        url: sandboxed,
        name: "sbx",
        sandbox: true,
        services: ["apis"],
        apis: ["jsonrpc.registerApi"],
      });
      const call = async () => {
        const response = await fetch(`http://127.0.0.1:${service.webhookServer.port}/rpc`, {
          method: "POST",
          body: JSON.stringify({ jsonrpc: "2.0", method: "sbx.add", params: [20, 22], id: 1 }),
        });
        return await response.json();
      };
      assert.deepEqual(await call(), {
        jsonrpc: "2.0",
        result: { sum: 42, method: "sbx.add" },
        id: 1,
      });
      await service.unloadSingleModule("sbx");
      assert.equal(service.callExportedApi("jsonrpc.has", "sbx.add"), false);
      assert.deepEqual(await call(), {
        jsonrpc: "2.0",
        error: { code: -32601, message: "Method not found" },
        id: 1,
      });
    } finally {
      await service.shutdown();
    }
  });
});
