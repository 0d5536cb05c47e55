import { AppError } from '@codeagent/contracts';
import { createTestDatabase, TEST_DATABASE_KINDS, type TestDatabase } from '@codeagent/testing';
import { openOrchestratorDatabase, type OrchestratorDatabase } from '../src/repositories/database';
import { PrismaProjectsRepository } from '../src/repositories/projects.repository';

// The data pattern end to end on both kinds of database: migrations applied at open, Prisma through
// the driver adapter, the lowest free index reused, JSON round-tripped, constraints enforced.
describe.each(TEST_DATABASE_KINDS)('projects repository on %s', (kind) => {
  let tdb: TestDatabase;
  let db: OrchestratorDatabase;
  let repo: PrismaProjectsRepository;
  beforeAll(async () => {
    tdb = await createTestDatabase(kind, 'orch-projects');
    db = await openOrchestratorDatabase({ databaseUrl: tdb.url, dataDir: tdb.dataDir });
    repo = new PrismaProjectsRepository(db.client);
  });
  afterAll(async () => {
    await db?.close();
    await tdb.dispose();
  });

  test('stores in the right place: its own SQLite file or the "orchestrator" schema', () => {
    if (kind === 'sqlite') expect(db.description).toBe(`sqlite:${tdb.url.slice('file:'.length)}`);
    else expect(db.description).toMatch(/#orchestrator$/);
  });

  test('create, get, list, update, delete, with the lowest free index reused', async () => {
    const settings = { agents: { coding: { provider: 'openai', model: 'gpt-4o' } }, sandbox: { network: 'none', memoryMb: 512 } };
    const a = await repo.create({ id: 'p-a', name: 'alpha', source: { kind: 'path', path: '/src/a' }, settings, owner: 'ann' });
    const b = await repo.create({ id: 'p-b', name: 'beta', source: { kind: 'empty' }, settings: {} });
    const c = await repo.create({ id: 'p-c', name: 'gamma', source: { kind: 'empty' }, settings: {} });
    expect([a.index, b.index, c.index]).toEqual([0, 1, 2]);
    expect(await repo.get('p-a')).toMatchObject({ name: 'alpha', settings, owner: 'ann', source: { kind: 'path', path: '/src/a' } });
    expect((await repo.get('p-a'))?.createdAt).toBeInstanceOf(Date);

    expect((await repo.delete('p-b'))?.index).toBe(1);
    expect(await repo.delete('p-b')).toBeUndefined();
    const d = await repo.create({ id: 'p-d', name: 'delta', source: { kind: 'empty' }, settings: {} });
    expect(d.index).toBe(1);
    expect((await repo.list()).map((p) => [p.name, p.index])).toEqual([['alpha', 0], ['delta', 1], ['gamma', 2]]);

    const renamed = await repo.update('p-c', { name: 'gamma2', settings: { x: [1, 'two', null] } });
    expect(renamed).toMatchObject({ name: 'gamma2', index: 2, settings: { x: [1, 'two', null] } });
    expect(await repo.update('nope', { name: 'x' })).toBeUndefined();
  });

  test('a taken name is a CONFLICT, on create and on rename', async () => {
    await expect(repo.create({ id: 'p-x', name: 'alpha', source: {}, settings: {} })).rejects.toMatchObject({ code: 'CONFLICT' });
    const err = await repo.update('p-d', { name: 'alpha' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('CONFLICT');
  });

  test('concurrent creations get distinct indexes', async () => {
    const made = await Promise.all(
      Array.from({ length: 8 }, (_, i) => repo.create({ id: `p-many-${i}`, name: `many-${i}`, source: {}, settings: {} })),
    );
    const all = (await repo.list()).map((p) => p.index);
    expect(new Set(all).size).toBe(all.length);
    expect(made).toHaveLength(8);
  });

  test('reopening keeps the data and does not migrate again', async () => {
    const again = await openOrchestratorDatabase({ databaseUrl: tdb.url, dataDir: tdb.dataDir });
    try {
      expect((await new PrismaProjectsRepository(again.client).get('p-a'))?.name).toBe('alpha');
      await again.ping();
    } finally {
      await again.close();
    }
  });
});
