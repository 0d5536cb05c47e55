import { createTestDatabase, TEST_DATABASE_KINDS, type TestDatabase } from '@codeagent/testing';
import { openOrchestratorDatabase, type OrchestratorDatabase } from '../src/repositories/database';
import { PrismaTasksRepository } from '../src/repositories/tasks.repository';

// What keeps two replicas from syncing one TASKS.md at once, and task numbers unique under racing
// creates, on both kinds of database.
describe.each(TEST_DATABASE_KINDS)('tasks repository on %s', (kind) => {
  let tdb: TestDatabase;
  let db: OrchestratorDatabase;
  let repo: PrismaTasksRepository;
  beforeAll(async () => {
    tdb = await createTestDatabase(kind, 'orch-tasks-repo');
    db = await openOrchestratorDatabase({ databaseUrl: tdb.url, dataDir: tdb.dataDir });
    repo = new PrismaTasksRepository(db.client);
  });
  afterAll(async () => {
    await db?.close();
    await tdb.dispose();
  });

  test('the sync lease: one holder at a time, renewable by its holder, free after release, taken over once expired', async () => {
    expect(await repo.takeSyncLease('p1', 'orch-a', 60_000)).toBe(true);
    expect(await repo.takeSyncLease('p1', 'orch-b', 60_000)).toBe(false);
    expect(await repo.takeSyncLease('p2', 'orch-b', 60_000)).toBe(true); // per project
    expect(await repo.takeSyncLease('p1', 'orch-a', 60_000)).toBe(true);
    await repo.releaseSyncLease('p1', 'orch-b'); // not b's: nothing happens
    expect(await repo.takeSyncLease('p1', 'orch-b', 60_000)).toBe(false);
    await repo.releaseSyncLease('p1', 'orch-a');
    expect(await repo.takeSyncLease('p1', 'orch-b', 1)).toBe(true);
    await new Promise((r) => setTimeout(r, 20));
    expect(await repo.takeSyncLease('p1', 'orch-c', 60_000)).toBe(true); // b's expired
    expect(await repo.takeSyncLease('p1', 'orch-b', 60_000)).toBe(false);
  });

  test('racing creates get distinct, consecutive ids', async () => {
    const made = await Promise.all(Array.from({ length: 8 }, (_, i) => repo.create({ title: `t${i}`, status: 'todo', sessionIds: [], runIds: [], notes: [] })));
    expect(made.map((t) => t.id).sort((a, b) => Number(a.slice(2)) - Number(b.slice(2)))).toEqual(Array.from({ length: 8 }, (_, i) => `T-${i + 1}`));
  });
});
