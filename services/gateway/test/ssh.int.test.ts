import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestBroker, freePort, type TestBroker } from '@codeagent/testing';
import { AuthService } from '../src/auth/auth-service';
import { openAuthStore, type AuthStore } from '../src/repositories/auth-store';
import { FakeOrchestrator } from './fake-orchestrator';
import { http, startTestGateway, type TestGateway } from './harness';

// SSH in team mode (real gateway, real RabbitMQ, real SQLite, Debian's ssh client): keys belong to
// users through the API and the gateway's ssh_keys table; a key opens only its owner's sessions.
const SECRET = 'test-secret-test-secret-test-secret-42';
let broker: TestBroker;
let orch: FakeOrchestrator;
let gw: TestGateway;
let store: AuthStore;
let keys: string;
let sshPort: number;
const users: Record<'a' | 'b', { id: string; key: string }> = {} as never;

/** `ssh ... true`, asynchronously: the gateway answering it runs in this process. */
function ssh(key: string, user: string): Promise<{ status: number | null; stderr: string }> {
  const child = spawn('ssh', ['-p', String(sshPort), '-i', key, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', `${user}@127.0.0.1`, 'true'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  return new Promise((resolve) => child.once('exit', (status) => resolve({ status, stderr })));
}

beforeAll(async () => {
  keys = mkdtempSync(path.join(tmpdir(), 'gw-ssh-keys-'));
  for (const k of ['a', 'b']) spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', k, '-f', path.join(keys, k)]);
  broker = await createTestBroker('gateway-ssh');
  orch = await FakeOrchestrator.start(broker.url);
  sshPort = await freePort();
  gw = await startTestGateway(broker.url, { GATEWAY_AUTH_MODE: 'team', GATEWAY_JWT_SECRET: SECRET, GATEWAY_SSH_PORT: String(sshPort) });
  store = await openAuthStore({ dataDir: gw.dataDir, authFile: path.join(gw.dataDir, 'gateway', 'auth.json') });
  const auth = new AuthService(store.repo, { jwtSecret: SECRET, accessTtlS: 60, refreshTtlS: 600 });
  const admin = await auth.createUser({ name: 'root', role: 'admin' });
  const adminKey = (await auth.createApiKey(admin.id, 'test')).key;
  for (const name of ['a', 'b'] as const) {
    const u = await http(gw.url, 'POST', '/api/v1/users', { token: adminKey, body: { name: `user-${name}`, role: 'member', password: 'correct horse battery' } });
    const k = await http(gw.url, 'POST', `/api/v1/users/${u.body.id}/api-keys`, { token: adminKey, body: { label: 'test' } });
    users[name] = { id: u.body.id, key: k.body.key };
  }
}, 30_000);

afterAll(async () => {
  await store?.close();
  await gw?.stop();
  await orch?.close();
  await broker?.dispose();
  if (keys) rmSync(keys, { recursive: true, force: true });
});

test('keys are per user; a key opens its owner’s sessions only, and nothing once removed', async () => {
  expect(gw.sshPort).toBe(sshPort);
  const pubA = readFileSync(path.join(keys, 'a.pub'), 'utf8');
  const added = await http(gw.url, 'POST', '/api/v1/users/me/ssh-keys', { token: users.a.key, body: { name: 'laptop', publicKey: pubA } });
  expect(added.status).toBe(201);
  expect(added.body).toMatchObject({ name: 'laptop', fingerprint: expect.stringMatching(/^SHA256:/) });
  expect((await http(gw.url, 'GET', '/api/v1/users/me/ssh-keys', { token: users.a.key })).body.keys).toHaveLength(1);
  expect((await http(gw.url, 'GET', '/api/v1/users/me/ssh-keys', { token: users.b.key })).body.keys).toHaveLength(0);
  // One key belongs to one user; B can neither take it nor remove it.
  expect((await http(gw.url, 'POST', '/api/v1/users/me/ssh-keys', { token: users.b.key, body: { name: 'stolen', publicKey: pubA } })).status).toBe(409);
  expect((await http(gw.url, 'DELETE', `/api/v1/users/me/ssh-keys/${added.body.id}`, { token: users.b.key })).status).toBe(404);
  expect((await http(gw.url, 'POST', '/api/v1/users/me/ssh-keys', { token: users.b.key, body: { name: 'bad', publicKey: 'ssh-ed25519 not-base64' } })).status).toBe(400);
  expect((await http(gw.url, 'POST', '/api/v1/users/me/ssh-keys', { body: { name: 'anon', publicKey: pubA } })).status).toBe(401);

  const mine = orch.addSession(users.a.id);
  const theirs = orch.addSession(users.b.id);
  expect((await ssh(path.join(keys, 'a'), mine)).status).toBe(0);
  const refused = await ssh(path.join(keys, 'a'), theirs);
  expect(refused.status).toBe(255);
  expect(refused.stderr).toMatch(/Permission denied/);
  // B's key was never registered.
  expect((await ssh(path.join(keys, 'b'), theirs)).status).toBe(255);

  expect((await http(gw.url, 'DELETE', `/api/v1/users/me/ssh-keys/${added.body.id}`, { token: users.a.key })).status).toBe(204);
  expect((await ssh(path.join(keys, 'a'), mine)).status).toBe(255);
});
