import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { EventQueue, EventQueueError, type QueuedEvent } from "../../core/event_queue.ts";
import { deferred, withDeadline } from "../harness.ts";

describe("EventQueue", () => {
  it("delivers asynchronously, in order, to every matching subscriber", async () => {
    await using events = new EventQueue<number>();
    const seen: string[] = [];
    events.subscribe("orders.created", (n, topic) => void seen.push(`exact:${topic}:${n}`));
    events.subscribe("orders.*", (n, topic) => void seen.push(`star:${topic}:${n}`));
    events.subscribe(/^users\./, (n, topic) => void seen.push(`re:${topic}:${n}`));
    const published = events.publish("orders.created", 1);
    events.tryPublish("users.login", 2);
    events.tryPublish("orders.shipped", 3);
    events.tryPublish("other", 4);
    assert.deepEqual(seen, [], "nothing runs inside publish");
    assert.equal(await published, true);
    await events.drain();
    assert.deepEqual(seen, [
      "exact:orders.created:1",
      "star:orders.created:1",
      "re:users.login:2",
      "star:orders.shipped:3",
    ]);
    const stats = events.getStats();
    assert.equal(stats.published, 4);
    assert.equal(stats.delivered, 4);
    assert.equal(stats.unmatched, 1);
    assert.equal(stats.pending, 0);
    assert.equal(stats.subscriptions, 3);
  });

  it("matches dotted patterns: * is one segment, # and ** any number", async () => {
    await using events = new EventQueue<null>();
    const hits = new Map<string, string[]>();
    for (const pattern of ["a.*", "a.#", "#.c", "a.**.d", "*", "#"]) {
      hits.set(pattern, []);
      events.subscribe(pattern, (_, topic) => void hits.get(pattern)!.push(topic));
    }
    for (const topic of ["a", "a.b", "a.b.c", "c", "a.d", "a.b.c.d", "x.c"]) {
      events.tryPublish(topic, null);
    }
    await events.drain();
    assert.deepEqual(hits.get("a.*"), ["a.b", "a.d"]);
    assert.deepEqual(hits.get("a.#"), ["a", "a.b", "a.b.c", "a.d", "a.b.c.d"]);
    assert.deepEqual(hits.get("#.c"), ["a.b.c", "c", "x.c"]);
    assert.deepEqual(hits.get("a.**.d"), ["a.d", "a.b.c.d"]);
    assert.deepEqual(hits.get("*"), ["a", "c"]);
    assert.equal(hits.get("#")!.length, 7);
  });

  it("isolates handler errors: counted, reported, never seen by other handlers", async () => {
    const reported: [unknown, QueuedEvent<string>][] = [];
    await using events = new EventQueue<string>({
      onHandlerError: (error, event) => reported.push([error, event]),
    });
    const good: string[] = [];
    events.subscribe("t", () => {
      throw new Error("sync fail");
    });
    events.subscribe("t", () => Promise.reject(new Error("async fail")));
    events.subscribe("t", (p) => void good.push(p));
    events.tryPublish("t", "one");
    events.tryPublish("t", "two");
    await events.drain();
    assert.deepEqual(good, ["one", "two"]);
    const stats = events.getStats();
    assert.equal(stats.handlerErrors, 4);
    assert.equal(stats.delivered, 2);
    assert.equal(reported.length, 4);
    assert.deepEqual(reported.map(([e]) => (e as Error).message).sort(), [
      "async fail",
      "async fail",
      "sync fail",
      "sync fail",
    ]);
    assert.equal(reported[0][1].topic, "t");
  });

  it("keeps per-topic order with async handlers of varying speed", async () => {
    await using events = new EventQueue<number>();
    const seen: number[] = [];
    events.subscribe("seq", async (n) => {
      await new Promise((resolve) => setTimeout(resolve, n % 3));
      seen.push(n);
    });
    for (let i = 0; i < 30; i++) await events.publish("seq", i);
    await withDeadline(events.drain(), 10_000);
    assert.deepEqual(seen, Array.from({ length: 30 }, (_, i) => i));
  });

  it("dropOldest keeps the newest events", async () => {
    await using events = new EventQueue<number>({ capacity: 2, overflow: "dropOldest" });
    const seen: number[] = [];
    events.subscribe("t", (n) => void seen.push(n));
    for (let i = 1; i <= 5; i++) assert.equal(events.tryPublish("t", i), true);
    await events.drain();
    assert.deepEqual(seen, [4, 5]);
    assert.equal(events.getStats().dropped, 3);
  });

  it("dropNewest keeps the oldest events", async () => {
    await using events = new EventQueue<number>({ capacity: 2, overflow: "dropNewest" });
    const seen: number[] = [];
    events.subscribe("t", (n) => void seen.push(n));
    const accepted = [];
    for (let i = 1; i <= 5; i++) accepted.push(await events.publish("t", i).catch(() => "x"));
    // Publishing awaits a microtask, which lets the dispatcher start; use tryPublish for a burst.
    for (let i = 6; i <= 10; i++) events.tryPublish("t", i);
    await events.drain();
    assert.ok(accepted.every((a) => a === true));
    assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7]);
    assert.equal(events.getStats().dropped, 3);
  });

  it("error policy throws QueueFull", async () => {
    await using events = new EventQueue<number>({ capacity: 1, overflow: "error" });
    events.tryPublish("t", 1);
    assert.throws(
      () => events.tryPublish("t", 2),
      (e: unknown) => e instanceof EventQueueError && e.code === "QueueFull",
    );
    await assert.rejects(
      events.publish("t", 3),
      (e: unknown) => e instanceof EventQueueError && e.code === "QueueFull",
    );
  });

  it("block policy makes publishers wait for room and loses nothing", async () => {
    await using events = new EventQueue<number>({ capacity: 2, overflow: "block" });
    const seen: number[] = [];
    const gate = deferred("gate");
    events.subscribe("t", async (n) => {
      if (n === 0) await gate.wait();
      seen.push(n);
    });
    const publishes = Array.from({ length: 6 }, (_, i) => events.publish("t", i));
    let settled = 0;
    for (const p of publishes) void p.then(() => settled++);
    // A short wait to see that no more than that settles: event 0 is in the
    // handler, 1 and 2 fill the buffer, so 3 published at most.
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.ok(settled <= 3, `settled ${settled}`);
    assert.equal(events.tryPublish("t", 99), false, "tryPublish never waits");
    gate.resolve();
    assert.deepEqual(await Promise.all(publishes), [true, true, true, true, true, true]);
    await events.drain();
    assert.deepEqual(seen, [0, 1, 2, 3, 4, 5]);
    assert.equal(events.getStats().dropped, 0);
  });

  it("unsubscribing stops delivery, also of events already buffered", async () => {
    await using events = new EventQueue<number>();
    const seen: number[] = [];
    const unsubscribe = events.subscribe("t", (n) => void seen.push(n));
    events.tryPublish("t", 1);
    unsubscribe();
    unsubscribe();
    events.tryPublish("t", 2);
    await events.drain();
    assert.deepEqual(seen, []);
    assert.equal(events.getStats().subscriptions, 0);
  });

  it("block: an async handler that awaits publish() on its own full queue does not deadlock", async () => {
    await using events = new EventQueue<number>({ capacity: 2, overflow: "block" });
    const seen: string[] = [];
    events.subscribe("a", async () => {
      // The queue is full (the "fill" event) and the dispatcher waits for this handler:
      // a blocking publish here would wait forever.
      assert.equal(await events.publish("b", 1), true);
      assert.equal(await events.publish("c", 2), true);
      seen.push("a");
    });
    events.subscribe("fill", () => void seen.push("fill"));
    events.subscribe("b", () => void seen.push("b"));
    events.subscribe("c", () => void seen.push("c"));
    void events.publish("a", 0);
    void events.publish("fill", 0);
    const filled = events.publish("fill", 0); // waits for room behind "a"
    await withDeadline(events.drain(), 5000, "the queue to drain");
    assert.equal(await filled, true);
    assert.deepEqual(seen, ["a", "fill", "fill", "b", "c"]);
    assert.equal(events.getStats().dropped, 0);
  });

  it("block: a handler publishing more than the capacity again into its own full queue gets QueueFull, not a hang", async () => {
    await using events = new EventQueue<number>({ capacity: 2, overflow: "block" });
    let refused: unknown;
    events.subscribe("start", async () => {
      try {
        for (let i = 0; i < 10; i++) await events.publish("more", i);
      } catch (error) {
        refused = error;
      }
    });
    void events.publish("start", 0);
    void events.publish("x", 0);
    void events.publish("x", 0);
    await withDeadline(events.drain(), 5000, "the queue to drain");
    assert.ok(refused instanceof EventQueueError && refused.code === "QueueFull", String(refused));
  });

  it("close() delivers what is buffered, releases blocked publishers and refuses more", async () => {
    const events = new EventQueue<number>({ capacity: 1 });
    const seen: number[] = [];
    const gate = deferred("gate");
    const taken = deferred("the handler taking event 1");
    events.subscribe("t", async (n) => {
      taken.resolve();
      await gate.wait();
      seen.push(n);
    });
    await events.publish("t", 1);
    await taken.wait();
    events.tryPublish("t", 2); // buffered
    const blocked = events.publish("t", 3); // waits for room
    const closing = events.close();
    assert.equal(await blocked, false);
    gate.resolve();
    await withDeadline(closing, 5_000);
    assert.deepEqual(seen, [1, 2]);
    assert.equal(events.closed, true);
    await assert.rejects(
      events.publish("t", 4),
      (e: unknown) => e instanceof EventQueueError && e.code === "Closed",
    );
    assert.equal(events.getStats().dropped, 1);
    events.resetStats();
    assert.equal(events.getStats().published, 0);
  });

  it("yields to the event loop between batches of synchronous handlers", async () => {
    await using events = new EventQueue<number>({ capacity: 10_000 });
    let delivered = 0;
    events.subscribe("t", () => void delivered++);
    for (let i = 0; i < 5000; i++) events.tryPublish("t", i);
    let atTimer = -1;
    setTimeout(() => atTimer = delivered, 0);
    await events.drain();
    assert.equal(delivered, 5000);
    assert.ok(atTimer >= 0 && atTimer < 5000, `timer ran after ${atTimer} deliveries`);
  });

  it("rejects bad arguments with typed errors", () => {
    const invalid = (e: unknown) => e instanceof EventQueueError && e.code === "InvalidArgument";
    assert.throws(() => new EventQueue({ capacity: 0 }), invalid);
    assert.throws(() => new EventQueue({ overflow: "spill" as "block" }), invalid);
    const events = new EventQueue();
    assert.throws(() => events.subscribe("", () => {}), invalid);
    assert.throws(() => events.subscribe("t", null as unknown as () => void), invalid);
    assert.throws(() => events.tryPublish("", 1), invalid);
  });
});
