import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Bus } from '@codeagent/bus';
import type { AgentRunV1, EventName } from '@codeagent/contracts';
import { type FakeLlm, type TestBroker, createTestBroker, startFakeLlm, waitFor } from '@codeagent/testing';
import { type AgentStack, startAgentStack } from './agent-stack';

// The agents end to end on the real broker: real AI SDK providers talking real HTTP to the fake LLM
// server, tools going over the bus to a real workspace folder and a real Bubblewrap jail.

type AnyBus = { request(n: string, p: unknown, o?: object): Promise<any> };
const req = (b: Bus) => b as unknown as AnyBus;

let broker: TestBroker;
let stack: AgentStack;
const llms: FakeLlm[] = [];
const events: { name: string; payload: any }[] = [];

beforeAll(async () => {
  broker = await createTestBroker('agents');
  stack = await startAgentStack(broker.url);
  const names: EventName[] = ['agent.run.started', 'agent.run.step', 'agent.run.text', 'agent.run.completed', 'llm.usage', 'provider.changed'];
  await stack.client.subscribe('agent-test', Object.fromEntries(names.map((n) => [n, async (payload: unknown) => void events.push({ name: n, payload })])), { durable: false });
}, 60_000);
afterAll(async () => {
  await stack?.close();
  await Promise.all(llms.map((l) => l.close()));
  await broker?.dispose();
});

async function llm(): Promise<FakeLlm> {
  const l = await startFakeLlm();
  llms.push(l);
  return l;
}
async function configure(projectId: string, role: string, chain: { name: string; kind: string; baseURL: string; model: string }[]): Promise<void> {
  for (const c of chain) await req(stack.client).request('orchestrator.provider.set', { projectId, name: c.name, kind: c.kind, baseURL: c.baseURL, apiKey: `sk-${c.name}-secret-9876` });
  const [first, ...rest] = chain;
  await req(stack.client).request('orchestrator.agents.set', { projectId, role, config: { provider: first!.name, model: first!.model, fallbacks: rest.map((c) => ({ provider: c.name, model: c.model })) } });
}
async function runToEnd(sessionId: string, body: Record<string, unknown>): Promise<AgentRunV1> {
  const { runId } = await req(stack.client).request('orchestrator.agent.run', { sessionId, ...body });
  return waitFor(
    `run ${runId} ends`,
    async () => {
      const run: AgentRunV1 = await req(stack.client).request('orchestrator.agent.get', { runId });
      return run.status === 'running' ? undefined : run;
    },
    { timeoutMs: 40_000 },
  );
}
const eventsOf = (name: string, runId: string) => events.filter((e) => e.name === name && e.payload.runId === runId);

test('a coding run reads, fixes a file and runs the tests in a real jail; steps, usage and cost are recorded and published', async () => {
  const a = await llm();
  const sessionId = 's-edit';
  const dir = stack.workspace(sessionId, {
    'src/add.js': 'module.exports = (a, b) => a - b;\n',
    'test.js': "const add = require('./src/add');\nif (add(2, 3) !== 5) { console.error('FAIL'); process.exit(1); }\nconsole.log('ok');\n",
  });
  await configure(`p-${sessionId}`, 'coding', [{ name: 'openai', kind: 'openai', baseURL: a.openaiBaseURL, model: 'gpt-4.1' }]);
  a.push(
    { text: 'Let me look.', toolCalls: [{ name: 'read_file', args: { path: 'src/add.js' } }], usage: { inputTokens: 1000, outputTokens: 20 } },
    { toolCalls: [{ name: 'write_file', args: { path: 'src/add.js', content: 'module.exports = (a, b) => a + b;\n' } }], usage: { inputTokens: 1200, outputTokens: 40 } },
    { toolCalls: [{ name: 'run_command', args: { command: 'node test.js' } }], usage: { inputTokens: 1300, outputTokens: 15 } },
    { text: 'Fixed the subtraction; the tests pass.', usage: { inputTokens: 1400, outputTokens: 12 } },
  );

  const run = await runToEnd(sessionId, { prompt: 'fix add', roles: ['coding'] });

  expect(run.status).toBe('completed');
  expect(readFileSync(path.join(dir, 'src/add.js'), 'utf8')).toBe('module.exports = (a, b) => a + b;\n');
  expect(run.steps.map((s) => s.toolCalls.map((t) => t.tool))).toEqual([['read_file'], ['write_file'], ['run_command'], []]);
  expect(run.steps[2]!.toolCalls[0]!.output).toMatchObject({ exitCode: 0, stdout: 'ok\n' });
  expect(stack.execStarted).toContain('node test.js');
  // The model saw the file it asked for: the second request carries the tool result.
  expect(JSON.stringify(a.requests[1]!.body)).toContain('a - b');
  expect(run.usage).toEqual({ inputTokens: 4900, outputTokens: 87 });
  // gpt-4.1: $2 in / $8 out per million tokens.
  expect(run.costUsd).toBeCloseTo((4900 * 2 + 87 * 8) / 1e6, 10);
  expect(run.providers).toEqual(['openai']);
  expect(run.results).toEqual([expect.objectContaining({ role: 'coding', status: 'completed', output: 'Fixed the subtraction; the tests pass.', provider: 'openai' })]);

  await waitFor('completed event', () => eventsOf('agent.run.completed', run.runId).length === 1, { timeoutMs: 10_000 });
  const usage = eventsOf('llm.usage', run.runId).map((e) => e.payload);
  expect(usage.map((u) => [u.inputTokens, u.outputTokens])).toEqual([[1000, 20], [1200, 40], [1300, 15], [1400, 12]]);
  expect(usage[0]).toMatchObject({ provider: 'openai', providerKind: 'openai', model: 'gpt-4.1', role: 'coding', sessionId, projectId: `p-${sessionId}`, costUsd: (1000 * 2 + 20 * 8) / 1e6 });
  // Each call's wall time: to its first streamed part, then to the end of its stream.
  for (const u of usage) expect(u.firstTokenMs).toBeLessThanOrEqual(u.durationMs);
  expect(usage.every((u) => u.firstTokenMs >= 0 && u.durationMs > 0)).toBe(true);
  expect(eventsOf('agent.run.step', run.runId)).toHaveLength(4);
  expect(eventsOf('agent.run.text', run.runId).map((e) => e.payload.delta).join('')).toContain('Fixed the subtraction');
  expect(events.some((e) => e.name === 'agent.run.started' && e.payload.runId === run.runId)).toBe(true);
});

test('falls back when the first provider answers 529 or drops the connection, and records who answered', async () => {
  const a = await llm();
  const b = await llm();
  const sessionId = 's-fallback';
  stack.workspace(sessionId, { 'README.md': 'hello\n' });
  await configure(`p-${sessionId}`, 'review', [
    { name: 'anthropic', kind: 'anthropic', baseURL: a.anthropicBaseURL, model: 'claude-sonnet-4-5' },
    { name: 'lmstudio', kind: 'openai-compatible', baseURL: b.openaiBaseURL, model: 'qwen2.5-coder' },
  ]);
  a.push({ fail: 'http', status: 529 }, { fail: 'drop' });
  b.push({ text: 'Looks good.', usage: { inputTokens: 10, outputTokens: 3 } }, { text: 'Still good.', usage: { inputTokens: 11, outputTokens: 4 } });

  const first = await runToEnd(sessionId, { prompt: 'review', roles: ['review'] });
  expect(first.status).toBe('completed');
  expect(first.steps[0]).toMatchObject({ provider: 'lmstudio', model: 'qwen2.5-coder' });
  expect(first.steps[0]!.failovers[0]).toMatchObject({ provider: 'anthropic' });
  expect(first.steps[0]!.failovers[0]!.reason).toMatch(/529|Overloaded/);
  expect(a.requests[0]!.format).toBe('anthropic');

  const second = await runToEnd(sessionId, { prompt: 'review again', roles: ['review'] });
  expect(second.steps[0]!.provider).toBe('lmstudio');
  expect(second.steps[0]!.failovers[0]!.provider).toBe('anthropic');
  expect(a.requests).toHaveLength(2);
  // Local providers cost nothing.
  expect(second.costUsd).toBe(0);
});

test('a "context too long" answer is met by shrinking the context and retrying, not by failing', async () => {
  const a = await llm();
  const sessionId = 's-context';
  // Hex tokenises densely: each file is ~8k tokens, two fit a 32k window, not half of one.
  const hex = (seed: number) => Array.from({ length: 6000 }, (_, i) => ((i * 2654435761 + seed) >>> 0).toString(16).slice(-3)).join('');
  stack.workspace(sessionId, { 'a.txt': hex(1), 'b.txt': hex(2) });
  await configure(`p-${sessionId}`, 'planning', [{ name: 'vllm', kind: 'openai-compatible', baseURL: a.openaiBaseURL, model: 'some-local-model' }]);
  a.push(
    { toolCalls: [{ name: 'read_file', args: { path: 'a.txt' } }] },
    { toolCalls: [{ name: 'read_file', args: { path: 'b.txt' } }] },
    { fail: 'context-too-long' },
    { text: 'Plan: 1. do it.' },
  );
  const run = await runToEnd(sessionId, { prompt: 'plan it', roles: ['planning'] });
  expect(run.status).toBe('completed');
  expect(run.result).toContain('Plan: 1. do it.');
  expect(run.steps[2]!.contextShrinks).toBe(1);
  expect(a.requests).toHaveLength(4);
  expect(a.requests[3]!.bytes).toBeLessThan(a.requests[2]!.bytes * 0.8);
  expect(JSON.stringify(a.requests[3]!.body)).toContain('dropped to fit the context window');
});

test('the budget stops a run before it spends more, and the tools of the over-budget step are not run', async () => {
  const a = await llm();
  const sessionId = 's-budget';
  stack.workspace(sessionId, { 'x.txt': 'x' });
  await configure(`p-${sessionId}`, 'coding', [{ name: 'openai', kind: 'openai', baseURL: a.openaiBaseURL, model: 'gpt-4.1' }]);
  // 1M input tokens of gpt-4.1 cost $2 a step; the budget is $3.
  a.push(
    { toolCalls: [{ name: 'list_files', args: {} }], usage: { inputTokens: 1_000_000, outputTokens: 0 } },
    { toolCalls: [{ name: 'run_command', args: { command: 'touch spent.txt' } }], usage: { inputTokens: 1_000_000, outputTokens: 0 } },
    { text: 'never asked' },
  );
  const run = await runToEnd(sessionId, { prompt: 'spend', roles: ['coding'], budgetUsd: 3 });
  expect(run.status).toBe('budget_exceeded');
  expect(run.steps).toHaveLength(2);
  expect(run.costUsd).toBeCloseTo(4, 10);
  expect(a.requests).toHaveLength(2);
  expect(run.steps[1]!.toolCalls).toEqual([]);
  expect(stack.execStarted).not.toContain('touch spent.txt');
});

test('interrupt stops a run while its command runs in the jail', async () => {
  const a = await llm();
  const sessionId = 's-interrupt';
  stack.workspace(sessionId, { 'x.txt': 'x' });
  await configure(`p-${sessionId}`, 'testing', [{ name: 'openai', kind: 'openai', baseURL: a.openaiBaseURL, model: 'gpt-4.1' }]);
  a.push({ toolCalls: [{ name: 'run_command', args: { command: 'sleep 30' } }] }, { text: 'should not be asked' });
  const { runId } = await req(stack.client).request('orchestrator.agent.run', { sessionId, prompt: 'wait', roles: ['testing', 'documentation'] });
  await waitFor('sleep started', () => stack.execStarted.includes('sleep 30'), { timeoutMs: 20_000 });
  const second = await req(stack.client).request('orchestrator.agent.run', { sessionId, prompt: 'again' }).catch((e: Error) => e);
  expect(second).toMatchObject({ code: 'CONFLICT' });
  const t0 = Date.now();
  const reply = await req(stack.client).request('orchestrator.agent.interrupt', { runId });
  expect(reply).toEqual({ interrupted: true, status: 'interrupted' });
  expect(Date.now() - t0).toBeLessThan(15_000);
  const run: AgentRunV1 = await req(stack.client).request('orchestrator.agent.get', { runId });
  expect(run.status).toBe('interrupted');
  expect(run.results.map((r) => r.role)).toEqual(['testing']);
  expect(a.requests).toHaveLength(1);
  await waitFor('completed event', () => eventsOf('agent.run.completed', runId)[0]?.payload.status === 'interrupted', { timeoutMs: 10_000 });
});

test('an interrupt reaching another replica is forwarded to the one running the run', async () => {
  const a = await llm();
  const sessionId = 's-replicas';
  stack.workspace(sessionId, { 'x.txt': 'x' });
  await configure(`p-${sessionId}`, 'coding', [{ name: 'openai', kind: 'openai', baseURL: a.openaiBaseURL, model: 'gpt-4.1' }]);
  a.push({ toolCalls: [{ name: 'run_command', args: { command: 'sleep 31' } }] });
  const { runId } = await stack.agents.service.start({ sessionId, prompt: 'wait', roles: ['coding'] });
  await waitFor('sleep started', () => stack.execStarted.includes('sleep 31'), { timeoutMs: 20_000 });
  expect(await stack.secondAgents.service.interrupt(runId)).toEqual({ interrupted: true, status: 'interrupted' });
  expect((await stack.secondAgents.service.get(runId)).status).toBe('interrupted');
});

test('an interrupt of a run whose replica is gone ends it interrupted, once, and publishes its end', async () => {
  const runId = 'run-of-a-gone-replica';
  const at = new Date().toISOString();
  await stack.runs.save({ runId, sessionId: 's-gone', prompt: 'x', roles: ['coding'], status: 'running', steps: [], results: [], usage: { inputTokens: 0, outputTokens: 0 }, costUsd: 0, budgetUsd: 2, providers: [], instanceId: 'orchestrator-gone', startedAt: at });
  expect(await stack.agents.service.interrupt(runId)).toEqual({ interrupted: true, status: 'interrupted' });
  expect(await stack.secondAgents.service.interrupt(runId)).toEqual({ interrupted: false, status: 'interrupted' });
  expect(await stack.agents.service.get(runId)).toMatchObject({ status: 'interrupted', error: 'its replica orchestrator-gone did not answer', endedAt: expect.any(String) });
  await waitFor('completed event', () => eventsOf('agent.run.completed', runId)[0]?.payload.status === 'interrupted', { timeoutMs: 10_000 });
  expect(eventsOf('agent.run.completed', runId)).toHaveLength(1);
});

test('the full pipeline runs planning → coding → review → testing → documentation, each handed the results before it', async () => {
  const a = await llm();
  const sessionId = 's-pipeline';
  stack.workspace(sessionId, { 'x.txt': 'x' });
  const roles = ['planning', 'coding', 'review', 'testing', 'documentation'];
  for (const role of roles) await configure(`p-${sessionId}`, role, [{ name: 'openai', kind: 'openai', baseURL: a.openaiBaseURL, model: 'gpt-4o-mini' }]);
  for (const role of roles) a.push({ text: `${role} result`, usage: { inputTokens: 100, outputTokens: 10 } });
  const run = await runToEnd(sessionId, { prompt: 'add a feature' });
  expect(run.status).toBe('completed');
  expect(run.roles).toEqual(roles);
  expect(run.results.map((r) => [r.role, r.output])).toEqual(roles.map((r) => [r, `${r} result`]));
  expect(run.result).toBe(roles.map((r) => `## ${r}\n${r} result`).join('\n\n'));
  // Each role's request carries the earlier roles' results and its own instructions.
  for (let i = 1; i < roles.length; i++) {
    const body = JSON.stringify(a.requests[i]!.body);
    expect(body).toContain(`${roles[i - 1]} result`);
    expect(body).toContain(`You are the ${roles[i]} agent`);
  }
  expect(JSON.stringify(a.requests[0]!.body)).not.toContain('Result of the');
  await waitFor('usage per role', () => new Set(eventsOf('llm.usage', run.runId).map((e) => e.payload.role)).size === 5, { timeoutMs: 10_000 });
});

test('llm.complete answers through the registry and publishes usage; provider keys never leave sealed', async () => {
  const a = await llm();
  await req(stack.client).request('orchestrator.provider.set', { projectId: 'p-complete', name: 'openai', baseURL: a.openaiBaseURL, apiKey: 'sk-very-secret-key-1234' });
  a.push({ text: 'pong', usage: { inputTokens: 7, outputTokens: 1 } });
  const reply = await req(stack.client).request('orchestrator.llm.complete', { projectId: 'p-complete', provider: 'openai', model: 'gpt-4o-mini', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'ping' }] });
  expect(reply).toMatchObject({ text: 'pong', provider: 'openai', model: 'gpt-4o-mini', usage: { inputTokens: 7, outputTokens: 1 } });
  expect(a.requests[0]!.headers.authorization).toBe('Bearer sk-very-secret-key-1234');
  await waitFor('usage event', () => events.find((e) => e.name === 'llm.usage' && e.payload.projectId === 'p-complete'), { timeoutMs: 10_000 });

  const list = await req(stack.client).request('orchestrator.provider.list', { projectId: 'p-complete' });
  const openai = list.providers.find((p: { name: string }) => p.name === 'openai');
  expect(openai).toMatchObject({ hasKey: true, keyHint: '1234', scope: 'project', baseURL: a.openaiBaseURL });
  expect(JSON.stringify(list)).not.toContain('sk-very-secret');
  const file = path.join(stack.dataDir, 'orchestrator', 'agent-config.json');
  expect(readFileSync(file, 'utf8')).not.toContain('sk-very-secret');
  expect(statSync(file).mode & 0o777).toBe(0o600);
  expect(statSync(path.join(stack.dataDir, 'orchestrator', 'secret.key')).mode & 0o777).toBe(0o600);

  const bad = await req(stack.client).request('orchestrator.agent.run', { sessionId: '', prompt: 'x' }).catch((e: Error) => e);
  expect(bad).toMatchObject({ code: 'VALIDATION_FAILED' });
});
