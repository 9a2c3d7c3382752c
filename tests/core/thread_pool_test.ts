import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ThreadPool, ThreadPoolError } from "../../core/thread_pool.ts";
import { availablePlatforms, waitFor, withDeadline } from "../harness.ts";
import { type Platform, platform, type WorkerHandle } from "../../core/platform/mod.ts";

// Compiled for Node the fixture is `.js`: take the extension from this file's own URL.
const EXT = new URL(import.meta.url).pathname.endsWith(".js") ? ".js" : ".ts";
const TASKS = new URL(`../fixtures/core/pool_tasks${EXT}`, import.meta.url);

function isPoolError(code: string): (e: unknown) => boolean {
  return (e: unknown) => e instanceof ThreadPoolError && e.code === code;
}

for (const runtime of await availablePlatforms()) {
  describe(`ThreadPool (${runtime.name} workers)`, () => {
    const options = { platform: runtime };

    it("runs sync and async exported functions with cloned arguments", async () => {
      await using pool = new ThreadPool(1, 2, options);
      assert.equal(await pool.enqueue<number>(TASKS, "add", 2, 3), 5);
      assert.deepEqual(await pool.enqueue(TASKS, "echo", { a: [1, 2], b: new Map([[1, "x"]]) }), {
        a: [1, 2],
        b: new Map([[1, "x"]]),
      });
      assert.equal(await pool.enqueue(TASKS, "sleep", 5, "slept"), "slept");
      assert.equal(await pool.run({ module: TASKS.href, name: "add", args: [1, 1] }), 2);
      const stats = pool.getStats();
      assert.equal(stats.submitted, 4);
      assert.equal(stats.completed, 4);
    });

    it("returns thousands of tiny task results to the right callers", async () => {
      await using pool = new ThreadPool(2, 2, options);
      const results = await Promise.all(
        Array.from({ length: 5000 }, (_, i) => pool.enqueue<number>(TASKS, "add", i, 1)),
      );
      assert.deepEqual(results, Array.from({ length: 5000 }, (_, i) => i + 1));
    });

    it("propagates errors with name, message, code and the worker's stack", async () => {
      await using pool = new ThreadPool(1, 1, options);
      await assert.rejects(pool.enqueue(TASKS, "fail", "bad input"), (e: unknown) => {
        assert.ok(e instanceof ThreadPoolError);
        assert.equal(e.code, "TaskFailed");
        assert.equal(e.remoteName, "TypeError");
        assert.match(e.message, /TypeError: bad input/);
        assert.match(String(e.stack), /pool_tasks/);
        assert.equal((e.cause as { code?: string }).code, "E_FIXTURE");
        return true;
      });
      await assert.rejects(pool.enqueue(TASKS, "failLater", "later"), (e: unknown) => {
        return e instanceof ThreadPoolError && e.remoteName === "RangeError" &&
          /later/.test(e.message);
      });
      await assert.rejects(
        pool.enqueue(TASKS, "noSuchExport"),
        /no exported function "noSuchExport"/,
      );
      await assert.rejects(
        pool.enqueue(new URL("./does_not_exist.ts", TASKS), "x"),
        isPoolError("TaskFailed"),
      );
      await assert.rejects(pool.enqueue("./relative.ts", "x"), isPoolError("InvalidArgument"));
      assert.equal(pool.getStats().failed, 4);
      // The worker survived all of that.
      assert.equal(await pool.enqueue(TASKS, "add", 1, 2), 3);
    });

    it("transfers buffers both ways and rejects what cannot be cloned", async () => {
      await using pool = new ThreadPool(1, 1, options);
      const buffer = new Uint8Array([1, 2, 3, 4]).buffer;
      const sum = await pool.run({
        module: TASKS,
        name: "sumBytes",
        args: [buffer],
        transfer: [buffer],
      });
      assert.equal(sum, 10);
      assert.equal(buffer.byteLength, 0, "the buffer was transferred, not copied");
      const made = await pool.enqueue<ArrayBuffer>(TASKS, "makeBuffer", 1024, 7);
      assert.equal(made.byteLength, 1024);
      assert.equal(new Uint8Array(made)[1023], 7);
      await assert.rejects(pool.enqueue(TASKS, "unclonable"), /could not be sent/);
      await assert.rejects(pool.enqueue(TASKS, "echo", () => {}), isPoolError("InvalidArgument"));
      assert.equal(await pool.enqueue(TASKS, "add", 2, 2), 4);
    });

    it("an unclonable result fails alone even beside several transferred results", async () => {
      await using pool = new ThreadPool(1, 1, options);
      // Tiny tasks first: the pool then sends many tasks per message, so the three below run in
      // one batch and their results come back in one message.
      for (let i = 0; i < 20; i++) await pool.enqueue(TASKS, "add", i, 1);
      const [a, b, bad] = await Promise.allSettled([
        pool.enqueue<ArrayBuffer>(TASKS, "makeBuffer", 16, 1),
        pool.enqueue<ArrayBuffer>(TASKS, "makeBuffer", 32, 2),
        pool.enqueue(TASKS, "unclonable"),
      ]);
      assert.equal(
        a.status === "fulfilled" && a.value.byteLength,
        16,
        String((a as PromiseRejectedResult).reason),
      );
      assert.equal(b.status === "fulfilled" && new Uint8Array(b.value)[31], 2);
      assert.equal(bad.status, "rejected");
      // The same on the way in: unclonable arguments beside transferred ones.
      const buffer = new Uint8Array([1, 2, 3]).buffer;
      const [sum, badArgs] = await Promise.allSettled([
        pool.run<number>({ module: TASKS, name: "sumBytes", args: [buffer], transfer: [buffer] }),
        pool.enqueue(TASKS, "echo", () => {}),
      ]);
      assert.equal(sum.status === "fulfilled" && sum.value, 6, String(Object.values(sum)[1]));
      assert.ok(badArgs.status === "rejected" && isPoolError("InvalidArgument")(badArgs.reason));
    });

    it("kills a timed-out task's worker and replaces it", async () => {
      await using pool = new ThreadPool(1, 1, options);
      const before = await pool.enqueue<string>(TASKS, "whoAmI");
      await assert.rejects(
        pool.run({ module: TASKS, name: "forever", timeoutMs: 200 }),
        isPoolError("Timeout"),
      );
      const after = await withDeadline(pool.enqueue<string>(TASKS, "whoAmI"), 10_000);
      assert.notEqual(after, before, "a new worker runs the next task");
      const stats = pool.getStats();
      assert.equal(stats.timedOut, 1);
      assert.equal(stats.workersStarted, 2);
      assert.equal(stats.threads, 1);
    });

    it("a timeout beyond setTimeout's 2^31-1 ms range (or Infinity) lets tasks finish", async () => {
      // Runtimes run an out-of-range setTimeout after 1 ms: such tasks were killed at once.
      await using pool = new ThreadPool(1, 2, { ...options, taskTimeoutMs: 2 ** 31 });
      const results = await withDeadline(
        Promise.all([
          pool.run({ module: TASKS, name: "sleep", args: [50, "default"] }),
          pool.run({ module: TASKS, name: "sleep", args: [50, "none"], timeoutMs: Infinity }),
        ]),
        10_000,
      );
      assert.deepEqual(results, ["default", "none"]);
      const last = pool.run({ module: TASKS, name: "sleep", args: [50, "last"] });
      await withDeadline(pool.close({ timeoutMs: 2 ** 31 }), 10_000, "close");
      assert.equal(await last, "last");
      assert.equal(pool.getStats().timedOut, 0);
    });

    it("aborts running and queued tasks through their signal", async () => {
      await using pool = new ThreadPool(1, 1, options);
      const running = new AbortController();
      const stuck = pool.run({ module: TASKS, name: "forever", signal: running.signal });
      stuck.catch(() => {}); // asserted below; the rejection must not count as unhandled
      const queued = new AbortController();
      const waiting = pool.run({ module: TASKS, name: "add", args: [1, 1], signal: queued.signal });
      waiting.catch(() => {});
      await waitFor(() => pool.getStats().running === 1, { what: "the stuck task to start" });
      queued.abort(new Error("not needed"));
      await assert.rejects(waiting, /not needed/);
      running.abort(new Error("give up"));
      await assert.rejects(stuck, /give up/);
      assert.equal(await pool.enqueue(TASKS, "add", 1, 1), 2);
      await assert.rejects(
        pool.run({
          module: TASKS,
          name: "add",
          args: [1, 1],
          signal: AbortSignal.abort(new Error("pre")),
        }),
        /pre/,
      );
      assert.equal(pool.getStats().aborted, 2);
    });

    it("replaces a crashed worker and fails only the tasks it held", async () => {
      await using pool = new ThreadPool(1, 1, options);
      await assert.rejects(pool.enqueue(TASKS, "crash"), isPoolError("WorkerCrashed"));
      assert.equal(await withDeadline(pool.enqueue(TASKS, "add", 4, 4), 10_000), 8);
      const stats = pool.getStats();
      assert.equal(stats.workersCrashed, 1);
      assert.equal(stats.threads, 1);
    });

    it("grows to maxThreads under load and shrinks to minThreads when idle", async () => {
      await using pool = new ThreadPool(1, 3, { ...options, idleTimeoutMs: 50 });
      const ids = await Promise.all(
        Array.from(
          { length: 12 },
          () => pool.run<string>({ module: TASKS, name: "sleep", args: [40, "x"] }),
        ),
      );
      assert.equal(ids.length, 12);
      assert.equal(pool.getStats().peakThreads, 3);
      await waitFor(() => pool.threads === 1, { what: "the pool to shrink", timeoutMs: 10_000 });
      assert.equal(await pool.enqueue(TASKS, "add", 1, 1), 2);
    });

    it("spreads concurrent work over its workers", async () => {
      await using pool = new ThreadPool(2, 2, options);
      // A slow machine may start the second worker late; once both run, a burst uses both.
      let seen = 0;
      for (let attempt = 0; attempt < 20 && seen < 2; attempt++) {
        const who = await Promise.all(
          Array.from({ length: 8 }, () => pool.enqueue<string>(TASKS, "sleepWho", 30)),
        );
        seen = new Set(who).size;
      }
      assert.equal(seen, 2, "both workers ran tasks of one burst");
      assert.equal(pool.getStats().threads, 2);
    });

    it("bounds the pending queue: QueueFull, needsDrain and waitForRoom", async () => {
      await using pool = new ThreadPool(1, 1, { ...options, maxQueue: 2 });
      // The worker is still starting, so everything queues.
      const a = pool.enqueue(TASKS, "add", 1, 0);
      const b = pool.enqueue(TASKS, "add", 2, 0);
      assert.equal(pool.needsDrain, true);
      await assert.rejects(pool.enqueue(TASKS, "add", 3, 0), isPoolError("QueueFull"));
      await withDeadline(pool.waitForRoom(), 10_000);
      assert.equal(pool.needsDrain, false);
      assert.deepEqual(await Promise.all([a, b]), [1, 2]);
      assert.equal(pool.getStats().rejected, 1);
    });

    it("close() still runs the queued tasks after a timeout killed the only worker", async () => {
      const pool = new ThreadPool(1, 1, options);
      const stuck = pool.run({ module: TASKS, name: "forever", timeoutMs: 200 });
      stuck.catch(() => {}); // asserted below
      const queued = pool.enqueue<number>(TASKS, "add", 1, 1);
      const closing = pool.close();
      await assert.rejects(stuck, isPoolError("Timeout"));
      assert.equal(await withDeadline(queued, 10_000, "the queued task"), 2);
      await withDeadline(closing, 10_000, "close");
      assert.equal(pool.threads, 0);
    });

    it("close() lets running tasks finish, then refuses new ones", async () => {
      const pool = new ThreadPool(1, 2, options);
      const tasks = [pool.enqueue(TASKS, "sleep", 30, "a"), pool.enqueue(TASKS, "sleep", 30, "b")];
      const closing = pool.close();
      await assert.rejects(pool.enqueue(TASKS, "add", 1, 1), isPoolError("Closed"));
      assert.deepEqual(await Promise.all(tasks), ["a", "b"]);
      await closing;
      assert.equal(pool.threads, 0);
      assert.equal(pool.close(), closing, "closing twice returns the same promise");
    });

    it("close() with a deadline terminates what is still running", async () => {
      const pool = new ThreadPool(1, 1, options);
      const failure = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => e);
      const stuck = failure(pool.enqueue(TASKS, "forever"));
      // Sent to the same worker behind the stuck task, or still queued: terminated either way.
      const queued = failure(pool.enqueue(TASKS, "add", 1, 1));
      await waitFor(() => pool.getStats().running >= 1, { what: "the stuck task to start" });
      await withDeadline(pool.close({ timeoutMs: 100 }), 10_000, "close");
      assert.ok(isPoolError("Terminated")(await stuck));
      assert.ok(isPoolError("Terminated")(await queued));
      assert.equal(pool.threads, 0);
    });
  });
}

describe("ThreadPool options", () => {
  it("rejects bad sizes and options with InvalidArgument", () => {
    const invalid = isPoolError("InvalidArgument");
    assert.throws(() => new ThreadPool(-1, 1), invalid);
    assert.throws(() => new ThreadPool(2, 1), invalid);
    assert.throws(() => new ThreadPool(0, 0), invalid);
    assert.throws(() => new ThreadPool(0, 1, { maxQueue: -1 }), invalid);
    // Tasks wait in the queue until a worker takes them: with no room at all every task was
    // refused (QueueFull), even by idle workers.
    assert.throws(() => new ThreadPool(0, 1, { maxQueue: 0 }), invalid);
    assert.throws(() => new ThreadPool(0, 1, { concurrentTasksPerWorker: 0 }), invalid);
    assert.throws(() => new ThreadPool(0, 1, { taskTimeoutMs: 0 }), invalid);
  });

  it("takes its sizes and options as one object, beside the positional form", async () => {
    assert.throws(
      () => new ThreadPool({ minThreads: 2, maxThreads: 1 }),
      isPoolError("InvalidArgument"),
    );
    assert.throws(() => new ThreadPool({ maxQueue: 0 }), isPoolError("InvalidArgument"));
    await using pool = new ThreadPool({
      minThreads: 0,
      maxThreads: 1,
      concurrentTasksPerWorker: 1,
    });
    const results = await Promise.all([1, 2, 3].map((i) => pool.enqueue(TASKS, "sleep", 20, i)));
    assert.deepEqual(results, [1, 2, 3]);
    // One task per worker at a time and at most one worker: the three ran one after another.
    assert.equal(pool.getStats().workersStarted, 1);
  });
});

describe("ThreadPool with workers that cannot start", () => {
  it("does not restart them in a loop; queued tasks fail once none is left", async () => {
    // A test double of the worker seam: each worker reports a start failure on the next turn.
    let started = 0;
    const broken = {
      ...platform(),
      startWorker(): WorkerHandle {
        started++;
        let onError: ((error: Error) => void) | undefined;
        setTimeout(() => onError?.(new Error("cannot start")), 0);
        return {
          postMessage() {},
          onMessage() {},
          onError(handler: (error: Error) => void) {
            onError = handler;
          },
          terminate: () => Promise.resolve(),
          unref() {},
          ref() {},
        };
      },
    } as Platform;
    const pool = new ThreadPool(3, 3, { platform: broken });
    const task = pool.enqueue(TASKS, "add", 1, 1);
    await assert.rejects(withDeadline(task, 10_000), isPoolError("WorkerCrashed"));
    await withDeadline(pool.drain(), 10_000, "drain");
    // Each failure used to start a replacement while another was still starting: endless.
    assert.equal(started, 3);
    await pool.close();
  });
});
