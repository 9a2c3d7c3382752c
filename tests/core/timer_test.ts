import { afterEach, describe, it, mock } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  SteadyTimer,
  TimerError,
  type TimerErrorHandler,
  TimerService,
  TimerServicePool,
} from "../../core/timer.ts";
import { deferred, fixtureCommand, runtimeTimerFired, withDeadline } from "../harness.ts";
import { platform } from "../../core/platform/mod.ts";

/** A manual clock that moves together with the mocked setTimeout. */
function fakeTime(): {
  now: () => number;
  advance: (ms: number) => void;
  set: (t: number) => void;
} {
  mock.timers.enable({ apis: ["setTimeout"] });
  let t = 1000;
  return {
    now: () => t,
    advance: (ms: number) => {
      // Step in 1 ms increments so every re-armed runtime timer gets its turn.
      for (let i = 0; i < ms; i++) {
        t += 1;
        mock.timers.tick(1);
      }
    },
    set: (value: number) => {
      t = value;
    },
  };
}

describe("TimerService (mocked clock)", () => {
  afterEach(() => mock.timers.reset());

  it("runs one-shot timers in deadline order, equal deadlines in scheduling order", () => {
    const time = fakeTime();
    using service = new TimerService({ clock: time.now });
    const order: string[] = [];
    service.scheduleAfter(30, () => order.push("c"));
    service.scheduleAfter(10, () => order.push("a1"));
    service.scheduleAfter(10, () => order.push("a2"));
    service.scheduleAfter(20.5, () => order.push("b"));
    service.scheduleAt(time.now() + 10, () => order.push("a3"));
    service.scheduleAfter(0, () => order.push("zero"));
    time.advance(9);
    assert.deepEqual(order, ["zero"]);
    time.advance(40);
    assert.deepEqual(order, ["zero", "a1", "a2", "a3", "b", "c"]);
    assert.equal(service.pending, 0);
    const stats = service.getStats();
    assert.equal(stats.timersScheduled, 6);
    assert.equal(stats.timersExecuted, 6);
  });

  it("scheduleAt accepts a wall-clock Date", () => {
    const time = fakeTime();
    using service = new TimerService({ clock: time.now });
    let fired = 0;
    service.scheduleAt(new Date(Date.now() + 5_000), () => fired++);
    time.advance(100);
    assert.equal(fired, 0);
    assert.equal(service.pending, 1);
  });

  it("periodic timers keep a fixed rate and skip ticks a slow handler overran", () => {
    const time = fakeTime();
    using service = new TimerService({ clock: time.now });
    const start = time.now();
    const runs: number[] = [];
    const id = service.schedulePeriodic(10, () => {
      runs.push(time.now() - start);
      // The third run takes 35 ms: ticks at 40, 50 and 60 are missed.
      if (runs.length === 3) time.set(time.now() + 35);
    });
    time.advance(100);
    // The clock jumped 35 ms ahead of the 100 ms we stepped.
    assert.deepEqual(runs, [10, 20, 30, 70, 80, 90, 100, 110, 120, 130]);
    assert.equal(service.getStats().periodicTimersActive, 1);
    assert.equal(service.cancel(id), true);
    assert.equal(service.getStats().periodicTimersActive, 0);
  });

  it("cancels from inside handlers, including a periodic timer's own", () => {
    const time = fakeTime();
    using service = new TimerService({ clock: time.now });
    const ran: string[] = [];
    let victim = 0;
    service.scheduleAfter(10, () => {
      ran.push("killer");
      assert.equal(service.cancel(victim), true);
    });
    victim = service.scheduleAfter(10, () => ran.push("victim"));
    let ticks = 0;
    const periodic: number = service.schedulePeriodic(5, () => {
      ticks++;
      if (ticks === 3) assert.equal(service.cancel(periodic), true);
    });
    let self = 0;
    self = service.scheduleAfter(12, () => {
      // A one-shot timer is no longer pending while it runs.
      ran.push(`self:${service.cancel(self)}`);
    });
    time.advance(50);
    assert.deepEqual(ran, ["killer", "self:false"]);
    assert.equal(ticks, 3);
    assert.equal(service.pending, 0);
    assert.equal(service.getStats().periodicTimersActive, 0);
    assert.equal(service.cancel(periodic), false);
  });

  it("schedules from inside a handler", () => {
    const time = fakeTime();
    using service = new TimerService({ clock: time.now });
    const ran: string[] = [];
    service.scheduleAfter(5, () => {
      ran.push("1");
      service.scheduleAfter(0, () => {
        ran.push("2");
        service.scheduleAfter(3, () => ran.push("3"));
      });
      ran.push("1-end");
    });
    time.advance(5);
    assert.deepEqual(ran, ["1", "1-end", "2"]);
    time.advance(3);
    assert.deepEqual(ran, ["1", "1-end", "2", "3"]);
  });

  it("reschedules pending timers earlier and later, and periodic ones from their handler", () => {
    const time = fakeTime();
    using service = new TimerService({ clock: time.now });
    const ran: string[] = [];
    const late = service.scheduleAfter(5, () => ran.push("late"));
    const early = service.scheduleAfter(50, () => ran.push("early"));
    assert.equal(service.reschedule(late, 30), true);
    assert.equal(service.reschedule(early, 10), true);
    let n = 0;
    const periodic = service.schedulePeriodic(20, () => {
      ran.push(`p${++n}`);
      if (n === 1) service.reschedule(periodic, 5); // next run 5 ms later, then every 20
    });
    time.advance(60);
    assert.deepEqual(ran, ["early", "p1", "p2", "late", "p3"]);
    assert.equal(service.reschedule(late, 1), false);
    assert.equal(service.reschedule(123456789, 1), false);
    service.cancel(periodic);
  });

  it("throws ResourceExhausted past maxConcurrentTimers and reports it", () => {
    const time = fakeTime();
    const reported: TimerError[] = [];
    const errorHandler: TimerErrorHandler = (error) => reported.push(error);
    using service = new TimerService({ clock: time.now, maxConcurrentTimers: 3, errorHandler });
    for (let i = 0; i < 3; i++) service.scheduleAfter(10 + i, () => {});
    assert.throws(
      () => service.scheduleAfter(1, () => {}),
      (e: unknown) => e instanceof TimerError && e.code === "ResourceExhausted",
    );
    assert.equal(reported.length, 1);
    assert.equal(reported[0].code, "ResourceExhausted");
    time.advance(10);
    // One fired: there is room again.
    service.scheduleAfter(1, () => {});
    assert.equal(service.pending, 3);
  });

  it("swallows, counts and reports handler exceptions without disturbing other timers", async () => {
    const time = fakeTime();
    const reported: TimerError[] = [];
    using service = new TimerService({
      clock: time.now,
      errorHandler: (error) => reported.push(error),
    });
    const ran: string[] = [];
    service.scheduleAfter(5, () => {
      throw new Error("boom");
    });
    service.scheduleAfter(5, () => ran.push("after-throw"));
    service.scheduleAfter(6, () => Promise.reject(new Error("async boom")));
    let ticks = 0;
    const periodic = service.schedulePeriodic(2, () => {
      ticks++;
      throw new Error("periodic");
    });
    time.advance(10);
    await Promise.resolve();
    assert.deepEqual(ran, ["after-throw"]);
    assert.equal(ticks, 5);
    service.cancel(periodic);
    const stats = service.getStats();
    assert.equal(stats.exceptionsSwallowed, 7);
    assert.equal(reported.length, 7);
    assert.ok(reported.every((e) => e.code === "HandlerException"));
    assert.ok(reported.some((e) => (e.cause as Error).message === "async boom"));
  });

  it("stop() cancels everything and refuses timers until start()", () => {
    const time = fakeTime();
    const service = new TimerService({ clock: time.now });
    let fired = 0;
    for (let i = 0; i < 10; i++) service.scheduleAfter(5, () => fired++);
    service.schedulePeriodic(3, () => fired++);
    service.stop();
    assert.equal(service.getStats().timersCanceled, 11);
    assert.throws(
      () => service.scheduleAfter(1, () => {}),
      (e: unknown) => e instanceof TimerError && e.code === "ServiceStopped",
    );
    time.advance(20);
    assert.equal(fired, 0);
    service.start();
    service.scheduleAfter(1, () => fired++);
    time.advance(1);
    assert.equal(fired, 1);
    service.stop();
  });

  it("an id from before a slot's reuse never names the new timer", () => {
    const time = fakeTime();
    using service = new TimerService({ clock: time.now });
    const old = service.scheduleAfter(5, () => {});
    time.advance(5);
    let fired = 0;
    const fresh = service.scheduleAfter(5, () => fired++);
    assert.notEqual(old, fresh);
    assert.equal(service.cancel(old), false);
    assert.equal(service.reschedule(old, 100), false);
    time.advance(5);
    assert.equal(fired, 1);
  });

  it("rejects bad input with InvalidArgument", () => {
    using service = new TimerService();
    const invalid = (e: unknown) => e instanceof TimerError && e.code === "InvalidArgument";
    assert.throws(() => service.scheduleAfter(-1, () => {}), invalid);
    assert.throws(() => service.scheduleAfter(NaN, () => {}), invalid);
    assert.throws(() => service.scheduleAfter(Infinity, () => {}), invalid);
    assert.throws(() => service.schedulePeriodic(0, () => {}), invalid);
    assert.throws(() => service.scheduleAt(new Date(NaN), () => {}), invalid);
    assert.throws(() => service.scheduleAfter(1, null as unknown as () => void), invalid);
    assert.throws(() => new TimerService({ maxConcurrentTimers: 0 }), invalid);
    assert.equal(service.cancel(-5), false);
    assert.equal(service.cancel(0.5), false);
    assert.equal(service.pending, 0);
  });

  it("measures handler time with enableStatistics; resetStats zeroes counters", () => {
    let t = 0;
    mock.timers.enable({ apis: ["setTimeout"] });
    using service = new TimerService({ clock: () => t, enableStatistics: true });
    service.scheduleAfter(1, () => {
      t += 2; // the handler "takes" 2 ms
    });
    service.scheduleAfter(1, () => {});
    t = 1;
    mock.timers.tick(1);
    const stats = service.getStats();
    assert.equal(stats.timersExecuted, 2);
    assert.equal(stats.maxHandlerExecutionTimeNs, 2_000_000);
    assert.equal(stats.totalHandlerExecutionTimeNs, 2_000_000);
    assert.equal(stats.avgHandlerExecutionTimeNs, 1_000_000);
    assert.ok(stats.heapOperations >= 4);
    service.resetStats();
    assert.equal(service.getStats().timersExecuted, 0);
    assert.equal(service.getStats().startTime, 3);
  });

  it("matches a reference model under random schedule/cancel/reschedule (property)", () => {
    type Op =
      | { kind: "add"; delay: number }
      | { kind: "cancel"; index: number }
      | { kind: "move"; index: number; delay: number }
      | { kind: "advance"; ms: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      {
        weight: 6,
        arbitrary: fc.record({
          kind: fc.constant("add" as const),
          delay: fc.integer({ min: 0, max: 50 }),
        }),
      },
      {
        weight: 4,
        arbitrary: fc.record({ kind: fc.constant("cancel" as const), index: fc.nat() }),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constant("move" as const),
          index: fc.nat(),
          delay: fc.integer({ min: 0, max: 50 }),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constant("advance" as const),
          ms: fc.integer({ min: 0, max: 20 }),
        }),
      },
    );
    fc.assert(
      fc.property(fc.array(op, { minLength: 200, maxLength: 2000 }), (ops) => {
        mock.timers.enable({ apis: ["setTimeout"] });
        try {
          let t = 0;
          const service = new TimerService({ clock: () => t, maxConcurrentTimers: 10_000 });
          // Reference: id -> [deadline, seq], fired in (deadline, seq) order.
          const model = new Map<number, [number, number]>();
          const ids: number[] = [];
          const fired: number[] = [];
          let seq = 0;
          const advance = (ms: number): void => {
            for (let i = 0; i < ms; i++) {
              t++;
              mock.timers.tick(1);
            }
          };
          const expected: number[] = [];
          const due = (): void => {
            const ready = [...model].filter(([, [d]]) => d <= t)
              .sort((a, b) => a[1][0] - b[1][0] || a[1][1] - b[1][1]);
            for (const [id] of ready) {
              expected.push(id);
              model.delete(id);
            }
          };
          for (const o of ops) {
            if (o.kind === "add") {
              const id: number = service.scheduleAfter(o.delay, () => fired.push(id));
              ids.push(id);
              model.set(id, [t + o.delay, seq++]);
            } else if (o.kind === "cancel" && ids.length > 0) {
              const id = ids[o.index % ids.length];
              assert.equal(service.cancel(id), model.delete(id));
            } else if (o.kind === "move" && ids.length > 0) {
              const id = ids[o.index % ids.length];
              const known = model.has(id);
              assert.equal(service.reschedule(id, o.delay), known);
              if (known) model.set(id, [t + o.delay, seq++]);
            } else if (o.kind === "advance") {
              for (let i = 0; i < o.ms; i++) {
                advance(1);
                due();
              }
            }
          }
          advance(60);
          due();
          assert.deepEqual(fired, expected);
          assert.equal(service.pending, 0);
          service.stop();
        } finally {
          mock.timers.reset();
        }
      }),
      { numRuns: 20 },
    );
  });

  it("compacts a heap full of cancelled timers without losing or reordering live ones", () => {
    const time = fakeTime();
    using service = new TimerService({ clock: time.now });
    const fired: number[] = [];
    const ids: number[] = [];
    for (let i = 0; i < 5000; i++) {
      const delay = 1 + ((i * 37) % 100);
      ids.push(service.scheduleAfter(delay, () => fired.push(i)));
    }
    const kept = new Set<number>();
    for (let i = 0; i < 5000; i++) {
      if (i % 5 === 0) kept.add(i);
      else assert.equal(service.cancel(ids[i]), true);
    }
    assert.equal(service.pending, 1000);
    time.advance(101);
    // Compaction dropped most dead entries in bulk instead of popping each of them.
    assert.ok(service.getStats().heapOperations < 7500, `${service.getStats().heapOperations}`);
    assert.deepEqual(new Set(fired), kept);
    const delays = fired.map((i) => 1 + ((i * 37) % 100));
    assert.deepEqual(delays, [...delays].sort((a, b) => a - b));
  });

  it("holds 200,000 pending timers and fires them all in order", () => {
    const time = fakeTime();
    using service = new TimerService({ clock: time.now, maxConcurrentTimers: 200_000 });
    let fired = 0;
    let last = -1;
    let inOrder = true;
    for (let i = 0; i < 200_000; i++) {
      const delay = (i * 7919) % 100;
      service.scheduleAfter(delay, () => {
        if (delay < last) inOrder = false;
        last = delay;
        fired++;
      });
    }
    assert.equal(service.pending, 200_000);
    time.advance(100);
    assert.equal(fired, 200_000);
    assert.ok(inOrder);
  });
});

describe("TimerService (real clock)", () => {
  it("a chain of zero-delay timers yields to the event loop between links", async () => {
    using service = new TimerService();
    let links = 0;
    let linksWhenNativeRan = -1;
    const done = deferred("chain");
    const link = (): void => {
      links++;
      if (links < 50) service.scheduleAfter(0, link);
      else done.resolve();
    };
    service.scheduleAfter(0, link);
    setTimeout(() => linksWhenNativeRan = links, 0);
    await done.wait();
    assert.ok(
      linksWhenNativeRan >= 0 && linksWhenNativeRan < 50,
      `native ran at ${linksWhenNativeRan}`,
    );
  });

  it("fires never before the deadline and periodic runs stay on the grid", async () => {
    using service = new TimerService({ unref: true });
    const done = deferred<number[]>("periodic runs");
    const start = service.now();
    const runs: number[] = [];
    const id = service.schedulePeriodic(15, () => {
      runs.push(service.now() - start);
      if (runs.length === 8) done.resolve(runs);
    });
    const oneShot = deferred<number>("one-shot");
    service.scheduleAfter(7.5, () => oneShot.resolve(service.now() - start));
    assert.ok((await oneShot.wait()) >= 7.5);
    await done.wait();
    service.cancel(id);
    for (let k = 0; k < runs.length; k++) {
      // Never early; a run may be late (busy machine) but lateness never carries over.
      assert.ok(runs[k] >= 15 * (k + 1), `run ${k} at ${runs[k]}`);
      if (k > 0) assert.ok(runs[k] - runs[k - 1] > 0);
    }
  });

  it("a deadline beyond setTimeout's 2^31-1 ms range does not spin the runtime timer", async () => {
    // Runtimes run an out-of-range setTimeout after 1 ms: the service woke every millisecond.
    using service = new TimerService({ unref: true });
    let ran = false;
    service.scheduleAfter(2 ** 31 + 1000, () => ran = true);
    await runtimeTimerFired();
    assert.equal(ran, false);
    assert.equal(service.getStats().runtimeTimerFires, 0);
  });
});

describe("SteadyTimer", () => {
  afterEach(() => mock.timers.reset());

  it("wait() resolves at the expiry; timeRemaining and hasExpired follow the clock", async () => {
    const time = fakeTime();
    using service = new TimerService({ clock: time.now });
    const timer = new SteadyTimer(service);
    assert.equal(timer.hasExpired(), true);
    timer.expiresAfter(20);
    assert.equal(timer.hasExpired(), false);
    assert.equal(timer.timeRemaining(), 20);
    let resolved = false;
    const waiting = timer.wait().then(() => resolved = true);
    time.advance(19);
    await Promise.resolve();
    assert.equal(resolved, false);
    assert.equal(timer.timeRemaining(), 1);
    time.advance(1);
    await waiting;
    assert.equal(timer.hasExpired(), true);
    assert.equal(timer.timeRemaining(), 0);
  });

  it("asyncWait handlers get null on expiry and a Canceled error on cancel", async () => {
    const time = fakeTime();
    using service = new TimerService({ clock: time.now });
    const timer = new SteadyTimer(service);
    timer.expiresAt(time.now() + 10);
    const results: (string | null)[] = [];
    const record = (error: TimerError | null): void => {
      results.push(error ? error.code : null);
    };
    timer.asyncWait(record);
    timer.asyncWait(record);
    assert.equal(timer.cancel(), 2);
    assert.equal(results.length, 0, "cancellation is delivered asynchronously");
    await Promise.resolve();
    assert.deepEqual(results, ["Canceled", "Canceled"]);
    timer.asyncWait(record);
    time.advance(10);
    assert.deepEqual(results, ["Canceled", "Canceled", null]);
    assert.equal(timer.cancel(), 0);
  });

  it("a new expiry cancels outstanding waits; wait() rejects on cancel and on abort", async () => {
    const time = fakeTime();
    using service = new TimerService({ clock: time.now });
    const timer = new SteadyTimer(service);
    timer.expiresAfter(50);
    const first = timer.wait();
    assert.equal(timer.expiresAfter(10), 1);
    await assert.rejects(first, (e: unknown) => e instanceof TimerError && e.code === "Canceled");
    const controller = new AbortController();
    const aborted = timer.wait(controller.signal);
    controller.abort(new Error("user abort"));
    await assert.rejects(aborted, /user abort/);
    await assert.rejects(timer.wait(AbortSignal.abort(new Error("pre"))), /pre/);
    assert.equal(service.pending, 0);
  });

  it("waits settle when the service stops", async () => {
    const time = fakeTime();
    const service = new TimerService({ clock: time.now });
    const timer = new SteadyTimer(service);
    timer.expiresAfter(1000);
    const waiting = timer.wait();
    service.stop();
    await assert.rejects(waiting, (e: unknown) => e instanceof TimerError && e.code === "Canceled");
  });

  it("works on the real clock", async () => {
    using service = new TimerService();
    const timer = new SteadyTimer(service);
    timer.expiresAfter(10);
    const started = service.now();
    await withDeadline(timer.wait(), 5_000, "steady timer");
    assert.ok(service.now() - started >= 10);
    assert.ok(timer.hasExpired());
  });
});

describe("TimerServicePool", () => {
  it("hands out services round-robin, by index and by load, and aggregates stats", () => {
    mock.timers.enable({ apis: ["setTimeout"] });
    try {
      using pool = new TimerServicePool(3, { name: "p", enableStatistics: true });
      pool.start();
      assert.equal(pool.size, 3);
      const names = [0, 1, 2, 3].map(() => pool.getService().name);
      assert.deepEqual(names, ["p-0", "p-1", "p-2", "p-0"]);
      pool.getService(0).scheduleAfter(10, () => {});
      pool.getService(0).scheduleAfter(10, () => {});
      pool.getService(2).scheduleAfter(10, () => {});
      assert.deepEqual(pool.getServiceLoads(), [2, 0, 1]);
      assert.equal(pool.getLeastLoadedService().name, "p-1");
      assert.equal(pool.getAggregateStats().timersScheduled, 3);
      assert.throws(
        () => pool.getService(3),
        (e: unknown) => e instanceof TimerError && e.code === "InvalidArgument",
      );
      assert.throws(() => new TimerServicePool(0), (e: unknown) => e instanceof TimerError);
      pool.stop();
      assert.deepEqual(pool.getServiceLoads(), [0, 0, 0]);
      assert.equal(pool.getAggregateStats().timersCanceled, 3);
      pool.resetStats();
      assert.equal(pool.getAggregateStats().timersScheduled, 0);
    } finally {
      mock.timers.reset();
    }
  });
});

describe("TimerService and the process lifetime", () => {
  it("lets the process exit when idle, and with pending timers when unref'd", async () => {
    const { command, args } = fixtureCommand("core/timer_exit");
    const child = platform().spawn(command, { args, env: { NO_COLOR: "1" } });
    const [out, err, status] = await withDeadline(
      Promise.all([
        new Response(child.stdout).text(),
        new Response(child.stderr).text(),
        child.status,
      ]),
      30_000,
      "the process to exit by itself",
    ).finally(() => child.kill("SIGKILL"));
    assert.equal(status.code, 0, err);
    assert.equal(out.trim(), "armed");
  });
});
