// An OpenTelemetry-shaped TracerProvider that records its spans, for the tracing tests.
import type {
  Span,
  SpanAttributes,
  SpanContext,
  TraceContext,
  TracerProvider,
} from "../../core/tracing_api.ts";

/** A span as the in-test provider records it. */
export interface Recorded {
  name: string;
  kind: number;
  attributes: SpanAttributes;
  context: SpanContext;
  parentSpanId: string | undefined;
  status?: { code: number; message?: string };
  ended: boolean;
}

const SPAN_KEY = Symbol.for("OpenTelemetry Context Key SPAN");

/** An OpenTelemetry-shaped provider that records its spans, as an SDK's in-memory exporter. */
export function recordingProvider(): { provider: TracerProvider; spans: Recorded[] } {
  const spans: Recorded[] = [];
  const hex = (n: number) =>
    Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join("");
  const provider: TracerProvider = {
    getTracer: () => ({
      startSpan(name, options, context?: TraceContext): Span {
        const parent = (context?.getValue(SPAN_KEY) as Span | undefined)?.spanContext();
        const record: Recorded = {
          name,
          kind: options?.kind ?? 0,
          attributes: { ...options?.attributes },
          context: { traceId: parent?.traceId ?? hex(32), spanId: hex(16), traceFlags: 1 },
          parentSpanId: parent?.spanId,
          ended: false,
        };
        spans.push(record);
        return {
          spanContext: () => record.context,
          setAttribute: (key, value) => void (record.attributes[key] = value),
          setStatus: (status) => void (record.status = status),
          end: () => void (record.ended = true),
        };
      },
    }),
  };
  return { provider, spans };
}
