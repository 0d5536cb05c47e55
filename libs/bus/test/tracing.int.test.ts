import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { createTestBroker, testLogger, type TestBroker } from '@codeagent/testing';
import { startTracing, stopTracing, withSpan } from '@codeagent/telemetry';
import { Bus } from '../src/index';
import { TestCatalog } from './catalog';

const exporter = new InMemorySpanExporter();
let broker: TestBroker;
const buses: Bus[] = [];

beforeAll(async () => {
  startTracing({ service: 'trace-test', spanProcessors: [new SimpleSpanProcessor(exporter)] });
  broker = await createTestBroker('trace');
});
afterAll(async () => {
  await Promise.all(buses.map((b) => b.close(500)));
  await broker.dispose();
  await stopTracing();
});

test('one trace id spans a two-hop request: caller → workspace → analytics and back', async () => {
  const connect = async (service: string) => {
    const b = await Bus.connect({ url: broker.url, service, instanceId: service, logger: testLogger(), catalog: TestCatalog });
    buses.push(b);
    return b as unknown as Bus & { request(n: string, p: unknown): Promise<{ text: string; by: string }> };
  };
  const analytics = await connect('analytics');
  const workspace = await connect('workspace');
  const caller = await connect('gateway');
  await analytics.handleCommands('analytics', {
    'analytics.echo': async (p: { text: string }) => ({ text: p.text, by: 'analytics' }),
    'analytics.fail': async () => ({}),
  } as never);
  await workspace.handleCommands('workspace', {
    'workspace.relay': async (p: { text: string }) => workspace.request('analytics.echo', { text: `${p.text}!` }),
  } as never);

  const reply = await withSpan('http POST /test', {}, () => caller.request('workspace.relay', { text: 'hi' }));
  expect(reply).toEqual({ text: 'hi!', by: 'analytics' });

  const spans = exporter.getFinishedSpans();
  const byName = (n: string) => {
    const s = spans.find((x) => x.name === n);
    if (!s) throw new Error(`no span ${n}; have ${spans.map((x) => x.name).join(', ')}`);
    return s;
  };
  const root = byName('http POST /test');
  const hop1Send = byName('workspace.relay request');
  const hop1Handle = byName('workspace.relay process');
  const hop2Send = byName('analytics.echo request');
  const hop2Handle = byName('analytics.echo process');
  const traceIds = new Set([root, hop1Send, hop1Handle, hop2Send, hop2Handle].map((s) => s.spanContext().traceId));
  expect(traceIds.size).toBe(1);
  // Each hop's span is the child of the one before it: the chain is unbroken across the broker.
  const parentOf = (s: typeof root) => s.parentSpanContext?.spanId;
  expect(parentOf(hop1Send)).toBe(root.spanContext().spanId);
  expect(parentOf(hop1Handle)).toBe(hop1Send.spanContext().spanId);
  expect(parentOf(hop2Send)).toBe(hop1Handle.spanContext().spanId);
  expect(parentOf(hop2Handle)).toBe(hop2Send.spanContext().spanId);
});
