import { createTestBroker, createTestDatabase, TEST_DATABASE_KINDS, waitFor, type TestBroker, type TestDatabase } from '@codeagent/testing';
import { DbIdempotencyStore } from '../src/http/idempotency';
import { openGatewayDatabase, type GatewayDatabase } from '../src/repositories/database';
import { FakeOrchestrator } from './fake-orchestrator';
import { http, startTestGateway, type TestGateway } from './harness';

// Idempotency-Key on session create and exec, through two real team-mode gateway replicas sharing one
// PostgreSQL database (as replicas do), in front of a fake orchestrator on the real broker: a retry (on
// either replica) gets the first answer and the work is done once. The store itself is tested on SQLite
// and PostgreSQL.

describe('Idempotency-Key through two gateway replicas on one database', () => {
  let broker: TestBroker;
  let orch: FakeOrchestrator;
  let tdb: TestDatabase;
  let a: TestGateway;
  let b: TestGateway;
  let ann: string;
  let bob: string;
  const creates = () => orch.received.filter((r) => r.name === 'orchestrator.session.create').length;
  const execs = () => orch.received.filter((r) => r.name === 'shell.exec').length;

  beforeAll(async () => {
    broker = await createTestBroker('gateway-idempotency');
    orch = await FakeOrchestrator.start(broker.url);
    // Not one SQLite file: both replicas live in this process, and better-sqlite3 waits for a lock the
    // other connection holds synchronously, so the holder never gets to commit (CI saw 500s after 30 s).
    tdb = await createTestDatabase('postgres', 'gw-idem-replicas');
    const env = { GATEWAY_AUTH_MODE: 'team', GATEWAY_JWT_SECRET: 'i'.repeat(40), DATABASE_URL: tdb.url, GATEWAY_SSH_ENABLED: 'false' };
    a = await startTestGateway(broker.url, env);
    b = await startTestGateway(broker.url, env);
    const key = async (name: string) => (await a.auth!.createApiKey((await a.auth!.createUser({ name, role: 'member' })).id, 'test')).key;
    ann = await key('ann');
    bob = await key('bob');
  }, 60_000);
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await orch?.close();
    await broker?.dispose();
    await tdb?.dispose();
  });

  test('a retried create, on the other replica, returns the same session; only one was made', async () => {
    const body = { source: { path: '/srv/demo' } };
    const first = await http(a.url, 'POST', '/api/v1/sessions', { token: ann, body, headers: { 'idempotency-key': 'create-1' } });
    expect(first.status).toBe(201);
    const before = creates();
    const retry = await http(b.url, 'POST', '/api/v1/sessions', { token: ann, body, headers: { 'idempotency-key': 'create-1' } });
    expect(retry.status).toBe(201);
    expect(retry.body).toEqual(first.body);
    expect(retry.headers.get('idempotency-replayed')).toBe('true');
    expect(first.headers.get('idempotency-replayed')).toBeNull();
    expect(creates()).toBe(before);

    // The same key with another request is refused; another user's same key is theirs alone; no key: no memory.
    const other = await http(a.url, 'POST', '/api/v1/sessions', { token: ann, body: { source: { path: '/srv/other' } }, headers: { 'idempotency-key': 'create-1' } });
    expect(other).toMatchObject({ status: 422, body: { code: 'IDEMPOTENCY_KEY_REUSED' } });
    const bobs = await http(b.url, 'POST', '/api/v1/sessions', { token: bob, body, headers: { 'idempotency-key': 'create-1' } });
    expect(bobs.status).toBe(201);
    expect(bobs.body.id).not.toBe(first.body.id);
    const plain = await Promise.all([0, 1].map(() => http(a.url, 'POST', '/api/v1/sessions', { token: ann, body })));
    expect(new Set(plain.map((p) => p.body.id)).size).toBe(2);
    expect(creates()).toBe(before + 3);

    const bad = await http(a.url, 'POST', '/api/v1/sessions', { token: ann, body, headers: { 'idempotency-key': 'x'.repeat(256) } });
    expect(bad).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
  });

  test('exec: a retry while the first still runs is a retryable 409; after it, the same result; the command ran once', async () => {
    const s = await http(a.url, 'POST', '/api/v1/sessions', { token: ann, body: { source: { path: '/srv/demo' } } });
    const before = execs();
    const exec = (gw: TestGateway) => http(gw.url, 'POST', `/api/v1/sessions/${s.body.id}/exec`, { token: ann, body: { command: 'wait 1500' }, headers: { 'idempotency-key': 'run-1' } });
    const first = exec(a);
    // The first has claimed the key once its command reaches the shell.
    await waitFor('the first exec to reach the shell', () => execs() > before);
    const during = await exec(b);
    expect(during).toMatchObject({ status: 409, body: { code: 'CONFLICT', retryable: true } });
    const done = await first;
    expect(done).toMatchObject({ status: 200, body: { exitCode: 0 } });
    const after = await exec(b);
    expect(after).toMatchObject({ status: 200, body: done.body });
    expect(after.headers.get('idempotency-replayed')).toBe('true');
    expect(execs()).toBe(before + 1);
  });

  test('the OpenAPI document names the header on both operations', async () => {
    const doc = (await http(a.url, 'GET', '/docs/json')).body;
    for (const op of [doc.paths['/api/v1/sessions'].post, doc.paths['/api/v1/sessions/{id}/exec'].post]) {
      expect(op.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'Idempotency-Key', in: 'header' })]));
      expect(op.responses['422']).toBeDefined();
    }
  });
});

describe.each(TEST_DATABASE_KINDS)('the database idempotency store on %s', (kind) => {
  let tdb: TestDatabase;
  let dbs: GatewayDatabase[];
  beforeAll(async () => {
    tdb = await createTestDatabase(kind, `gw-idem-${kind}`);
    dbs = [await openGatewayDatabase({ databaseUrl: tdb.url, dataDir: tdb.dataDir }), await openGatewayDatabase({ databaseUrl: tdb.url, dataDir: tdb.dataDir })];
  });
  afterAll(async () => {
    for (const d of dbs ?? []) await d.close();
    await tdb.dispose();
  });

  test('one of many concurrent claims wins; the answer is kept; a release frees the key; an expired key is claimed anew', async () => {
    const [x, y] = dbs.map((d) => new DbIdempotencyStore(d.client));
    const claims = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? x! : y!).claim('u1 POST /r', 'k1', 'fp', 60_000)));
    expect(claims.filter((c) => c.state === 'new')).toHaveLength(1);
    expect(claims.filter((c) => c.state === 'running')).toHaveLength(9);
    await x!.complete('u1 POST /r', 'k1', { status: 201, contentType: 'application/json', body: '{"id":1}' });
    expect(await y!.claim('u1 POST /r', 'k1', 'fp', 60_000)).toEqual({ state: 'done', status: 201, contentType: 'application/json', body: '{"id":1}' });
    expect(await y!.claim('u1 POST /r', 'k1', 'other', 60_000)).toEqual({ state: 'mismatch' });

    expect((await x!.claim('u1 POST /r', 'k2', 'fp', 60_000)).state).toBe('new');
    await x!.release('u1 POST /r', 'k2');
    expect((await y!.claim('u1 POST /r', 'k2', 'fp', 60_000)).state).toBe('new');

    expect((await x!.claim('u1 POST /r', 'k3', 'fp', 1)).state).toBe('new');
    await new Promise((r) => setTimeout(r, 5));
    expect((await y!.claim('u1 POST /r', 'k3', 'fp2', 60_000)).state).toBe('new');
  });
});
