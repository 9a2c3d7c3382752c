// The KvStore (plugins/kv/store.ts): format v1, recovery, group commit, cache, compaction.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { platform } from "../../../core/platform/mod.ts";
import { KvStore, KvStoreError } from "../../../plugins/kv/store.ts";
import { RECORD_HEADER, RECORD_MAGIC } from "../../../plugins/kv/_format.ts";
import { tempDir, waitFor, withDeadline } from "../../harness.ts";
import { crashRounds } from "../../fixtures/kv/crash_rounds.ts";
import { V0_CONTENT, V0_FILE } from "../../fixtures/kv/v0_file.ts";

const text = (bytes: Uint8Array | undefined) =>
  bytes === undefined ? undefined : new TextDecoder().decode(bytes);

async function truncate(path: string, cut: number): Promise<void> {
  const bytes = await platform().readFile(path);
  await platform().writeFile(path, bytes.subarray(0, bytes.length - cut));
}

/** Flips bits of the byte at `at`; returns the damaged file's bytes (what `.damaged` must hold). */
async function flip(path: string, at: number): Promise<Uint8Array> {
  const bytes = await platform().readFile(path);
  bytes[at] ^= 0x5a;
  await platform().writeFile(path, bytes);
  return bytes;
}

async function thousand(path: string): Promise<void> {
  const store = await KvStore.open(path, { sync: "never" });
  for (let i = 0; i < 1000; i++) await store.set(`key-${i}`, `value-${i}-${"x".repeat(i % 13)}`);
  await store.close();
}

/** CRC-32C, bit by bit: an independent check of the store's table-driven one. */
function crc32c(bytes: Uint8Array, start: number, end: number): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) {
    c ^= bytes[i];
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

function contents(store: KvStore): Map<string, string | undefined> {
  return new Map(store.keys().map((k) => [k, store.getString(k)]));
}

describe("KvStore", () => {
  it("stores, batches, deletes and persists across reopen", async () => {
    await using dir = await tempDir();
    const path = dir.join("data.kv");
    const store = await KvStore.open(path);
    await store.set("a", "1");
    await store.set("bin", new Uint8Array([0, 255, 7]));
    await store.setString("s", "é");
    await store.setBatch([["b", "2"], ["c", "3"], ["gone", null]]);
    assert.equal(await store.delete("c"), true);
    assert.equal(await store.delete("nope"), false);
    assert.deepEqual(store.getBatch(["a", "b", "c"]).map(text), ["1", "2", undefined]);
    assert.equal(store.getString("s"), "é");
    assert.equal(store.has("a"), true);
    assert.equal(store.has("c"), false);
    await store.setBatch([["user:1", "x"], ["user:2", "y"], ["a", null]]);
    assert.deepEqual(store.keys("user:"), ["user:1", "user:2"]);
    assert.equal(store.has("a"), false, "a null value in a batch deletes");
    await store.close();
    await assert.rejects(store.set("x", "y"), { code: "Closed" });
    assert.throws(() => store.get("b"), { code: "Closed" });

    const again = await KvStore.open(path);
    assert.deepEqual(again.keys().sort(), ["b", "bin", "s", "user:1", "user:2"]);
    assert.deepEqual([...again.get("bin")!], [0, 255, 7]);
    assert.equal(again.stats().recoveredBytes, 0);
    assert.equal(again.recovery.damagedCopy, undefined);
    await again.close();
  });

  it("hands out copies: neither the caller's buffer nor a returned one changes the store", async () => {
    await using dir = await tempDir();
    const store = await KvStore.open(dir.join("copy.kv"), { sync: "never" });
    const input = new Uint8Array([1, 2, 3]);
    const written = store.set("k", input);
    input[0] = 99; // changed before the write was even flushed
    await written;
    const out = store.get("k")!;
    out[1] = 99;
    assert.deepEqual([...store.get("k")!], [1, 2, 3]);
    await store.close();
  });

  it("refuses bad keys, values and options with a typed error", async () => {
    await using dir = await tempDir();
    const store = await KvStore.open(dir.join("d.kv"), {
      maxKeyBytes: 8,
      maxValueBytes: 4,
      maxBatchBytes: 40,
    });
    await assert.rejects(store.set("", "x"), KvStoreError);
    await assert.rejects(store.set("123456789", "x"), { code: "InvalidKey" });
    await assert.rejects(store.set("bad\ud800", "x"), { code: "InvalidKey" });
    await assert.rejects(store.set("k", "12345"), { code: "InvalidValue" });
    await assert.rejects(store.set("k", "\udc00"), { code: "InvalidValue" });
    await assert.rejects(store.set("k", 5 as unknown as string), { code: "InvalidValue" });
    await assert.rejects(store.setString("k", new Uint8Array(1) as unknown as string), {
      code: "InvalidValue",
    });
    await assert.rejects(store.setBatch([["ok", "1"], ["k", "toolong"]]), { code: "InvalidValue" });
    await assert.rejects(
      store.setBatch(Array.from({ length: 5 }, (_, i) => [`k${i}`, "1234"] as const)),
      { code: "InvalidValue" },
    );
    assert.equal(store.has("ok"), false, "a refused batch writes nothing");
    await store.close();
    for (
      const bad of [{ sync: "sometimes" }, { cacheBytes: -1 }, { compactRatio: 0.5 }, {
        syncIntervalMs: Number.NaN,
      }]
    ) {
      await assert.rejects(
        KvStore.open(dir.join("o.kv"), bad as never),
        { code: "InvalidOption" },
      );
    }
  });

  it("cuts a torn tail, keeps the original as .damaged, and appends cleanly after", async () => {
    await using dir = await tempDir();
    const path = dir.join("torn.kv");
    const store = await KvStore.open(path);
    await store.set("kept", "yes");
    await store.set("torn", "this record loses its last bytes");
    await store.close();
    await truncate(path, 3);
    const original = await platform().readFile(path);

    const reports: KvStoreError[] = [];
    const recovered = await KvStore.open(path, { onCorruption: (e) => reports.push(e) });
    assert.equal(recovered.getString("kept"), "yes");
    assert.equal(recovered.get("torn"), undefined);
    assert.equal(recovered.recovery.tailTorn, true);
    assert.ok(recovered.stats().recoveredBytes > 0);
    assert.equal(reports.length, 0, "a torn write is no corruption");
    assert.equal(recovered.recovery.damagedCopy, `${path}.damaged`);
    assert.deepEqual(await platform().readFile(`${path}.damaged`), original);
    await recovered.set("after", "ok");
    await recovered.close();
    const third = await KvStore.open(path);
    assert.deepEqual(third.keys().sort(), ["after", "kept"]);
    assert.equal(third.stats().recoveredBytes, 0, "the file was rewritten clean");
    await third.close();
  });

  it("drops a torn batch as a whole", async () => {
    await using dir = await tempDir();
    const path = dir.join("batch.kv");
    const store = await KvStore.open(path);
    await store.set("before", "1");
    await store.setBatch([["x", "1"], ["y", "2"], ["z", "3"]]);
    await store.close();
    await truncate(path, 2);
    const recovered = await KvStore.open(path);
    assert.deepEqual(recovered.keys(), ["before"]);
    await recovered.close();
  });

  it("skips a flipped byte in a middle record, reports its offset and serves every other record", async () => {
    await using dir = await tempDir();
    const path = dir.join("flip.kv");
    await thousand(path);
    const size = (await platform().stat(path)).size;
    // Spots across the file, including record headers, lengths and values.
    for (const fraction of [0.1, 0.1003, 0.25, 0.5, 0.77, 0.9]) {
      const copy = dir.join(`flip-${fraction}.kv`);
      await platform().writeFile(copy, await platform().readFile(path));
      const at = Math.floor(size * fraction);
      const original = await flip(copy, at);
      const reports: KvStoreError[] = [];
      const store = await KvStore.open(copy, { onCorruption: (e) => reports.push(e) });
      assert.equal(store.size, 999, `flip at ${at}: exactly one record lost`);
      let missing = 0;
      for (let i = 0; i < 1000; i++) {
        const value = store.getString(`key-${i}`);
        if (value === undefined) missing++;
        else assert.equal(value, `value-${i}-${"x".repeat(i % 13)}`);
      }
      assert.equal(missing, 1);
      assert.equal(reports.length, 1);
      assert.equal(reports[0].code, "Corrupt");
      assert.ok(reports[0].offset! <= at && at < reports[0].offset! + reports[0].length!);
      assert.equal(store.stats().corruptRecords, 1);
      assert.deepEqual(await platform().readFile(`${copy}.damaged`), original);
      await store.set("later", "fine");
      await store.close();
      const again = await KvStore.open(copy);
      assert.equal(again.size, 1000);
      assert.equal(again.stats().corruptRecords, 0, "the damage was rewritten away");
      await again.close();
    }
  });

  it("opens a file packed with forged record headers without a hang, keeping what precedes them", async () => {
    await using dir = await tempDir();
    const path = dir.join("forged.kv");
    const store = await KvStore.open(path, { sync: "never" });
    await store.set("kept", "yes");
    await store.close();
    const good = await platform().readFile(path);
    // 4 MiB of headers 24 bytes apart, each claiming a body that runs to the end of the file:
    // checked one by one to the end, that is ~350 GB of checksums.
    const forged = new Uint8Array(4 << 20);
    const view = new DataView(forged.buffer);
    for (let at = 0; at + RECORD_HEADER <= forged.length; at += RECORD_HEADER) {
      view.setUint32(at, RECORD_MAGIC);
      view.setUint32(at + 12, 1_000_000 + at); // a sequence number above the store's
      view.setUint32(at + 20, forged.length - at - RECORD_HEADER); // no entries, a long body
    }
    const hostile = new Uint8Array(good.length + forged.length);
    hostile.set(good);
    hostile.set(forged, good.length);
    await platform().writeFile(path, hostile);
    const recovered = await withDeadline(KvStore.open(path), 60_000, "opening the forged file");
    try {
      assert.deepEqual(recovered.keys(), ["kept"]);
      assert.equal(recovered.getString("kept"), "yes");
      assert.deepEqual(await platform().readFile(`${path}.damaged`), hostile, "nothing is lost");
    } finally {
      await recovered.close();
    }
  });

  it("a corrupt byte never costs intact data: any flips lose only the records they hit (property)", async () => {
    await using dir = await tempDir();
    const path = dir.join("base.kv");
    await thousand(path);
    const clean = await platform().readFile(path);
    // Record i spans [starts[i], starts[i + 1]): a 24-byte header, a 9-byte entry header, key, value.
    const starts = [16];
    for (let i = 0; i < 1000; i++) {
      const size = 24 + 9 + `key-${i}`.length + `value-${i}-${"x".repeat(i % 13)}`.length;
      starts.push(starts[i] + size);
    }
    assert.equal(starts[1000], clean.length, "the test's model of the layout");
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.integer({ min: 16, max: clean.length - 1 }), {
          minLength: 1,
          maxLength: 6,
        }),
        fc.integer({ min: 1, max: 255 }),
        async (spots, mask) => {
          const copy = dir.join(`prop-${run++}.kv`);
          const bytes = clean.slice();
          for (const at of spots) bytes[at] ^= mask;
          await platform().writeFile(copy, bytes);
          const hit = new Set(spots.map((at) => starts.findLastIndex((s) => s <= at)));
          const store = await KvStore.open(copy, { sync: "never" });
          try {
            for (let i = 0; i < 1000; i++) {
              const expected = hit.has(i) ? undefined : `value-${i}-${"x".repeat(i % 13)}`;
              assert.equal(store.getString(`key-${i}`), expected, `record ${i}, flips ${spots}`);
            }
            assert.equal(store.size, 1000 - hit.size);
            assert.deepEqual(await platform().readFile(`${copy}.damaged`), bytes);
          } finally {
            await store.close();
          }
        },
      ),
      { numRuns: 25 },
    );
  });

  it("recovers every record past a flipped byte in the file header", async () => {
    await using dir = await tempDir();
    const path = dir.join("head.kv");
    await thousand(path);
    for (const at of [0, 3, 8, 12, 15]) {
      const copy = dir.join(`head-${at}.kv`);
      await platform().writeFile(copy, await platform().readFile(path));
      const original = await flip(copy, at);
      const reports: KvStoreError[] = [];
      const store = await KvStore.open(copy, { onCorruption: (e) => reports.push(e) });
      assert.equal(store.size, 1000, `flip at ${at}`);
      assert.equal(store.getString("key-999"), `value-999-${"x".repeat(999 % 13)}`);
      assert.equal(reports[0].offset, 0);
      assert.deepEqual(await platform().readFile(`${copy}.damaged`), original);
      await store.close();
      const again = await KvStore.open(copy);
      assert.equal(again.stats().corruptRecords, 0);
      await again.close();
    }
  });

  it("refuses a file that is no store, and leaves it untouched", async () => {
    await using dir = await tempDir();
    const path = dir.join("other.txt");
    const bytes = new TextEncoder().encode(
      "just some text file, not a key-value store\n".repeat(20),
    );
    await platform().writeFile(path, bytes);
    await assert.rejects(KvStore.open(path), { code: "NotAStore" });
    assert.deepEqual(await platform().readFile(path), bytes);
    await assert.rejects(KvStore.open(dir.join("no/such/dir/x.kv")), { code: "Io" });
    const future = dir.join("future.kv");
    const store = await KvStore.open(future);
    await store.close();
    const header = await platform().readFile(future);
    header[11] = 9; // version 9, with a correct CRC below
    new DataView(header.buffer).setUint32(12, crc32c(header, 0, 12));
    await platform().writeFile(future, header);
    await assert.rejects(KvStore.open(future), { code: "UnsupportedVersion" });
  });

  it("opens a v0 file and upgrades it to v1", async () => {
    await using dir = await tempDir();
    const path = dir.join("old.kv");
    await platform().writeFile(path, V0_FILE);
    const store = await KvStore.open(path);
    assert.equal(store.recovery.version, 0);
    assert.deepEqual(
      Object.fromEntries(store.keys().map((k) => [k, [...store.get(k)!]])),
      V0_CONTENT,
    );
    await store.set("new", "v1");
    await store.close();
    const bytes = await platform().readFile(path);
    assert.equal(bytes[0], 0x89, "now a v1 file");
    const again = await KvStore.open(path);
    assert.equal(again.recovery.version, 1);
    assert.equal(again.size, Object.keys(V0_CONTENT).length + 1);
    assert.equal(again.getString("new"), "v1");
    await again.close();
  });

  it("group commit: concurrent writers in always mode share fsyncs", async () => {
    await using dir = await tempDir();
    const store = await KvStore.open(dir.join("group.kv"), { sync: "always" });
    await store.set("first", "1");
    store.resetStats();
    await Promise.all(Array.from({ length: 64 }, (_, i) => store.set(`k${i}`, `v${i}`)));
    const { writes, syncs } = store.stats();
    assert.equal(writes, 64);
    assert.ok(syncs >= 1 && syncs <= 2, `64 concurrent writes took ${syncs} fsyncs`);
    // A single writer, awaiting each write, fsyncs every time.
    store.resetStats();
    for (let i = 0; i < 5; i++) await store.set(`s${i}`, "x");
    assert.equal(store.stats().syncs, 5);
    await store.close();
  });

  it("batch mode resolves before fsync and fsyncs on its interval; flush forces it", async () => {
    await using dir = await tempDir();
    const store = await KvStore.open(dir.join("b.kv"), { sync: "batch", syncIntervalMs: 200 });
    for (let i = 0; i < 50; i++) await store.set(`k${i}`, "v");
    assert.equal(store.stats().writes, 50);
    assert.ok(store.stats().syncs <= 1, "writes did not wait for fsyncs");
    await waitFor(() => store.stats().syncs >= 1, { what: "the interval fsync" });
    await store.set("late", "v");
    const before = store.stats().syncs;
    await store.flush();
    assert.equal(store.stats().syncs, before + 1);
    await store.close();
  });

  it("keeps values within the cache budget and reads the rest from the file", async () => {
    await using dir = await tempDir();
    const path = dir.join("cache.kv");
    const store = await KvStore.open(path, { sync: "never", cacheBytes: 16 * 1024 });
    const value = (i: number) => `${i}:`.padEnd(1000, String.fromCharCode(97 + (i % 26)));
    await store.setBatch(Array.from({ length: 500 }, (_, i) => [`k${i}`, value(i)] as const));
    assert.ok(store.stats().cacheBytes <= 16 * 1024, `${store.stats().cacheBytes} bytes cached`);
    store.resetStats();
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 500; i++) assert.equal(store.getString(`k${i}`), value(i));
    }
    const stats = store.stats();
    assert.ok(stats.cacheBytes <= 16 * 1024);
    assert.ok(stats.cacheMisses >= 500, "most reads went to the file");
    for (let i = 0; i < 20; i++) store.get("k7");
    assert.ok(store.stats().cacheHits >= 19);
    assert.ok(store.stats().cacheHitRatio > 0 && store.stats().cacheHitRatio < 1);
    await store.close();
  });

  it("compacts in the background by ratio and on demand, keeping the data", async () => {
    await using dir = await tempDir();
    const path = dir.join("compact.kv");
    const store = await KvStore.open(path, { sync: "never", compactMinBytes: 4096 });
    for (let i = 0; i < 3000; i++) await store.set(`k${i % 10}`, `value-${i}`);
    await waitFor(() => store.stats().compactions > 0, { what: "a ratio-triggered compaction" });
    await store.compact();
    const stats = store.stats();
    assert.ok(stats.fileBytes < 4 * stats.liveBytes, `file ${stats.fileBytes} bytes`);
    assert.equal(store.getString("k9"), "value-2999");
    await store.close();
    const again = await KvStore.open(path);
    assert.equal(again.getString("k9"), "value-2999");
    assert.equal(again.size, 10);
    await again.close();
  });

  it("serves reads and takes writes while a compaction streams", async () => {
    await using dir = await tempDir();
    const path = dir.join("busy.kv");
    const store = await KvStore.open(path, {
      sync: "never",
      compactMinBytes: 1 << 30,
      cacheBytes: 4096,
    });
    const model = new Map<string, string>();
    for (let i = 0; i < 4000; i++) {
      const key = `k${i % 2000}`;
      const value = `${i}`.repeat(1 + (i % 40));
      model.set(key, value);
      await store.set(key, value);
    }
    const sizeBefore = store.stats().fileBytes;
    const compaction = store.compact();
    let during = 0;
    let done = false;
    compaction.then(() => done = true, () => done = true);
    // Writes stop after WRITES_DURING: on a loaded machine the compaction can outlast many more,
    // and the file then keeps their records (the size check below needs a bound on them).
    const WRITES_DURING = 2000;
    for (let i = 0; !done && i < WRITES_DURING; i++) {
      if (i % 50 === 0) await new Promise((resolve) => setImmediate(resolve)); // let its I/O complete
      const key = `k${i % 2500}`;
      if (i % 3 === 0) {
        await store.delete(key);
        model.delete(key);
      } else {
        const value = `during-${i}`;
        await store.set(key, value);
        model.set(key, value);
      }
      const probe = `k${(i * 7) % 2500}`;
      assert.equal(store.getString(probe), model.get(probe));
      during++;
    }
    await compaction;
    assert.ok(during > 0, "writes ran while the compaction did");
    assert.equal(store.stats().compactions, 1);
    assert.ok(store.stats().fileBytes < sizeBefore);
    assert.deepEqual(contents(store), model);
    await store.close();
    const again = await KvStore.open(path);
    assert.deepEqual(contents(again), model);
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
            fc.tuple(fc.constant("compact"), fc.constant(""), fc.constant("")),
          ),
          { maxLength: 40 },
        ),
        async (ops) => {
          const path = dir.join(`p${run++}.kv`);
          const model = new Map<string, string>();
          const store = await KvStore.open(path, {
            sync: "never",
            compactMinBytes: 256,
            cacheBytes: 256,
          });
          for (const [op, key, value] of ops) {
            if (op === "set") {
              await store.set(key, value);
              model.set(key, value);
            } else if (op === "del") {
              await store.delete(key);
              model.delete(key);
            } else if (op === "batch") {
              await store.setBatch([[key, value], [`${key}2`, value]]);
              model.set(key, value).set(`${key}2`, value);
            } else await store.compact();
          }
          assert.deepEqual(contents(store), model);
          await store.close();
          const again = await KvStore.open(path);
          assert.deepEqual(contents(again), model);
          await again.close();
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe("KvStore crash safety", () => {
  it("keeps every acknowledged write and no half batch across 20 SIGKILLs at random moments", async () => {
    await using dir = await tempDir();
    const summary = await crashRounds(dir.join("crash.kv"), 20);
    assert.equal(summary.rounds, 20);
    assert.ok(summary.acked > 20);
    // Kills landed while compactions ran (most are cut short: each round is brief).
    assert.ok(summary.compactionsStarted > 0, "no compaction was running at any kill");
  });
});
