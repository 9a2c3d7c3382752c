// TurnLatencies with a counted fake clock: a turn's responses share one end reading taken when
// the turn ends, the latencies are measured from each request's own start, and where turns hold
// one response each the ends are read at once.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MetricsRegistry } from "../../core/metrics.ts";
import { RouteMetrics } from "../../http/_route_metrics.ts";
import { TurnLatencies } from "../../http/_turn_latencies.ts";

/** A clock that advances 1 ms per reading and counts its readings. */
function countedClock(): { read: () => number; readings: () => number } {
  let t = 0;
  let n = 0;
  return {
    read: () => {
      n++;
      return ++t;
    },
    readings: () => n,
  };
}

/** Ends the current turn: lets every queued microtask run. */
const endOfTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** The route's latency count and sum (0 before its first response). */
function seconds(metrics: MetricsRegistry, route: string): { count: number; sum: number } {
  const text = metrics.render();
  const value = (suffix: string) =>
    Number(
      new RegExp(
        `iora_http_server_request_duration_seconds_${suffix}\\{route="${
          route.replace(/[{}/]/g, "\\$&")
        }",method="GET"\\} (\\S+)`,
      ).exec(text)?.[1] ?? 0,
    );
  return { count: value("count"), sum: value("sum") };
}

describe("TurnLatencies", () => {
  it("reads the clock once at a turn's end for all of its responses", async () => {
    const clock = countedClock();
    const latencies = new TurnLatencies(clock.read);
    const metrics = new MetricsRegistry();
    const recorder = new RouteMetrics(metrics).forRoute("/a");
    const start = latencies.clock.now(); // 1: opens the turn
    for (let i = 0; i < 5; i++) {
      assert.equal(latencies.clock.now(), start); // shared, no reading
      latencies.finished(recorder, "GET", 200, start);
    }
    assert.equal(clock.readings(), 1);
    assert.equal(seconds(metrics, "/a").count, 0, "recorded before the turn ended");
    await endOfTurn();
    assert.equal(clock.readings(), 2);
    // Each of the five: from 1 to the end reading 2, one millisecond.
    assert.deepEqual(seconds(metrics, "/a"), { count: 5, sum: 0.005 });
  });

  it("measures each response from its own start, across turns", async () => {
    const clock = countedClock();
    const latencies = new TurnLatencies(clock.read);
    const metrics = new MetricsRegistry();
    const recorder = new RouteMetrics(metrics).forRoute("/b");
    const first = latencies.clock.now(); // 1
    latencies.clock.now(); // shared: the turn saved a reading
    await endOfTurn();
    // An async handler: dispatched in the first turn, answered in the next.
    const second = latencies.clock.now(); // 2
    latencies.finished(recorder, "GET", 200, first);
    latencies.finished(recorder, "GET", 200, second);
    await endOfTurn(); // end reading 3
    assert.deepEqual(seconds(metrics, "/b"), { count: 2, sum: (3 - 1 + 3 - 2) / 1000 });
  });

  it("records every response of a turn far larger than the slots it keeps, then the next", async () => {
    const clock = countedClock();
    const latencies = new TurnLatencies(clock.read);
    const metrics = new MetricsRegistry();
    const recorder = new RouteMetrics(metrics).forRoute("/flood");
    const start = latencies.clock.now();
    for (let i = 0; i < 10_000; i++) latencies.finished(recorder, "GET", 200, start);
    await endOfTurn();
    assert.equal(seconds(metrics, "/flood").count, 10_000);
    const next = latencies.clock.now();
    latencies.finished(recorder, "GET", 200, next);
    latencies.finished(recorder, "GET", 404, next);
    await endOfTurn();
    assert.equal(seconds(metrics, "/flood").count, 10_002);
    assert.equal(clock.readings(), 4);
  });

  it("reads each end at once where turns hold one response each", async () => {
    const clock = countedClock();
    const latencies = new TurnLatencies(clock.read);
    const metrics = new MetricsRegistry();
    const recorder = new RouteMetrics(metrics).forRoute("/c");
    // A turn of one response shares nothing: the clock stops opening turns.
    const start = latencies.clock.now();
    latencies.finished(recorder, "GET", 200, start);
    await endOfTurn();
    assert.equal(seconds(metrics, "/c").count, 1);
    assert.equal(latencies.clock.open, false);
    const before = clock.readings();
    const next = latencies.clock.now();
    assert.equal(latencies.clock.open, false, "a turn opened although the last shared nothing");
    latencies.finished(recorder, "GET", 200, next);
    // Recorded at once, with an end reading of its own.
    assert.equal(clock.readings(), before + 2);
    assert.equal(seconds(metrics, "/c").count, 2);
  });
});
