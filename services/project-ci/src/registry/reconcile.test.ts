import { freePortBlock, testLogger } from '@codeagent/testing';
import { MemoryStore, RecordingModel } from '../../test/fakes';
import { Conversation } from '../conversation/conversation';
import { reconcile } from './reconcile';
import { ProjectCiRegistry } from './registry';

test('the registry ends with exactly the projects the orchestrator lists, on their ports', async () => {
  const base = await freePortBlock(50);
  const store = new MemoryStore();
  const registry = new ProjectCiRegistry({
    host: '127.0.0.1',
    portBase: base,
    maxLineBytes: 1024,
    maxClients: 10,
    closeGraceMs: 500,
    maxMissedPings: 2,
    pingTimeoutMs: 500,
    repository: store,
    conversation: new Conversation({ history: store, model: new RecordingModel(), keepMessages: 4, contextChars: 1000 }),
    log: testLogger(),
  });
  try {
    await registry.ensure({ projectId: 'gone', name: 'Gone', index: 0 });
    await registry.ensure({ projectId: 'kept', name: 'Kept', index: 1 });
    const done = await reconcile(registry, [
      { projectId: 'kept', name: 'Kept renamed', index: 1 },
      { projectId: 'missed', name: 'Missed', index: 0, provider: 'ollama' },
      { projectId: 'beyond', name: 'Beyond', index: 70_000 },
    ]);
    expect(done).toEqual({ ensured: 2, removed: 1, refused: [{ projectId: 'beyond', reason: expect.stringContaining('not a TCP port') }] });
    expect((await registry.list()).map((c) => [c.project_id, c.project_name, c.socket_port, c.status])).toEqual([
      ['missed', 'Missed', base, 'running'],
      ['kept', 'Kept renamed', base + 1, 'running'],
    ]);
    expect([...store.cis.keys()].sort()).toEqual(['kept', 'missed']);
  } finally {
    await registry.stopAll();
  }
});
