// Argument errors are what std throws (RangeError for a number out of range or a value outside the
// allowed set, TypeError for a wrong type) and stay the module's typed IoraError with its code.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BlockingQueue, BlockingQueueError } from "../../core/blocking_queue.ts";
import { asRangeError, asTypeError, IoraError, UnsupportedError } from "../../core/errors.ts";
import { EventQueue, EventQueueError } from "../../core/event_queue.ts";
import { ExpiringCache, ExpiringCacheError } from "../../core/expiring_cache.ts";
import { ThreadPool, ThreadPoolError } from "../../core/thread_pool.ts";
import { TimerService } from "../../core/timer_service.ts";
import { TimerServicePool } from "../../core/timer_service_pool.ts";
import { TimerError } from "../../core/timer_error.ts";
import { WebhookServer } from "../../http/server.ts";
import { WebhookServerError } from "../../http/server_error.ts";
import { SharedTransport } from "../../network/shared_transport.ts";
import { SharedUdpTransport } from "../../network/shared_udp_transport.ts";
import { TransportError } from "../../network/transport.ts";

type ErrorClass = abstract new (...args: never[]) => IoraError;

/** An assert.throws validator: `standard` and `owner` at once, with `code`. */
function argumentError(
  standard: typeof RangeError | typeof TypeError,
  owner: ErrorClass,
  code: string,
): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof standard, `${String(e)} is not a ${standard.name}`);
    assert.ok(e instanceof owner, `${String(e)} is not a ${owner.name}`);
    assert.ok(e instanceof IoraError);
    assert.equal((e as IoraError).code, code);
    return true;
  };
}

describe("asRangeError / asTypeError", () => {
  class FieldError extends IoraError {
    readonly field = "limit";
    get described(): string {
      return `${this.field}: ${this.message}`;
    }
  }
  class NarrowError extends FieldError {}

  it("keeps the class, code, name, fields and accessors, and adds the standard class", () => {
    const error = asRangeError(new NarrowError("InvalidArgument", "must be >= 1"));
    assert.ok(error instanceof RangeError && error instanceof Error);
    assert.ok(error instanceof NarrowError && error instanceof FieldError);
    assert.ok(error instanceof IoraError);
    assert.ok(!(error instanceof TypeError) && !(error instanceof UnsupportedError));
    assert.equal(error.code, "InvalidArgument");
    assert.equal(error.name, "NarrowError");
    assert.equal(error.constructor, NarrowError);
    assert.equal(error.described, "limit: must be >= 1");
    assert.match(String(error), /^NarrowError: must be >= 1/);
  });

  it("a TypeError of a base class is no instance of its subclass", () => {
    const error = asTypeError(new FieldError("InvalidArgument", "not a function"));
    assert.ok(error instanceof TypeError && error instanceof FieldError);
    assert.ok(!(error instanceof NarrowError) && !(error instanceof RangeError));
  });

  it("leaves instanceof of other values alone", () => {
    assert.ok(new UnsupportedError("node", "x") instanceof IoraError);
    for (const value of [null, undefined, 5, "x", {}, new Error("plain"), new RangeError("r")]) {
      assert.ok(!(value instanceof IoraError), String(value));
    }
  });
});

describe("constructors and options refuse bad numbers with RangeError, wrong types with TypeError", () => {
  it("ThreadPool", async () => {
    const range = argumentError(RangeError, ThreadPoolError, "InvalidArgument");
    assert.throws(() => new ThreadPool(-1), range);
    assert.throws(() => new ThreadPool(0, 0), range);
    assert.throws(() => new ThreadPool(2, 1), range);
    assert.throws(() => new ThreadPool(1.5), range);
    assert.throws(() => new ThreadPool(1, 1, { idleTimeoutMs: -1 }), range);
    assert.throws(() => new ThreadPool(1, 1, { taskTimeoutMs: 0 }), range);
    await using pool = new ThreadPool(0, 1);
    const url = new URL("../fixtures/core/pool_tasks.ts", import.meta.url).href;
    await assert.rejects(pool.run({ module: url, name: "" }), range);
    await assert.rejects(
      pool.run({ module: url, name: 5 as unknown as string }),
      argumentError(TypeError, ThreadPoolError, "InvalidArgument"),
    );
    await assert.rejects(pool.run({ module: url, name: "echo", timeoutMs: -1 }), range);
    await assert.rejects(
      pool.run({ module: "./relative.ts", name: "echo" }),
      argumentError(TypeError, ThreadPoolError, "InvalidArgument"),
    );
  });

  it("timers", () => {
    const range = argumentError(RangeError, TimerError, "InvalidArgument");
    const type = argumentError(TypeError, TimerError, "InvalidArgument");
    assert.throws(() => new TimerService({ maxConcurrentTimers: 0 }), range);
    using service = new TimerService();
    assert.throws(() => service.scheduleAfter(-1, () => {}), range);
    assert.throws(() => service.scheduleAfter(NaN, () => {}), range);
    assert.throws(() => service.scheduleAfter("5" as unknown as number, () => {}), type);
    assert.throws(() => service.scheduleAfter(5, "f" as unknown as () => void), type);
    assert.throws(() => service.scheduleAt(new Date(NaN), () => {}), range);
    assert.throws(() => service.schedulePeriodic(0, () => {}), range);
    assert.throws(() => new TimerServicePool(0), range);
    using pool = new TimerServicePool(2);
    assert.throws(() => pool.getService(2), range);
  });

  it("caches", () => {
    const range = argumentError(RangeError, ExpiringCacheError, "InvalidOption");
    assert.throws(() => new ExpiringCache({ ttlMs: 0 }), range);
    assert.throws(() => new ExpiringCache({ ttlMs: 10, maxSize: 0 }), range);
    assert.throws(() => new ExpiringCache({ ttlMs: 10, sweepIntervalMs: -1 }), range);
  });

  it("queues", async () => {
    const queue = argumentError(RangeError, BlockingQueueError, "InvalidArgument");
    assert.throws(() => new BlockingQueue(0), queue);
    assert.throws(() => new BlockingQueue(-1), queue);
    assert.throws(() => new BlockingQueue<number>(4).dequeueBatch(0), queue);
    assert.throws(() => new BlockingQueue<number>(4).dequeue({ timeoutMs: -1 }), queue);
    const events = argumentError(RangeError, EventQueueError, "InvalidArgument");
    assert.throws(() => new EventQueue({ capacity: 0 }), events);
    assert.throws(
      () => new EventQueue({ overflow: "sometimes" as unknown as "block" }),
      events,
    );
    const bus = new EventQueue();
    try {
      assert.throws(
        () => bus.subscribe("t", 5 as unknown as () => void),
        argumentError(TypeError, EventQueueError, "InvalidArgument"),
      );
      assert.throws(() => bus.subscribe("", () => {}), events);
    } finally {
      await bus.close();
    }
  });

  it("transports", () => {
    const range = argumentError(RangeError, TransportError, "InvalidArgument");
    assert.throws(() => new SharedTransport({ idleTimeoutMs: -1 }), range);
    assert.throws(() => new SharedTransport({ highWaterMark: 0 }), range);
    assert.throws(() => new SharedTransport({ readBufferSize: 10 }), range);
    assert.throws(
      () => new SharedTransport({ backpressurePolicy: "drop" as unknown as "wait" }),
      range,
    );
    assert.throws(() => new SharedUdpTransport({ maxDatagramSize: 0 }), range);
  });

  it("servers", () => {
    const range = argumentError(RangeError, WebhookServerError, "InvalidConfig");
    assert.throws(() => new WebhookServer({ headerTimeoutMs: 0 }), range);
    assert.throws(() => new WebhookServer({ maxConnections: -1 }), range);
  });
});
