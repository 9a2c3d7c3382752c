// The KVStore plugin (plugins/kvstore.ts); the store itself is tested in tests/plugins/kv/store_test.ts.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { KvStoreStats } from "../../plugins/kv/store.ts";
import { IoraService } from "../../service/iora_service.ts";
import { tempDir } from "../harness.ts";
import { serviceConfig, shippedPlugin } from "./_fixtures.ts";

const text = (bytes: Uint8Array | undefined) =>
  bytes === undefined ? undefined : new TextDecoder().decode(bytes);

describe("KVStore plugin", () => {
  it("exports kvstore.* through the service, persists across reload", async () => {
    await using dir = await tempDir();
    const service = await IoraService.create(serviceConfig(dir, {
      server: { enabled: false },
      log: { level: "warn" },
      modules: {
        modules: [{
          url: shippedPlugin("kvstore"),
          options: { path: dir.join("kv.bin"), sync: "batch", cacheBytes: 4096 },
        }],
      },
    }));
    try {
      const set = service.getExportedApiSafe<(k: string, v: string) => Promise<void>>(
        "kvstore.set",
      );
      await set.call("user:1", "Ada");
      await service.callExportedApi<Promise<void>>("kvstore.setBatch", [["a", "1"], ["b", "2"]]);
      assert.equal(service.callExportedApi("kvstore.getString", "user:1"), "Ada");
      assert.deepEqual(
        service.callExportedApi<(Uint8Array | undefined)[]>("kvstore.getBatch", ["a", "zz"]).map(
          text,
        ),
        ["1", undefined],
      );
      await service.reloadModule("kvstore");
      assert.equal(service.callExportedApi("kvstore.getString", "b"), "2");
      assert.equal(await set.call("c", "3"), undefined, "the safe handle follows the reload");
      assert.deepEqual(service.callExportedApi<string[]>("kvstore.keys").sort(), [
        "a",
        "b",
        "c",
        "user:1",
      ]);
      assert.deepEqual(service.callExportedApi<string[]>("kvstore.keys", "user:"), ["user:1"]);
      assert.equal(service.callExportedApi("kvstore.has", "a"), true);
      await service.callExportedApi<Promise<void>>("kvstore.setString", "s", "text");
      assert.equal(service.callExportedApi("kvstore.getString", "s"), "text");
      const got = service.callExportedApi<Uint8Array>("kvstore.get", "a");
      got[0] = 0;
      assert.equal(service.callExportedApi("kvstore.getString", "a"), "1", "get hands out a copy");
      await service.callExportedApi<Promise<void>>("kvstore.setBatch", [["a", null]]);
      assert.equal(service.callExportedApi("kvstore.has", "a"), false);
      assert.equal(await service.callExportedApi<Promise<boolean>>("kvstore.delete", "b"), true);
      await service.callExportedApi<Promise<void>>("kvstore.flush");
      await service.callExportedApi<Promise<void>>("kvstore.compact");
      const stats = service.callExportedApi<KvStoreStats>("kvstore.stats");
      assert.equal(stats.keys, 3);
      assert.equal(stats.compactions, 1);
    } finally {
      await service.shutdown();
    }
  });

  it("refuses bad options with a typed error instead of guessing", async () => {
    await using dir = await tempDir();
    const service = await IoraService.create(serviceConfig(dir, {
      server: { enabled: false },
      log: { level: "error" },
    }));
    try {
      await assert.rejects(
        service.loadSingleModule({
          url: shippedPlugin("kvstore"),
          options: { path: dir.join("kv.bin"), sync: "sometimes" },
        }),
        /sync must be/,
      );
      await assert.rejects(
        service.loadSingleModule({
          url: shippedPlugin("kvstore"),
          options: { path: dir.join("kv.bin"), cacheBytes: "lots" },
        }),
        /cacheBytes must be a number/,
      );
    } finally {
      await service.shutdown();
    }
  });
});
