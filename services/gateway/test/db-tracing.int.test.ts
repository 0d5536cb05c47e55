import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { createTestDatabase, TEST_DATABASE_KINDS, type TestDatabase } from '@codeagent/testing';
import { SpanKind, startTracing, stopTracing, withSpan } from '@codeagent/telemetry';
import { openGatewayDatabase, type GatewayDatabase } from '../src/repositories/database';
import { PrismaAuthRepository } from '../src/repositories/prisma-auth.repository';

// Database spans (libs/db, tracing.ts): a query made inside a trace is a child span of it, with the
// database system, model and operation; one made outside any trace makes none. SQLite and PostgreSQL.
const exporter = new InMemorySpanExporter();
beforeAll(() => startTracing({ service: 'gateway', spanProcessors: [new SimpleSpanProcessor(exporter)] }));
afterAll(() => stopTracing());

describe.each(TEST_DATABASE_KINDS)('query spans on %s', (kind) => {
  let tdb: TestDatabase;
  let db: GatewayDatabase;
  beforeAll(async () => {
    tdb = await createTestDatabase(kind, `gw-dbtrace-${kind}`);
    db = await openGatewayDatabase({ databaseUrl: tdb.url, dataDir: tdb.dataDir });
  });
  afterAll(async () => {
    await db?.close();
    await tdb.dispose();
  });

  test('queries in a trace are its child spans; queries outside make none', async () => {
    exporter.reset();
    const repo = new PrismaAuthRepository(db.client);
    await repo.listUsers();
    expect(exporter.getFinishedSpans().filter((s) => s.name.startsWith('db '))).toEqual([]);
    await withSpan('GET /api/v1/users', {}, async () => {
      await repo.createUser({ name: `u-${kind}`, role: 'member' });
      await repo.findUserByName(`u-${kind}`);
    });
    const spans = exporter.getFinishedSpans();
    const root = spans.find((s) => s.name === 'GET /api/v1/users')!;
    const dbSpans = spans.filter((s) => s.name.startsWith('db '));
    expect(dbSpans.map((s) => s.name)).toEqual(['db User.create', 'db User.findUnique']);
    for (const s of dbSpans) {
      expect(s.kind).toBe(SpanKind.CLIENT);
      expect(s.spanContext().traceId).toBe(root.spanContext().traceId);
      expect(s.attributes).toMatchObject({ 'db.system': kind === 'sqlite' ? 'sqlite' : 'postgresql', 'db.collection.name': 'User' });
    }
  });
});
