import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createSigner } from 'fast-jwt';
import { createTestBroker, waitFor, type TestBroker } from '@codeagent/testing';
import { AuthService } from '../src/auth/auth-service';
import { openAuthStore, type AuthStore } from '../src/repositories/auth-store';
import { TestClient } from './client';
import { FakeOrchestrator } from './fake-orchestrator';
import { http, startTestGateway, type TestGateway } from './harness';

const SECRET = 'test-secret-test-secret-test-secret-42';
let broker: TestBroker;
let orch: FakeOrchestrator;
let gw: TestGateway;
let adminKey: string;
let store: AuthStore;
const users: Record<'a' | 'b', { id: string; key: string }> = {} as never;
const clients: TestClient[] = [];

beforeAll(async () => {
  broker = await createTestBroker('gateway-auth');
  orch = await FakeOrchestrator.start(broker.url);
  gw = await startTestGateway(broker.url, { GATEWAY_AUTH_MODE: 'team', GATEWAY_JWT_SECRET: SECRET, GATEWAY_RATE_LIMIT_PER_MINUTE: '100000' });
  // The first admin is made the way the admin CLI makes it: straight into the gateway's store.
  store = await openAuthStore({ dataDir: gw.dataDir, authFile: path.join(gw.dataDir, 'gateway', 'auth.json') });
  const auth = new AuthService(store.repo, { jwtSecret: SECRET, accessTtlS: 60, refreshTtlS: 600 });
  const admin = await auth.createUser({ name: 'root', role: 'admin' });
  adminKey = (await auth.createApiKey(admin.id, 'test')).key;
  for (const name of ['a', 'b'] as const) {
    const u = await http(gw.url, 'POST', '/api/v1/users', { token: adminKey, body: { name: `user-${name}`, role: 'member', password: 'correct horse battery' } });
    expect(u.status).toBe(201);
    const k = await http(gw.url, 'POST', `/api/v1/users/${u.body.id}/api-keys`, { token: adminKey, body: { label: 'test' } });
    expect(k.status).toBe(201);
    users[name] = { id: u.body.id, key: k.body.key };
  }
}, 30_000);
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});
afterAll(async () => {
  await store?.close();
  await gw?.stop();
  await orch?.close();
  await broker?.dispose();
});

test('team mode refuses requests without a valid token (401 with the reason), except /health', async () => {
  const none = await http(gw.url, 'GET', '/api/v1/sessions');
  expect(none.status).toBe(401);
  expect(none.headers.get('content-type')).toContain('application/problem+json');
  expect(none.body.detail).toContain('missing Authorization header');
  const bad = await http(gw.url, 'GET', '/api/v1/sessions', { token: 'ca_0123456789abcdef_' + 'x'.repeat(32) });
  expect(bad.status).toBe(401);
  expect(bad.body.detail).toBe('unknown API key');
  const garbage = await http(gw.url, 'GET', '/api/v1/sessions', { token: 'not-a-jwt' });
  expect(garbage.status).toBe(401);
  // /health needs no token (it is 503 here: only the orchestrator runs).
  expect((await http(gw.url, 'GET', '/health')).status).not.toBe(401);
  // /metrics does.
  expect((await http(gw.url, 'GET', '/metrics')).status).toBe(401);
});

test('JWTs: an API key or a password gives an access token and a refresh token; refresh rotates; a refresh token is no access token', async () => {
  const t = await http(gw.url, 'POST', '/api/v1/auth/token', { body: { grantType: 'password', username: 'user-a', password: 'correct horse battery' } });
  expect(t.status).toBe(200);
  const me = await http(gw.url, 'GET', '/api/v1/auth/me', { token: t.body.accessToken });
  expect(me.body).toEqual({ userId: users.a.id, role: 'member', via: 'jwt' });
  const wrong = await http(gw.url, 'POST', '/api/v1/auth/token', { body: { grantType: 'password', username: 'user-a', password: 'nope-nope' } });
  expect(wrong.status).toBe(401);
  const viaKey = await http(gw.url, 'POST', '/api/v1/auth/token', { body: { grantType: 'api_key', apiKey: users.b.key } });
  expect(viaKey.status).toBe(200);
  const refreshed = await http(gw.url, 'POST', '/api/v1/auth/token', { body: { grantType: 'refresh_token', refreshToken: viaKey.body.refreshToken } });
  expect(refreshed.status).toBe(200);
  expect((await http(gw.url, 'GET', '/api/v1/auth/me', { token: refreshed.body.accessToken })).body.userId).toBe(users.b.id);
  // Each refresh token is used once (stored hashed in the gateway's database): a replay is refused.
  const replay = await http(gw.url, 'POST', '/api/v1/auth/token', { body: { grantType: 'refresh_token', refreshToken: viaKey.body.refreshToken } });
  expect(replay.status).toBe(401);
  expect(replay.body.detail).toContain('already used or revoked');
  expect((await http(gw.url, 'POST', '/api/v1/auth/token', { body: { grantType: 'refresh_token', refreshToken: refreshed.body.refreshToken } })).status).toBe(200);
  const misuse = await http(gw.url, 'GET', '/api/v1/auth/me', { token: viaKey.body.refreshToken });
  expect(misuse.status).toBe(401);
  expect(misuse.body.detail).toContain('refresh token');
  // A member cannot create users.
  const denied = await http(gw.url, 'POST', '/api/v1/users', { token: users.a.key, body: { name: 'evil', role: 'admin' } });
  expect(denied.status).toBe(403);
});

test('users and keys over HTTP: an admin lists users; a member lists and revokes only their own keys, and a revoked key is refused', async () => {
  const list = await http(gw.url, 'GET', '/api/v1/users', { token: adminKey });
  expect(list.status).toBe(200);
  expect(list.body.users.map((u: { name: string }) => u.name)).toEqual(expect.arrayContaining(['root', 'user-a', 'user-b']));
  expect((await http(gw.url, 'GET', '/api/v1/users', { token: users.a.key })).status).toBe(403);

  const made = await http(gw.url, 'POST', `/api/v1/users/${users.a.id}/api-keys`, { token: users.a.key, body: { label: 'laptop' } });
  expect(made.status).toBe(201);
  const keys = await http(gw.url, 'GET', `/api/v1/users/${users.a.id}/api-keys`, { token: users.a.key });
  expect(keys.body.apiKeys.map((k: { label: string }) => k.label)).toEqual(['test', 'laptop']);
  // Neither the key nor its hash ever comes back.
  expect(JSON.stringify(keys.body)).not.toMatch(/ca_|hash/);
  expect((await http(gw.url, 'GET', `/api/v1/users/${users.b.id}/api-keys`, { token: users.a.key })).status).toBe(403);

  const bKeyId = /^ca_([0-9a-f]{16})_/.exec(users.b.key)![1];
  const notYours = await http(gw.url, 'DELETE', `/api/v1/api-keys/${bKeyId}`, { token: users.a.key });
  expect(notYours.status).toBe(404);
  expect((await http(gw.url, 'GET', '/api/v1/auth/me', { token: users.b.key })).status).toBe(200);

  const revoked = await http(gw.url, 'DELETE', `/api/v1/api-keys/${made.body.id}`, { token: users.a.key });
  expect(revoked.body).toEqual({ revoked: true });
  const refused = await http(gw.url, 'GET', '/api/v1/auth/me', { token: made.body.key });
  expect(refused.status).toBe(401);
  expect(refused.body.detail).toContain('revoked');
});

test('user A can neither read nor touch user B\'s session, tasks or runs over HTTP (the gateway refuses, not the service)', async () => {
  const created = await http(gw.url, 'POST', '/api/v1/sessions', { token: users.b.key, body: { source: { path: '/tmp' } } });
  expect(created.status).toBe(201);
  const sid = created.body.id as string;
  expect(created.body.owner).toBe(users.b.id);
  const task = await http(gw.url, 'POST', '/api/v1/tasks', { token: users.b.key, body: { title: 'B task' } });
  expect(task.status).toBe(201);
  const run = await http(gw.url, 'POST', `/api/v1/sessions/${sid}/agent`, { token: users.b.key, body: { prompt: 'hi' } });
  expect(run.status).toBe(202);
  const before = orch.received.length;

  const attempts: Array<[string, string, unknown?]> = [
    ['GET', `/api/v1/sessions/${sid}`],
    ['DELETE', `/api/v1/sessions/${sid}`],
    ['POST', `/api/v1/sessions/${sid}/exec`, { command: 'echo pwned' }],
    ['POST', `/api/v1/sessions/${sid}/interrupt`],
    ['GET', `/api/v1/sessions/${sid}/events?since=0`],
    ['GET', `/api/v1/sessions/${sid}/files?path=.`],
    ['PUT', `/api/v1/sessions/${sid}/files?path=x.txt`, { content: 'x' }],
    ['POST', `/api/v1/sessions/${sid}/snapshots`, {}],
    ['GET', `/api/v1/sessions/${sid}/snapshots`],
    ['POST', `/api/v1/sessions/${sid}/fork`, {}],
    ['POST', `/api/v1/sessions/${sid}/agent`, { prompt: 'steal' }],
    ['GET', `/api/v1/tasks/${task.body.id}`],
    ['PATCH', `/api/v1/tasks/${task.body.id}`, { status: 'done' }],
    ['DELETE', `/api/v1/tasks/${task.body.id}`],
    ['POST', '/api/v1/tasks', { title: 'sneaky', sessionId: sid }],
    ['GET', `/api/v1/agent-runs/${run.body.runId}`],
    ['POST', `/api/v1/agent-runs/${run.body.runId}/interrupt`],
  ];
  for (const [method, url, body] of attempts) {
    const res = await http(gw.url, method, url, { token: users.a.key, body });
    expect({ method, url, status: res.status }).toEqual({ method, url, status: 403 });
    expect(res.body.detail).toMatch(/belongs to another user/);
  }
  // Only reads to learn the owner reached the orchestrator; nothing that acts on B's things.
  const acted = orch.received.slice(before).filter((r) => !/\.get$/.test(r.name));
  expect(acted).toEqual([]);

  const listA = await http(gw.url, 'GET', '/api/v1/sessions', { token: users.a.key });
  expect(listA.status).toBe(200);
  expect(listA.body.sessions.map((s: { id: string }) => s.id)).not.toContain(sid);
  const tasksA = await http(gw.url, 'GET', '/api/v1/tasks', { token: users.a.key });
  expect(tasksA.body.tasks.map((t: { id: string }) => t.id)).not.toContain(task.body.id);
  // B, and an admin, can.
  expect((await http(gw.url, 'GET', `/api/v1/sessions/${sid}`, { token: users.b.key })).status).toBe(200);
  expect((await http(gw.url, 'GET', `/api/v1/sessions/${sid}`, { token: adminKey })).status).toBe(200);
  expect((await http(gw.url, 'GET', `/api/v1/agent-runs/${run.body.runId}`, { token: users.b.key })).status).toBe(200);
  // Every request carried the user and the role.
  const last = orch.received.find((r) => r.name === 'orchestrator.session.create');
  expect(last?.user).toBe(users.b.id);
  expect((last?.payload as { actor?: unknown }).actor).toEqual({ userId: users.b.id, role: 'member' });
});

test('user A cannot subscribe to, exec in, type into, resize, interrupt or run agents in user B\'s session over the socket', async () => {
  const sid = orch.addSession(users.b.id);
  await orch.emit(sid, 'output', { stream: 'stdout', data: 'secret' }, { publish: false });
  const a = new TestClient(gw.url, { token: users.a.key });
  clients.push(a);
  await a.connected();
  const before = orch.received.length;
  const ids = [
    a.command('/subscribe', [], { sessionId: sid, since: 0 }),
    a.command('/exec', ['echo pwned'], { sessionId: sid }),
    a.command('/input', ['ls\n'], { sessionId: sid }),
    a.command('/resize', [80, 24], { sessionId: sid }),
    a.command('/interrupt', [], { sessionId: sid }),
    a.command('/code', ['steal it'], { sessionId: sid }),
  ];
  for (const id of ids) {
    const r = await waitFor(`reply to ${id}`, () => a.reply(id), { timeoutMs: 5_000 });
    expect(r.type).toBe('error');
    expect(r.payload.code).toBe('FORBIDDEN');
  }
  await orch.emit(sid, 'output', { stream: 'stdout', data: 'live secret' });
  const b = new TestClient(gw.url, { token: users.b.key });
  clients.push(b);
  await b.connected();
  b.command('/subscribe', [], { sessionId: sid, since: 0 });
  await waitFor('B sees its own events', () => b.messages.filter((m) => m.type === 'stream').length === 2, { timeoutMs: 5_000 });
  expect(a.messages.filter((m) => m.type === 'stream')).toEqual([]);
  expect(orch.received.slice(before).filter((r) => r.name !== 'orchestrator.session.get' && r.name !== 'orchestrator.session.events')).toEqual([]);

  const anonymous = new TestClient(gw.url);
  clients.push(anonymous);
  await expect(anonymous.connected()).rejects.toThrow(/Authorization/);
});

test('a socket authenticated with a JWT is disconnected with a reason when the token expires', async () => {
  // A key-authenticated socket has no such deadline: it lives through the same second.
  const k = new TestClient(gw.url, { token: users.a.key });
  clients.push(k);
  await k.connected();
  // Signed as the gateway signs, but to expire within a second (the configured minimum is 10 s).
  const sign = createSigner({ key: SECRET, algorithm: 'HS256', expiresIn: 1_000, iss: 'codeagent-gateway' });
  const c = new TestClient(gw.url, { token: sign({ sub: users.a.id, role: 'member', typ: 'access' }) });
  clients.push(c);
  await c.connected();
  const gone = new Promise<string>((resolve) => c.socket.once('disconnect', (reason) => resolve(reason)));
  expect(await gone).toBe('io server disconnect');
  const last = c.messages.at(-1)!;
  expect(last.type).toBe('error');
  expect(last.payload).toMatchObject({ code: 'UNAUTHENTICATED', message: expect.stringContaining('expired') });
  expect(k.socket.connected).toBe(true);
});

test('rate limits: past the limit a user gets 429 with Retry-After over HTTP and RATE_LIMITED over the socket, counted across replicas; another user is not affected', async () => {
  // Two replicas on one database of their own (counts from the other tests stay out of it).
  const dir = mkdtempSync(path.join(tmpdir(), 'gw-rate-'));
  const env = { GATEWAY_AUTH_MODE: 'team', GATEWAY_JWT_SECRET: SECRET, GATEWAY_RATE_LIMIT_PER_MINUTE: '5', DATABASE_URL: `file:${path.join(dir, 'gateway.db')}` };
  const one = await startTestGateway(broker.url, env);
  const two = await startTestGateway(broker.url, env);
  const own = await openAuthStore({ dataDir: dir, authFile: path.join(dir, 'none.json') });
  try {
    const auth = new AuthService(own.repo, { jwtSecret: SECRET, accessTtlS: 60, refreshTtlS: 600 });
    const [kA, kB] = [await auth.createUser({ name: 'rate-a', role: 'member' }), await auth.createUser({ name: 'rate-b', role: 'member' })];
    const keyA = (await auth.createApiKey(kA.id, 't')).key;
    const keyB = (await auth.createApiKey(kB.id, 't')).key;
    // A window boundary in the middle would reset the counts: start just after one.
    const intoWindow = Date.now() % 60_000;
    if (intoWindow > 55_000) await new Promise((r) => setTimeout(r, 60_500 - intoWindow));
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < 7; i++) {
      last = await http((i % 2 ? two : one).url, 'GET', '/api/v1/auth/me', { token: keyA });
      statuses.push(last.status);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(last!.headers.get('content-type')).toContain('application/problem+json');
    expect(last!.body).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    // Socket commands have a budget of their own (as each route has), counted across replicas too.
    const c = new TestClient(two.url, { token: keyA });
    const c1 = new TestClient(one.url, { token: keyA });
    clients.push(c, c1);
    await c.connected();
    await c1.connected();
    for (let i = 0; i < 5; i++) {
      const ok = (i % 2 ? c : c1).command('/subscribe', [], { sessionId: 'ses_any' });
      const answer = await waitFor('an answer', () => (i % 2 ? c : c1).reply(ok), { timeoutMs: 5_000 });
      expect(answer.payload?.code).not.toBe('RATE_LIMITED');
    }
    const id = c.command('/subscribe', [], { sessionId: 'ses_any' });
    expect(await waitFor('the refusal', () => c.reply(id), { timeoutMs: 5_000 })).toMatchObject({ type: 'error', payload: { code: 'RATE_LIMITED', details: { retryAfterSeconds: expect.any(Number) } } });
    expect((await http(one.url, 'GET', '/api/v1/auth/me', { token: keyB })).status).toBe(200);
    // Guessing keys is limited per address: refused tokens count too, then 429 before any check.
    const guesses: number[] = [];
    for (let i = 0; i < 7; i++) guesses.push((await http(one.url, 'GET', '/api/v1/sessions', { token: `ca_${i.toString(16).padStart(16, '0')}_${'x'.repeat(32)}` })).status);
    expect(guesses).toEqual([401, 401, 401, 401, 401, 429, 429]);
  } finally {
    await own.close();
    await one.stop();
    await two.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
