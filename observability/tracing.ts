/**
 * OpenTelemetry tracing for one process. Off unless OTEL_EXPORTER_OTLP_ENDPOINT is set (or a test passes an
 * exporter): then there is no tracer provider, no Temporal interceptor and no request span, only the API's no-op
 * tracer. On, it registers the global tracer provider (AsyncLocalStorage context, W3C trace context) that the
 * Temporal interceptors, the request middleware and the provider and merchant spans use.
 */
import { INVALID_SPAN_CONTEXT, trace, type Span, SpanKind, SpanStatusCode, type Attributes } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, SimpleSpanProcessor, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

/** Whether this process registered a tracer provider; while it has not, client spans are skipped outright. */
let active = false;
/** What `fn` gets while tracing is off: a span that records nothing. */
const NOT_RECORDING = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

export interface Tracing {
  /** Also handed to the worker's workflow span sink, so workflow spans leave through the same exporter. */
  spanProcessor: SpanProcessor;
  resource: Resource;
  shutdown(): Promise<void>;
}

/**
 * Registers tracing for this process, or returns undefined when it is off. `exporter` (tests) replaces the
 * OTLP exporter and exports each span as it ends.
 */
export function setupTracing(opts: { serviceName: string; otlpEndpoint?: string; exporter?: SpanExporter }): Tracing | undefined {
  if (!opts.otlpEndpoint && !opts.exporter) return undefined;
  const resource = new Resource({ 'service.name': opts.serviceName });
  const spanProcessor = opts.exporter
    ? new SimpleSpanProcessor(opts.exporter)
    : new BatchSpanProcessor(new OTLPTraceExporter({ url: `${opts.otlpEndpoint!.replace(/\/+$/, '')}/v1/traces` }));
  const provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor] });
  provider.register();
  active = true;
  return {
    spanProcessor,
    resource,
    async shutdown() {
      active = false;
      await provider.shutdown();
      trace.disable();
    },
  };
}

/**
 * Runs `fn` in a client span (a call leaving the process: a provider API, a merchant's notify URL). With tracing
 * off `fn` runs as it is, with a span that records nothing.
 */
export async function withClientSpan<T>(name: string, attributes: Attributes, fn: (span: Span) => Promise<T>): Promise<T> {
  if (!active) return fn(NOT_RECORDING);
  return trace.getTracer('cashier-desk').startActiveSpan(name, { kind: SpanKind.CLIENT, attributes }, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
      throw err;
    } finally {
      span.end();
    }
  });
}
