import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  foldKey,
  JsonFileStore,
  StateStore,
  StateStoreError,
  writeFileAtomic,
} from "../../core/state_store.ts";
import { platform } from "../../core/platform/mod.ts";
import {
  availablePlatforms,
  deferred,
  fixtureCommand,
  lines,
  runtimeTimerFired,
  tempDir,
  waitFor,
  withPlatform,
} from "../harness.ts";

describe("StateStore", () => {
  it("matches keys case-insensitively and keeps the last spelling", () => {
    const store = new StateStore({ "Content-Type": "json" });
    assert.equal(store.get("content-type"), "json");
    assert.equal(store.has("CONTENT-TYPE"), true);
    store.set("CONTENT-type", "xml");
    assert.deepEqual(store.keys(), ["CONTENT-type"]);
    assert.equal(store.size, 1);
    assert.equal(store.remove("content-TYPE"), true);
    assert.equal(store.remove("content-type"), false);
    assert.equal(store.get("content-type"), undefined);
  });

  it("folds ASCII only, whatever the locale", () => {
    const store = new StateStore();
    store.set("I", "ascii");
    store.set("İ", "dotted");
    store.set("É", "accent");
    assert.equal(store.get("i"), "ascii");
    assert.equal(store.get("é"), undefined);
    assert.equal(store.get("É"), "accent");
    assert.equal(foldKey("ABC-xyz_É"), "abc-xyz_É");
    assert.equal(store.size, 3);
  });

  it("finds keys by prefix and rejects non-string values", () => {
    const store = new StateStore([["Session.A", "1"], ["session.b", "2"], ["user", "3"]]);
    assert.deepEqual(store.findKeysWithPrefix("SESSION."), ["Session.A", "session.b"]);
    assert.deepEqual(store.findKeysWithPrefix("nope"), []);
    assert.throws(() => store.set("k", 5 as unknown as string), StateStoreError);
    store.clear();
    assert.equal(store.size, 0);
  });

  it("behaves like a map keyed by the ASCII fold (property)", () => {
    const key = fc.stringMatching(/^[a-zA-Z0-9éÉ]{0,3}$/);
    const op = fc.oneof(
      fc.tuple(fc.constant("set" as const), key, fc.string({ maxLength: 3 })),
      fc.tuple(fc.constant("remove" as const), key, fc.constant("")),
    );
    fc.assert(fc.property(fc.array(op, { maxLength: 40 }), key, (ops, probe) => {
      const store = new StateStore();
      const model = new Map<string, string>();
      for (const [kind, k, v] of ops) {
        if (kind === "set") {
          store.set(k, v);
          model.set(foldKey(k), v);
        } else {
          assert.equal(store.remove(k), model.delete(foldKey(k)));
        }
      }
      assert.equal(store.size, model.size);
      assert.equal(store.get(probe), model.get(foldKey(probe)));
    }));
  });
});

for (const p of await availablePlatforms()) {
  describe(`JsonFileStore on ${p.name}`, () => {
    it("a symlink planted where a temporary file could go is never followed", () =>
      withPlatform(p, async () => {
        await using dir = await tempDir();
        const path = dir.join("state.json");
        const victim = dir.join("victim.txt");
        await platform().writeTextFile(victim, "keep me");
        // Plant links at every name the old scheme could pick (pid + a counter).
        const links = (await import("node:fs/promises")).symlink;
        for (let i = 0; i < 64; i++) {
          await links(victim, dir.join(`.state.json.tmp-${platform().pid()}-${i}`)).catch(() => {});
        }
        const store = await JsonFileStore.open(path, { flushDelayMs: 60_000 });
        for (let i = 0; i < 5; i++) {
          store.set("k", String(i));
          await store.flush();
        }
        await store.close();
        assert.equal(await platform().readTextFile(victim), "keep me");
        const info = await (await import("node:fs/promises")).lstat(path);
        assert.equal(info.isSymbolicLink(), false, "the state file is a file, not a link");
        assert.deepEqual(JSON.parse(await platform().readTextFile(path)), { k: "4" });
        // And the exclusive create it relies on refuses a link instead of following it.
        const link = dir.join(`.state.json.tmp-${platform().pid()}-0`);
        await assert.rejects(platform().open(link, { write: true, createNew: true }), {
          code: "AlreadyExists",
        });
        assert.equal(await platform().readTextFile(victim), "keep me");
      }));

    it("a file holding keys that differ only in case is refused and left untouched", () =>
      withPlatform(p, async () => {
        await using dir = await tempDir();
        const path = dir.join("state.json");
        const text = '{"Region":"eu","REGION":"us"}';
        await platform().writeTextFile(path, text);
        await assert.rejects(JsonFileStore.open(path), (e: unknown) => {
          assert.ok(e instanceof StateStoreError && e.code === "CorruptFile");
          assert.match(e.message, /"Region" and "REGION"/);
          return true;
        });
        assert.equal(await platform().readTextFile(path), text);
      }));

    it("persists across reopen, flushing on close", () =>
      withPlatform(p, async () => {
        await using dir = await tempDir();
        const path = dir.join("state.json");
        const store = await JsonFileStore.open(path, { flushDelayMs: 60_000 });
        assert.equal(store.size, 0);
        store.set("Leader", "node-2");
        store.set("epoch", "7");
        assert.equal(store.dirty, true);
        await store.close();
        assert.throws(
          () => store.set("late", "x"),
          (e) => (e as StateStoreError).code === "Closed",
        );
        assert.equal(store.has("late"), false, "a refused change leaves the store as it was");
        assert.deepEqual(JSON.parse(await platform().readTextFile(path)), {
          Leader: "node-2",
          epoch: "7",
        });
        await using again = await JsonFileStore.open(path);
        assert.equal(again.get("leader"), "node-2");
        assert.equal(again.dirty, false);
      }));

    it("close() makes durable the changes made while its own write runs", () =>
      withPlatform(p, async () => {
        await using dir = await tempDir();
        const path = dir.join("late.json");
        const store = await JsonFileStore.open(path, { flushDelayMs: 60_000 });
        store.set("a", "1");
        // A change right after close()'s write took its snapshot, while that write runs: it is
        // accepted (the store is not closed yet), so it must land too.
        const snapshot = store.toObject.bind(store);
        let changedMidWrite = false;
        store.toObject = () => {
          const taken = snapshot();
          if (!changedMidWrite) {
            changedMidWrite = true;
            queueMicrotask(() => store.set("b", "2"));
          }
          return taken;
        };
        await store.close();
        assert.ok(changedMidWrite);
        assert.equal(store.dirty, false);
        assert.deepEqual(JSON.parse(await platform().readTextFile(path)), { a: "1", b: "2" });
        assert.throws(() => store.set("c", "3"), (e) => (e as StateStoreError).code === "Closed");
      }));

    it("keeps a key named __proto__ through toObject and a reopen", () =>
      withPlatform(p, async () => {
        await using dir = await tempDir();
        const path = dir.join("proto.json");
        const store = await JsonFileStore.open(path);
        store.set("__proto__", "x");
        store.set("a", "1");
        assert.equal(Object.hasOwn(store.toObject(), "__proto__"), true);
        await store.close();
        await using again = await JsonFileStore.open(path);
        assert.equal(again.get("__proto__"), "x");
        assert.deepEqual(again.keys().sort(), ["__proto__", "a"]);
      }));

    it("flushDelayMs Infinity writes only on flush() (no write 1 ms later)", () =>
      withPlatform(p, async () => {
        await using dir = await tempDir();
        const path = dir.join("never.json");
        const store = await JsonFileStore.open(path, { flushDelayMs: Infinity });
        store.set("a", "1");
        await runtimeTimerFired();
        assert.equal(store.getStats().flushes, 0);
        assert.equal(store.dirty, true);
        await store.close();
        assert.deepEqual(JSON.parse(await platform().readTextFile(path)), { a: "1" });
      }));

    it("debounces background flushes into one write", () =>
      withPlatform(p, async () => {
        await using dir = await tempDir();
        const path = dir.join("s.json");
        await using store = await JsonFileStore.open(path, { flushDelayMs: 30 });
        for (let i = 0; i < 50; i++) store.set(`k${i}`, String(i));
        await waitFor(() => store.getStats().flushes > 0, { what: "the background flush" });
        assert.equal(store.getStats().flushes, 1);
        assert.equal(Object.keys(JSON.parse(await platform().readTextFile(path))).length, 50);
      }));

    it("refuses a corrupt file, naming it and leaving it untouched", () =>
      withPlatform(p, async () => {
        await using dir = await tempDir();
        for (const bad of ['{"a": "1",', "[1,2]", '{"a": 1}', "null"]) {
          const path = dir.join("bad.json");
          await platform().writeTextFile(path, bad);
          await assert.rejects(
            JsonFileStore.open(path),
            (e) =>
              e instanceof StateStoreError && e.code === "CorruptFile" && e.path === path &&
              e.message.includes(path),
          );
          assert.equal(await platform().readTextFile(path), bad);
        }
      }));

    it("writes atomically and removes temporary files a crash left behind", () =>
      withPlatform(p, async () => {
        await using dir = await tempDir();
        const path = dir.join("a.json");
        await platform().writeTextFile(dir.join(".a.json.tmp-1-1"), "{half");
        await writeFileAtomic(path, '{"x":"1"}');
        assert.equal(await platform().readTextFile(path), '{"x":"1"}');
        const store = await JsonFileStore.open(path);
        await store.close();
        const names = (await platform().readDir(dir.path)).map((e) => e.name);
        assert.deepEqual(names, ["a.json"]);
      }));
  });
}

describe("JsonFileStore crash safety", () => {
  it("survives SIGKILL at random moments mid-flush: the file always holds a flushed state", async () => {
    await using dir = await tempDir();
    const path = dir.join("state.json");
    const { command, args: fixtureArgs } = fixtureCommand("core/json_store_writer");
    const args = [...fixtureArgs, path];
    const rounds = 25;
    let lastAcked = 0;
    for (let round = 0; round < rounds; round++) {
      const child = platform().spawn(command, {
        args,
        env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      });
      const stderr = new Response(child.stderr).text();
      const wanted = 1 + Math.floor(Math.random() * 15);
      const enough = deferred("the child's acknowledged flushes");
      let seen = 0;
      const reader = (async () => {
        for await (const line of lines(child.stdout!)) {
          lastAcked = Math.max(lastAcked, Number(line));
          if (++seen >= wanted) enough.resolve();
        }
      })();
      child.status.then((s) =>
        enough.reject(new Error(`child exited early: ${JSON.stringify(s)}`))
      );
      try {
        await enough.wait(20_000);
      } catch (error) {
        child.kill("SIGKILL");
        throw new Error(`${(error as Error).message}\n${await stderr}`);
      }
      // A random instant: usually inside the next flush's write/fsync/rename.
      await new Promise((r) => setTimeout(r, Math.random() * 3));
      child.kill("SIGKILL");
      const status = await child.status;
      await reader;
      await stderr;
      assert.equal(status.signal, "SIGKILL");
      const data = JSON.parse(await platform().readTextFile(path));
      const counter = Number(data.counter);
      assert.ok(counter >= lastAcked, `file holds ${counter}, but ${lastAcked} was acknowledged`);
      assert.ok(counter <= lastAcked + 1, `file holds ${counter}, never flushed (${lastAcked})`);
      assert.equal(data.check, `c${counter}`);
      assert.equal(data.payload, String(counter).repeat((counter * 37) % 3000));
    }
  });
});
