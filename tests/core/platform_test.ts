import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FileSystemError, UnsupportedError } from "../../core/errors.ts";
import { detectRuntime, loadPlatform, platform } from "../../core/platform/mod.ts";
import { availablePlatforms, deferred, tempDir, waitFor } from "../harness.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const ext = import.meta.url.endsWith(".ts") ? "ts" : "js";
const echoWorker = new URL(`../fixtures/core/echo_worker.${ext}`, import.meta.url);

async function readAll(stream: ReadableStream<Uint8Array> | null): Promise<string> {
  if (!stream) return "";
  let text = "";
  for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
  return text;
}

for (const p of await availablePlatforms()) {
  describe(`platform (${p.name})`, () => {
    it("writes, appends, reads, renames, stats and removes files", async () => {
      await using dir = await tempDir();
      const file = dir.join("a.txt");
      await p.writeTextFile(file, "hello");
      await p.appendFile(file, encoder.encode(", world"));
      assert.equal(await p.readTextFile(file), "hello, world");
      assert.deepEqual(await p.readFile(file), encoder.encode("hello, world"));
      assert.equal(p.readTextFileSync(file), "hello, world");
      const moved = dir.join("b.txt");
      await p.rename(file, moved);
      const info = await p.stat(moved);
      assert.equal(info.isFile, true);
      assert.equal(info.isDirectory, false);
      assert.equal(info.size, 12);
      assert.ok(info.mtimeMs !== null && info.mtimeMs > 0);
      await p.remove(moved);
      await assert.rejects(
        p.stat(moved),
        (e) => e instanceof FileSystemError && e.code === "NotFound",
      );
    });

    it("creates nested directories and lists them", async () => {
      await using dir = await tempDir();
      await p.mkdir(dir.join("x/y/z"), { recursive: true });
      await p.mkdir(dir.join("x/y/z"), { recursive: true }); // existing is fine
      await p.writeTextFile(dir.join("x/f.txt"), "1");
      const names = (await p.readDir(dir.join("x"))).map((e) => `${e.name}:${e.isDirectory}`)
        .sort();
      assert.deepEqual(names, ["f.txt:false", "y:true"]);
      await assert.rejects(p.remove(dir.join("x")), FileSystemError);
      await p.remove(dir.join("x"), { recursive: true });
      assert.deepEqual(await p.readDir(dir.path), []);
    });

    it("writes through a handle, fsyncs the file and its directory", async () => {
      await using dir = await tempDir();
      const path = dir.join("h.bin");
      const handle = await p.open(path, { write: true, create: true, truncate: true, mode: 0o600 });
      const data = new Uint8Array(200_000).map((_, i) => i % 251);
      assert.equal(await handle.write(data), data.length);
      await handle.sync();
      await handle.close();
      await handle.close(); // harmless twice
      await p.syncDir(dir.path);
      assert.deepEqual(await p.readFile(path), data);
      const reader = await p.open(path, { read: true });
      const buffer = new Uint8Array(10);
      assert.equal(await reader.read(buffer), 10);
      assert.deepEqual(buffer, data.subarray(0, 10));
      await reader.close();
    });

    it("reads at a position without disturbing appends (readAt, readAtSync)", async () => {
      await using dir = await tempDir();
      const path = dir.join("p.bin");
      const data = new Uint8Array(300_000).map((_, i) => (i * 7) % 253);
      await p.writeFile(path, data);
      const reader = await p.open(path, { read: true });
      const appender = await p.open(path, { write: true, append: true });
      try {
        const buffer = new Uint8Array(1000);
        // Concurrent async reads at scattered positions each get their own bytes.
        const positions = [299_500, 0, 123_457, 77, 250_000];
        const buffers = positions.map(() => new Uint8Array(1000));
        const counts = await Promise.all(positions.map((at, i) => reader.readAt(buffers[i], at)));
        assert.deepEqual(counts, [500, 1000, 1000, 1000, 1000]);
        positions.forEach((at, i) =>
          assert.deepEqual(buffers[i].subarray(0, counts[i]!), data.subarray(at, at + 1000))
        );
        assert.equal(reader.readAtSync(buffer, 5000), 1000);
        assert.deepEqual(buffer, data.subarray(5000, 6000));
        assert.equal(await reader.readAt(buffer, 300_000), null, "at the end: null");
        assert.equal(reader.readAtSync(buffer, 400_000), null, "past the end: null");
        // Bytes appended through another handle are readable at once.
        await appender.write(new Uint8Array([1, 2, 3]));
        assert.equal(reader.readAtSync(buffer, 299_999), 4);
        assert.deepEqual([...buffer.subarray(0, 4)], [data[299_999], 1, 2, 3]);
        assert.equal(await reader.readAt(new Uint8Array(0), 10), 0);
        const pending = reader.readAt(new Uint8Array(10), 0);
        if (p.name === "deno") {
          // Deno seeks then reads: a sync read in between would read from the wrong place.
          assert.throws(() => reader.readAtSync(buffer, 0), UnsupportedError);
        } else assert.equal(reader.readAtSync(buffer, 0), 1000);
        assert.equal(await pending, 10);
      } finally {
        await reader.close();
        await appender.close();
      }
    });

    it("maps a missing file to NotFound with the path", async () => {
      await using dir = await tempDir();
      const missing = dir.join("missing.txt");
      await assert.rejects(p.readTextFile(missing), (e: unknown) => {
        assert.ok(e instanceof FileSystemError);
        assert.equal(e.code, "NotFound");
        assert.equal(e.path, missing);
        return true;
      });
      assert.throws(() => p.readTextFileSync(missing), FileSystemError);
    });

    it("reads and changes the environment", () => {
      const name = `IORA_TEST_${p.name.toUpperCase()}_${Math.random().toString(36).slice(2)}`;
      assert.equal(p.getEnv(name), undefined);
      p.setEnv(name, "v1");
      assert.equal(p.getEnv(name), "v1");
      assert.equal(p.envObject()[name], "v1");
      p.deleteEnv(name);
      assert.equal(p.getEnv(name), undefined);
      assert.ok(p.cwd().length > 0);
      assert.ok(p.pid() > 0);
    });

    it("spawns a process with arguments as a vector, env and stdin", async () => {
      const child = p.spawn("sh", {
        args: ["-c", 'read line; printf "%s|%s|%s" "$line" "$1" "$IORA_X"', "sh", "$(not run); *"],
        env: { IORA_X: "from-env" },
        stdin: "piped",
      });
      const writer = child.stdin!.getWriter();
      await writer.write(encoder.encode("input line\n"));
      await writer.close();
      const [out, status] = await Promise.all([
        readAll(child.stdout),
        child.status,
        readAll(child.stderr),
      ]);
      assert.equal(out, "input line|$(not run); *|from-env");
      assert.deepEqual(status, { success: true, code: 0, signal: null });
    });

    it("kills a process and reports the signal", async () => {
      const child = p.spawn("sleep", { args: ["30"], stdout: "null", stderr: "null" });
      child.kill("SIGKILL");
      const status = await child.status;
      assert.equal(status.success, false);
      assert.equal(status.code, null);
      assert.equal(status.signal, "SIGKILL");
      child.kill(); // harmless after exit
    });

    it("reports a command that does not exist through status", async () => {
      const child = p.spawn("iora-no-such-command-xyz");
      await assert.rejects(
        child.status,
        (e) => e instanceof FileSystemError && e.code === "NotFound",
      );
    });

    it("delivers a signal to a handler and removes it", async () => {
      const got = deferred("SIGHUP");
      const remove = p.onSignal("SIGHUP", () => got.resolve());
      try {
        const killer = p.spawn("kill", { args: ["-HUP", String(p.pid())] });
        assert.equal((await killer.status).success, true);
        await got.wait();
      } finally {
        remove();
      }
    });

    it("watches a directory for changes", async () => {
      await using dir = await tempDir();
      const seen: string[] = [];
      const watcher = p.watch(dir.path, (event) => seen.push(...event.paths));
      try {
        // Keep writing until the watcher, which starts asynchronously, has seen a change.
        let n = 0;
        await waitFor(async () => {
          await p.writeTextFile(dir.join("w.txt"), String(n++));
          return seen.some((path) => path.endsWith("w.txt"));
        }, { what: "a watch event" });
      } finally {
        watcher.close();
        watcher.close();
      }
    });

    it("runs a module worker and exchanges messages", async () => {
      const worker = p.startWorker(echoWorker, { name: "echo" });
      try {
        const reply = deferred<unknown>("a worker reply");
        worker.onMessage((m) => reply.resolve(m));
        worker.postMessage({ n: 42, bytes: new Uint8Array([1, 2, 3]) });
        assert.deepEqual(await reply.wait(), {
          echo: { n: 42, bytes: new Uint8Array([1, 2, 3]) },
          inWorker: true,
        });
      } finally {
        await worker.terminate();
      }
    });

    it("reports an uncaught error inside a worker", async () => {
      const worker = p.startWorker(echoWorker);
      try {
        const failed = deferred<Error>("a worker error");
        worker.onError((e) => failed.resolve(e));
        worker.postMessage("crash");
        assert.match((await failed.wait()).message, /asked to crash/);
      } finally {
        await worker.terminate();
      }
    });

    it("keeps a monotonic clock and unrefs timers", () => {
      const a = p.now();
      const b = p.now();
      assert.ok(b >= a);
      const timer = setTimeout(() => {}, 60_000);
      p.unrefTimer(timer);
      p.refTimer(timer);
      clearTimeout(timer);
    });
  });
}

describe("platform (node) refusals", () => {
  it("refuses per-worker permissions, naming the runtime", async () => {
    const nodePlatform = await loadPlatform("node");
    assert.throws(
      () => nodePlatform.startWorker(echoWorker, { permissions: { read: false } }),
      (e: unknown) =>
        e instanceof UnsupportedError && e.runtime === "node" && /node/.test(e.message),
    );
  });
});

describe("loadPlatform", () => {
  it("gives the implementation in use for the running runtime, and refuses Deno's outside Deno", async () => {
    const runtime = detectRuntime();
    assert.equal(await loadPlatform(runtime), platform());
    assert.equal(platform().name, runtime);
    assert.equal((await loadPlatform("node")).name, "node");
    if (runtime === "deno") {
      assert.equal((await loadPlatform("deno")).name, "deno");
    } else {
      await assert.rejects(
        loadPlatform("deno"),
        (e: unknown) => e instanceof UnsupportedError && e.runtime === "node",
      );
    }
  });
});
