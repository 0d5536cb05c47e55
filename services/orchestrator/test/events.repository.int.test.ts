import type { SessionBusEventV1, SessionEventV1 } from '@codeagent/contracts';
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
    expect(await repo.since('s-1', 0, 10)).toEqual({ events: batch, hasMore: false });
    expect(await repo.maxSeq('s-1')).toBe(3);
    expect((await db.client.session.findUniqueOrThrow({ where: { id: 's-1' } })).lastSeq).toBe(3);
  });

  test('a redelivered batch is skipped; the same seq with other content is reported, the first kept', async () => {
    expect(await repo.append([output(2, 'x'.repeat(300_000) + ' “quoted” ? $1 \u00e9', '2026-01-31T23:59:59.999Z'), output(4, 'four')])).toEqual([]);
    expect(await repo.append([output(3, 'not what was stored'), output(5, 'five')])).toEqual([{ sessionId: 's-1', seq: 3 }]);
    expect((await repo.since('s-1', 2, 10)).events.map((e) => [e.seq, (e.data as { data: string }).data])).toEqual([
      [3, ''],
      [4, 'four'],
      [5, 'five'],
    ]);
    // lastSeq only rises.
    await repo.append([output(1, 'one')]);
    expect((await db.client.session.findUniqueOrThrow({ where: { id: 's-1' } })).lastSeq).toBe(5);
  });

  test('output the bus brings as bytes is stored as bytes and read back as text (UTF-8, else base64); a redelivery is compared byte for byte; retention counts the bytes', async () => {
    await db.client.session.create({
      data: { id: 's-bytes', owner: 'ann', status: 'ready', source: {}, sandbox: {}, workspacePolicy: 'shared', ownerInstance: 'o-1' },
    });
    const at = '2026-12-05T01:02:03.456Z';
    const bytes = (seq: number, data: Buffer, stream: 'stdout' | 'pty' = 'stdout'): SessionBusEventV1 => ({ sessionId: 's-bytes', seq, kind: 'output', data: { ...(stream === 'pty' ? {} : { commandId: 'c-1' }), stream, data }, at });
    const utf8 = Buffer.from('h\u00e9llo\n' + 'x'.repeat(200_000));
    const notUtf8 = Buffer.from([0, 0xff, 0x0a, 0xc3]);
    expect(await repo.append([bytes(1, utf8), bytes(2, notUtf8, 'pty'), bytes(3, Buffer.alloc(0))])).toEqual([]);
    const [raw] = await db.driver.run('SELECT data, bytes FROM session_events WHERE "sessionId" = ? AND seq = ?', ['s-bytes', 1]);
    // The bytes as they came, beside the rest of the data: not decoded, not escaped into the JSON.
    expect(JSON.parse(raw!.data as string)).toEqual({ commandId: 'c-1', stream: 'stdout' });
    expect(Buffer.from(raw!.bytes as Uint8Array).equals(utf8)).toBe(true);
    expect((await repo.since('s-bytes', 0, 10)).events).toEqual([
      { sessionId: 's-bytes', seq: 1, kind: 'output', data: { commandId: 'c-1', stream: 'stdout', data: utf8.toString('utf8') }, at },
      { sessionId: 's-bytes', seq: 2, kind: 'output', data: { stream: 'pty', data: notUtf8.toString('base64'), encoding: 'base64' }, at },
      { sessionId: 's-bytes', seq: 3, kind: 'output', data: { commandId: 'c-1', stream: 'stdout', data: '' }, at },
    ]);
    expect(await repo.append([bytes(1, Buffer.from(utf8)), bytes(2, Buffer.from([0, 0xff, 0x0a, 0xc4]), 'pty')])).toEqual([{ sessionId: 's-bytes', seq: 2 }]);
    // 200 KB of bytes in one row: over a 100 KB cap the oldest rows go, though their JSON is short.
    expect(await repo.prune({ maxBytesPerSession: 100_000 })).toBeGreaterThanOrEqual(1);
    expect((await repo.since('s-bytes', 0, 10)).events.map((e) => e.seq)).toEqual([2, 3]);
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
    expect(back.events.map((e) => e.seq)).toEqual(many.map((e) => e.seq));
    const s = await db.client.session.findUniqueOrThrow({ where: { id: 's-1' } });
    expect([s.status, s.lastSeq]).toEqual(['busy', 1_299]);
  });

  test('a page stops once its events hold maxBytes (that event included, so never empty), and says there is more', async () => {
    await db.client.session.create({
      data: { id: 's-pages', owner: 'ann', status: 'ready', source: {}, sandbox: {}, workspacePolicy: 'shared', ownerInstance: 'o-1' },
    });
    const page = (seq: number, text: string): SessionEventV1 => ({ ...output(seq, text), sessionId: 's-pages' });
    await repo.append([page(1, 'a'.repeat(100_000)), page(2, 'b'.repeat(100_000)), page(3, 'c'.repeat(100_000)), page(4, 'four')]);
    const first = await repo.since('s-pages', 0, 10, 150_000);
    expect([first.events.map((e) => e.seq), first.hasMore]).toEqual([[1, 2], true]);
    // One event larger than the bound still comes, alone.
    expect(await repo.since('s-pages', 0, 10, 10)).toMatchObject({ events: [{ seq: 1 }], hasMore: true });
    // The rest, the count bound and the last page.
    expect(await repo.since('s-pages', 2, 10, 150_000)).toMatchObject({ events: [{ seq: 3 }, { seq: 4 }], hasMore: false });
    expect(await repo.since('s-pages', 0, 3)).toMatchObject({ events: [{ seq: 1 }, { seq: 2 }, { seq: 3 }], hasMore: true });
    expect(await repo.since('s-pages', 4, 10)).toEqual({ events: [], hasMore: false });
  });
});
