import { createTestDatabase, TEST_DATABASE_KINDS, type TestDatabase } from '@codeagent/testing';
import { openProjectCiDatabase, type ProjectCiDatabase } from '../src/repositories/database';
import { PrismaHistoryRepository } from '../src/repositories/history.repository';
import { PrismaRegistryRepository } from '../src/repositories/registry.repository';

// The registry and the conversations on both kinds of database, through the real Prisma client.
describe.each(TEST_DATABASE_KINDS)('project-ci repositories on %s', (kind) => {
  let tdb: TestDatabase;
  let db: ProjectCiDatabase;
  beforeAll(async () => {
    tdb = await createTestDatabase(kind, 'project-ci');
    db = await openProjectCiDatabase({ databaseUrl: tdb.url, dataDir: tdb.dataDir });
  });
  afterAll(async () => {
    await db?.close();
    await tdb.dispose();
  });

  test('its own place: a SQLite file or the "project_ci" schema', () => {
    if (kind === 'postgres') expect(db.description).toMatch(/#project_ci$/);
    else expect(db.description).toMatch(/^sqlite:/);
  });

  test('registry rows are saved, updated, listed oldest first and removed with their history', async () => {
    const registry = new PrismaRegistryRepository(db.client);
    const history = new PrismaHistoryRepository(db.client);
    await registry.save({ projectId: 'b', name: 'B', index: 1, port: 42101, createdAt: '2026-01-02T00:00:00.000Z' });
    await registry.save({ projectId: 'a', name: 'A', index: 0, port: 42100, provider: 'ollama', model: 'llama3.3:70b', createdAt: '2026-01-01T00:00:00.000Z' });
    await registry.save({ projectId: 'b', name: 'B2', index: 1, port: 42101, createdAt: '2026-01-02T00:00:00.000Z' });
    expect(await registry.all()).toEqual([
      { projectId: 'a', name: 'A', index: 0, port: 42100, provider: 'ollama', model: 'llama3.3:70b', createdAt: '2026-01-01T00:00:00.000Z' },
      { projectId: 'b', name: 'B2', index: 1, port: 42101, createdAt: '2026-01-02T00:00:00.000Z' },
    ]);
    await history.append('b', [{ role: 'user', content: 'hi', via: 'bus', at: '2026-01-03T00:00:00.000Z' }], 10);
    await registry.remove('b');
    expect((await registry.all()).map((r) => r.projectId)).toEqual(['a']);
    expect(await history.count('b')).toBe(0);
  });

  test('history keeps the newest N in order, per project, long messages whole', async () => {
    const history = new PrismaHistoryRepository(db.client);
    const big = 'z'.repeat(200 * 1024);
    for (let i = 0; i < 5; i++) {
      await history.append(
        'p',
        [
          { role: 'user', content: `q${i}`, via: 'socket', at: new Date().toISOString() },
          { role: 'assistant', content: i === 4 ? big : `a${i}`, via: 'socket', at: new Date().toISOString() },
        ],
        4,
      );
    }
    await history.append('other', [{ role: 'user', content: 'elsewhere', via: 'bus', at: new Date().toISOString() }], 4);
    const kept = await history.recent('p', 100);
    expect(kept.map((e) => (e.content === big ? 'BIG' : e.content))).toEqual(['q3', 'a3', 'q4', 'BIG']);
    expect((await history.recent('p', 1))[0]!.content).toHaveLength(big.length);
    expect(await history.count('p')).toBe(4);
    await history.clear('p');
    expect(await history.count('p')).toBe(0);
    expect(await history.count('other')).toBe(1);
  });
});
