import { context, extractTraceContext, SpanKind, SpanStatusCode, trace, tracer, type Context, type Span } from '@codeagent/telemetry';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/** The span of each request in flight, and the context its work runs in. */
const active = new WeakMap<FastifyRequest, { span: Span; ctx: Context }>();

/**
 * One SERVER span per HTTP request (`GET /api/v1/sessions/:id`), child of the caller's `traceparent`
 * when it sends one, so a trace starts at the edge: the bus requests a route makes (their headers carry
 * the active context) and everything behind them join it. The context is entered again before the
 * handler because a request body arrives on the socket's events, outside the context onRequest set.
 */
export function registerHttpSpans(app: FastifyInstance): void {
  app.addHook('onRequest', (req, _reply, done) => {
    const route = req.routeOptions.url ?? 'unmatched';
    const parent = extractTraceContext(req.headers as Record<string, unknown>);
    const span = tracer('codeagent-gateway-http').startSpan(
      `${req.method} ${route}`,
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method, 'http.route': route, 'url.path': req.url.split('?')[0] ?? req.url } },
      parent,
    );
    const ctx = trace.setSpan(parent, span);
    active.set(req, { span, ctx });
    context.with(ctx, done);
  });
  app.addHook('preHandler', (req, _reply, done) => {
    const a = active.get(req);
    if (a) context.with(a.ctx, done);
    else done();
  });
  app.addHook('onError', (req, _reply, err, done) => {
    active.get(req)?.span.recordException(err);
    done();
  });
  app.addHook('onResponse', (req, reply, done) => {
    const a = active.get(req);
    if (a) {
      if (req.principal) a.span.setAttribute('enduser.id', req.principal.userId);
      a.span.setAttribute('http.response.status_code', reply.statusCode);
      if (reply.statusCode >= 500) a.span.setStatus({ code: SpanStatusCode.ERROR });
      a.span.end();
      active.delete(req);
    }
    done();
  });
}
