// The HTTP server's per-route metrics: responses by route pattern (never the raw path), method
// and status class, and a latency histogram by route and method. Each route and method gets its
// counters and histogram series once (its first request); after that a request costs a few
// additions (and a map lookup by method when it differs from the route's last request's), and
// allocates nothing.
import type { HistogramSeries, MetricsRegistry } from "../core/metrics.ts";
import type { Histogram } from "../core/metrics.ts";
import { type ResponsesByClass, STATUS_CLASSES, statusClassIndex } from "./status_class.ts";
import type { RouteStats } from "./server_types.ts";

/** The route label of requests no route matched (404 and 405 answers, refused expectations). */
export const UNMATCHED_ROUTE = "(unmatched)";

/** Methods that get their own label value; any other is counted as `OTHER`. */
const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]);

interface MethodSeries {
  readonly method: string;
  /** Responses by status class, indexed as `STATUS_CLASSES`. */
  readonly responses: number[];
  seconds: number;
  readonly latency: HistogramSeries;
}

/** The series of one route pattern. */
export class RouteRecorder {
  readonly route: string;
  readonly #latency: Histogram;
  readonly #methods = new Map<string, MethodSeries>();
  /** The method of the last request as sent, and its series: most requests repeat it. */
  #lastMethod = "";
  #last: MethodSeries | null = null;

  constructor(route: string, latency: Histogram) {
    this.route = route;
    this.#latency = latency;
  }

  /**
   * Counts one response and its latency.
   *
   * @param method the request method as sent
   * @param status the response status
   * @param seconds the time from the request's dispatch (its turn's clock reading) to its
   *   response (the end of the turn that answered it)
   */
  record(method: string, status: number, seconds: number): void {
    let series = this.#last;
    if (method !== this.#lastMethod || series === null) {
      series = this.#methods.get(method) ?? this.#add(method);
      this.#last = series;
      this.#lastMethod = method;
    }
    series.responses[statusClassIndex(status)]++;
    series.seconds += seconds;
    series.latency.observe(seconds);
  }

  /** Appends this route's counts, one entry per method seen. */
  stats(out: RouteStats[]): void {
    for (const s of this.#methods.values()) {
      let requests = 0;
      for (const n of s.responses) requests += n;
      const responses = {} as ResponsesByClass;
      STATUS_CLASSES.forEach((name, i) => responses[name] = s.responses[i]);
      out.push({ route: this.route, method: s.method, requests, responses, seconds: s.seconds });
    }
  }

  #add(method: string): MethodSeries {
    // Unknown methods share one entry, so a client inventing methods cannot grow the map.
    const name = METHODS.has(method) ? method : "OTHER";
    const known = this.#methods.get(name);
    if (known !== undefined) return known;
    const series: MethodSeries = {
      method: name,
      responses: [0, 0, 0, 0, 0],
      seconds: 0,
      latency: this.#latency.series({ route: this.route, method: name }),
    };
    this.#methods.set(name, series);
    return series;
  }
}

/** The server's request metrics in a service's registry. */
export class RouteMetrics {
  readonly #latency: Histogram;
  readonly #routes = new Map<string, RouteRecorder>();
  /** Requests no route matched. */
  readonly unmatched: RouteRecorder;

  constructor(registry: MetricsRegistry) {
    registry.collect(
      "iora_http_server_route_requests_total",
      "HTTP server responses by route pattern, method and status class (code).",
      "counter",
      () =>
        this.stats().flatMap((s) =>
          Object.entries(s.responses).filter(([, n]) => n > 0).map(([code, value]) => ({
            labels: { route: s.route, method: s.method, code },
            value,
          }))
        ),
    );
    this.#latency = registry.histogram(
      "iora_http_server_request_duration_seconds",
      "Time from a request's dispatch (or the start of the event-loop turn that dispatched it) " +
        "to its response handed to the transport (or the end of that turn), by route pattern " +
        "and method.",
      undefined,
      ["route", "method"],
    );
    this.unmatched = new RouteRecorder(UNMATCHED_ROUTE, this.#latency);
  }

  /**
   * The recorder of a route pattern (the same one when a pattern is added again).
   *
   * @param pattern the route pattern
   * @returns its recorder
   */
  forRoute(pattern: string): RouteRecorder {
    let recorder = this.#routes.get(pattern);
    if (recorder === undefined) {
      recorder = new RouteRecorder(pattern, this.#latency);
      this.#routes.set(pattern, recorder);
    }
    return recorder;
  }

  /** Every route's counts, unmatched requests last. */
  stats(): RouteStats[] {
    const out: RouteStats[] = [];
    for (const recorder of this.#routes.values()) recorder.stats(out);
    this.unmatched.stats(out);
    return out;
  }
}
