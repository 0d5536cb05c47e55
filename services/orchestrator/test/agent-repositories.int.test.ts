import type { AgentRunV1 } from '@codeagent/contracts';
import { createTestDatabase, TEST_DATABASE_KINDS, type TestDatabase } from '@codeagent/testing';
import { CircuitBreakers } from '../src/providers/circuit-breaker';
import { ProviderRegistry } from '../src/providers/registry';
import { createSecretBox } from '../src/providers/secret-box';
import { PrismaAgentConfigStore } from '../src/repositories/agent-config.repository';
import { PrismaAgentRunRepository } from '../src/repositories/agent-runs.repository';
import { openOrchestratorDatabase, type OrchestratorDatabase } from '../src/repositories/database';

// The agents' tables on both kinds of database: runs round-trip as JSON, provider config keeps only
// sealed keys, global and project scopes stay apart.
describe.each(TEST_DATABASE_KINDS)('agent repositories on %s', (kind) => {
  let tdb: TestDatabase;
  let db: OrchestratorDatabase;
  beforeAll(async () => {
    tdb = await createTestDatabase(kind, 'orch-agents');
    db = await openOrchestratorDatabase({ databaseUrl: tdb.url, dataDir: tdb.dataDir });
  });
  afterAll(async () => {
    await db?.close();
    await tdb.dispose();
  });

  test('runs are saved after each change and listed by session', async () => {
    const repo = new PrismaAgentRunRepository(db.client);
    const run: AgentRunV1 = {
      runId: 'r1',
      sessionId: 's1',
      projectId: 'p1',
      prompt: 'fix it',
      roles: ['coding'],
      status: 'running',
      steps: [],
      results: [],
      usage: { inputTokens: 0, outputTokens: 0 },
      costUsd: 0,
      budgetUsd: 2,
      providers: [],
      startedAt: new Date().toISOString(),
    };
    await repo.save(run);
    run.steps.push({
      index: 0, role: 'coding', provider: 'openai', model: 'gpt-4.1', text: 'hi',
      toolCalls: [{ toolCallId: 'c1', tool: 'read_file', input: { path: 'a' }, output: { content: 'x' }, durationMs: 1.5 }],
      usage: { inputTokens: 10, outputTokens: 2 }, costUsd: 0.00004, failovers: [], contextShrinks: 0, finishReason: 'tool-calls', at: new Date().toISOString(),
    });
    run.status = 'completed';
    run.endedAt = new Date().toISOString();
    await repo.save(run);
    await repo.save({ ...run, runId: 'r2', startedAt: new Date(Date.now() + 1000).toISOString() });
    expect(await repo.get('r1')).toEqual(run);
    expect(await repo.get('nope')).toBeUndefined();
    expect((await repo.listBySession('s1')).map((r) => r.runId)).toEqual(['r1', 'r2']);
  });

  test('a running run is ended once: endIfRunning is a compare-and-set, and ended runs are not listed as running', async () => {
    const repo = new PrismaAgentRunRepository(db.client);
    const run: AgentRunV1 = {
      runId: 'r-orphan', sessionId: 's2', prompt: 'fix it', roles: ['coding'], status: 'running', steps: [], results: [],
      usage: { inputTokens: 0, outputTokens: 0 }, costUsd: 0, budgetUsd: 2, providers: [], instanceId: 'orch-gone', startedAt: new Date().toISOString(),
    };
    await repo.save(run);
    expect((await repo.listRunning()).map((r) => r.runId)).toEqual(['r-orphan']);
    // Two replicas ending it at once, each with its own reason: one wins, and the record is the winner's.
    const endings = [
      { ...run, status: 'failed' as const, error: 'ended by orch-b', endedAt: new Date().toISOString() },
      { ...run, status: 'interrupted' as const, error: 'ended by orch-c', endedAt: new Date().toISOString() },
    ];
    const won = await Promise.all(endings.map((e) => repo.endIfRunning(e)));
    expect(won.filter(Boolean)).toHaveLength(1);
    expect(await repo.get('r-orphan')).toEqual(endings[won.indexOf(true)]);
    expect(await repo.listRunning()).toEqual([]);
    expect(await repo.endIfRunning(endings[0]!)).toBe(false);
    expect(await repo.endIfRunning({ ...endings[0]!, runId: 'never-saved' })).toBe(false);
    expect(await repo.get('never-saved')).toBeUndefined();
  });

  test('the registry on the database: scopes, sealed keys, role chains', async () => {
    const store = new PrismaAgentConfigStore(db.client);
    const registry = new ProviderRegistry(store, createSecretBox(Buffer.alloc(32, 9)), new CircuitBreakers());
    await registry.set({ name: 'anthropic', apiKey: 'sk-ant-global-aaaa' });
    await registry.set({ projectId: 'p1', name: 'lmstudio', kind: 'openai-compatible', baseURL: 'http://127.0.0.1:1234/v1', models: ['qwen'] });
    await registry.setRole('p1', 'review', { provider: 'anthropic', model: 'claude-sonnet-4-5', fallbacks: [{ provider: 'lmstudio', model: 'qwen' }] });
    const rows = await db.client.agentProvider.findMany();
    expect(JSON.stringify(rows)).not.toContain('sk-ant-global');
    expect(rows.find((r) => r.name === 'anthropic')).toMatchObject({ scope: '', keyHint: 'aaaa' });
    const chain = await registry.chain({ projectId: 'p1', role: 'review' });
    expect(chain.links.map((l) => l.provider)).toEqual(['anthropic', 'lmstudio']);
    expect((await registry.roles()).review.provider).toBe('anthropic');
    expect((await registry.roles('p1')).review.fallbacks).toEqual([{ provider: 'lmstudio', model: 'qwen' }]);
    expect((await store.listProviders()).map((p) => p.name)).toEqual(['anthropic']);
    expect((await store.listProviders('p1'))[0]).toMatchObject({ name: 'lmstudio', kind: 'openai-compatible', models: ['qwen'], projectId: 'p1' });
  });
});
