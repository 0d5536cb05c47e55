import type { SessionEventV1 } from '@codeagent/contracts';
import { testLogger } from '@codeagent/testing';
import { EventStore } from './event-store';
import type { EventsRepository } from './ports';

// The batching and retry rules with an in-memory repository; the real database's idempotence and
// the single active consumer are covered by test/event-store.int.test.ts.

class FlakyEvents implements EventsRepository {
  batches: SessionEventV1[][] = [];
  failNext = 0;
  async append(events: SessionEventV1[]) {
    if (this.failNext > 0) {
      this.failNext -= 1;
      throw new Error('database unreachable');
    }
    this.batches.push(events);
    return [];
  }
  async since() {
    return { events: [], hasMore: false };
  }
  async maxSeq() {
    return 0;
  }
  async prune() {
    return 0;
  }
}

const note = (seq: number): SessionEventV1 => ({ sessionId: 's1', seq, kind: 'note', data: { message: `n${seq}` }, at: '2026-12-04T00:00:00.000Z' });

test('events are stored in batches, each acknowledged only once its batch is in the database', async () => {
  const repo = new FlakyEvents();
  const store = new EventStore(repo, { flushMs: 60_000, flushBatch: 3, flushBytes: 1 << 20 }, testLogger());
  const stored: number[] = [];
  const pending = [1, 2, 3, 4, 5].map((seq) => store.store(note(seq)).then(() => stored.push(seq)));
  await Promise.all(pending.slice(0, 3));
  // A full batch is written at once; the two after it wait for the next (or the timer).
  expect(repo.batches.map((b) => b.map((e) => e.seq))).toEqual([[1, 2, 3]]);
  expect(stored).toEqual([1, 2, 3]);
  store.stop();
});

test('a batch the database refuses is retried in place: later batches wait behind it, in order', async () => {
  const repo = new FlakyEvents();
  repo.failNext = 2;
  const store = new EventStore(repo, { flushMs: 1, flushBatch: 2, flushBytes: 1 << 20 }, testLogger());
  await Promise.all([1, 2, 3, 4, 5].map((seq) => store.store(note(seq))));
  expect(repo.batches.flat().map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
  expect(repo.batches[0]!.map((e) => e.seq)).toEqual([1, 2]);
  store.stop();
});

test('each stored batch is told to onStored in log order; its failure is logged and does not hold the acks', async () => {
  const repo = new FlakyEvents();
  const told: number[][] = [];
  let fail = true;
  const store = new EventStore(repo, { flushMs: 1, flushBatch: 2, flushBytes: 1 << 20 }, testLogger(), async (events) => {
    told.push(events.map((e) => e.seq));
    if (fail) {
      fail = false;
      throw new Error('the session row is locked');
    }
  });
  await Promise.all([1, 2, 3, 4].map((seq) => store.store(note(seq))));
  expect(told).toEqual([
    [1, 2],
    [3, 4],
  ]);
  expect(repo.batches.flat().map((e) => e.seq)).toEqual([1, 2, 3, 4]);
  store.stop();
});
