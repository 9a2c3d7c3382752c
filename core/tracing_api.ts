/**
 * The parts of the `@opentelemetry/api` interfaces Iora uses (span, tracer, provider, context,
 * context manager), so any OpenTelemetry provider fits and nothing needs installing. A leaf
 * module: the platform seam and {@linkcode Tracing} both build on it.
 *
 * @module
 */

/** Attribute values a span takes. */
export type SpanAttributes = Record<string, string | number | boolean>;

/** A span's identity, as W3C Trace Context carries it. */
export interface SpanContext {
  /** 32 lower-case hex digits. */
  traceId: string;
  /** 16 lower-case hex digits. */
  spanId: string;
  /** Bit 0: sampled. */
  traceFlags: number;
  /** True when it came from another process (a `traceparent` header). */
  isRemote?: boolean;
}

/** The part of an OpenTelemetry `Span` Iora uses. */
export interface Span {
  /** Its identity. */
  spanContext(): SpanContext;
  /** Sets one attribute. */
  setAttribute(key: string, value: string | number | boolean): unknown;
  /** Sets its status: code 1 ok, 2 error. */
  setStatus(status: { code: number; message?: string }): unknown;
  /** Records an exception as a span event, when the span supports it. */
  recordException?(exception: Error | string): unknown;
  /** Ends it (and hands it to the exporter). */
  end(): void;
}

/** The part of an OpenTelemetry `Context` Iora uses. */
export interface TraceContext {
  /** The value under `key`. */
  getValue(key: symbol): unknown;
  /** A copy with `key` set. */
  setValue(key: symbol, value: unknown): TraceContext;
  /** A copy without `key`. */
  deleteValue(key: symbol): TraceContext;
}

/** The part of an OpenTelemetry `Tracer` Iora uses. */
export interface Tracer {
  /** Starts a span; its parent is the span in `context`, if any. */
  startSpan(
    name: string,
    options?: { kind?: number; attributes?: SpanAttributes },
    context?: TraceContext,
  ): Span;
}

/** An OpenTelemetry `TracerProvider` (the application's, or Deno's). */
export interface TracerProvider {
  /** The tracer of an instrumentation scope. */
  getTracer(name: string, version?: string): Tracer;
}

/** An OpenTelemetry `ContextManager`, when spans should be active in the provider's context too. */
export interface ContextManager {
  /** The active context. */
  active(): TraceContext;
  /** Runs `fn` with `context` active. */
  with<R>(context: TraceContext, fn: () => R): R;
}
