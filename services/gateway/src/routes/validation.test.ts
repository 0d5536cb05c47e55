import type { Bus } from '@codeagent/bus';
import { TEST_BUS_SECRET, testLogger } from '@codeagent/testing';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../http/app';
import { loadServiceEnv } from '../env';

// Pure validation: every request here is refused before any service is asked, so the bus is a fake
// that fails the test if it is ever used.
const bus = { request: async (name: string) => { throw new Error(`the bus was asked ${name}: validation should have refused first`); } } as unknown as Bus;
let app: FastifyInstance;
let base: string;

// Real HTTP on a loopback port (fastify.inject pulls in an ESM-only cookie parser jest cannot load).
async function inject(o: { method: string; url: string; payload?: unknown; headers?: Record<string, string> }) {
  const raw = typeof o.payload === 'string';
  const res = await fetch(base + o.url, {
    method: o.method,
    headers: { ...(o.payload !== undefined ? { 'content-type': 'application/json' } : {}), ...o.headers },
    body: o.payload === undefined ? undefined : raw ? (o.payload as string) : JSON.stringify(o.payload),
  });
  const text = await res.text();
  return { statusCode: res.status, headers: { 'content-type': res.headers.get('content-type') ?? '' }, json: () => JSON.parse(text) };
}

beforeAll(async () => {
  const env = loadServiceEnv({ LOG_LEVEL: 'silent', DATA_DIR: '/tmp/gw-validation', CODEAGENT_BUS_SECRET: TEST_BUS_SECRET });
  app = (await buildApp({ env, bus, log: testLogger() })).app;
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
});
afterAll(() => app.close());

const cases: Array<{ method: string; url: string; body?: unknown; field: string; where: string }> = [
  { method: 'POST', url: '/api/v1/projects', body: { source: { path: '/x' } }, field: 'name', where: 'body' },
  { method: 'POST', url: '/api/v1/projects', body: { name: 'p', source: { nope: 1 } }, field: 'source', where: 'body' },
  { method: 'GET', url: '/api/v1/projects?limit=0', field: 'limit', where: 'querystring' },
  { method: 'PATCH', url: '/api/v1/projects/p1', body: { name: '' }, field: 'name', where: 'body' },
  { method: 'POST', url: '/api/projects/chat', body: { project_name: 'p' }, field: 'message', where: 'body' },
  { method: 'POST', url: '/api/v1/sessions', body: { sandbox: { network: 'none' } }, field: 'projectId', where: 'body' },
  { method: 'POST', url: '/api/v1/sessions', body: { projectId: 'p', sandbox: { memoryMb: 1 } }, field: 'sandbox.memoryMb', where: 'body' },
  { method: 'POST', url: '/api/v1/sessions', body: { projectId: 'p', sandbox: { network: 'wifi' } }, field: 'sandbox.network', where: 'body' },
  { method: 'GET', url: '/api/v1/sessions?limit=abc', field: 'limit', where: 'querystring' },
  { method: 'POST', url: '/api/v1/sessions/s1/exec', body: { command: '' }, field: 'command', where: 'body' },
  { method: 'POST', url: '/api/v1/sessions/s1/exec', body: { command: 'ls', timeoutMs: -5 }, field: 'timeoutMs', where: 'body' },
  { method: 'GET', url: '/api/v1/sessions/s1/events?since=-1', field: 'since', where: 'querystring' },
  { method: 'PUT', url: '/api/v1/sessions/s1/files', body: { content: 'x' }, field: 'path', where: 'querystring' },
  { method: 'PUT', url: '/api/v1/sessions/s1/files?path=a', body: { content: 1 }, field: 'content', where: 'body' },
  { method: 'POST', url: '/api/v1/sessions/s1/snapshots', body: { label: '' }, field: 'label', where: 'body' },
  { method: 'POST', url: '/api/v1/sessions/s1/fork', body: { snapshotId: 5 }, field: 'snapshotId', where: 'body' },
  { method: 'POST', url: '/api/v1/sessions/s1/agent', body: { roles: ['planning'] }, field: 'prompt', where: 'body' },
  { method: 'POST', url: '/api/v1/sessions/s1/agent', body: { prompt: 'x', roles: ['chef'] }, field: 'roles[0]', where: 'body' },
  { method: 'POST', url: '/api/v1/tasks', body: { title: '' }, field: 'title', where: 'body' },
  { method: 'POST', url: '/api/v1/tasks', body: { title: 't', status: 'maybe' }, field: 'status', where: 'body' },
  { method: 'PATCH', url: '/api/v1/tasks/T-1', body: { expectedVersion: 0 }, field: 'expectedVersion', where: 'body' },
  { method: 'GET', url: '/api/v1/tasks?status=later', field: 'status', where: 'querystring' },
  { method: 'GET', url: '/api/v1/providers?refreshModels=maybe', field: 'refreshModels', where: 'querystring' },
  { method: 'PUT', url: '/api/v1/providers/Bad%20Name', body: {}, field: 'name', where: 'params' },
  { method: 'PUT', url: '/api/v1/agents/chef', body: { config: { provider: 'openai', model: 'x' } }, field: 'role', where: 'params' },
  { method: 'PUT', url: '/api/v1/agents/coding', body: { config: { provider: 'openai' } }, field: 'config.model', where: 'body' },
  { method: 'GET', url: '/api/v1/analytics/usage?groupBy=provider,colour', field: 'groupBy[1]', where: 'querystring' },
  { method: 'GET', url: '/api/v1/analytics/usage?from=yesterday', field: 'from', where: 'querystring' },
  { method: 'GET', url: '/api/v1/analytics/latency?groupBy=provider,colour', field: 'groupBy[1]', where: 'querystring' },
  { method: 'POST', url: '/api/v1/auth/token', body: { grantType: 'magic' }, field: 'grantType', where: 'body' },
  { method: 'POST', url: '/api/v1/users', body: { name: 'has space' }, field: 'name', where: 'body' },
  { method: 'POST', url: '/api/v1/users/u1/api-keys', body: { label: '' }, field: 'label', where: 'body' },
  { method: 'DELETE', url: '/api/v1/api-keys/not-hex', field: 'keyId', where: 'params' },
  { method: 'DELETE', url: '/api/v1/sessions/s1?workspacePolicy=burn', field: 'workspacePolicy', where: 'querystring' },
  { method: 'GET', url: '/api/v1/agents?projectId=', field: 'projectId', where: 'querystring' },
  { method: 'GET', url: '/api/v1/sessions?status=sleepy', field: 'status', where: 'querystring' },
  { method: 'POST', url: '/api/v1/sessions/s1/agent', body: { prompt: 'x', maxSteps: 0 }, field: 'maxSteps', where: 'body' },
  { method: 'PATCH', url: '/api/v1/projects/p1', body: {}, field: '', where: 'body' },
];

test.each(cases)('$method $url → 400 naming $where.$field', async ({ method, url, body, field, where }) => {
  const res = await inject({ method, url, ...(body !== undefined ? { payload: body } : {}) });
  expect(res.statusCode).toBe(400);
  expect(res.headers['content-type']).toContain('application/problem+json');
  const p = res.json();
  expect(p).toMatchObject({ status: 400, title: 'Invalid request', code: 'VALIDATION_FAILED' });
  expect(p.type).toMatch(/^https:\/\//);
  expect(p.errors).toEqual(expect.arrayContaining([expect.objectContaining({ in: where, path: field })]));
  expect(p.detail).toContain(field);
});

test('a malformed JSON body is a 400 that says so, never a 500', async () => {
  const res = await inject({ method: 'POST', url: '/api/v1/sessions/s1/exec', headers: { 'content-type': 'application/json' }, payload: '{"command": ' });
  expect(res.statusCode).toBe(400);
  expect(res.headers['content-type']).toContain('application/problem+json');
  expect(res.json().detail).toMatch(/JSON/);
  const empty = await inject({ method: 'POST', url: '/api/v1/tasks', headers: { 'content-type': 'application/json' }, payload: '' });
  expect(empty.statusCode).toBe(400);
});

test('an unknown route is a 404 problem pointing at /docs; the OpenAPI document lists the routes', async () => {
  const res = await inject({ method: 'GET', url: '/api/v1/nope' });
  expect(res.statusCode).toBe(404);
  expect(res.json().detail).toContain('/docs');
  const doc = (await inject({ method: 'GET', url: '/docs/json' })).json();
  expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/v1/sessions/{id}/exec', '/api/projects/chat', '/api/v1/analytics/usage', '/api/v1/analytics/latency', '/health']));
  expect((await inject({ method: 'GET', url: '/docs' })).statusCode).toBeLessThan(400);
});
