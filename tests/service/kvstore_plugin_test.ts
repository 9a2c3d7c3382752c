// The KvStore and the KVStore plugin (plugins/kv_store.ts, plugins/kvstore.ts).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { platform } from "../../core/platform/mod.ts";
import { KvStore, KvStoreError } from "../../plugins/kv_store.ts";
import { IoraService } from "../../service/iora_service.ts";
import { tempDir } from "../harness.ts";
import { serviceConfig, shippedPlugin } from "./_fixtures.ts";

const text = (bytes: Uint8Array | undefined) =>
  bytes === undefined ? undefined : new TextDecoder().decode(bytes);

async function truncate(path: string, cut: number): Promise<void> {
  const bytes = await platform().readFile(path);
  await platform().writeFile(path, bytes.subarray(0, bytes.length - cut));
}

describe("KvStore", () => {
  it("stores, batches, deletes and persists across reopen", async () => {
    await using dir = await tempDir();
    const path = dir.join("data.kv");
    const store = await KvStore.open(path);
    await store.set("a", "1");
    await store.set("bin", new Uint8Array([0, 255, 7]));
    await store.setBatch([["b", "2"], ["c", "3"]]);
    assert.equal(await store.delete("c"), true);
    assert.equal(await store.delete("nope"), false);
    assert.deepEqual(store.getBatch(["a", "b", "c"]).map(text), ["1", "2", undefined]);
    await store.close();
    await assert.rejects(store.set("x", "y"), { code: "Closed" });

    const again = await KvStore.open(path);
    assert.deepEqual(again.keys().sort(), ["a", "b", "bin"]);
    assert.deepEqual([...again.get("bin")!], [0, 255, 7]);
    assert.equal(again.getStats().recoveredBytes, 0);
    await again.close();
  });

  it("refuses bad keys and values with a typed error", async () => {
    await using dir = await tempDir();
    const store = await KvStore.open(dir.join("d.kv"), { maxKeyBytes: 8, maxValueBytes: 4 });
    await assert.rejects(store.set("", "x"), KvStoreError);
    await assert.rejects(store.set("123456789", "x"), { code: "InvalidKey" });
    await assert.rejects(store.set("k", "12345"), { code: "InvalidValue" });
    await assert.rejects(store.set("k", 5 as unknown as string), { code: "InvalidValue" });
    await assert.rejects(store.setBatch([["ok", "1"], ["k", "toolong"]]), { code: "InvalidValue" });
    assert.equal(store.has("ok"), false, "a refused batch writes nothing");
    await store.close();
  });

  it("recovers from a torn tail: the last complete write survives, later writes append cleanly", async () => {
    await using dir = await tempDir();
    const path = dir.join("torn.kv");
    const store = await KvStore.open(path);
    await store.set("kept", "yes");
    await store.set("torn", "this record loses its last bytes");
    await store.close();
    await truncate(path, 3);

    const recovered = await KvStore.open(path);
    assert.equal(text(recovered.get("kept")), "yes");
    assert.equal(recovered.get("torn"), undefined);
    assert.ok(recovered.getStats().recoveredBytes > 0);
    await recovered.set("after", "ok");
    await recovered.close();
    const third = await KvStore.open(path);
    assert.deepEqual(third.keys().sort(), ["after", "kept"]);
    await third.close();
  });

  it("a torn batch is dropped as a whole", async () => {
    await using dir = await tempDir();
    const path = dir.join("batch.kv");
    const store = await KvStore.open(path);
    await store.set("before", "1");
    await store.setBatch([["x", "1"], ["y", "2"], ["z", "3"]]);
    await store.close();
    await truncate(path, 2); // cuts into the batch's last record

    const recovered = await KvStore.open(path);
    assert.deepEqual(recovered.keys(), ["before"]);
    await recovered.close();
  });

  it("compacts a log of overwrites and keeps the data", async () => {
    await using dir = await tempDir();
    const path = dir.join("compact.kv");
    const store = await KvStore.open(path, { sync: "never", compactMinBytes: 4096 });
    for (let i = 0; i < 2000; i++) await store.set(`k${i % 10}`, `value-${i}`);
    const stats = store.getStats();
    assert.ok(stats.compactions > 0);
    assert.ok(stats.fileBytes < 4096 * 2, `file ${stats.fileBytes} bytes`);
    await store.compact();
    assert.equal(store.getStats().fileBytes, store.getStats().liveBytes);
    await store.close();
    const again = await KvStore.open(path);
    assert.equal(text(again.get("k9")), "value-1999");
    assert.equal(again.size, 10);
    await again.close();
  });

  it("reopening gives back exactly what a Map model holds (property)", async () => {
    await using dir = await tempDir();
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.tuple(
              fc.constant("set"),
              fc.constantFrom("a", "b", "c", "é", "long-key"),
              fc.string(),
            ),
            fc.tuple(
              fc.constant("del"),
              fc.constantFrom("a", "b", "c", "é", "long-key"),
              fc.constant(""),
            ),
            fc.tuple(fc.constant("batch"), fc.constantFrom("a", "b"), fc.string()),
          ),
          { maxLength: 40 },
        ),
        async (ops) => {
          const path = dir.join(`p${run++}.kv`);
          const model = new Map<string, string>();
          const store = await KvStore.open(path, { sync: "never", compactMinBytes: 256 });
          for (const [op, key, value] of ops) {
            if (op === "set") {
              await store.set(key, value);
              model.set(key, value);
            } else if (op === "del") {
              await store.delete(key);
              model.delete(key);
            } else {
              await store.setBatch([[key, value], [`${key}2`, value]]);
              model.set(key, value).set(`${key}2`, value);
            }
          }
          await store.close();
          const again = await KvStore.open(path);
          assert.deepEqual(
            new Map(again.keys().map((k) => [k, text(again.get(k))])),
            model,
          );
          await again.close();
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe("KVStore plugin", () => {
  it("exports kvstore.* through the service, persists across reload", async () => {
    await using dir = await tempDir();
    const service = await IoraService.create(serviceConfig(dir, {
      server: { enabled: false },
      log: { level: "warn" },
      modules: {
        modules: [{ url: shippedPlugin("kvstore"), options: { path: dir.join("kv.bin") } }],
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
    } finally {
      await service.shutdown();
    }
  });
});
