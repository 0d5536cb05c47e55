// The SQLite writer thread against a real SQLite file: commits go through it, and a thread that dies
// fails the commits waiting on it (the bus retries them) and the health check, instead of hanging.
import type { Worker } from 'node:worker_threads';
import { createTestDatabase, type TestDatabase } from '@codeagent/testing';
import { toFacts } from '../src/ingest/facts';
import { WorkerIngestStore } from '../src/repositories/worker-ingest.store';

const fact = (id: string) => toFacts({ id, name: 'llm.usage', receivedAt: Date.now(), payload: { provider: 'openai', model: 'gpt-5', role: 'coding', inputTokens: 1, outputTokens: 1, costUsd: 0.1 } });

describe('WorkerIngestStore', () => {
  let tdb: TestDatabase;
  beforeAll(async () => {
    tdb = await createTestDatabase('sqlite', 'analytics-writer');
  }, 60_000);
  afterAll(() => tdb?.dispose());

  it('commits in its thread, and reports the thread gone in commits and in check', async () => {
    const store = await WorkerIngestStore.start({ databaseUrl: tdb.url, dataDir: tdb.dataDir });
    const first = await store.commit([fact('w-1')]);
    expect([...first.fresh]).toEqual(['w-1']);
    expect(first.writes.usage).toHaveLength(1);
    expect((await store.commit([fact('w-1')])).fresh.size).toBe(0);
    expect(() => store.check()).not.toThrow();

    // The thread dies with a commit in flight (terminate stands in for a crash or running out of memory).
    const inFlight = store.commit([fact('w-2')]);
    await (store as unknown as { worker: Worker }).worker.terminate();
    // It settles either way (committed just before, or failed with the reason): it never hangs.
    const outcome = await inFlight.then(() => 'committed', (err: Error) => err.message);
    expect(outcome === 'committed' || /writer thread exited/.test(outcome)).toBe(true);
    await expect(store.commit([fact('w-3')])).rejects.toThrow(/writer thread exited/);
    expect(() => store.check()).toThrow(/writer thread exited/);
    await store.close();
  });
});
