import { createTestDatabase, TEST_DATABASE_KINDS, type TestDatabase } from '@codeagent/testing';
import { POOL_OWNER, type SessionRecord } from '../src/sessions/session';
import { openOrchestratorDatabase, type OrchestratorDatabase } from '../src/repositories/database';
import { PrismaSessionsRepository } from '../src/repositories/sessions.repository';

// The queries the sessions repository sends straight to the driver (they run on every command and
// every create: insert, get, update and the command columns), on both kinds of database, checked
// against what Prisma reads back.
describe.each(TEST_DATABASE_KINDS)('sessions repository on %s', (kind) => {
  let tdb: TestDatabase;
  let db: OrchestratorDatabase;
  let repo: PrismaSessionsRepository;
  const session = (id: string, owner: string, status: SessionRecord['status']): SessionRecord => ({
    id,
    owner,
    status,
    source: { kind: 'empty' },
    sandbox: {},
    workspacePolicy: 'remove',
    ownerInstance: 'o-1',
    lastSeq: 7,
    createdAt: '2026-12-05T01:00:00.000Z',
    updatedAt: '2026-12-05T01:00:00.000Z',
    lastActivityAt: '2026-12-05T01:00:00.000Z',
  });
  beforeAll(async () => {
    tdb = await createTestDatabase(kind, 'orch-sessions');
    db = await openOrchestratorDatabase({ databaseUrl: tdb.url, dataDir: tdb.dataDir });
    repo = new PrismaSessionsRepository(db.client, db.driver);
    await repo.insert({ ...session('s-1', 'ann', 'ready'), shellInstanceId: 'shell-a' });
    await repo.insert(session('s-2', 'ann', 'closed'));
    await repo.insert(session('s-3', 'bob', 'idle'));
  });
  afterAll(async () => {
    await db?.close();
    await tdb.dispose();
  });

  test('writes and reads every field of a record with plain SQL the way Prisma reads it back', async () => {
    const full: SessionRecord = {
      ...session('s-full', 'cy', 'creating'),
      projectId: 'p-1',
      source: { kind: 'git', url: 'https://example.invalid/r.git', ref: 'main' },
      sandbox: { network: { allow: ['registry.npmjs.org'] }, memoryMb: 512 },
      forkedFrom: { sessionId: 's-0', snapshotId: 'snap-1' },
    };
    await repo.insert(full);
    const ready = await repo.update(
      's-full',
      { status: 'ready', workspaceId: 'ws-1', workspacePath: '/w', shellInstanceId: 'sh-1', limitsInForce: { memory: 'cgroup v1 512 MiB' }, networkInForce: { mode: 'allow', allowed: ['registry.npmjs.org'] } as never, driver: 'bubblewrap', readyAt: '2026-12-05T01:00:01.250Z' },
      { statuses: ['creating'] },
    );
    expect(ready).toMatchObject({ status: 'ready', forkedFrom: { sessionId: 's-0', snapshotId: 'snap-1' }, readyAt: '2026-12-05T01:00:01.250Z', limitsInForce: { memory: 'cgroup v1 512 MiB' } });
    // The compare-and-set: a status not expected, or another owner, changes nothing.
    expect(await repo.update('s-full', { status: 'closing' }, { statuses: ['creating'] })).toBeUndefined();
    expect(await repo.update('s-full', { status: 'closing' }, { ownerInstance: 'o-2' })).toBeUndefined();
    expect(await repo.update('s-missing', { status: 'closing' })).toBeUndefined();
    const viaPrisma = (await repo.list({ owner: 'cy', limit: 10 })).sessions;
    expect(viaPrisma).toEqual([await repo.get('s-full')]);
    expect(viaPrisma[0]).toEqual(ready);
    // The reconciler's list (plain SQL too) reads it the same.
    expect((await repo.listLive()).find((s) => s.id === 's-full')).toEqual(viaPrisma[0]);
    await repo.remove('s-full');
  });

  test('lists the live sessions, oldest first, and none that ended', async () => {
    await repo.insert({ ...session('s-4', 'ann', 'closing'), createdAt: '2026-12-05T00:59:00.000Z' });
    await repo.insert(session('s-5', 'ann', 'failed'));
    expect((await repo.listLive()).map((s) => [s.id, s.status])).toEqual([
      ['s-4', 'closing'],
      ['s-1', 'ready'],
      ['s-3', 'idle'],
    ]);
    for (const id of ['s-4', 's-5']) await repo.remove(id);
  });

  test("the idle check's candidates: this replica's ready and idle sessions quiet since before the cutoff, not the pool's", async () => {
    const quiet = '2026-12-05T00:00:00.000Z';
    await repo.insert({ ...session('q-1', 'ann', 'idle'), lastActivityAt: quiet });
    await repo.insert({ ...session('q-2', 'ann', 'ready'), lastActivityAt: '2026-12-05T00:00:01.000Z' });
    await repo.insert({ ...session('q-3', 'ann', 'busy'), lastActivityAt: quiet });
    await repo.insert({ ...session('q-4', 'ann', 'idle'), lastActivityAt: quiet, ownerInstance: 'o-2' });
    await repo.insert({ ...session('q-5', POOL_OWNER, 'ready'), lastActivityAt: quiet });
    await repo.insert({ ...session('q-6', 'ann', 'closed'), lastActivityAt: quiet });
    // s-1 and s-3 were active at 01:00, after the cutoff.
    expect((await repo.listIdle('o-1', new Date('2026-12-05T00:30:00.000Z'))).map((s) => s.id)).toEqual(['q-1', 'q-2']);
    // The cutoff is strict: a session active at the cutoff itself is not quiet since before it.
    expect((await repo.listIdle('o-1', new Date('2026-12-05T00:00:01.000Z'))).map((s) => s.id)).toEqual(['q-1']);
    expect((await repo.listIdle('o-1', new Date('2026-12-05T02:00:00.000Z'))).map((s) => s.id)).toEqual(['q-1', 'q-2', 's-1', 's-3']);
    for (const id of ['q-1', 'q-2', 'q-3', 'q-4', 'q-5', 'q-6']) await repo.remove(id);
  });

  test('counts live sessions, overall and per owner', async () => {
    expect(await repo.countLive()).toBe(2);
    expect(await repo.countLive('ann')).toBe(1);
    expect(await repo.countLive('nobody')).toBe(0);
  });

  test("the warm pool's sessions: counted by no limit, in no list, found by the replica that holds them, given once", async () => {
    await repo.insert(session('p-1', POOL_OWNER, 'ready'));
    await repo.insert({ ...session('p-2', POOL_OWNER, 'ready'), ownerInstance: 'o-2' });
    await repo.insert(session('p-3', POOL_OWNER, 'creating'));
    expect(await repo.countLive()).toBe(2);
    expect((await repo.list({ limit: 100 })).sessions.map((s) => s.id).sort()).toEqual(['s-1', 's-2', 's-3']);
    expect((await repo.list({ owner: POOL_OWNER, limit: 100 })).sessions).toEqual([]);
    expect((await repo.listPooled('o-1')).map((s) => s.id)).toEqual(['p-1']);
    // Given: a compare-and-set on the pool's owner, which only the first of two takers wins.
    expect(await repo.update('p-1', { owner: 'cy' }, { owner: POOL_OWNER, statuses: ['ready'] })).toMatchObject({ owner: 'cy' });
    expect(await repo.update('p-1', { owner: 'dee' }, { owner: POOL_OWNER, statuses: ['ready'] })).toBeUndefined();
    expect(await repo.listPooled('o-1')).toEqual([]);
    expect(await repo.countLive()).toBe(3);
    for (const id of ['p-1', 'p-2', 'p-3']) await repo.remove(id);
  });

  test('reads the command columns of a session, and nothing of one that does not exist', async () => {
    expect(await repo.commandState('s-1')).toEqual({ id: 's-1', status: 'ready' });
    expect(await repo.commandState('nope')).toBeUndefined();
  });

  test('sets the command columns only while status and running command are as read', async () => {
    const at = '2026-12-05T02:03:04.567Z';
    expect(await repo.setCommandState('s-1', { status: 'ready', runningCommandId: null }, { status: 'busy', runningCommandId: 'c-1', lastActivityAt: at })).toBe(true);
    // Another writer's view is stale now: on status, on the running command, or both.
    expect(await repo.setCommandState('s-1', { status: 'ready', runningCommandId: null }, { status: 'busy', runningCommandId: 'c-2', lastActivityAt: at })).toBe(false);
    expect(await repo.setCommandState('s-1', { status: 'busy', runningCommandId: 'c-0' }, { status: 'idle', runningCommandId: null, lastActivityAt: at })).toBe(false);
    expect(await repo.commandState('s-1')).toMatchObject({ status: 'busy', runningCommandId: 'c-1' });
    expect(await repo.setCommandState('s-1', { status: 'busy', runningCommandId: 'c-1' }, { status: 'idle', runningCommandId: null, lastCompletedCommandId: 'c-1', lastActivityAt: at })).toBe(true);
    const back = await repo.get('s-1');
    expect(back).toMatchObject({ status: 'idle', lastCompletedCommandId: 'c-1', lastActivityAt: at });
    expect(back?.runningCommandId).toBeUndefined();
    expect(back!.updatedAt > '2026-12-05T01:00:00.000Z').toBe(true);
  });
});
