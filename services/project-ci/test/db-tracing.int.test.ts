import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { createTestDatabase, TEST_DATABASE_KINDS, type TestDatabase } from '@codeagent/testing';
import { SpanKind, startTracing, stopTracing, withSpan } from '@codeagent/telemetry';
import { openProjectCiDatabase, type ProjectCiDatabase } from '../src/repositories/database';
import { PrismaHistoryRepository } from '../src/repositories/history.repository';

// project-ci's Prisma queries are spans like the other services' (libs/db tracing.ts): a query made
// inside a trace is a child span of it, with the database system, model and operation; one made
// outside any trace makes none. SQLite and PostgreSQL.
const exporter = new InMemorySpanExporter();
beforeAll(() => startTracing({ service: 'project-ci', spanProcessors: [new SimpleSpanProcessor(exporter)] }));
afterAll(() => stopTracing());

describe.each(TEST_DATABASE_KINDS)('project-ci query spans on %s', (kind) => {
  let tdb: TestDatabase;
  let db: ProjectCiDatabase;
  beforeAll(async () => {
    tdb = await createTestDatabase(kind, `ci-dbtrace-${kind}`);
    db = await openProjectCiDatabase({ databaseUrl: tdb.url, dataDir: tdb.dataDir });
  });
  afterAll(async () => {
    await db?.close();
    await tdb.dispose();
  });

  test('queries in a trace are its child spans; queries outside make none', async () => {
    exporter.reset();
    const history = new PrismaHistoryRepository(db.client);
    await history.count('p1');
    expect(exporter.getFinishedSpans().filter((s) => s.name.startsWith('db '))).toEqual([]);
    await withSpan('bus project-ci.chat', {}, async () => {
      await history.count('p1');
      await history.recent('p1', 10);
    });
    const spans = exporter.getFinishedSpans();
    const root = spans.find((s) => s.name === 'bus project-ci.chat')!;
    const dbSpans = spans.filter((s) => s.name.startsWith('db '));
    expect(dbSpans.map((s) => s.name)).toEqual(['db ChatMessage.count', 'db ChatMessage.findMany']);
    for (const s of dbSpans) {
      expect(s.kind).toBe(SpanKind.CLIENT);
      expect(s.spanContext().traceId).toBe(root.spanContext().traceId);
      expect(s.attributes).toMatchObject({ 'db.system': kind === 'sqlite' ? 'sqlite' : 'postgresql', 'db.collection.name': 'ChatMessage' });
    }
  });
});
