import { context, propagation, SpanKind, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { AlwaysOffSampler, BatchSpanProcessor, NoopSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';

export { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
export type { Span, Context } from '@opentelemetry/api';

let sdk: NodeSDK | undefined;

export interface TracingOptions {
  service: string;
  version?: string;
  /** OTLP/HTTP endpoint; spans are exported only when set. */
  otlpEndpoint?: string;
  /** Extra processors, e.g. a SimpleSpanProcessor over an InMemorySpanExporter in tests. */
  spanProcessors?: SpanProcessor[];
}

/**
 * Starts the OpenTelemetry NodeSDK once per process. Spans are always recorded (so trace ids reach
 * the logs and the bus headers) and exported only when an endpoint is configured.
 */
export function startTracing(opts: TracingOptions): void {
  if (sdk) return;
  const processors: SpanProcessor[] = [...(opts.spanProcessors ?? [])];
  if (opts.otlpEndpoint) {
    const url = `${opts.otlpEndpoint.replace(/\/$/, '')}/v1/traces`;
    processors.push(new BatchSpanProcessor(new OTLPTraceExporter({ url })));
  }
  // With nowhere to send spans, none is recorded (recording them cost a service ~5% of its CPU per
  // command): spans are still made, with ids that log lines carry and messages propagate, but
  // unsampled. The SDK registers a tracer provider only when it has a processor, hence the no-op one.
  const exporting = processors.length > 0;
  if (!exporting) processors.push(new NoopSpanProcessor());
  sdk = new NodeSDK({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: opts.service, [ATTR_SERVICE_VERSION]: opts.version ?? '0.1.0' }),
    spanProcessors: processors,
    ...(exporting ? {} : { sampler: new AlwaysOffSampler() }),
    logRecordProcessors: [],
    instrumentations: [],
    resourceDetectors: [],
  });
  sdk.start();
}

export async function stopTracing(): Promise<void> {
  const s = sdk;
  sdk = undefined;
  await s?.shutdown();
}

export function tracer(name = 'codeagent') {
  return trace.getTracer(name);
}

/** W3C trace context of the active (or given) context, as message headers. */
export function injectTraceHeaders(ctx: Context = context.active()): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier;
}

/** The context a message's headers carry, to start the consumer's span in. */
export function extractTraceContext(headers: Record<string, unknown> | undefined): Context {
  const carrier: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) if (typeof v === 'string') carrier[k] = v;
  return propagation.extract(context.active(), carrier);
}

/** Runs `fn` in a new span that ends when it settles, recording a thrown error. */
export async function withSpan<T>(
  name: string,
  options: { kind?: SpanKind; attributes?: Record<string, string | number | boolean>; parent?: Context },
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = options.parent ?? context.active();
  const span = tracer().startSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (err) {
    span.recordException(err as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.message });
    throw err;
  } finally {
    span.end();
  }
}
