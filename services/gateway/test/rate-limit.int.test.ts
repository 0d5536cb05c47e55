import { createTestDatabase, TEST_DATABASE_KINDS, type TestDatabase } from '@codeagent/testing';
import { DbRateLimitCounter, MemoryRateLimitCounter, type RateLimitCounter } from '../src/http/rate-limit';
import { openGatewayDatabase, type GatewayDatabase } from '../src/repositories/database';

// The shared rate-limit counter: concurrent hits from two "replicas" (two clients on one database)
// each get a distinct count, none lost; keys and windows are apart; the window slides. On SQLite and
// PostgreSQL, and the in-memory counter beside them.
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

  test('the window slides: hits late in one minute still count early in the next, less as it goes', async () => {
    await slides((now) => new DbRateLimitCounter(dbs[0]!.client, now));
  });
});

test('the in-memory counter slides the same way', async () => {
  await slides((now) => new MemoryRateLimitCounter(now));
});

/** Ten hits at 0:54 of a minute; the fixed-window count at 1:06 would be 1 (ten more would pass). */
async function slides(counterWith: (now: () => number) => RateLimitCounter): Promise<void> {
  const minute = 60_000;
  const start = 28_333_334 * minute; // a minute's start, in 2023: nothing of the other tests' windows
  let t = start + 0.9 * minute;
  const counter = counterWith(() => t);
  for (let i = 1; i <= 10; i++) expect((await counter.hit('user:slide', minute)).count).toBe(i);
  t = start + 1.1 * minute;
  expect(await counter.hit('user:slide', minute)).toEqual({ count: 1 + 9, resetInMs: 0.9 * minute });
  t = start + 1.5 * minute;
  expect((await counter.hit('user:slide', minute)).count).toBe(2 + 5);
  // A minute later the first one's hits are gone; the second's two count for what the window still covers.
  t = start + 2.75 * minute;
  expect((await counter.hit('user:slide', minute)).count).toBe(1 + Math.floor(2 * 0.25));
  // A silent minute between: nothing carried.
  t = start + 4.1 * minute;
  expect((await counter.hit('user:slide', minute)).count).toBe(1);
}
