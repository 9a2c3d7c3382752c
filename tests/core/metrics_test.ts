// The Prometheus text format 0.0.4 as MetricsRegistry renders it: HELP and
// TYPE lines, escaping, cumulative histogram buckets with +Inf equal to
// _count, label checks, and collectors read at scrape time.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { MetricsError, MetricsRegistry } from "../../core/metrics.ts";

describe("MetricsRegistry", () => {
  it("renders counters, gauges and collectors with HELP and TYPE", () => {
    const metrics = new MetricsRegistry();
    const requests = metrics.counter("http_requests_total", "Requests.", ["method"]);
    requests.inc({ method: "GET" });
    requests.inc({ method: "GET" }, 2);
    requests.inc({ method: "POST" });
    metrics.gauge("up", "1 when running.").set(1);
    let depth = 3;
    metrics.collect("queue_depth", "Jobs waiting.", "gauge", () => [{ value: depth }]);
    depth = 5;
    assert.equal(
      metrics.render(),
      [
        "# HELP http_requests_total Requests.",
        "# TYPE http_requests_total counter",
        'http_requests_total{method="GET"} 3',
        'http_requests_total{method="POST"} 1',
        "# HELP up 1 when running.",
        "# TYPE up gauge",
        "up 1",
        "# HELP queue_depth Jobs waiting.",
        "# TYPE queue_depth gauge",
        "queue_depth 5",
        "",
      ].join("\n"),
    );
  });

  it("escapes backslashes, newlines and quotes", () => {
    const metrics = new MetricsRegistry();
    metrics.gauge("g", "help with \\ and\nnewline", ["path"]).set(1, { path: 'a"b\\c\nd' });
    const text = metrics.render();
    assert.match(text, /# HELP g help with \\\\ and\\nnewline\n/);
    assert.ok(text.includes('g{path="a\\"b\\\\c\\nd"} 1'), text);
  });

  it("histograms: cumulative buckets, +Inf equals _count, _sum", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 20, noNaN: true }), { maxLength: 50 }),
        (values) => {
          const metrics = new MetricsRegistry();
          const h = metrics.histogram("d_seconds", "Durations.", [0.1, 1, 10]);
          for (const v of values) h.observe(v);
          const text = metrics.render();
          if (values.length === 0) return;
          const bucket = (le: string) =>
            Number(new RegExp(`d_seconds_bucket\\{le="${le}"\\} (\\d+)`).exec(text)![1]);
          assert.equal(bucket("0.1"), values.filter((v) => v <= 0.1).length);
          assert.equal(bucket("1"), values.filter((v) => v <= 1).length);
          assert.equal(bucket("10"), values.filter((v) => v <= 10).length);
          assert.equal(bucket("\\+Inf"), values.length);
          assert.equal(Number(/d_seconds_count (\d+)/.exec(text)![1]), values.length);
        },
      ),
    );
  });

  it("refuses bad names, labels, decreasing counters and duplicate metrics", () => {
    const metrics = new MetricsRegistry();
    assert.throws(() => metrics.counter("requests", "x"), MetricsError);
    assert.throws(() => metrics.gauge("1bad", "x"), MetricsError);
    assert.throws(() => metrics.gauge("ok", "x", ["__reserved"]), MetricsError);
    const c = metrics.counter("c_total", "x", ["a"]);
    assert.throws(() => c.inc({ b: "1" }), MetricsError);
    assert.throws(() => c.inc({ a: "1" }, -1), MetricsError);
    assert.throws(() => metrics.counter("c_total", "again"), MetricsError);
    assert.throws(() => metrics.histogram("h", "x", [1, 1]), MetricsError);
    assert.throws(() => metrics.histogram("h2", "x", [1], ["le"]), MetricsError);
  });

  it("a collector that throws leaves its metric out of that scrape only", () => {
    const metrics = new MetricsRegistry();
    let fail = true;
    metrics.collect("flaky", "x", "gauge", () => {
      if (fail) throw new Error("component stopped");
      return [{ value: 1 }];
    });
    metrics.gauge("steady", "x").set(2);
    assert.equal(metrics.render(), "# HELP steady x\n# TYPE steady gauge\nsteady 2\n");
    fail = false;
    assert.match(metrics.render(), /^flaky 1$/m);
    assert.equal(metrics.remove("flaky"), true);
    assert.deepEqual(metrics.names(), ["steady"]);
  });
});
