import { AppError } from '@codeagent/contracts';
import { Batcher } from './batcher';
import { Ingestor } from './ingestor';
import type { Facts } from './facts';
import type { IngestStore } from './ports';
import { buildWrites, type Writes } from './rollup';

/** A store that keeps ids in memory, like the unique key of the real one; can be told to refuse an id. */
class MemoryStore implements IngestStore {
  ids = new Set<string>();
  commits: Writes[] = [];
  refuse?: string;
  async commit(facts: readonly Facts[]) {
    if (this.refuse && facts.some((f) => f.eventId === this.refuse)) throw new Error('constraint failed');
    const fresh = new Set(facts.map((f) => f.eventId).filter((id) => !this.ids.has(id)));
    const writes = buildWrites(facts.filter((f) => fresh.has(f.eventId)));
    for (const id of fresh) this.ids.add(id);
    this.commits.push(writes);
    return { fresh, writes };
  }
}

const usage = (id: string) => ({ id, name: 'llm.usage', receivedAt: 0, payload: { provider: 'openai', model: 'gpt-5', role: 'coding', inputTokens: 1, outputTokens: 1, costUsd: 1 } });

describe('Batcher', () => {
  it('flushes when full and when the wait is over', async () => {
    const flushed: number[][] = [];
    const b = new Batcher<number>(async (items) => void flushed.push(items), { maxItems: 3, maxWaitMs: 20 });
    await Promise.all([b.add(1), b.add(2), b.add(3)]);
    expect(flushed).toEqual([[1, 2, 3]]);
    await b.add(4);
    expect(flushed).toEqual([[1, 2, 3], [4]]);
  });

  it('rejects the items of a failed flush', async () => {
    const b = new Batcher<number>(async () => Promise.reject(new Error('down')), { maxItems: 2, maxWaitMs: 5 });
    await expect(b.add(1)).rejects.toThrow('down');
  });
});

describe('Ingestor', () => {
  it('writes a batch once and counts an id seen before as nothing', async () => {
    const store = new MemoryStore();
    const committed: number[] = [];
    const ing = new Ingestor(store, { batchSize: 10, batchWaitMs: 5, onCommitted: (_w, n) => committed.push(n) });
    await Promise.all([ing.ingest(usage('a')), ing.ingest(usage('b')), ing.ingest(usage('a'))]);
    await ing.ingest(usage('b'));
    expect(store.commits.map((w) => w.usage.length)).toEqual([2, 0]);
    expect(committed).toEqual([2, 0]);
  });

  it('isolates an event the database refuses: the rest of its batch is committed', async () => {
    const store = new MemoryStore();
    store.refuse = 'bad';
    const ing = new Ingestor(store, { batchSize: 3, batchWaitMs: 5 });
    const results = await Promise.allSettled([ing.ingest(usage('x')), ing.ingest(usage('bad')), ing.ingest(usage('y'))]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const err = (results[1] as PromiseRejectedResult).reason as AppError;
    expect(err).toBeInstanceOf(AppError);
    expect(err.retryable).toBe(true);
    expect([...store.ids].sort()).toEqual(['x', 'y']);
  });
});
