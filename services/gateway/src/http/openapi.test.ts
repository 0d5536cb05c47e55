import SwaggerParser from '@apidevtools/swagger-parser';
import type { Bus } from '@codeagent/bus';
import { TEST_BUS_SECRET, testLogger } from '@codeagent/testing';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app';
import { loadServiceEnv } from '../env';
import { operationIdOf } from './openapi';

// The OpenAPI document the gateway serves, validated by an OpenAPI validator (swagger-parser) and
// checked against what the routes really accept: a body missing the fields the document says are
// required is refused with a 400 naming each of them. No service is asked: the bus fails if used.
const bus = { request: async (name: string) => { throw new Error(`the bus was asked ${name}`); } } as unknown as Bus;
let app: FastifyInstance;
let base: string;
let doc: any;

type Op = { path: string; method: string; op: any };
const operations = (d: any): Op[] =>
  Object.entries(d.paths as Record<string, any>).flatMap(([path, item]) =>
    ['get', 'put', 'post', 'delete', 'patch'].filter((m) => item[m]).map((method) => ({ path, method, op: item[method] })),
  );

beforeAll(async () => {
  const env = loadServiceEnv({ LOG_LEVEL: 'silent', DATA_DIR: '/tmp/gw-openapi', CODEAGENT_BUS_SECRET: TEST_BUS_SECRET });
  app = (await buildApp({ env, bus, log: testLogger() })).app;
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  doc = await (await fetch(`${base}/docs/json`)).json();
});
afterAll(() => app.close());

test('the document is valid OpenAPI 3.1 (swagger-parser), every $ref resolving', async () => {
  expect(doc.openapi).toBe('3.1.0');
  await expect(SwaggerParser.validate(structuredClone(doc))).resolves.toBeTruthy();
});

test('the AsyncAPI document of the socket protocol and the bus is served beside it', async () => {
  const res = await fetch(`${base}/docs/asyncapi.json`);
  expect(res.status).toBe(200);
  expect(await res.json()).toMatchObject({ asyncapi: '3.0.0', channels: { socket: { address: '/v1' } } });
});

test('every operation has a unique operationId', () => {
  const ops = operations(doc);
  expect(ops.length).toBeGreaterThan(40);
  const ids = ops.map((o) => o.op.operationId);
  expect(ids.every((id) => typeof id === 'string' && /^[a-z][A-Za-z0-9]+$/.test(id))).toBe(true);
  expect(new Set(ids).size).toBe(ids.length);
  expect(doc.paths['/api/v1/sessions/{id}/exec'].post.operationId).toBe('postSessionsByIdExec');
  expect(operationIdOf('get', '/api/v1/agent-runs/{id}')).toBe('getAgentRunsById');
});

test('every API operation lists the error responses, each a Problem as application/problem+json', () => {
  const api = operations(doc).filter((o) => o.path.startsWith('/api/'));
  for (const { op } of api) {
    for (const status of ['400', '401', '403', '404', '409', '413', '429', '500', '502', '503', '504']) {
      expect(op.responses[status]?.content?.['application/problem+json']?.schema).toEqual({ $ref: '#/components/schemas/Problem' });
    }
  }
  expect(doc.paths['/api/v1/sessions'].post.responses['404'].description).toBe('NOT_FOUND');
  expect(doc.components.schemas.Problem.required).toEqual(expect.arrayContaining(['type', 'title', 'status', 'detail', 'code']));
});

test('named component schemas from libs/contracts are referenced where the routes use them; unreachable ones are left out', () => {
  const schemas = doc.components.schemas as Record<string, unknown>;
  for (const name of ['SessionV1', 'TaskV1', 'AgentRunV1', 'ProviderInfoV1', 'AgentsConfigV1', 'SessionEventsReplyV1', 'FileReadReplyV1']) expect(schemas).toHaveProperty(name);
  expect(doc.paths['/api/v1/sessions/{id}'].get.responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/SessionV1' });
  expect(doc.paths['/api/v1/tasks/{id}'].get.responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/TaskV1' });
  // Bus-only messages are named in the AsyncAPI document, not here.
  expect(schemas).not.toHaveProperty('ShellSessionAppendV1');
});

test('what the document says a body requires is what the route refuses without: a 400 naming each field', async () => {
  const resolved: any = await SwaggerParser.dereference(structuredClone(doc));
  const withBody = operations(resolved).filter((o) => o.op.requestBody?.content?.['application/json']?.schema?.required?.length);
  expect(withBody.length).toBeGreaterThan(8);
  for (const { path, method, op } of withBody) {
    // Path parameters the document's own way: an enum's first value, else a plausible id.
    const param = (name: string) => (op.parameters ?? []).find((p: any) => p.in === 'path' && p.name === name)?.schema?.enum?.[0] ?? 'x1';
    const url = path.replace(/\{([^}]+)\}/g, (_m: string, name: string) => param(name));
    const res = await fetch(base + url, { method: method.toUpperCase(), headers: { 'content-type': 'application/json' }, body: '{}' });
    const problem = (await res.json()) as { status: number; code: string; errors?: Array<{ path: string }> };
    expect({ route: `${method} ${path}`, status: res.status, code: problem.code }).toEqual({ route: `${method} ${path}`, status: 400, code: 'VALIDATION_FAILED' });
    const refused = new Set((problem.errors ?? []).map((e) => e.path.split('.')[0]));
    for (const field of op.requestBody.content['application/json'].schema.required as string[]) expect({ route: `${method} ${path}`, field, refused: refused.has(field) }).toEqual({ route: `${method} ${path}`, field, refused: true });
  }
});
