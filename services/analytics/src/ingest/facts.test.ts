import { findPrice } from '@codeagent/contracts';
import { toFacts } from './facts';
import { buildWrites, mergeSession } from './rollup';

const receivedAt = Date.parse('2026-11-21T10:00:00Z');

describe('toFacts', () => {
  it('keeps the cost an llm.usage event carries', () => {
    const f = toFacts({ id: 'e1', name: 'llm.usage', receivedAt, payload: { provider: 'openai', model: 'gpt-5', role: 'coding', inputTokens: 1000, outputTokens: 10, costUsd: 0.5 } });
    expect(f.usage).toMatchObject({ provider: 'openai', model: 'gpt-5', costUsd: 0.5, priced: true, session: '', atMs: receivedAt });
  });

  it('prices a usage without cost from the table at the date of the call', () => {
    const f = toFacts({ id: 'e2', name: 'llm.usage', receivedAt, payload: { provider: 'anthropic', model: 'claude-sonnet-4-5', role: 'review', inputTokens: 1_000_000, outputTokens: 100_000, costUsd: 0, at: '2026-01-01T00:00:00Z' } });
    const p = findPrice('anthropic', 'claude-sonnet-4-5', new Date('2026-01-01T00:00:00Z'))!;
    expect(f.usage!.costUsd).toBeCloseTo(p.inputUsdPerMTok + p.outputUsdPerMTok / 10, 9);
    expect(f.atMs).toBe(Date.parse('2026-01-01T00:00:00Z'));
  });

  it('marks a paid model the table does not know as unpriced, and local models as free', () => {
    const unknown = toFacts({ id: 'e3', name: 'llm.usage', receivedAt, payload: { provider: 'openai', model: 'gpt-99', role: 'x', inputTokens: 5, outputTokens: 5, costUsd: 0 } });
    expect(unknown.usage).toMatchObject({ costUsd: 0, priced: false });
    const local = toFacts({ id: 'e4', name: 'llm.usage', receivedAt, payload: { provider: 'ollama', model: 'llama3', role: 'x', inputTokens: 5, outputTokens: 5, costUsd: 0 } });
    expect(local.usage).toMatchObject({ costUsd: 0, priced: true });
  });

  it('prices by the provider kind, not by the name a user gave the provider', () => {
    const named = toFacts({ id: 'k1', name: 'llm.usage', receivedAt, payload: { provider: 'work-openai', providerKind: 'openai', model: 'gpt-5', role: 'x', inputTokens: 1_000_000, outputTokens: 0, costUsd: 0 } });
    expect(named.usage).toMatchObject({ provider: 'work-openai', costUsd: findPrice('openai', 'gpt-5', new Date(receivedAt))!.inputUsdPerMTok, priced: true });
    const lmstudio = toFacts({ id: 'k2', name: 'llm.usage', receivedAt, payload: { provider: 'lmstudio', providerKind: 'openai-compatible', model: 'qwen3', role: 'x', inputTokens: 5, outputTokens: 5, costUsd: 0 } });
    expect(lmstudio.usage).toMatchObject({ provider: 'lmstudio', costUsd: 0, priced: true });
  });

  it('refuses an id or dimension too long to key, naming the field', () => {
    const long = (v: string) => () => toFacts({ id: 'l1', name: 'llm.usage', receivedAt, payload: { provider: 'openai', model: v, role: 'x', inputTokens: 1, outputTokens: 1, costUsd: 0 } });
    expect(long('m'.repeat(201))).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED', message: expect.stringMatching(/model is longer than 200/) }));
    // 200 characters of 3 bytes are 600 bytes: over the byte limit although under the character one.
    expect(long('€'.repeat(200))).toThrow(/model/);
    expect(long('m'.repeat(200))).not.toThrow();
    // PostgreSQL's text refuses these; SQLite would take them, so both kinds refuse them alike.
    expect(long('gpt\u0000')).toThrow(/model holds a NUL or an unpaired surrogate/);
    expect(long('gpt\uD800')).toThrow(/model holds a NUL/);
    expect(long('gpt-😀')).not.toThrow();
    expect(() => toFacts({ id: 'l2', name: 'session.created', receivedAt, payload: { sessionId: 's'.repeat(300), user: 'ada', status: 'creating', at: '2026-11-21T09:00:00Z' } })).toThrow(/sessionId/);
  });

  it('takes the user from the envelope when the payload has none', () => {
    const f = toFacts({ id: 'e5', name: 'shell.command.completed', user: 'ada', receivedAt, payload: { sessionId: 's1', commandId: 'c', command: 'ls', exitCode: 2, durationMs: 12, timedOut: false, seq: 3 } });
    expect(f.command).toMatchObject({ session: 's1', user: 'ada', exitCode: 2, durationMs: 12 });
  });

  it('reads session starts and ends', () => {
    expect(toFacts({ id: 'a', name: 'session.created', receivedAt, payload: { sessionId: 's1', projectId: 'p1', user: 'ada' } }).session).toEqual({ session: 's1', user: 'ada', project: 'p1', startedAtMs: receivedAt });
    expect(toFacts({ id: 'b', name: 'session.failed', receivedAt, payload: { sessionId: 's1', reason: 'x' } }).session).toMatchObject({ session: 's1', endedAtMs: receivedAt, outcome: 'failed' });
  });

  it('counts a task as completed when it becomes done, not when a done task is edited', () => {
    const t = (name: string, extra: object) => toFacts({ id: name, name, receivedAt, payload: { taskId: 't1', title: 'x', status: 'done', at: '2026-11-21T09:00:00Z', ...extra } }).task;
    expect(t('task.updated', { previousStatus: 'review' })).toMatchObject({ task: 't1' });
    expect(t('task.updated', {})).toBeUndefined();
    expect(t('task.created', {})).toMatchObject({ task: 't1' });
    expect(toFacts({ id: 'x', name: 'task.updated', receivedAt, payload: { taskId: 't1', title: 'x', status: 'review', previousStatus: 'todo', at: '2026-11-21T09:00:00Z' } }).task).toBeUndefined();
  });

  it('leaves the session log (session.event) out of session facts', () => {
    expect(toFacts({ id: 'l', name: 'session.event', receivedAt, payload: { sessionId: 's1', seq: 1, kind: 'output', data: {}, at: '2026-11-21T09:00:00Z' } }).session).toBeUndefined();
  });

  it('counts any other event by name only', () => {
    const f = toFacts({ id: 'w', name: 'workspace.prepared', receivedAt, payload: { workspaceId: 'w1', path: '/x', sourceKind: 'path' } });
    expect(f).toEqual({ eventId: 'w', name: 'workspace.prepared', atMs: receivedAt, day: Math.floor(receivedAt / 86_400_000) });
  });
});

describe('buildWrites', () => {
  it('sums usage per rollup key so each row is touched once per batch', () => {
    const usage = (id: string, session: string) =>
      toFacts({ id, name: 'llm.usage', receivedAt, payload: { provider: 'openai', model: 'gpt-5', role: 'coding', sessionId: session, inputTokens: 10, outputTokens: 1, costUsd: 0.25 } });
    const w = buildWrites([usage('1', 's1'), usage('2', 's1'), usage('3', 's2')]);
    expect(w.usage).toHaveLength(3);
    expect(w.usageDaily).toHaveLength(2);
    expect(w.usageDaily.find((r) => r.session === 's1')).toMatchObject({ calls: 2, inputTokens: 20, outputTokens: 2, costUsd: 0.5 });
    expect(w.usageWeekly).toHaveLength(2);
    expect(w.eventCounts).toEqual([{ day: Math.floor(receivedAt / 86_400_000), name: 'llm.usage', count: 3 }]);
  });

  it('gives rollup rows and sessions in key order whatever the order of the events', () => {
    const usage = (id: string, model: string) => toFacts({ id, name: 'llm.usage', receivedAt, payload: { provider: 'openai', model, role: 'r', inputTokens: 1, outputTokens: 1, costUsd: 1 } });
    const session = (id: string) => toFacts({ id, name: 'session.created', receivedAt, payload: { sessionId: id, user: 'u', status: 'creating', at: '2026-11-21T09:00:00Z' } });
    const w = buildWrites([usage('1', 'm3'), usage('2', 'm1'), usage('3', 'm2'), session('s2'), session('s1')]);
    expect(w.usageDaily.map((r) => r.model)).toEqual(['m1', 'm2', 'm3']);
    expect(w.usageWeekly.map((r) => r.model)).toEqual(['m1', 'm2', 'm3']);
    expect(w.sessions.map((s) => s.session)).toEqual(['s1', 's2']);
  });

  it('merges two changes of one session: earliest start, latest end, failed wins', () => {
    expect(mergeSession({ session: 's', endedAtMs: 9, outcome: 'failed' }, { session: 's', startedAtMs: 1, endedAtMs: 5, outcome: 'closed', user: 'u' })).toEqual({
      session: 's', user: 'u', project: undefined, startedAtMs: 1, endedAtMs: 9, outcome: 'failed',
    });
  });
});
