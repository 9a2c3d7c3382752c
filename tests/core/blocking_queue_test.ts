import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { BlockingQueue, BlockingQueueError } from "../../core/blocking_queue.ts";
import { withDeadline } from "../harness.ts";

describe("BlockingQueue", () => {
  it("is FIFO and reports size, empty, full, capacity and closed", () => {
    const q = new BlockingQueue<string>(3);
    assert.equal(q.capacity, 3);
    assert.ok(q.empty);
    assert.equal(q.tryQueue("a"), true);
    assert.equal(q.tryQueue("b"), true);
    assert.equal(q.tryQueue("c"), true);
    assert.ok(q.full);
    assert.equal(q.tryQueue("d"), false);
    assert.equal(q.size, 3);
    assert.deepEqual(q.tryDequeue(), { done: false, value: "a" });
    assert.deepEqual(q.tryDequeue(), { done: false, value: "b" });
    assert.deepEqual(q.tryDequeue(), { done: false, value: "c" });
    const none = q.tryDequeue();
    assert.equal(none.done, true);
    assert.equal(none.done && none.reason, "empty");
    assert.equal(q.closed, false);
  });

  it("carries undefined and null items like any other value", async () => {
    const q = new BlockingQueue<undefined | null>(2);
    await q.queue(undefined);
    await q.queue(null);
    assert.deepEqual(await q.dequeue(), { done: false, value: undefined });
    assert.deepEqual(await q.dequeue(), { done: false, value: null });
  });

  it("queue() waits while full and producers get in in arrival order", async () => {
    const q = new BlockingQueue<number>(1);
    assert.equal(await q.queue(1), true);
    const order: number[] = [];
    const p2 = q.queue(2).then((ok) => order.push(2) && ok);
    const p3 = q.queue(3).then((ok) => order.push(3) && ok);
    await Promise.resolve();
    assert.deepEqual(order, []);
    assert.deepEqual(await q.dequeue(), { done: false, value: 1 });
    assert.deepEqual(await q.dequeue(), { done: false, value: 2 });
    assert.deepEqual(await q.dequeue(), { done: false, value: 3 });
    assert.equal(await p2, true);
    assert.equal(await p3, true);
    assert.deepEqual(order, [2, 3]);
  });

  it("dequeue() waits while empty and consumers are served in arrival order", async () => {
    const q = new BlockingQueue<string>(4);
    const first = q.dequeue();
    const second = q.dequeue();
    assert.equal(q.tryQueue("x"), true);
    await q.queue("y");
    assert.deepEqual(await first, { done: false, value: "x" });
    assert.deepEqual(await second, { done: false, value: "y" });
    assert.ok(q.empty, "items were handed straight to the waiters");
  });

  it("times out: dequeue reports timeout, queue returns false and does not insert", async () => {
    const q = new BlockingQueue<number>(1);
    const result = await q.dequeue(10);
    assert.equal(result.done && result.reason, "timeout");
    await q.queue(1);
    assert.equal(await q.queue(2, { timeoutMs: 10 }), false);
    assert.equal(q.size, 1);
    assert.equal(await q.queue(2, 0), false);
    assert.deepEqual(await q.dequeue(0), { done: false, value: 1 });
    assert.deepEqual(await q.dequeue(0), { done: true, value: undefined, reason: "timeout" });
    // A timed-out producer's item never appears later.
    assert.ok(q.empty);
  });

  it("aborts waiting calls with the signal's reason and leaves the queue untouched", async () => {
    const q = new BlockingQueue<number>(1);
    const controller = new AbortController();
    const waiting = q.dequeue({ signal: controller.signal });
    controller.abort(new Error("stop waiting"));
    await assert.rejects(waiting, /stop waiting/);
    q.tryQueue(1);
    const producer = new AbortController();
    const blocked = q.queue(2, { signal: producer.signal });
    producer.abort(new Error("no room"));
    await assert.rejects(blocked, /no room/);
    assert.deepEqual(q.tryDequeue(), { done: false, value: 1 });
    assert.equal(q.tryDequeue().done, true);
    await assert.rejects(q.dequeue({ signal: AbortSignal.abort(new Error("pre")) }), /pre/);
    await assert.rejects(q.queue(3, { signal: AbortSignal.abort(new Error("pre")) }), /pre/);
    assert.ok(q.empty);
  });

  it("skips many abandoned waiters and still serves the live one", async () => {
    const q = new BlockingQueue<number>(1);
    const controllers = Array.from({ length: 500 }, () => new AbortController());
    const abandoned = controllers.map((c) =>
      q.dequeue({ signal: c.signal }).catch(() => "aborted")
    );
    const live = q.dequeue();
    for (const c of controllers) c.abort();
    assert.ok((await Promise.all(abandoned)).every((r) => r === "aborted"));
    q.tryQueue(42);
    assert.deepEqual(await live, { done: false, value: 42 });
  });

  it("close() wakes every waiter; queueing fails and dequeueing drains, then reports closed", async () => {
    const waitingConsumer = new BlockingQueue<number>(2);
    const consumer = waitingConsumer.dequeue();
    const batch = waitingConsumer.dequeueBatch(5);
    waitingConsumer.close();
    assert.equal((await consumer).done, true);
    assert.deepEqual(await batch, []);

    const q = new BlockingQueue<number>(2);
    await q.queue(1);
    await q.queue(2);
    const producer = q.queue(3);
    q.close();
    q.close();
    assert.equal(await producer, false);
    assert.equal(q.closed, true);
    assert.equal(q.tryQueue(4), false);
    assert.equal(await q.queue(4), false);
    assert.deepEqual(await q.dequeue(), { done: false, value: 1 });
    assert.deepEqual(q.tryDequeue(), { done: false, value: 2 });
    const end = await q.dequeue();
    assert.equal(end.done && end.reason, "closed");
    assert.equal(q.tryDequeue().done && "closed", "closed");
  });

  it("for await yields every item until closed and drained", async () => {
    const q = new BlockingQueue<number>(4);
    const consumed = (async () => {
      const seen: number[] = [];
      for await (const n of q) seen.push(n);
      return seen;
    })();
    for (let i = 0; i < 100; i++) await q.queue(i);
    q.close();
    assert.deepEqual(await withDeadline(consumed, 5_000), Array.from({ length: 100 }, (_, i) => i));
  });

  it("dequeueBatch takes up to max items, waiting only while empty", async () => {
    const q = new BlockingQueue<number>(10);
    const waiting = q.dequeueBatch(3);
    q.tryQueue(1);
    assert.deepEqual(await waiting, [1]);
    for (let i = 2; i <= 6; i++) q.tryQueue(i);
    assert.deepEqual(await q.dequeueBatch(3), [2, 3, 4]);
    assert.deepEqual(q.tryDequeueBatch(10), [5, 6]);
    assert.deepEqual(await q.dequeueBatch(3, 5), []);
  });

  it("moves producers in as a batch frees room", async () => {
    const q = new BlockingQueue<number>(2);
    q.tryQueue(1);
    q.tryQueue(2);
    const waiting = [q.queue(3), q.queue(4), q.queue(5)];
    // Each taken item lets one waiting producer in, so one batch drains them all, in order.
    assert.deepEqual(q.tryDequeueBatch(10), [1, 2, 3, 4, 5]);
    assert.deepEqual(await Promise.all(waiting), [true, true, true]);
    assert.ok(q.empty);
  });

  it("delivers every item exactly once with many producers and consumers", async () => {
    const q = new BlockingQueue<[number, number]>(8);
    const producers = [0, 1, 2, 3].map(async (p) => {
      for (let i = 0; i < 1000; i++) assert.equal(await q.queue([p, i]), true);
    });
    const seen: [number, number][][] = [[], [], []];
    const consumers = [0, 1, 2].map(async (c) => {
      for (;;) {
        const r = await q.dequeue();
        if (r.done) return;
        seen[c].push(r.value);
      }
    });
    await Promise.all(producers);
    q.close();
    await withDeadline(Promise.all(consumers), 10_000);
    const all = seen.flat();
    assert.equal(all.length, 4000);
    for (let p = 0; p < 4; p++) {
      const mine = all.filter(([q]) => q === p).map(([, i]) => i);
      assert.deepEqual(new Set(mine).size, 1000);
    }
    // Each consumer sees each producer's items in order.
    for (const list of seen) {
      for (let p = 0; p < 4; p++) {
        const mine = list.filter(([q]) => q === p).map(([, i]) => i);
        assert.deepEqual(mine, [...mine].sort((a, b) => a - b));
      }
    }
  });

  it("matches an array model under random synchronous operations (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.array(
          fc.oneof(fc.integer(), fc.constant("take" as const), fc.constant("close" as const)),
          {
            minLength: 50,
            maxLength: 500,
          },
        ),
        (capacity, ops) => {
          const q = new BlockingQueue<number>(capacity);
          const model: number[] = [];
          let closed = false;
          for (const op of ops) {
            if (op === "take") {
              const r = q.tryDequeue();
              if (model.length > 0) assert.deepEqual(r, { done: false, value: model.shift() });
              else assert.equal(r.done && r.reason, closed ? "closed" : "empty");
            } else if (op === "close") {
              q.close();
              closed = true;
            } else {
              const ok: boolean = !closed && model.length < capacity;
              assert.equal(q.tryQueue(op), ok);
              if (ok) model.push(op);
            }
            assert.equal(q.size, model.length);
            assert.equal(q.full, model.length >= capacity);
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it("rejects bad arguments with a typed error", () => {
    const invalid = (e: unknown) => e instanceof BlockingQueueError && e.code === "InvalidArgument";
    assert.throws(() => new BlockingQueue(0), invalid);
    assert.throws(() => new BlockingQueue(1.5), invalid);
    assert.throws(() => new BlockingQueue(NaN), invalid);
    const q = new BlockingQueue<number>(Infinity);
    assert.throws(() => q.dequeue(-1), invalid);
    assert.throws(() => q.queue(1, NaN), invalid);
    assert.throws(() => q.dequeueBatch(0), invalid);
    for (let i = 0; i < 5000; i++) assert.ok(q.tryQueue(i));
    assert.equal(q.size, 5000);
  });
  it("a timeout beyond setTimeout's 2^31-1 ms range (or Infinity) still waits", async () => {
    // Runtimes run an out-of-range setTimeout after 1 ms; a sibling's short timeout, armed
    // later, passing first shows the long waiters are still waiting.
    const q = new BlockingQueue<number>(1);
    let settled = 0;
    const long = q.dequeue({ timeoutMs: 2 ** 31 }).finally(() => settled++);
    const forever = q.dequeue(Infinity).finally(() => settled++);
    const short = await withDeadline(q.dequeue(20));
    assert.equal(short.done && short.reason, "timeout");
    assert.equal(settled, 0);
    assert.equal(q.tryQueue(1), true);
    assert.equal(q.tryQueue(2), true);
    assert.deepEqual(await long, { done: false, value: 1 });
    assert.deepEqual(await forever, { done: false, value: 2 });
    const full = new BlockingQueue<number>(1);
    full.tryQueue(0);
    let queued: boolean | undefined;
    const producer = full.queue(1, Infinity).then((ok) => queued = ok);
    assert.equal(await withDeadline(full.queue(2, 20)), false);
    assert.equal(queued, undefined);
    full.tryDequeue();
    await producer;
    assert.equal(queued, true);
  });
});
