import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { HealthMonitor, HealthState } from "../../../network/health_monitor.ts";
import { deferred } from "../../harness.ts";

describe("HealthMonitor restarted while a check is in flight", () => {
  it("does not book the old check on the new monitoring of the same session", async () => {
    const answer = deferred<boolean>("probe answer");
    const probing = deferred<void>("probe started");
    using m = new HealthMonitor({
      heartbeatIntervalMs: 3_600_000,
      healthCheckTimeoutMs: 3_600_000,
      probe: () => {
        probing.resolve();
        return answer.wait(10_000);
      },
    });
    m.startMonitoring(1);
    const check = m.checkHealth(1);
    await probing.wait(5_000);
    m.stop();
    m.startMonitoring(1);
    answer.resolve(false);
    await check;
    assert.equal(m.getHealthState(1), HealthState.Healthy);
    assert.equal(m.getHealthStats(1)?.totalChecks, 0);
    assert.equal(m.getHealthStats(1)?.consecutiveFailures, 0);
  });
});
