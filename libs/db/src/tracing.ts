import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';

interface Extendable {
  $extends(ext: unknown): unknown;
}

/**
 * Opt-in per service (a service's database.ts wraps its client; a client extension is a new object
 * that code doing its own thing with the client, such as analytics' ingest, may not expect).
 * Every Prisma query made inside a trace becomes a CLIENT span (`db <model>.<operation>`, with
 * db.system and the table's model), so a trace from the edge shows its database work. Queries made
 * outside any trace (timers, reconcilers) make no span: no orphan traces, and nothing to pay for them.
 */
export function withQuerySpans<C>(client: C, system: 'sqlite' | 'postgresql'): C {
  const tracer = trace.getTracer('codeagent-db');
  return (client as unknown as Extendable).$extends({
    name: 'codeagent-tracing',
    query: {
      async $allOperations({ model, operation, args, query }: { model?: string; operation: string; args: unknown; query: (args: unknown) => Promise<unknown> }) {
        if (!trace.getSpan(context.active())) return query(args);
        const span = tracer.startSpan(`db ${model ? `${model}.` : ''}${operation}`, {
          kind: SpanKind.CLIENT,
          attributes: { 'db.system': system, 'db.operation.name': operation, ...(model ? { 'db.collection.name': model } : {}) },
        });
        try {
          return await context.with(trace.setSpan(context.active(), span), () => query(args));
        } catch (err) {
          span.recordException(err as Error);
          span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.message });
          throw err;
        } finally {
          span.end();
        }
      },
    },
  }) as C;
}
