import { createTestDatabase, TEST_DATABASE_KINDS, type TestDatabase } from '@codeagent/testing';
import { DbRateLimitCounter } from '../src/http/rate-limit';
import { openGatewayDatabase, type GatewayDatabase } from '../src/repositories/database';

// The shared rate-limit counter: concurrent hits from two "replicas" (two clients on one database)
// each get a distinct count, none lost; keys and windows are apart. On SQLite and PostgreSQL.
describe.each(TEST_DATABASE_KINDS)('the database rate-limit counter on %s', (kind) => {
  let tdb: TestDatabase;
  let dbs: GatewayDatabase[];
  beforeAll(async () => {
    tdb = await createTestDatabase(kind, `gw-rate-${kind}`);
    dbs = [await openGatewayDatabase({ databaseUrl: tdb.url, dataDir: tdb.dataDir })];
    dbs.push(await openGatewayDatabase({ databaseUrl: tdb.url, dataDir: tdb.dataDir }));
  });
  afterAll(async () => {
    for (const d of dbs ?? []) await d.close();
    await tdb.dispose();
  });

  test('concurrent hits on two replicas count once each', async () => {
    const [a, b] = dbs.map((d) => new DbRateLimitCounter(d.client));
    const windowMs = 3_600_000; // no boundary inside the test
    const hits = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a! : b!).hit('user:u1', windowMs)));
    expect(hits.map((h) => h.count).sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(hits.every((h) => h.resetInMs > 0 && h.resetInMs <= windowMs)).toBe(true);
    expect((await a!.hit('user:u2', windowMs)).count).toBe(1);
  });
});
