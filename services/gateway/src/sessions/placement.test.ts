import { AppError, type SessionEventV1 } from '@codeagent/contracts';
import { waitFor } from '@codeagent/testing';
import { LOCAL_PRINCIPAL } from '../auth/principal';
import type { ServiceClient } from '../http/bus-call';
import { SessionPlacements } from './placement';

// The cache's rules with a stand-in for the orchestrator (its real use is covered by the gateway's
// int tests and the e2e tests): one read per session, status events applied, a read again past the
// TTL (behind a stale answer), bounded.

function setup(opts: { ttlMs?: number; maxEntries?: number } = {}) {
  let now = 0;
  const reads: string[] = [];
  /** What the orchestrator answers next: fields over the default session, or an error. */
  const t = { answer: {} as Record<string, unknown> | Error };
  const services = {
    call: async (_name: string, p: { sessionId: string }) => {
      reads.push(p.sessionId);
      if (t.answer instanceof Error) throw t.answer;
      return { id: p.sessionId, owner: 'ann', status: 'ready', shellInstanceId: 'shell-1', ...t.answer };
    },
  } as unknown as ServiceClient;
  const placements = new SessionPlacements(services, { ttlMs: opts.ttlMs ?? 1000, maxEntries: opts.maxEntries ?? 10, now: () => now });
  return Object.assign(t, { placements, reads, advance: (ms: number) => (now += ms) });
}

const status = (sessionId: string, to: 'closed' | 'busy'): SessionEventV1 =>
  ({ sessionId, seq: 5, kind: 'status', data: { from: 'idle', to }, at: new Date(0).toISOString() }) as SessionEventV1;

test('a placement is read once, then served from memory; past the TTL it is served at once and read again behind it', async () => {
  const t = setup({ ttlMs: 1000 });
  expect(await t.placements.get('s1', LOCAL_PRINCIPAL)).toMatchObject({ owner: 'ann', status: 'ready', shellInstanceId: 'shell-1' });
  await t.placements.get('s1', LOCAL_PRINCIPAL);
  expect(t.reads).toEqual(['s1']);
  t.advance(1000);
  t.answer = { shellInstanceId: 'shell-2' };
  // The stale entry answers; the read it starts (one, however many ask meanwhile) replaces it.
  const both = await Promise.all([t.placements.get('s1', LOCAL_PRINCIPAL), t.placements.get('s1', LOCAL_PRINCIPAL)]);
  expect(both.map((p) => p.shellInstanceId)).toEqual(['shell-1', 'shell-1']);
  await waitFor('the background read', async () => (await t.placements.get('s1', LOCAL_PRINCIPAL)).shellInstanceId === 'shell-2');
  expect(t.reads).toEqual(['s1', 's1']);
});

test('a stale session the orchestrator no longer knows is forgotten by its background read; other failures keep it', async () => {
  const t = setup({ ttlMs: 1000 });
  await t.placements.get('s1', LOCAL_PRINCIPAL);
  t.advance(1000);
  t.answer = new Error('broker unreachable');
  await t.placements.get('s1', LOCAL_PRINCIPAL);
  await waitFor('the failed read to end', () => t.reads.length === 2);
  await new Promise((r) => setImmediate(r));
  expect(t.placements.size).toBe(1);
  t.answer = new AppError('NOT_FOUND', 'no session s1');
  await t.placements.get('s1', LOCAL_PRINCIPAL);
  await waitFor('the session to be forgotten', () => t.placements.size === 0);
  await expect(t.placements.get('s1', LOCAL_PRINCIPAL)).rejects.toMatchObject({ code: 'NOT_FOUND' });
});

test("a status event changes the cached state (a closed session is known closed without a read); others' events change nothing", async () => {
  const t = setup();
  await t.placements.get('s1', LOCAL_PRINCIPAL);
  t.placements.observe(status('s2', 'closed'));
  t.placements.observe(status('s1', 'closed'));
  expect((await t.placements.get('s1', LOCAL_PRINCIPAL)).status).toBe('closed');
  expect(t.reads).toEqual(['s1']);
  expect(t.placements.size).toBe(1);
});

test('forget and forgetAll make the next use read again; the cache keeps at most maxEntries', async () => {
  const t = setup({ maxEntries: 2 });
  for (const id of ['a', 'b', 'c']) await t.placements.get(id, LOCAL_PRINCIPAL);
  expect(t.placements.size).toBe(2);
  await t.placements.get('a', LOCAL_PRINCIPAL); // the oldest went
  t.placements.forget('c');
  await t.placements.get('c', LOCAL_PRINCIPAL);
  t.placements.forgetAll();
  expect(t.placements.size).toBe(0);
  expect(t.reads).toEqual(['a', 'b', 'c', 'a', 'c']);
});
