import { afterEach, beforeEach, describe, it, mock } from "node:test";
import assert from "node:assert/strict";
import { HealthMonitor, HealthState } from "../../../network/health_monitor.ts";

describe("HealthMonitor", () => {
  beforeEach(() => mock.timers.enable({ apis: ["Date", "setTimeout", "setInterval"], now: 0 }));
  afterEach(() => mock.timers.reset());

  it("walks through the states as recorded results come in", () => {
    using m = new HealthMonitor({
      consecutiveFailuresThreshold: 2,
      degradedThresholdMs: 5_000,
      unhealthyThresholdMs: 15_000,
      successRateThreshold: 0.9,
    });
    const changes: string[] = [];
    m.onHealthChanged((sid, from, to) => changes.push(`${sid}:${from}->${to}`));
    m.startMonitoring(7);
    assert.equal(m.getHealthState(7), HealthState.Healthy);
    m.recordSuccess(7, 10);
    m.recordFailure(7);
    assert.equal(m.getHealthState(7), HealthState.Warning);
    m.recordFailure(7);
    assert.equal(m.getHealthState(7), HealthState.Degraded);
    m.recordFailure(7);
    m.recordFailure(7);
    assert.equal(m.getHealthState(7), HealthState.Critical);
    mock.timers.tick(15_000);
    m.recordFailure(7);
    assert.equal(m.getHealthState(7), HealthState.Unhealthy);
    m.recordSuccess(7, 30);
    // Recovered, but the recent success rate (2/7) keeps it at Warning.
    assert.equal(m.getHealthState(7), HealthState.Warning);
    const stats = m.getHealthStats(7)!;
    assert.equal(stats.totalChecks, 7);
    assert.equal(stats.consecutiveFailures, 0);
    assert.equal(stats.avgResponseTimeMs, 20);
    assert.equal(stats.lastCheck, 15_000);
    assert.deepEqual(changes, [
      "7:healthy->warning",
      "7:warning->degraded",
      "7:degraded->critical",
      "7:critical->unhealthy",
      "7:unhealthy->warning",
    ]);
  });

  it("marks a session degraded when it has been failing long enough", () => {
    using m = new HealthMonitor({ consecutiveFailuresThreshold: 10, degradedThresholdMs: 1000 });
    m.startMonitoring(1);
    m.recordFailure(1);
    assert.equal(m.getHealthState(1), HealthState.Warning);
    mock.timers.tick(1000);
    m.recordFailure(1);
    assert.equal(m.getHealthState(1), HealthState.Degraded);
  });

  it("runs the probe on the heartbeat and counts a slow probe as failed", async () => {
    let answer: "ok" | "fail" | "hang" = "ok";
    const probed: number[] = [];
    using m = new HealthMonitor({
      heartbeatIntervalMs: 1000,
      healthCheckTimeoutMs: 200,
      consecutiveFailuresThreshold: 1,
      probe: (sid) => {
        probed.push(sid);
        if (answer === "hang") return new Promise<boolean>(() => {});
        return answer === "ok";
      },
    });
    m.startMonitoring(3);
    mock.timers.tick(1000);
    await flush();
    assert.deepEqual(probed, [3]);
    assert.equal(m.getHealthStats(3)?.totalChecks, 1);
    assert.equal(m.getHealthState(3), HealthState.Healthy);
    answer = "fail";
    mock.timers.tick(1000);
    await flush();
    assert.equal(m.getHealthState(3), HealthState.Degraded);
    answer = "hang";
    const check = m.checkHealth(3);
    await flush();
    mock.timers.tick(200);
    assert.equal(await check, HealthState.Critical);
    m.stopMonitoring(3);
    assert.equal(m.getHealthState(3), undefined);
    mock.timers.tick(5000);
    await flush();
    assert.equal(probed.length, 3, "no probe after stopMonitoring");
  });

  it("refuses to check a session it does not monitor", async () => {
    using m = new HealthMonitor();
    await assert.rejects(m.checkHealth(99), /not monitored/);
    assert.equal(m.getHealthStats(99), undefined);
  });
});

async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}
