import path from 'node:path';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { PrismaBetterSQLite3 } from '@prisma/adapter-better-sqlite3';
import { Pool } from 'pg';
import { createTestDatabase, TEST_DATABASE_KINDS, type TestDatabase } from '@codeagent/testing';
import { SpanKind, SpanStatusCode, startTracing, stopTracing, withSpan } from '@codeagent/telemetry';
import { postgresRunner, sqliteRunner, withStatementSpans, type SqliteAdapter, type SqlRunner } from '../src/sql';

// The plain-SQL runners' spans: a statement or a transaction made inside a trace is one CLIENT span
// of it (db.system, the statement's operation; never its SQL text or bound values), a failed one
// carries its error, and one made outside any trace makes none. SQLite and PostgreSQL.
const exporter = new InMemorySpanExporter();
beforeAll(() => startTracing({ service: 'db-test', spanProcessors: [new SimpleSpanProcessor(exporter)] }));
afterAll(() => stopTracing());

const SECRET = 'bound-value-never-on-a-span';

describe.each(TEST_DATABASE_KINDS)('plain SQL spans on %s', (kind) => {
  let tdb: TestDatabase;
  let runner: SqlRunner;
  let close: () => Promise<void>;
  const system = kind === 'sqlite' ? 'sqlite' : 'postgresql';
  const DUPLICATE_KEY = kind === 'sqlite' ? 'SQLITE_CONSTRAINT_PRIMARYKEY' : '23505';
  beforeAll(async () => {
    tdb = await createTestDatabase(kind, `sql-spans-${kind}`);
    if (kind === 'sqlite') {
      const adapter = (await new PrismaBetterSQLite3({ url: path.join(tdb.dataDir, 'spans.db') }).connect()) as unknown as SqliteAdapter & { dispose(): Promise<void> };
      runner = withStatementSpans('sqlite', sqliteRunner(() => adapter));
      close = () => adapter.dispose();
    } else {
      const pool = new Pool({ connectionString: tdb.url, max: 2 });
      runner = withStatementSpans('postgresql', postgresRunner(pool));
      close = () => pool.end();
    }
    await runner.run('CREATE TABLE things (id TEXT PRIMARY KEY, label TEXT)');
  });
  afterAll(async () => {
    await close?.();
    await tdb.dispose();
  });

  test('one span per statement and per transaction inside a trace; none outside', async () => {
    exporter.reset();
    await runner.run('SELECT COUNT(*) AS n FROM things');
    await runner.transaction(async (run) => run('INSERT INTO things (id, label) VALUES (?, ?)', ['outside', 'x']));
    expect(exporter.getFinishedSpans()).toEqual([]);

    await withSpan('POST /api/v1/sessions/:id/exec', {}, async () => {
      await runner.run('INSERT INTO things (id, label) VALUES (?, ?)', ['a', SECRET]);
      await runner.run(`
        SELECT label FROM things WHERE id = ?`, ['a']);
      await runner.transaction(async (run) => {
        await run('INSERT INTO things (id, label) VALUES (?, ?)', ['b', SECRET]);
        await run('UPDATE things SET label = ? WHERE id = ?', [SECRET, 'a']);
      });
      // The driver's own error, matched by its code and not with toThrow(): better-sqlite3's native addon
      // is loaded once per jest worker and keeps the SqliteError class of the first test file that opened
      // it, so in a later file its errors are no `instanceof Error` of this file's realm, and toThrow()
      // takes the rejection for "did not throw".
      await expect(runner.run('INSERT INTO things (id, label) VALUES (?, ?)', ['a', SECRET])).rejects.toMatchObject({ code: DUPLICATE_KEY });
      await expect(
        runner.transaction(async (run) => {
          await run('UPDATE things SET label = ? WHERE id = ?', ['rolled back', 'b']);
          throw new Error('changed my mind');
        }),
      ).rejects.toThrow('changed my mind');
    });

    const spans = exporter.getFinishedSpans();
    const root = spans.find((s) => s.name === 'POST /api/v1/sessions/:id/exec')!;
    const db = spans.filter((s) => s !== root);
    expect(db.map((s) => s.name)).toEqual(['db INSERT', 'db SELECT', 'db transaction', 'db INSERT', 'db transaction']);
    expect(db.map((s) => s.status.code)).toEqual([SpanStatusCode.UNSET, SpanStatusCode.UNSET, SpanStatusCode.UNSET, SpanStatusCode.ERROR, SpanStatusCode.ERROR]);
    for (const s of db) {
      expect(s.kind).toBe(SpanKind.CLIENT);
      expect(s.spanContext().traceId).toBe(root.spanContext().traceId);
      expect(s.attributes).toEqual({ 'db.system': system, 'db.operation.name': s.name.slice(3) });
      expect(JSON.stringify([s.name, s.attributes, s.events])).not.toContain(SECRET);
    }
    // The work itself is unchanged: the failed transaction was rolled back.
    expect(await runner.run('SELECT id, label FROM things ORDER BY id')).toEqual([
      { id: 'a', label: SECRET },
      { id: 'b', label: SECRET },
      { id: 'outside', label: 'x' },
    ]);
  });
});
