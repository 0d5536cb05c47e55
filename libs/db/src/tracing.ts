import { context, SpanKind, SpanStatusCode, trace, type Attributes } from '@opentelemetry/api';

const tracer = trace.getTracer('codeagent-db');

/**
 * Runs `work` as a CLIENT span `db <name>` of the active trace, its error recorded on it; outside any
 * trace (timers, reconcilers) it just runs: no orphan traces, and nothing to pay but one context
 * lookup (`describe` is not even called). `activate`: the span is the active one while the work
 * runs, so what the work itself traces is its child; the plain-SQL runners skip that on the hot path.
 */
export async function dbSpan<T>(describe: () => { name: string; attributes: Attributes }, work: () => Promise<T>, activate = true): Promise<T> {
  if (!trace.getSpan(context.active())) return work();
  const { name, attributes } = describe();
  const span = tracer.startSpan(`db ${name}`, { kind: SpanKind.CLIENT, attributes });
  try {
    return await (activate ? context.with(trace.setSpan(context.active(), span), work) : work());
  } catch (err) {
    span.recordException(err as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.message });
    throw err;
  } finally {
    span.end();
  }
}

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
  return (client as unknown as Extendable).$extends({
    name: 'codeagent-tracing',
    query: {
      async $allOperations({ model, operation, args, query }: { model?: string; operation: string; args: unknown; query: (args: unknown) => Promise<unknown> }) {
        return dbSpan(
          () => ({ name: `${model ? `${model}.` : ''}${operation}`, attributes: { 'db.system': system, 'db.operation.name': operation, ...(model ? { 'db.collection.name': model } : {}) } }),
          () => query(args),
        );
      },
    },
  }) as C;
}

const RAW_METHODS = new Set(['$queryRaw', '$executeRaw', '$queryRawUnsafe', '$executeRawUnsafe']);

/**
 * For a client used through raw SQL only (analytics): its raw-query methods made inside a trace are
 * CLIENT spans (`db <method>`), the client itself untouched (a Proxy, not a client extension, so its
 * interactive transactions and worker-thread use behave exactly as before).
 */
export function withRawQuerySpans<C extends object>(client: C, system: 'sqlite' | 'postgresql'): C {
  return new Proxy(client, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      if (typeof prop !== 'string' || !RAW_METHODS.has(prop)) return (value as (...a: unknown[]) => unknown).bind(target);
      return (...args: unknown[]) =>
        dbSpan(
          () => ({ name: prop, attributes: { 'db.system': system, 'db.operation.name': prop } }),
          () => (value as (...a: unknown[]) => Promise<unknown>).apply(target, args),
        );
    },
  });
}
