import type { SessionEventV1 } from '@codeagent/contracts';
import { createTestDatabase, TEST_DATABASE_KINDS, type TestDatabase } from '@codeagent/testing';
import { openOrchestratorDatabase, type OrchestratorDatabase } from '../src/repositories/database';
import { PrismaEventsRepository } from '../src/repositories/events.repository';

// The session log on both kinds of database: written with plain SQL through the driver, read back
// through Prisma, so the two must agree on every column (a DateTime above all).
describe.each(TEST_DATABASE_KINDS)('events repository on %s', (kind) => {
  let tdb: TestDatabase;
  let db: OrchestratorDatabase;
  let repo: PrismaEventsRepository;
  beforeAll(async () => {
    tdb = await createTestDatabase(kind, 'orch-events');
    db = await openOrchestratorDatabase({ databaseUrl: tdb.url, dataDir: tdb.dataDir });
    repo = new PrismaEventsRepository(db.client, db.driver);
    await db.client.session.create({
      data: { id: 's-1', owner: 'ann', status: 'ready', source: {}, sandbox: {}, workspacePolicy: 'shared', ownerInstance: 'o-1' },
    });
  });
  afterAll(async () => {
    await db?.close();
    await tdb.dispose();
  });

  const output = (seq: number, text: string, at = '2026-12-05T01:02:03.456Z'): SessionEventV1 => ({
    sessionId: 's-1',
    seq,
    kind: 'output',
    data: { commandId: 'c-1', stream: 'stdout', data: text },
    at,
  });

  test('stores a batch that Prisma reads back as it was given, and raises the session lastSeq', async () => {
    const big = 'x'.repeat(300_000) + ' “quoted” ? $1 \u00e9';
    const batch = [output(1, 'one'), output(2, big, '2026-01-31T23:59:59.999Z'), output(3, '')];
    expect(await repo.append(batch)).toEqual([]);
    expect(await repo.since('s-1', 0, 10)).toEqual(batch);
    expect(await repo.maxSeq('s-1')).toBe(3);
    expect((await db.client.session.findUniqueOrThrow({ where: { id: 's-1' } })).lastSeq).toBe(3);
  });

  test('a redelivered batch is skipped; the same seq with other content is reported, the first kept', async () => {
    expect(await repo.append([output(2, 'x'.repeat(300_000) + ' “quoted” ? $1 \u00e9', '2026-01-31T23:59:59.999Z'), output(4, 'four')])).toEqual([]);
    expect(await repo.append([output(3, 'not what was stored'), output(5, 'five')])).toEqual([{ sessionId: 's-1', seq: 3 }]);
    expect((await repo.since('s-1', 2, 10)).map((e) => [e.seq, (e.data as { data: string }).data])).toEqual([
      [3, ''],
      [4, 'four'],
      [5, 'five'],
    ]);
    // lastSeq only rises.
    await repo.append([output(1, 'one')]);
    expect((await db.client.session.findUniqueOrThrow({ where: { id: 's-1' } })).lastSeq).toBe(5);
  });

  test('a batch larger than one INSERT is stored whole, in one transaction with Prisma writing beside it', async () => {
    const many = Array.from({ length: 1_200 }, (_, i) => output(100 + i, `line ${i}`));
    const [clashes] = await Promise.all([
      repo.append(many),
      // Prisma's own transaction on the same database meanwhile: each waits its turn.
      db.client.$transaction([db.client.session.update({ where: { id: 's-1' }, data: { status: 'busy' } })]),
    ]);
    expect(clashes).toEqual([]);
    const back = await repo.since('s-1', 99, 2_000);
    expect(back.map((e) => e.seq)).toEqual(many.map((e) => e.seq));
    const s = await db.client.session.findUniqueOrThrow({ where: { id: 's-1' } });
    expect([s.status, s.lastSeq]).toEqual(['busy', 1_299]);
  });
});
