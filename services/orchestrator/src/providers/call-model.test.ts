import { startFakeLlm, type FakeLlm } from '@codeagent/testing';
import { prom } from '@codeagent/telemetry';
import { tool } from 'ai';
import { z } from 'zod';
import { CircuitBreakers } from './circuit-breaker';
import { ContextTooLongError, callWithFallback } from './call-model';
import { createLanguageModel } from './kinds';
import type { ChainLink } from './registry';

const link = (name: string, kind: ChainLink['kind'], llm: FakeLlm, model = 'gpt-4o'): ChainLink => ({
  provider: name,
  kind,
  model,
  contextWindow: 128_000,
  languageModel: createLanguageModel({ name, kind, model, baseURL: llm.openaiBaseURL, apiKey: 'sk-test-1234' }),
});
const tools = { read_file: tool({ description: 'read', inputSchema: z.object({ path: z.string() }) }) };
const messages = [{ role: 'user' as const, content: 'hi' }];

describe('callWithFallback against the fake LLM over real HTTP', () => {
  let a: FakeLlm;
  let b: FakeLlm;
  beforeEach(async () => {
    a = await startFakeLlm();
    b = await startFakeLlm();
  });
  afterEach(async () => {
    await a.close();
    await b.close();
  });

  it('streams text and tool calls with usage from OpenAI chat completions', async () => {
    a.push({ text: 'reading it now', toolCalls: [{ name: 'read_file', args: { path: 'a.txt' } }], usage: { inputTokens: 120, outputTokens: 17 } });
    const deltas: string[] = [];
    const r = await callWithFallback([link('openai', 'openai', a)], new CircuitBreakers(), { messages, tools, onTextDelta: (d) => deltas.push(d) });
    expect(r.text).toBe('reading it now');
    expect(deltas.length).toBeGreaterThan(1);
    expect(r.toolCalls).toEqual([expect.objectContaining({ toolName: 'read_file', input: { path: 'a.txt' } })]);
    expect(r.usage).toEqual({ inputTokens: 120, outputTokens: 17 });
    // Timed from the request: the first streamed part comes no later than the end of the stream.
    expect(r.timing.firstTokenMs).toEqual(expect.any(Number));
    expect(r.timing.firstTokenMs!).toBeLessThanOrEqual(r.timing.durationMs);
    expect(a.requests[0]?.body.stream).toBe(true);
    expect(a.requests[0]?.headers.authorization).toBe('Bearer sk-test-1234');
  });

  it('speaks Anthropic messages with tool use', async () => {
    a.push({ text: 'ok', toolCalls: [{ name: 'read_file', args: { path: 'b' } }], usage: { inputTokens: 50, outputTokens: 9 } });
    const anth: ChainLink = { ...link('anthropic', 'anthropic', a), languageModel: createLanguageModel({ name: 'anthropic', kind: 'anthropic', model: 'claude-sonnet-4-5', baseURL: a.anthropicBaseURL, apiKey: 'k' }) };
    const r = await callWithFallback([anth], new CircuitBreakers(), { messages, tools });
    expect(a.requests[0]?.format).toBe('anthropic');
    expect(r.toolCalls[0]?.input).toEqual({ path: 'b' });
    expect(r.usage).toEqual({ inputTokens: 50, outputTokens: 9 });
  });

  it('speaks Ollama /api/chat', async () => {
    a.push({ text: 'local answer', toolCalls: [{ name: 'read_file', args: { path: 'c' } }], usage: { inputTokens: 30, outputTokens: 6 } });
    const ollama: ChainLink = { ...link('ollama', 'ollama', a), languageModel: createLanguageModel({ name: 'ollama', kind: 'ollama', model: 'llama3', baseURL: `${a.url}/api` }) };
    const r = await callWithFallback([ollama], new CircuitBreakers(), { messages, tools });
    expect(a.requests[0]?.format).toBe('ollama');
    expect(r.text).toBe('local answer');
    expect(r.toolCalls[0]).toMatchObject({ toolName: 'read_file', input: { path: 'c' } });
    expect(r.usage).toEqual({ inputTokens: 30, outputTokens: 6 });
  });

  it('falls over on 529 and on a dropped connection, and opens the circuit', async () => {
    a.push({ fail: 'http', status: 529 }, { fail: 'drop' }, { fail: 'http', status: 500 });
    b.push({ text: 'from b' }, { text: 'again b' }, { text: 'third b' }, { text: 'fourth b' });
    const breakers = new CircuitBreakers(3, 60_000);
    const chain = [link('first', 'openai', a), link('second', 'openai', b)];
    const r1 = await callWithFallback(chain, breakers, { messages });
    expect(r1.link.provider).toBe('second');
    expect(r1.failovers[0]?.reason).toMatch(/529|Overloaded/);
    const r2 = await callWithFallback(chain, breakers, { messages });
    expect(r2.text).toBe('again b');
    await callWithFallback(chain, breakers, { messages });
    expect(breakers.state('first')).toBe('open');
    const r4 = await callWithFallback(chain, breakers, { messages });
    expect(r4.failovers).toEqual([{ provider: 'first', model: 'gpt-4o', reason: 'circuit open' }]);
    expect(a.requests).toHaveLength(3);
  });

  it('reports context too long instead of failing over', async () => {
    a.push({ fail: 'context-too-long' });
    await expect(callWithFallback([link('x', 'openai', a), link('y', 'openai', b)], new CircuitBreakers(), { messages })).rejects.toBeInstanceOf(ContextTooLongError);
    expect(b.requests).toHaveLength(0);
  });

  it('fails with PROVIDER_FAILED when every link fails', async () => {
    a.push({ fail: 'http', status: 429 });
    await expect(callWithFallback([link('x', 'openai', a)], new CircuitBreakers(), { messages })).rejects.toMatchObject({ code: 'PROVIDER_FAILED' });
  });

  it('counts every failed call by provider, model and reason on the registry /metrics serves; answers, skips and interruptions are not failures', async () => {
    const failures = async () => {
      const m = prom.register.getSingleMetric('orchestrator_llm_call_failures_total');
      return (await m!.get()).values.filter((v) => String(v.labels.provider).startsWith('m-'));
    };
    const before = await failures();
    expect(before).toEqual([]);
    a.push({ fail: 'http', status: 429 }, { fail: 'http', status: 401, message: 'invalid api key' }, { fail: 'drop' }, { fail: 'context-too-long' });
    b.push({ text: 'fine' }, { text: 'fine again' }, { text: 'and again' });
    const chain = [link('m-first', 'openai', a, 'gpt-4.1'), link('m-second', 'openai', b, 'gpt-4o')];
    for (let i = 0; i < 3; i++) expect((await callWithFallback(chain, new CircuitBreakers(), { messages })).link.provider).toBe('m-second');
    await expect(callWithFallback(chain, new CircuitBreakers(), { messages })).rejects.toBeInstanceOf(ContextTooLongError);
    // A link skipped by its open circuit made no call, so no failure.
    const open = new CircuitBreakers(1, 60_000);
    open.failure('m-first');
    b.push({ text: 'skipped to' });
    await callWithFallback(chain, open, { messages });
    // An interrupted call is the user's doing.
    const stop = new AbortController();
    stop.abort();
    await expect(callWithFallback(chain, new CircuitBreakers(), { messages, abortSignal: stop.signal })).rejects.toMatchObject({ code: 'INVALID_STATE' });

    const counted = Object.fromEntries((await failures()).map((v) => [`${v.labels.provider}/${v.labels.model} ${v.labels.reason}`, v.value]));
    expect(counted).toEqual({
      'm-first/gpt-4.1 rate-limited': 1,
      'm-first/gpt-4.1 auth': 1,
      'm-first/gpt-4.1 network': 1,
      'm-first/gpt-4.1 context-too-long': 1,
    });
    expect(await prom.register.metrics()).toContain('orchestrator_llm_call_failures_total{provider="m-first",model="gpt-4.1",reason="rate-limited"');
  });
});

