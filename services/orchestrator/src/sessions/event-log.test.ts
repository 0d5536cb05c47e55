import type { SessionEventV1 } from '@codeagent/contracts';
import { EventLog } from './event-log';
import type { EventsRepository } from './ports';

/** The database's part, in memory: retention deletes by age as the Prisma repository does. */
class MemoryEvents implements EventsRepository {
  rows: SessionEventV1[] = [];
  async append(events: SessionEventV1[]) {
    this.rows.push(...events);
    return [];
  }
  async since(sessionId: string, since: number, limit: number) {
    const after = this.rows.filter((e) => e.sessionId === sessionId && e.seq > since);
    return { events: after.slice(0, limit), hasMore: after.length > limit };
  }
  async maxSeq(sessionId: string) {
    return Math.max(0, ...this.rows.filter((e) => e.sessionId === sessionId).map((e) => e.seq));
  }
  async prune(opts: { olderThan?: Date }) {
    const before = this.rows.length;
    if (opts.olderThan) this.rows = this.rows.filter((e) => Date.parse(e.at) >= opts.olderThan!.getTime());
    return before - this.rows.length;
  }
}

async function logWithTenEvents() {
  let now = Date.parse('2026-11-21T12:00:00.000Z');
  const clock = { now: () => new Date(now) };
  const repo = new MemoryEvents();
  // What a published event becomes once the store has it.
  const publisher = { publish: async (_name: string, e: unknown) => void (await repo.append([e as SessionEventV1])) };
  const log = new EventLog(repo, publisher, { append: async () => Promise.reject(new Error('no jail here')) }, clock);
  const session = { id: 's1', status: 'closed' as const, lastSeq: 0 };
  for (let i = 1; i <= 10; i++) {
    await log.append(session, 'note', { message: `n${i}` });
    if (i === 6) now += 2 * 86_400_000; // events 1..6 are two days older than 7..10
  }
  return { log, repo, advance: (ms: number) => (now += ms) };
}

describe('EventLog retention', () => {
  test('with no jail, events are numbered here after the highest seq seen', async () => {
    const { repo, log } = await logWithTenEvents();
    expect(repo.rows.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // Another replica (nothing given here yet) continues after what is stored.
    const other = new EventLog(repo, { publish: async (_n: string, e: unknown) => void repo.rows.push(e as SessionEventV1) }, { append: async () => 0 }, { now: () => new Date() });
    expect(await other.append({ id: 's1', status: 'failed', lastSeq: 0 }, 'note', { message: 'late' })).toBe(11);
    // An event the broker did not take gives its seq back: the next one fills its place.
    let refuse = true;
    const flaky = new EventLog(repo, { publish: async () => (refuse ? Promise.reject(new Error('broker unreachable')) : undefined) }, { append: async () => 0 }, { now: () => new Date() });
    flaky.jailClosed('s1', 20);
    await expect(flaky.append({ id: 's1', status: 'closed', lastSeq: 0 }, 'note', { message: 'lost' })).rejects.toThrow('broker unreachable');
    refuse = false;
    expect(await flaky.append({ id: 's1', status: 'closed', lastSeq: 0 }, 'note', { message: 'next' })).toBe(21);
    log.jailClosed('s1', 40);
    expect(await log.append({ id: 's1', status: 'closed', lastSeq: 0 }, 'note', { message: 'after a jail' })).toBe(41);
  });

  test('a replay of what retention removed starts with a pruned marker naming the range, then the rest in order', async () => {
    const { log } = await logWithTenEvents();
    expect(await log.prune({ maxAgeMs: 86_400_000, maxBytesPerSession: 0 })).toBe(6);
    const page = await log.since('s1', 0, 100, 10);
    expect(page.events[0]).toMatchObject({ seq: 6, kind: 'pruned', data: { from: 1, to: 6, reason: 'retention' } });
    expect(page.events.slice(1).map((e) => e.seq)).toEqual([7, 8, 9, 10]);
    expect(page.hasMore).toBe(false);
  });

  test('a replay from after the pruned range has no marker; one from inside it names only what it missed', async () => {
    const { log } = await logWithTenEvents();
    await log.prune({ maxAgeMs: 86_400_000, maxBytesPerSession: 0 });
    expect((await log.since('s1', 6, 100, 10)).events.map((e) => e.kind)).toEqual(['note', 'note', 'note', 'note']);
    expect((await log.since('s1', 3, 100, 10)).events[0]).toMatchObject({ kind: 'pruned', seq: 6, data: { from: 4, to: 6 } });
  });

  test('everything pruned: the marker covers up to the session’s last seq', async () => {
    const { log, advance } = await logWithTenEvents();
    advance(10 * 86_400_000);
    await log.prune({ maxAgeMs: 86_400_000, maxBytesPerSession: 0 });
    const page = await log.since('s1', 2, 100, 10);
    expect(page.events).toEqual([expect.objectContaining({ kind: 'pruned', seq: 10, data: { from: 3, to: 10, reason: 'retention' } })]);
    expect((await log.since('s1', 10, 100, 10)).events).toEqual([]);
  });

  test('a batch stored between the read of the events and the read of the last seq is no pruning: the replay gets it, no marker', async () => {
    const { log, repo } = await logWithTenEvents();
    const note = (seq: number): SessionEventV1 => ({ sessionId: 's1', seq, kind: 'note', data: { message: `n${seq}` }, at: '2026-11-21T12:00:00.000Z' });
    // The store commits 11..12 right after the replay's first read found nothing after 10.
    const read = repo.since.bind(repo);
    let reads = 0;
    repo.since = async (...args) => {
      const rows = await read(...args);
      if (reads++ === 0) await repo.append([note(11), note(12)]);
      return rows;
    };
    const page = await log.since('s1', 10, 100, 10);
    expect(page.events.map((e) => [e.seq, e.kind])).toEqual([
      [11, 'note'],
      [12, 'note'],
    ]);
  });
});
