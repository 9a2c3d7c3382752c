/**
 * Metrics in the Prometheus text exposition format 0.0.4, or OpenMetrics 1.0
 * when the scraper asks for it: counters, gauges and histograms that code
 * updates, and collectors that read a component's own stats at scrape time.
 * One registry per service (never a global one), rendered by `GET /metrics`.
 *
 * @example
 * ```ts
 * import { MetricsRegistry } from "./metrics.ts";
 * const metrics = new MetricsRegistry();
 * const jobs = metrics.counter("jobs_done_total", "Jobs finished.", ["outcome"]);
 * jobs.inc({ outcome: "ok" });
 * const latency = metrics.histogram("job_duration_seconds", "Job time.", [0.1, 1, 10]);
 * latency.observe(0.42);
 * metrics.collect("queue_depth", "Jobs waiting.", "gauge", () => [{ value: 3 }]);
 * console.log(metrics.render());
 * ```
 *
 * @module
 */
import { IoraError } from "./errors.ts";

/** The kinds of metric. */
export type MetricType = "counter" | "gauge" | "histogram";

/** Label names to values. */
export type MetricLabels = Record<string, string>;

/** One value of a collected metric. */
export interface MetricSample {
  /** Its labels, if any. */
  labels?: MetricLabels;
  /** The value. */
  value: number;
}

/** A bad metric name, label or value. */
export class MetricsError extends IoraError {
  /**
   * Creates the error.
   *
   * @param message what is wrong
   */
  constructor(message: string) {
    super("InvalidMetric", message);
  }
}

/** A counter: only goes up. */
export interface Counter {
  /**
   * Adds `by` (default 1, never negative).
   *
   * @param labels the labels of the series
   * @param by the amount
   */
  inc(labels?: MetricLabels, by?: number): void;
  /**
   * The series of `labels`, resolved once: its `inc` does no lookup and allocates nothing (for
   * hot paths).
   *
   * @param labels the labels of the series
   * @returns the series
   */
  series(labels?: MetricLabels): CounterSeries;
}

/** One series of a {@linkcode Counter}, its labels resolved once. */
export interface CounterSeries {
  /**
   * Adds `by` (default 1, never negative).
   *
   * @param by the amount
   */
  inc(by?: number): void;
}

/** One series of a {@linkcode Histogram}, its labels resolved once. */
export interface HistogramSeries {
  /**
   * Records one value.
   *
   * @param value the value, in the metric's base unit
   */
  observe(value: number): void;
}

/** A gauge: any value. */
export interface Gauge {
  /**
   * Sets the value.
   *
   * @param value the value
   * @param labels the labels of the series
   */
  set(value: number, labels?: MetricLabels): void;
}

/** A histogram of observed values. */
export interface Histogram {
  /**
   * Records one value.
   *
   * @param value the value, in the metric's base unit
   * @param labels the labels of the series
   */
  observe(value: number, labels?: MetricLabels): void;
  /**
   * The series of `labels`, resolved once: its `observe` does no lookup and allocates nothing.
   *
   * @param labels the labels of the series
   * @returns the series
   */
  series(labels?: MetricLabels): HistogramSeries;
}

/** The content type of {@linkcode MetricsRegistry.render}'s output. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** The content type of {@linkcode MetricsRegistry.render}`("openmetrics")`'s output. */
export const OPENMETRICS_CONTENT_TYPE =
  "application/openmetrics-text; version=1.0.0; charset=utf-8";

/** The exposition formats {@linkcode MetricsRegistry.render} writes. */
export type MetricsFormat = "prometheus" | "openmetrics";

/**
 * The format a scraper's `Accept` header asks for: OpenMetrics when it accepts
 * `application/openmetrics-text` at least as much as `text/plain`, else the Prometheus text format.
 *
 * @param accept the request's `Accept` header, or null
 * @returns the format to answer with
 *
 * @example
 * ```ts
 * import { negotiateMetricsFormat } from "./metrics.ts";
 * const prometheus = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5";
 * console.log(negotiateMetricsFormat(prometheus)); // "openmetrics"
 * console.log(negotiateMetricsFormat("text/plain")); // "prometheus"
 * ```
 */
export function negotiateMetricsFormat(accept: string | null): MetricsFormat {
  if (accept === null || !accept.includes("openmetrics")) return "prometheus";
  let open = 0;
  let text = 0;
  for (const range of accept.split(",")) {
    const [type, ...params] = range.split(";").map((p) => p.trim().toLowerCase());
    let q = 1;
    for (const p of params) if (p.startsWith("q=")) q = Number(p.slice(2)) || 0;
    if (type === "application/openmetrics-text") open = Math.max(open, q);
    else if (type === "text/plain") text = Math.max(text, q);
  }
  return open > 0 && open >= text ? "openmetrics" : "prometheus";
}

/** Default buckets of latency histograms, in seconds. */
export const DEFAULT_BUCKETS: readonly number[] = Object.freeze([
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
]);

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function escapeValue(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function formatNumber(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

function labelText(labels: MetricLabels | undefined, extra?: [string, string]): string {
  const pairs = Object.entries(labels ?? {});
  if (extra) pairs.push(extra);
  if (pairs.length === 0) return "";
  return `{${pairs.map(([k, v]) => `${k}="${escapeValue(v)}"`).join(",")}}`;
}

function seriesKey(labels: MetricLabels | undefined): string {
  if (labels === undefined) return "";
  return Object.keys(labels).sort().map((k) => `${k}\u0000${labels[k]}`).join("\u0001");
}

interface Family {
  name: string;
  help: string;
  type: MetricType;
  labelNames: readonly string[] | undefined;
  render(out: string[]): void;
}

/** The unit OpenMetrics declares for a name ending in a base unit (`_seconds`, `_bytes`). */
const UNITS = ["seconds", "bytes", "ratio", "celsius"];

function unitOf(familyName: string): string | undefined {
  return UNITS.find((u) => familyName.endsWith(`_${u}`));
}

/**
 * The metrics of one service.
 *
 * @example
 * ```ts
 * import { MetricsRegistry } from "./metrics.ts";
 * const metrics = new MetricsRegistry();
 * metrics.gauge("temperature_celsius", "Room temperature.").set(21.5);
 * console.log(metrics.render().includes("temperature_celsius 21.5")); // true
 * ```
 */
export class MetricsRegistry {
  #families = new Map<string, Family>();

  /**
   * A counter (its name must end in `_total`).
   *
   * @param name the metric name
   * @param help what it counts
   * @param labelNames the labels every series has
   * @returns the counter
   */
  counter(name: string, help: string, labelNames?: readonly string[]): Counter {
    if (!name.endsWith("_total")) throw new MetricsError(`counter ${name} must end in _total`);
    // Each series keeps its line's text up to the value, built once.
    const series = new Map<string, { prefix: string; value: number }>();
    this.#add({
      name,
      help,
      type: "counter",
      labelNames,
      render: (out) => {
        for (const s of series.values()) out.push(s.prefix + formatNumber(s.value));
      },
    });
    const get = (labels: MetricLabels | undefined) => {
      this.#checkLabels(name, labelNames, labels);
      const key = seriesKey(labels);
      let s = series.get(key);
      if (s === undefined) {
        s = { prefix: `${name}${labelText(labels)} `, value: 0 };
        series.set(key, s);
      }
      return s;
    };
    const check = (by: number) => {
      if (!(by >= 0)) throw new MetricsError(`counter ${name} cannot go down (by ${by})`);
    };
    return {
      inc: (labels, by = 1) => {
        check(by);
        get(labels).value += by;
      },
      series: (labels) => {
        const s = get(labels);
        return {
          inc: (by = 1) => {
            check(by);
            s.value += by;
          },
        };
      },
    };
  }

  /**
   * A gauge.
   *
   * @param name the metric name
   * @param help what it measures
   * @param labelNames the labels every series has
   * @returns the gauge
   */
  gauge(name: string, help: string, labelNames?: readonly string[]): Gauge {
    const series = new Map<string, { prefix: string; value: number }>();
    this.#add({
      name,
      help,
      type: "gauge",
      labelNames,
      render: (out) => {
        for (const s of series.values()) out.push(s.prefix + formatNumber(s.value));
      },
    });
    return {
      set: (value, labels) => {
        this.#checkLabels(name, labelNames, labels);
        const key = seriesKey(labels);
        const s = series.get(key);
        if (s !== undefined) s.value = value;
        else series.set(key, { prefix: `${name}${labelText(labels)} `, value });
      },
    };
  }

  /**
   * A histogram with cumulative buckets (`le`), `_sum` and `_count`.
   *
   * @param name the metric name (in base units: `_seconds`, `_bytes`)
   * @param help what it measures
   * @param buckets upper bounds, ascending; `+Inf` is added
   * @param labelNames the labels every series has
   * @returns the histogram
   */
  histogram(
    name: string,
    help: string,
    buckets: readonly number[] = DEFAULT_BUCKETS,
    labelNames?: readonly string[],
  ): Histogram {
    if (buckets.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= buckets[i - 1]))) {
      throw new MetricsError(`histogram ${name}: buckets must be finite and ascending`);
    }
    if (labelNames?.includes("le")) throw new MetricsError(`histogram ${name}: "le" is reserved`);
    type Series = { prefixes: string[]; counts: number[]; sum: number };
    const series = new Map<string, Series>();
    const bounds = [...buckets.map(formatNumber), "+Inf"];
    this.#add({
      name,
      help,
      type: "histogram",
      labelNames,
      render: (out) => {
        for (const s of series.values()) {
          // prefixes: one per bucket (+Inf last), then _sum and _count.
          const { prefixes, counts } = s;
          let cumulative = 0;
          for (let i = 0; i < counts.length; i++) {
            cumulative += counts[i];
            out.push(prefixes[i] + cumulative);
          }
          out.push(prefixes[counts.length] + formatNumber(s.sum));
          out.push(prefixes[counts.length + 1] + cumulative);
        }
      },
    });
    const get = (labels: MetricLabels | undefined) => {
      this.#checkLabels(name, labelNames, labels);
      const key = seriesKey(labels);
      let s = series.get(key);
      if (s === undefined) {
        s = {
          prefixes: [
            ...bounds.map((b) => `${name}_bucket${labelText(labels, ["le", b])} `),
            `${name}_sum${labelText(labels)} `,
            `${name}_count${labelText(labels)} `,
          ],
          counts: new Array(buckets.length + 1).fill(0),
          sum: 0,
        };
        series.set(key, s);
      }
      return s;
    };
    const observe = (s: { counts: number[]; sum: number }, value: number) => {
      if (Number.isNaN(value)) throw new MetricsError(`histogram ${name}: NaN observed`);
      let i = 0;
      while (i < buckets.length && value > buckets[i]) i++;
      s.counts[i]++;
      s.sum += value;
    };
    return {
      observe: (value, labels) => observe(get(labels), value),
      series: (labels) => {
        const s = get(labels);
        return { observe: (value) => observe(s, value) };
      },
    };
  }

  /**
   * A metric read at scrape time from `read()` (a component's `getStats()`, say). A collector
   * that throws is skipped for that scrape.
   *
   * @param name the metric name (counters end in `_total`)
   * @param help what it measures
   * @param type counter or gauge
   * @param read returns the current samples
   */
  collect(
    name: string,
    help: string,
    type: "counter" | "gauge",
    read: () => MetricSample[],
  ): void {
    if (type === "counter" && !name.endsWith("_total")) {
      throw new MetricsError(`counter ${name} must end in _total`);
    }
    this.#add({
      name,
      help,
      type,
      labelNames: undefined,
      render: (out) => {
        for (const sample of read()) {
          for (const label of Object.keys(sample.labels ?? {})) {
            if (!LABEL.test(label)) throw new MetricsError(`${name}: bad label name ${label}`);
          }
          out.push(`${name}${labelText(sample.labels)} ${formatNumber(sample.value)}`);
        }
      },
    });
  }

  /**
   * Removes a metric (a component going away).
   *
   * @param name the metric name
   * @returns whether it existed
   */
  remove(name: string): boolean {
    return this.#families.delete(name);
  }

  /** The registered metric names, sorted. */
  names(): string[] {
    return [...this.#families.keys()].sort();
  }

  /**
   * Every metric in the Prometheus text format 0.0.4 (HELP and TYPE lines, one line per sample),
   * or in OpenMetrics 1.0 (families named without `_total`, UNIT lines for base units, `# EOF`).
   *
   * @param format the exposition format
   * @returns the exposition text
   */
  render(format: MetricsFormat = "prometheus"): string {
    const open = format === "openmetrics";
    let out = "";
    for (const family of this.#families.values()) {
      const lines: string[] = [];
      try {
        family.render(lines);
      } catch {
        continue; // a collector that failed leaves its family out of this scrape
      }
      // OpenMetrics names a counter's family without the _total of its samples.
      const name = open && family.type === "counter" ? family.name.slice(0, -6) : family.name;
      out += `# HELP ${name} ${
        open ? escapeValue(family.help) : escapeHelp(family.help)
      }\n# TYPE ${name} ${family.type}\n`;
      const unit = open ? unitOf(name) : undefined;
      if (unit !== undefined) out += `# UNIT ${name} ${unit}\n`;
      if (lines.length > 0) out += `${lines.join("\n")}\n`;
    }
    return open ? `${out}# EOF\n` : out;
  }

  #add(family: Family): void {
    if (!NAME.test(family.name)) throw new MetricsError(`bad metric name ${family.name}`);
    if (this.#families.has(family.name)) {
      throw new MetricsError(`metric ${family.name} is already registered`);
    }
    for (const label of family.labelNames ?? []) {
      if (!LABEL.test(label) || label.startsWith("__")) {
        throw new MetricsError(`${family.name}: bad label name ${label}`);
      }
    }
    this.#families.set(family.name, family);
  }

  #checkLabels(
    name: string,
    labelNames: readonly string[] | undefined,
    labels: MetricLabels | undefined,
  ): void {
    const given = Object.keys(labels ?? {});
    const expected = labelNames ?? [];
    if (given.length !== expected.length || given.some((l) => !expected.includes(l))) {
      throw new MetricsError(
        `${name}: labels ${given.join(",") || "(none)"} do not match ${
          expected.join(",") || "(none)"
        }`,
      );
    }
  }
}
