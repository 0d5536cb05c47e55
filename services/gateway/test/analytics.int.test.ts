// GET /api/v1/analytics/latency through a real gateway and the real broker, with a small analytics
// that records what it was asked: the query becomes analytics.latency (groupBy split, filters), a
// member is always filtered to their own user, bad queries and analytics' refusals are problem+json.
import path from 'node:path';
import { Bus } from '@codeagent/bus';
import { AppError, catalog, type AnalyticsLatencyV1, type LatencyReportV1 } from '@codeagent/contracts';
import { createTestBroker, testLogger, type TestBroker } from '@codeagent/testing';
import { AuthService } from '../src/auth/auth-service';
import { openAuthStore, type AuthStore } from '../src/repositories/auth-store';
import { http, startTestGateway, type TestGateway } from './harness';

const SECRET = 'analytics-route-test-secret-0123456789abcdef';
let broker: TestBroker;
let analytics: Bus;
let gw: TestGateway;
let store: AuthStore;
let adminKey: string;
let member: { id: string; key: string };
const asked: AnalyticsLatencyV1[] = [];

const stats = { count: 3, p50Ms: 120, p95Ms: 480.5, maxMs: 500 };
const report = (q: AnalyticsLatencyV1): LatencyReportV1 => ({
  from: q.from ?? '2026-01-01T00:00:00.000Z',
  to: q.to ?? '2026-01-31T00:00:00.000Z',
  groupBy: q.groupBy,
  llm: [{ ...stats, provider: 'openai', model: 'gpt-4.1', firstToken: { count: 3, p50Ms: 40, p95Ms: 90, maxMs: 90 } }],
  llmTotal: { ...stats, firstToken: { count: 3, p50Ms: 40, p95Ms: 90, maxMs: 90 } },
  untimedCalls: 0,
  commands: { count: 0, p50Ms: null, p95Ms: null, maxMs: null },
});

beforeAll(async () => {
  broker = await createTestBroker('gateway-analytics');
  analytics = await Bus.connect({ url: broker.url, service: 'analytics', instanceId: `fake-analytics-${process.pid}`, logger: testLogger() });
  const unused = async () => {
    throw new AppError('INTERNAL', 'not part of this test');
  };
  // Every analytics command must have a handler; only analytics.latency answers here.
  const others = Object.entries(catalog.commands).flatMap(([name, def]) => (def.service === 'analytics' ? [[name, unused]] : []));
  await analytics.handleCommands('analytics', {
    ...Object.fromEntries(others),
    'analytics.latency': async (q: AnalyticsLatencyV1) => {
      asked.push(q);
      if (q.from && q.to && q.from >= q.to) throw new AppError('VALIDATION_FAILED', `"from" (${q.from}) must be before "to" (${q.to})`);
      return report(q);
    },
  } as never);
  gw = await startTestGateway(broker.url, { GATEWAY_AUTH_MODE: 'team', GATEWAY_JWT_SECRET: SECRET, GATEWAY_RATE_LIMIT_PER_MINUTE: '100000' });
  // The first admin goes straight into the gateway's database, as the admin CLI puts it.
  store = await openAuthStore({ dataDir: gw.dataDir, authFile: path.join(gw.dataDir, 'gateway', 'auth.json') });
  const auth = new AuthService(store.repo, { jwtSecret: SECRET, accessTtlS: 60, refreshTtlS: 600 });
  adminKey = (await auth.createApiKey((await auth.createUser({ name: 'root', role: 'admin' })).id, 'test')).key;
  const u = await http(gw.url, 'POST', '/api/v1/users', { token: adminKey, body: { name: 'member-m', role: 'member', password: 'correct horse battery' } });
  const k = await http(gw.url, 'POST', `/api/v1/users/${u.body.id}/api-keys`, { token: adminKey, body: { label: 'test' } });
  member = { id: u.body.id, key: k.body.key };
}, 30_000);
afterAll(async () => {
  await store?.close();
  await gw?.stop();
  await analytics?.close(1_000);
  await broker?.dispose();
});
beforeEach(() => void asked.splice(0));

test('an admin gets the latency report; the query becomes analytics.latency with its groupBy and filters', async () => {
  const res = await http(gw.url, 'GET', '/api/v1/analytics/latency?groupBy=provider,model,role&from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z&provider=openai&user=u-1', { token: adminKey });
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ llm: [{ provider: 'openai', model: 'gpt-4.1', p50Ms: 120, p95Ms: 480.5, firstToken: { p95Ms: 90 } }], commands: { count: 0, p50Ms: null } });
  expect(asked).toEqual([{ groupBy: ['provider', 'model', 'role'], from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z', filter: { provider: 'openai', user: 'u-1' } }]);
  // Without groupBy: provider and model.
  await http(gw.url, 'GET', '/api/v1/analytics/latency', { token: adminKey });
  expect(asked[1]).toMatchObject({ groupBy: ['provider', 'model'], filter: {} });
});

test("a member sees only their own calls and commands, whatever user they ask for", async () => {
  const res = await http(gw.url, 'GET', '/api/v1/analytics/latency?user=someone-else', { token: member.key });
  expect(res.status).toBe(200);
  expect(asked).toEqual([expect.objectContaining({ filter: { user: member.id } })]);
});

test('a bad query is a 400 problem naming the field; a range analytics refuses is a 400 problem with its reason', async () => {
  const bad = await http(gw.url, 'GET', '/api/v1/analytics/latency?groupBy=provider,session', { token: adminKey });
  expect(bad.status).toBe(400);
  expect(bad.headers.get('content-type')).toContain('application/problem+json');
  expect(bad.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ in: 'querystring', path: 'groupBy[1]' })]));
  const when = await http(gw.url, 'GET', '/api/v1/analytics/latency?from=yesterday', { token: adminKey });
  expect(when.status).toBe(400);
  expect(asked).toEqual([]);

  const backwards = await http(gw.url, 'GET', '/api/v1/analytics/latency?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z', { token: adminKey });
  expect(backwards.status).toBe(400);
  expect(backwards.headers.get('content-type')).toContain('application/problem+json');
  expect(backwards.body.detail).toContain('must be before');

  const anonymous = await http(gw.url, 'GET', '/api/v1/analytics/latency');
  expect(anonymous.status).toBe(401);
});

test('the OpenAPI document describes the route', async () => {
  const doc = (await http(gw.url, 'GET', '/docs/json', { token: adminKey })).body;
  expect(doc.paths['/api/v1/analytics/latency'].get.summary).toMatch(/p50\/p95/);
});
