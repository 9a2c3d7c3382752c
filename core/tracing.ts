/**
 * Traces: spans emitted through an OpenTelemetry `TracerProvider` (the
 * application's, or Deno's built-in one when it runs with `OTEL_DENO=true`),
 * with W3C Trace Context (`traceparent`) read from requests and sent with
 * them. The types here are the parts of the `@opentelemetry/api` interfaces
 * Iora uses, so any provider fits and nothing needs installing. Without a
 * provider there is no `Tracing` at all, and the components skip tracing
 * with one null check.
 *
 * @example
 * ```ts
 * import { parseTraceparent, Tracing } from "./tracing.ts";
 * import type { TracerProvider } from "./tracing_api.ts";
 * const ended: string[] = [];
 * const provider: TracerProvider = {
 *   getTracer: () => ({
 *     startSpan: (name) => ({
 *       spanContext: () => ({ traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7", traceFlags: 1 }),
 *       setAttribute() {},
 *       setStatus() {},
 *       end: () => void ended.push(name),
 *     }),
 *   }),
 * };
 * const tracing = new Tracing({ tracerProvider: provider });
 * const span = tracing.start("work", "internal");
 * tracing.run(span, () => console.log(tracing.traceparent())); // 00-4bf9...-00f0...-01
 * span.end();
 * console.log(parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
 * ```
 *
 * @module
 */
import { platform } from "./platform/mod.ts";
import type { AsyncContext } from "./platform/types.ts";

import type {
  ContextManager,
  Span,
  SpanAttributes,
  SpanContext,
  TraceContext,
  Tracer,
  TracerProvider,
} from "./tracing_api.ts";

/** Options of {@linkcode Tracing}. */
export interface TracingOptions {
  /** Where spans go. */
  tracerProvider: TracerProvider;
  /**
   * Also make Iora's spans active in this context manager (so the application's own spans,
   * made with `@opentelemetry/api`, become their children). Default: Iora keeps its own.
   */
  contextManager?: ContextManager;
  /**
   * The instrumentation scope's name.
   *
   * @default {"iora"}
   */
  name?: string;
}

/** The kind of a span: a request served, a request made, or work inside the process. */
export type SpanKindName = "internal" | "server" | "client";

const KIND: Record<SpanKindName, number> = { internal: 0, server: 1, client: 2 };

/** The key OpenTelemetry keeps the active span under in a context. */
const SPAN_KEY = Symbol.for("OpenTelemetry Context Key SPAN");

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$/;

/**
 * The span context of a `traceparent` header (W3C Trace Context), or null when it is absent
 * or malformed (version `ff`, all-zero ids, wrong lengths, upper case).
 *
 * @param value the header's value
 * @returns the remote span context, or null
 */
export function parseTraceparent(value: string | null | undefined): SpanContext | null {
  if (value === null || value === undefined) return null;
  const m = TRACEPARENT.exec(value.trim());
  if (m === null || m[1] === "ff") return null;
  if (m[1] === "00" && value.trim().length !== 55) return null;
  if (/^0+$/.test(m[2]) || /^0+$/.test(m[3])) return null;
  return { traceId: m[2], spanId: m[3], traceFlags: parseInt(m[4], 16) & 1, isRemote: true };
}

/**
 * The `traceparent` header of a span context.
 *
 * @param context the span context
 * @returns `00-<trace id>-<span id>-<flags>`
 */
export function formatTraceparent(context: SpanContext): string {
  return `00-${context.traceId}-${context.spanId}-0${context.traceFlags & 1}`;
}

/** A context with no values, the root of the ones Iora builds. */
class Context implements TraceContext {
  readonly #values: Map<symbol, unknown>;
  constructor(values = new Map<symbol, unknown>()) {
    this.#values = values;
  }
  getValue(key: symbol): unknown {
    return this.#values.get(key);
  }
  setValue(key: symbol, value: unknown): TraceContext {
    return new Context(new Map(this.#values).set(key, value));
  }
  deleteValue(key: symbol): TraceContext {
    const values = new Map(this.#values);
    values.delete(key);
    return new Context(values);
  }
}

const ROOT = new Context();

/** A parent known only by its span context (a remote one). */
function remoteSpan(context: SpanContext): Span {
  return {
    spanContext: () => context,
    setAttribute: () => undefined,
    setStatus: () => undefined,
    end: () => {},
  };
}

/**
 * Starts spans and keeps the active one across awaits. One per service; the HTTP server, the
 * HTTP client and the API registry take it.
 */
export class Tracing {
  readonly #tracer: Tracer;
  readonly #manager: ContextManager | undefined;
  readonly #active: AsyncContext<Span>;

  /**
   * Creates the tracing of a provider.
   *
   * @param options the provider and, optionally, its context manager
   */
  constructor(options: TracingOptions) {
    this.#tracer = options.tracerProvider.getTracer(options.name ?? "iora");
    this.#manager = options.contextManager;
    this.#active = platform().asyncContext<Span>();
  }

  /**
   * The runtime's own OpenTelemetry, when it is on (Deno with `OTEL_DENO=true`); else null.
   *
   * @returns the tracing, or null
   */
  static fromRuntime(): Tracing | null {
    const telemetry = platform().telemetry();
    return telemetry === null ? null : new Tracing(telemetry);
  }

  /**
   * Starts a span, child of `parent` (a remote span context) or else of the active span.
   *
   * @param name the span's name
   * @param kind server, client or internal
   * @param attributes its attributes
   * @param parent a remote parent (from a `traceparent`), or null for the active span
   * @returns the span; end it
   */
  start(
    name: string,
    kind: SpanKindName,
    attributes?: SpanAttributes,
    parent?: SpanContext | null,
  ): Span {
    const base = this.#manager?.active() ?? ROOT;
    const parentSpan = parent ? remoteSpan(parent) : this.active();
    const context = parentSpan === undefined ? base : base.setValue(SPAN_KEY, parentSpan);
    return this.#tracer.startSpan(name, { kind: KIND[kind], attributes }, context);
  }

  /**
   * Runs `fn` with `span` active: spans started inside, across awaits, are its children.
   *
   * @param span the span
   * @param fn the work
   * @returns what `fn` returns
   */
  run<R>(span: Span, fn: () => R): R {
    const manager = this.#manager;
    if (manager === undefined) return this.#active.run(span, fn);
    return this.#active.run(
      span,
      () => manager.with(manager.active().setValue(SPAN_KEY, span), fn),
    );
  }

  /**
   * Runs `fn` with a remote span context (a `traceparent` that came over a channel) as the
   * active parent; no span is started.
   *
   * @param parent the remote span context, or null to run `fn` as is
   * @param fn the work
   * @returns what `fn` returns
   */
  runRemote<R>(parent: SpanContext | null, fn: () => R): R {
    return parent === null ? fn() : this.#active.run(remoteSpan(parent), fn);
  }

  /** The active span, if any. */
  active(): Span | undefined {
    return this.#active.get();
  }

  /**
   * The `traceparent` of the active span (or of `span`), or null when there is none.
   *
   * @param span the span; default the active one
   * @returns the header value, or null
   */
  traceparent(span: Span | undefined = this.active()): string | null {
    return span === undefined ? null : formatTraceparent(span.spanContext());
  }

  /**
   * Marks a span failed with `error` and ends it.
   *
   * @param span the span
   * @param error what went wrong
   */
  static fail(span: Span, error: unknown): void {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    span.recordException?.(error instanceof Error ? error : message);
    span.setStatus({ code: 2, message });
    span.end();
  }
}
