import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { startFakeLlm, type FakeLlm } from '@codeagent/testing';
import { SpanKind, startTracing, stopTracing, withSpan } from '@codeagent/telemetry';
import { callWithFallback } from './call-model';
import { CircuitBreakers } from './circuit-breaker';
import { createLanguageModel } from './kinds';
import { llmCallSpan } from './llm-span';

// Model calls as spans: provider, model, tokens (cache reads and writes apart) and cost, in the trace
// of whatever caused them; a failed link down the chain is a span with its error.
const exporter = new InMemorySpanExporter();
beforeAll(() => startTracing({ service: 'orchestrator', spanProcessors: [new SimpleSpanProcessor(exporter)] }));
afterAll(() => stopTracing());
beforeEach(() => exporter.reset());

test('a call with prompt-cache tokens: the cost prices reads and writes at their own rates', async () => {
  const M = 1_000_000;
  await llmCallSpan({ provider: 'claude', kind: 'anthropic', model: 'claude-sonnet-4-5' }, async () => ({
    usage: { inputTokens: 3 * M, outputTokens: M, cacheReadTokens: M, cacheWriteTokens: M },
    finishReason: 'stop',
    timing: { durationMs: 1200, firstTokenMs: 300 },
  }));
  const [span] = exporter.getFinishedSpans();
  expect(span!.name).toBe('llm claude/claude-sonnet-4-5');
  expect(span!.kind).toBe(SpanKind.CLIENT);
  expect(span!.attributes).toMatchObject({
    'gen_ai.system': 'anthropic',
    'gen_ai.request.model': 'claude-sonnet-4-5',
    'gen_ai.usage.input_tokens': 3 * M,
    'gen_ai.usage.output_tokens': M,
    'gen_ai.usage.cache_read_input_tokens': M,
    'gen_ai.usage.cache_creation_input_tokens': M,
    'codeagent.llm.duration_ms': 1200,
  });
  expect(span!.attributes['codeagent.llm.cost_usd']).toBeCloseTo(3 + 0.3 + 3.75 + 15);
});

describe('callWithFallback over real HTTP', () => {
  let down: FakeLlm;
  let up: FakeLlm;
  beforeEach(async () => {
    down = await startFakeLlm();
    up = await startFakeLlm();
  });
  afterEach(async () => {
    await down.close();
    await up.close();
  });

  test('each link tried is a span in the caller’s trace: the failed one with its error, the answer with tokens and cost', async () => {
    await down.close();
    up.push({ text: 'hello', usage: { inputTokens: 1000, outputTokens: 10 } });
    const link = (name: string, llm: FakeLlm) => ({ provider: name, kind: 'openai' as const, model: 'gpt-4.1', contextWindow: 128_000, languageModel: createLanguageModel({ name, kind: 'openai', model: 'gpt-4.1', baseURL: llm.openaiBaseURL, apiKey: 'sk-test-1234' }) });
    await withSpan('POST /api/v1/sessions/:id/agent', {}, () => callWithFallback([link('first', down), link('second', up)], new CircuitBreakers(), { messages: [{ role: 'user', content: 'hi' }] }));
    const spans = exporter.getFinishedSpans();
    const root = spans.find((s) => s.name === 'POST /api/v1/sessions/:id/agent')!;
    const first = spans.find((s) => s.name === 'llm first/gpt-4.1')!;
    const second = spans.find((s) => s.name === 'llm second/gpt-4.1')!;
    for (const s of [first, second]) expect(s.spanContext().traceId).toBe(root.spanContext().traceId);
    expect(first.status.code).toBe(2); // ERROR
    expect(second.attributes).toMatchObject({ 'gen_ai.usage.input_tokens': 1000, 'gen_ai.usage.output_tokens': 10, 'gen_ai.usage.cache_read_input_tokens': 0 });
    expect(second.attributes['codeagent.llm.cost_usd']).toBeCloseTo((1000 * 2 + 10 * 8) / 1_000_000);
  });
});
