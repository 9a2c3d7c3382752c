import { afterEach, beforeEach, describe, it, mock } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  CircuitBreaker,
  CircuitBreakerManager,
  CircuitBreakerState,
  CircuitOpenError,
} from "../../network/circuit_breaker.ts";

describe("CircuitBreaker", () => {
  beforeEach(() => mock.timers.enable({ apis: ["Date", "setTimeout"], now: 1_000_000 }));
  afterEach(() => mock.timers.reset());

  it("opens after consecutive failures, half-opens after the timeout, closes after successes", () => {
    const b = new CircuitBreaker({ failureThreshold: 3, timeoutMs: 30_000, successThreshold: 2 });
    const changes: string[] = [];
    b.onStateChange((from, to) => changes.push(`${from}->${to}`));
    assert.equal(b.getState(), CircuitBreakerState.Closed);
    b.recordFailure();
    b.recordFailure();
    assert.equal(b.getState(), CircuitBreakerState.Closed);
    b.recordFailure();
    assert.equal(b.getState(), CircuitBreakerState.Open);
    assert.equal(b.allowRequest(), false);
    mock.timers.tick(29_999);
    assert.equal(b.allowRequest(), false);
    mock.timers.tick(1);
    assert.equal(b.getState(), CircuitBreakerState.HalfOpen);
    // Only successThreshold trial requests pass at once.
    assert.equal(b.allowRequest(), true);
    assert.equal(b.allowRequest(), true);
    assert.equal(b.allowRequest(), false);
    b.recordSuccess();
    assert.equal(b.getState(), CircuitBreakerState.HalfOpen);
    b.recordSuccess();
    assert.equal(b.getState(), CircuitBreakerState.Closed);
    assert.deepEqual(changes, ["closed->open", "open->half-open", "half-open->closed"]);
    const stats = b.getStats();
    assert.equal(stats.rejected, 3);
    assert.equal(stats.failures, 3);
    assert.equal(stats.successes, 2);
    assert.equal(stats.stateChanges, 3);
  });

  it("reopens on a failure while half-open", () => {
    const b = new CircuitBreaker({ failureThreshold: 1, timeoutMs: 1000 });
    b.recordFailure();
    mock.timers.tick(1000);
    assert.equal(b.allowRequest(), true);
    b.recordFailure();
    assert.equal(b.getState(), CircuitBreakerState.Open);
    mock.timers.tick(999);
    assert.equal(b.getState(), CircuitBreakerState.Open);
    mock.timers.tick(1);
    assert.equal(b.getState(), CircuitBreakerState.HalfOpen);
  });

  it("a half-open trial that is never recorded times out as a failure; the circuit does not stay half-open", () => {
    const b = new CircuitBreaker({
      failureThreshold: 1,
      timeoutMs: 1000,
      successThreshold: 1,
      halfOpenTimeoutMs: 5000,
    });
    b.recordFailure();
    mock.timers.tick(1000);
    assert.equal(b.allowRequest(), true, "the trial");
    // Its caller never reports back: no slot is free until the trial times out.
    assert.equal(b.allowRequest(), false);
    mock.timers.tick(4999);
    assert.equal(b.allowRequest(), false);
    mock.timers.tick(1);
    assert.equal(b.getState(), CircuitBreakerState.Open, "the lost trial counted as a failure");
    mock.timers.tick(1000);
    assert.equal(b.allowRequest(), true, "a new trial after the open timeout");
    b.recordSuccess();
    assert.equal(b.getState(), CircuitBreakerState.Closed);
    assert.throws(() => new CircuitBreaker({ halfOpenTimeoutMs: 0 }), /halfOpenTimeoutMs/);
  });

  it("opens on the failure rate once minimumRequests are in the window", () => {
    const b = new CircuitBreaker({
      failureThreshold: 100,
      failureRateThreshold: 0.5,
      minimumRequests: 10,
      statisticsWindowMs: 60_000,
    });
    // Alternate: never 2 failures in a row, 50% rate.
    for (let i = 0; i < 4; i++) {
      b.recordSuccess();
      b.recordFailure();
    }
    assert.equal(b.getState(), CircuitBreakerState.Closed, "8 requests: under the minimum");
    b.recordSuccess();
    b.recordFailure();
    assert.equal(b.getState(), CircuitBreakerState.Open);
    assert.equal(b.getStats().failureRate, 0.5);
  });

  it("forgets outcomes older than the statistics window", () => {
    const b = new CircuitBreaker({
      failureThreshold: 100,
      minimumRequests: 4,
      failureRateThreshold: 0.5,
      statisticsWindowMs: 10_000,
    });
    b.recordFailure();
    b.recordSuccess();
    b.recordFailure();
    mock.timers.tick(10_001);
    assert.equal(b.getStats().windowRequests, 0);
    b.recordSuccess();
    b.recordSuccess();
    b.recordSuccess();
    b.recordFailure();
    assert.equal(b.getState(), CircuitBreakerState.Closed, "old failures no longer count");
  });

  it("execute records outcomes and fails fast when open", async () => {
    const b = new CircuitBreaker({ failureThreshold: 2 }, "svc");
    assert.equal(await b.execute(() => 42), 42);
    await assert.rejects(b.execute(() => Promise.reject(new Error("boom"))), /boom/);
    await assert.rejects(
      b.execute(() => {
        throw new Error("bang");
      }),
      /bang/,
    );
    let called = false;
    await assert.rejects(
      b.execute(() => {
        called = true;
      }),
      (e: unknown) =>
        e instanceof CircuitOpenError && e.code === "CircuitOpen" && /svc/.test(e.message),
    );
    assert.equal(called, false);
  });

  it("rejects nonsense settings", () => {
    assert.throws(() => new CircuitBreaker({ failureThreshold: 0 }), /failureThreshold/);
    assert.throws(() => new CircuitBreaker({ failureRateThreshold: 2 }), /failureRateThreshold/);
    assert.throws(() => new CircuitBreaker({ timeoutMs: Number.NaN }), /timeoutMs/);
  });

  it("never lets a request through while open (property)", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(fc.constant("ok"), fc.constant("fail"), fc.integer({ min: 1, max: 5000 })),
          {
            maxLength: 200,
          },
        ),
        (steps) => {
          mock.timers.reset();
          mock.timers.enable({ apis: ["Date"], now: 0 });
          const b = new CircuitBreaker({
            failureThreshold: 3,
            timeoutMs: 2000,
            minimumRequests: 5,
          });
          for (const step of steps) {
            if (typeof step === "number") mock.timers.tick(step);
            else {
              const state = b.getState();
              const allowed = b.allowRequest();
              if (state === CircuitBreakerState.Open) assert.equal(allowed, false);
              if (state === CircuitBreakerState.Closed) assert.equal(allowed, true);
              if (allowed) step === "ok" ? b.recordSuccess() : b.recordFailure();
            }
            const s = b.getStats();
            assert.equal(s.totalRequests, s.successes + s.failures);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("CircuitBreakerManager", () => {
  it("keeps one breaker per name and reports open circuits", () => {
    const m = new CircuitBreakerManager({ failureThreshold: 1 });
    const users = m.getBreaker("users");
    assert.equal(m.getBreaker("users"), users);
    const pay = m.getBreaker("payments", { failureThreshold: 2 });
    assert.equal(m.hasOpenCircuits(), false);
    pay.recordFailure();
    assert.equal(m.hasOpenCircuits(), false);
    users.recordFailure();
    assert.equal(m.hasOpenCircuits(), true);
    const stats = m.getStats();
    assert.equal(stats.get("users")?.state, "open");
    assert.equal(stats.get("payments")?.state, "closed");
    m.resetAll();
    assert.equal(m.hasOpenCircuits(), false);
    assert.equal(m.removeBreaker("users"), true);
  });
});
