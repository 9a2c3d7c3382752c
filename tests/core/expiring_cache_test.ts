import { afterEach, describe, it, mock } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type EvictionReason,
  ExpiringCache,
  ExpiringCacheError,
} from "../../core/expiring_cache.ts";
import { runtimeTimerFired } from "../harness.ts";

describe("ExpiringCache", () => {
  afterEach(() => mock.timers.reset());

  it("gets, sets, deletes and clears, reporting every departure", () => {
    const events: string[] = [];
    using cache = new ExpiringCache<string, number>({
      ttlMs: 60_000,
      onEvict: (k, v, reason) => events.push(`${k}=${v}:${reason}`),
    });
    cache.set("a", 1).set("b", 2);
    assert.equal(cache.get("a"), 1);
    assert.equal(cache.has("b"), true);
    assert.equal(cache.get("zz"), undefined);
    assert.equal(cache.size, 2);
    cache.set("a", 10); // overwrite: not an eviction
    assert.equal(cache.delete("a"), true);
    assert.equal(cache.delete("a"), false);
    cache.clear();
    assert.equal(cache.size, 0);
    assert.deepEqual(events, ["a=10:deleted", "b=2:cleared"]);
    assert.deepEqual(cache.getStats(), { hits: 1, misses: 1, evictions: 0, expirations: 0 });
    cache.resetStats();
    assert.deepEqual(cache.getStats(), { hits: 0, misses: 0, evictions: 0, expirations: 0 });
  });

  it("evicts the least recently used entry at maxSize", () => {
    const evicted: [string, EvictionReason][] = [];
    using cache = new ExpiringCache<string, number>({
      ttlMs: 60_000,
      maxSize: 3,
      onEvict: (k, _v, r) => evicted.push([k, r]),
    });
    cache.set("a", 1).set("b", 2).set("c", 3);
    cache.get("a"); // order now a, c, b
    cache.set("d", 4); // evicts b
    assert.deepEqual(cache.keys(), ["d", "a", "c"]);
    cache.peek("c"); // peek does not refresh
    cache.set("e", 5); // evicts c
    assert.deepEqual(evicted, [["b", "capacity"], ["c", "capacity"]]);
    assert.equal(cache.getStats().evictions, 2);
    assert.equal(cache.size, 3);
  });

  it("expires lazily and per entry (mock timers)", () => {
    mock.timers.enable({ apis: ["setTimeout", "setInterval", "Date"], now: 1_000_000 });
    const reasons: EvictionReason[] = [];
    using cache = new ExpiringCache<string, string>({
      ttlMs: 1000,
      sweepIntervalMs: 0,
      onEvict: (_k, _v, r) => reasons.push(r),
    });
    cache.set("default", "x");
    cache.set("short", "y", 100);
    mock.timers.tick(99);
    assert.equal(cache.get("short"), "y");
    mock.timers.tick(1);
    assert.equal(cache.get("short"), undefined, "expired exactly at its TTL");
    assert.equal(cache.has("default"), true);
    mock.timers.tick(899);
    assert.equal(cache.get("default"), "x");
    mock.timers.tick(1);
    assert.equal(cache.has("default"), false);
    assert.equal(cache.size, 0);
    assert.deepEqual(reasons, ["expired", "expired"]);
    assert.equal(cache.getStats().expirations, 2);
    cache.set("again", "z");
    assert.equal(cache.get("again"), "z", "re-set after expiry works");
  });

  it("sweeps expired entries on its timer without any access (mock timers)", () => {
    mock.timers.enable({ apis: ["setTimeout", "setInterval", "Date"], now: 0 });
    const swept: string[] = [];
    using cache = new ExpiringCache<string, number>({
      ttlMs: 500,
      sweepIntervalMs: 1000,
      onEvict: (k) => swept.push(k),
    });
    for (let i = 0; i < 10; i++) cache.set(`k${i}`, i);
    cache.set("long", 1, 5000);
    mock.timers.tick(999);
    assert.equal(cache.size, 11, "nothing swept before the interval");
    mock.timers.tick(1);
    assert.equal(cache.size, 1);
    assert.equal(swept.length, 10);
    cache.close();
    mock.timers.tick(10_000);
    assert.equal(cache.size, 1, "no sweep after close");
  });

  it("counts an expired LRU entry pushed out by a set as an expiration", () => {
    let now = 0;
    using cache = new ExpiringCache<string, number>({ ttlMs: 10, maxSize: 1, now: () => now });
    cache.set("a", 1);
    now = 20;
    cache.set("b", 2);
    assert.deepEqual(cache.getStats(), { hits: 0, misses: 0, evictions: 0, expirations: 1 });
  });

  it("a sweep interval beyond setInterval's 2^31-1 ms range does not sweep every millisecond", async () => {
    // Runtimes run an out-of-range setInterval every 1 ms: the sweep ran a thousand times a second.
    const evicted: string[] = [];
    using cache = new ExpiringCache<string, number>({
      ttlMs: 1000,
      sweepIntervalMs: 2 ** 31,
      now: () => Date.now(),
      onEvict: (key) => evicted.push(key),
    });
    cache.set("short", 1, 1);
    await runtimeTimerFired();
    assert.deepEqual(evicted, []);
    assert.equal(cache.size, 1);
  });

  it("rejects bad options", () => {
    // A predicate, not the class: Deno's node:assert compares prototypes, and an argument error's
    // prototype is RangeError's (it is an ExpiringCacheError through instanceof).
    const invalid = (e: unknown) => e instanceof ExpiringCacheError;
    assert.throws(() => new ExpiringCache({ ttlMs: 0 }), invalid);
    assert.throws(() => new ExpiringCache({ ttlMs: 10, maxSize: 0 }), invalid);
    using cache = new ExpiringCache<string, number>({ ttlMs: 10, sweepIntervalMs: 0 });
    assert.throws(() => cache.set("a", 1, -5), invalid);
  });

  it("matches a simple model under random operations (property)", () => {
    type Op =
      | { kind: "set"; key: number; ttl: number | undefined }
      | { kind: "get" | "delete" | "has"; key: number }
      | { kind: "tick"; ms: number };
    const key = fc.integer({ min: 0, max: 6 });
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({
        kind: fc.constant("set" as const),
        key,
        ttl: fc.option(fc.integer({ min: 1, max: 50 }), { nil: undefined }),
      }),
      fc.record({ kind: fc.constantFrom("get" as const, "delete" as const, "has" as const), key }),
      fc.record({ kind: fc.constant("tick" as const), ms: fc.integer({ min: 0, max: 30 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), fc.integer({ min: 1, max: 4 }), (ops, max) => {
        let now = 0;
        using cache = new ExpiringCache<number, number>({
          ttlMs: 20,
          maxSize: max,
          sweepIntervalMs: 0,
          now: () => now,
        });
        // Model: most recent first; expired entries linger until touched, as in the cache.
        let model: { key: number; value: number; expiresAt: number }[] = [];
        let counter = 0;
        const live = (e: { expiresAt: number }) => e.expiresAt > now;
        for (const o of ops) {
          if (o.kind === "tick") {
            now += o.ms;
            continue;
          }
          const i = model.findIndex((e) => e.key === o.key);
          if (o.kind === "set") {
            const value = counter++;
            const entry = { key: o.key, value, expiresAt: now + (o.ttl ?? 20) };
            if (i >= 0) model.splice(i, 1);
            else if (model.length >= max) model.pop();
            model.unshift(entry);
            cache.set(o.key, value, o.ttl);
          } else if (o.kind === "get") {
            const expected = i >= 0 && live(model[i]) ? model[i].value : undefined;
            if (i >= 0) {
              const [e] = model.splice(i, 1);
              if (live(e)) model.unshift(e);
            }
            assert.equal(cache.get(o.key), expected);
          } else if (o.kind === "has") {
            const expected = i >= 0 && live(model[i]);
            if (i >= 0 && !expected) model.splice(i, 1);
            assert.equal(cache.has(o.key), expected);
          } else {
            const expected = i >= 0 && live(model[i]);
            if (i >= 0) model.splice(i, 1);
            assert.equal(cache.delete(o.key), expected);
          }
          assert.equal(cache.size, model.length);
        }
        model = model.filter(live);
        assert.deepEqual(cache.keys(), model.map((e) => e.key));
      }),
    );
  });
});
