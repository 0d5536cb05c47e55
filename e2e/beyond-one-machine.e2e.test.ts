import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestDatabase, createUser, freePort, management, spawnTs, startStack, waitFor, type ServiceProcess, type Stack, type TestDatabase } from '@codeagent/testing';

// Beyond one machine (issue 23): a second gateway, orchestrator and analytics, each with a data folder
// of its own (as on another machine), beside the stack's on one RabbitMQ with quorum queues and one
// PostgreSQL. Nothing they need is a local file: a user made through one gateway signs in at the other,
// a provider key sealed by one orchestrator is opened by the other, the rate limit is one budget across
// the gateways, and reports come from whichever analytics replica is up.
type Rec = Record<string, any>;
let stack: Stack;
let db: TestDatabase;
let models: { server: Server; url: string; keysSeen: string[] };
const extra: ServiceProcess[] = [];
const dirs: string[] = [];
let urls: [string, string];
const keys: Record<string, string> = {};
const LIMIT = 30;

async function call(gw: 0 | 1, who: string, method: string, url: string, body?: unknown): Promise<{ status: number; body: Rec }> {
  const res = await fetch(urls[gw] + url, {
    method,
    headers: { authorization: `Bearer ${keys[who]}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json().catch(() => ({}))) as Rec };
}
async function ok(gw: 0 | 1, who: string, method: string, url: string, body?: unknown): Promise<Rec> {
  const r = await call(gw, who, method, url, body);
  if (r.status >= 300) throw new Error(`${method} ${url} on gateway ${gw + 1}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/** Another replica of a service, with a data folder of its own. */
function replica(service: string, env: Record<string, string>): ServiceProcess {
  const dataDir = mkdtempSync(path.join(tmpdir(), `elsewhere-${service}-`));
  dirs.push(dataDir);
  const p = spawnTs(`services/${service}/src/main.ts`, { ...stack.env, DATA_DIR: dataDir, INSTANCE_ID: `${service}-elsewhere-${process.pid}`, ...env });
  extra.push(p);
  return p;
}

beforeAll(async () => {
  const keysSeen: string[] = [];
  const server = createServer((req, res) => {
    keysSeen.push(String(req.headers.authorization ?? ''));
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ data: [{ id: 'elsewhere-model' }] }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  models = { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, keysSeen };
  db = await createTestDatabase('postgres', 'beyond');
  stack = await startStack({
    label: 'e2e-beyond',
    databaseUrl: db.url,
    env: {
      BUS_QUEUE_TYPE: 'quorum',
      // The provider keys' sealing key, the same on every orchestrator: no key file to share.
      ORCHESTRATOR_SECRET_KEY: randomBytes(32).toString('hex'),
      GATEWAY_AUTH_MODE: 'team',
      GATEWAY_JWT_SECRET: 'e'.repeat(40),
      GATEWAY_RATE_LIMIT_PER_MINUTE: String(LIMIT),
      GATEWAY_SSH_ENABLED: 'false',
    },
  });
  const port = await freePort();
  const gw2 = replica('gateway', { GATEWAY_PORT: String(port) });
  replica('analytics', {});
  urls = [stack.url, `http://127.0.0.1:${port}`];
  await waitFor('the second gateway to answer /health', async () => {
    if (gw2.child.exitCode !== null) throw new Error(`gateway 2 exited: ${gw2.output().slice(-2000)}`);
    return (await fetch(`${urls[1]}/health`).catch(() => undefined))?.status === 200;
  }, { timeoutMs: 90_000, intervalMs: 250 });
  keys.root = createUser(stack, 'root', 'admin').apiKey;
}, 240_000);

afterAll(async () => {
  await Promise.all(extra.map((p) => p.stop('SIGTERM', 20_000)));
  await stack?.stop();
  await db?.dispose();
  models?.server.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}, 90_000);

test('every durable queue of the platform is a quorum queue', async () => {
  const queues = (await management('GET', `/queues/${encodeURIComponent(stack.broker.vhost)}`)) as Array<{ name: string; durable: boolean; type: string }>;
  const durable = queues.filter((q) => q.durable);
  expect(durable.length).toBeGreaterThan(10);
  expect(durable.filter((q) => q.type !== 'quorum').map((q) => q.name)).toEqual([]);
});

test('a user made through one gateway signs in at the other; a key sealed by one orchestrator opens on the other', async () => {
  const ana = await ok(0, 'root', 'POST', '/api/v1/users', { name: 'ana', role: 'member' });
  keys.ana = (await ok(0, 'root', 'POST', `/api/v1/users/${ana.id}/api-keys`, { label: 'elsewhere' })).key;
  expect((await ok(1, 'ana', 'GET', '/api/v1/projects')).projects).toEqual([]);

  // Sealed by the stack's orchestrator, the only one yet...
  await ok(0, 'root', 'PUT', '/api/v1/providers/lmstudio', { kind: 'openai-compatible', baseURL: models.url, apiKey: 'sk-sealed-once' });
  // ...opened by one on "another machine", once it is the only one left.
  const elsewhere = replica('orchestrator', {});
  await waitFor('the other orchestrator to consume', () => {
    if (elsewhere.child.exitCode !== null) throw new Error(`orchestrator 2 exited: ${elsewhere.output().slice(-2000)}`);
    return elsewhere.output().includes('service started');
  }, { timeoutMs: 90_000 });
  await stack.procs.get('orchestrator')!.stop('SIGTERM', 20_000);
  models.keysSeen.length = 0;
  const listed = await ok(1, 'root', 'GET', '/api/v1/providers?refreshModels=true');
  expect(listed.providers.find((p: Rec) => p.name === 'lmstudio')?.models.some((m: Rec) => m.id === 'elsewhere-model' && m.installed)).toBe(true);
  expect(models.keysSeen).toContain('Bearer sk-sealed-once');
});

test('the rate limit is one budget across the gateways', async () => {
  const ben = await ok(0, 'root', 'POST', '/api/v1/users', { name: 'ben', role: 'member' });
  keys.ben = (await ok(0, 'root', 'POST', `/api/v1/users/${ben.id}/api-keys`, { label: 'counted' })).key;
  // The budget is a fixed window on the clock's minutes: requests on both sides of a minute's end
  // count in two budgets. Close to one, the requests start with the next.
  const leftMs = 60_000 - (Date.now() % 60_000);
  if (leftMs < 15_000) await new Promise((r) => setTimeout(r, leftMs + 50));
  const statuses: number[] = [];
  for (let i = 0; i < LIMIT + 4; i++) statuses.push((await call(i % 2 === 0 ? 0 : 1, 'ben', 'GET', '/api/v1/tasks')).status);
  // Half of the requests went to each gateway; together they ran out of the one budget.
  expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(LIMIT);
  expect(statuses.slice(-2)).toEqual([429, 429]);
});

test('reports come from the analytics replica that is left', async () => {
  await stack.procs.get('analytics')!.stop('SIGTERM', 20_000);
  const usage = await ok(1, 'root', 'GET', '/api/v1/analytics/usage?groupBy=model');
  expect(usage).toEqual(expect.objectContaining({ rows: expect.any(Array) }));
});
