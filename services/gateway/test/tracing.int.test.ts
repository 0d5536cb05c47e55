import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { SpanKind, startTracing, stopTracing } from '@codeagent/telemetry';
import { createTestBroker, waitFor, type TestBroker } from '@codeagent/testing';
import { FakeOrchestrator } from './fake-orchestrator';
import { http, startTestGateway, type TestGateway } from './harness';

// The trace starts at the edge: each HTTP request is a SERVER span (child of the caller's traceparent),
// and the bus requests its route makes, with the service's handling of them, are in the same trace,
// with or without a request body (which arrives outside the context the request started in).
const exporter = new InMemorySpanExporter();
let broker: TestBroker;
let orch: FakeOrchestrator;
let gw: TestGateway;

beforeAll(async () => {
  startTracing({ service: 'gateway', spanProcessors: [new SimpleSpanProcessor(exporter)] });
  broker = await createTestBroker('gateway-tracing');
  orch = await FakeOrchestrator.start(broker.url);
  gw = await startTestGateway(broker.url);
});
afterAll(async () => {
  await gw?.stop();
  await orch?.close();
  await broker?.dispose();
  await stopTracing();
});

const traceId = 'a'.repeat(31) + '1';
const parentSpanId = 'b'.repeat(16);

test.each([
  ['GET', '/api/v1/sessions', undefined, 'GET /api/v1/sessions', 200],
  ['POST', '/api/v1/sessions', { source: { path: '/tmp' } }, 'POST /api/v1/sessions', 201],
])('%s %s is a server span, parent of its bus requests, in the caller’s trace', async (method, url, body, name, status) => {
  const tid = traceId.slice(0, -1) + (method === 'GET' ? '1' : '2');
  const r = await http(gw.url, method, url, { body, headers: { traceparent: `00-${tid}-${parentSpanId}-01` } });
  expect(r.status).toBe(status);
  const server = await waitFor(`the ${name} span`, () => exporter.getFinishedSpans().find((s) => s.name === name && s.spanContext().traceId === tid));
  expect(server.kind).toBe(SpanKind.SERVER);
  expect(server.parentSpanContext?.spanId ?? (server as unknown as { parentSpanId?: string }).parentSpanId).toBe(parentSpanId);
  expect(server.attributes).toMatchObject({ 'http.request.method': method, 'http.route': url, 'http.response.status_code': status });
  // The route's bus request and the orchestrator's handling of it, in the same trace, under the server span.
  const inTrace = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === tid && s !== server);
  expect(inTrace.length).toBeGreaterThan(0);
  const children = inTrace.filter((s) => (s.parentSpanContext?.spanId ?? (s as unknown as { parentSpanId?: string }).parentSpanId) === server.spanContext().spanId);
  expect(children.map((s) => s.name).join(' ')).toMatch(/orchestrator\.session\.(list|create)/);
});
