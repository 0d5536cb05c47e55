import SwaggerParser from '@apidevtools/swagger-parser';
import type { Bus } from '@codeagent/bus';
import { testLogger } from '@codeagent/testing';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../http/app';
import { loadServiceEnv } from '../env';

// Network policies at the edge: every malformed one is a 400 problem naming the field and saying what
// is wrong, before any service is asked (the bus fails the test if it is used); the OpenAPI document
// shows the shapes.
const bus = { request: async (name: string) => { throw new Error(`the bus was asked ${name}: validation should have refused first`); } } as unknown as Bus;
let app: FastifyInstance;
let base: string;

beforeAll(async () => {
  const env = loadServiceEnv({ LOG_LEVEL: 'silent', DATA_DIR: '/tmp/gw-net-validation', CODEAGENT_BUS_SECRET: 'n'.repeat(40) });
  app = (await buildApp({ env, bus, log: testLogger() })).app;
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
});
afterAll(() => app.close());

async function call(method: string, url: string, body?: unknown) {
  const res = await fetch(base + url, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: (await res.json()) as any };
}

const session = (sandbox: unknown) => ({ projectId: 'p', sandbox });
const cases: Array<{ name: string; method: string; url: string; body: unknown; field: string; why: RegExp }> = [
  { name: 'a mode that does not exist', method: 'POST', url: '/api/v1/sessions', body: session({ network: 'wifi' }), field: 'sandbox.network', why: /"none", "open" or \{"allow"/ },
  { name: 'allow that is not a list', method: 'POST', url: '/api/v1/sessions', body: session({ network: { allow: 'pypi.org' } }), field: 'sandbox.network', why: /"none", "open" or/ },
  { name: 'a URL', method: 'POST', url: '/api/v1/sessions', body: session({ network: { allow: ['pypi.org', 'https://files.pythonhosted.org'] } }), field: 'sandbox.network.allow[1]', why: /leave out the scheme/ },
  { name: 'a path', method: 'POST', url: '/api/v1/sessions', body: session({ network: { allow: ['pypi.org/simple'] } }), field: 'sandbox.network.allow[0]', why: /leave out the path/ },
  { name: 'upper case', method: 'POST', url: '/api/v1/sessions', body: session({ network: { allow: ['a.org', 'b.org', 'GitHub.com'] } }), field: 'sandbox.network.allow[2]', why: /lower case/ },
  { name: 'a port out of range', method: 'POST', url: '/api/v1/sessions', body: session({ network: { allow: ['github.com:70000'] } }), field: 'sandbox.network.allow[0]', why: /1 to 65535/ },
  { name: 'an IP wildcard', method: 'POST', url: '/api/v1/sessions', body: session({ network: { allow: ['*.10.0.0.1'] } }), field: 'sandbox.network.allow[0]', why: /IP address/ },
  { name: 'an empty label', method: 'POST', url: '/api/v1/sessions', body: session({ network: { allow: ['pypi..org'] } }), field: 'sandbox.network.allow[0]', why: /empty label/ },
  { name: 'a bare *', method: 'POST', url: '/api/v1/sessions', body: session({ network: { allow: ['*'] } }), field: 'sandbox.network.allow[0]', why: /"open" instead/ },
  { name: 'too many entries', method: 'POST', url: '/api/v1/sessions', body: session({ network: { allow: Array.from({ length: 300 }, (_, i) => `h${i}.example.com`) } }), field: 'sandbox.network.allow', why: /at most 256/ },
  { name: 'an unknown key', method: 'POST', url: '/api/v1/sessions', body: session({ network: { allow: [], deny: ['x.org'] } }), field: 'sandbox.network', why: /deny/ },
  { name: 'a credential that is no provider name', method: 'POST', url: '/api/v1/sessions', body: session({ credentials: ['anthropic', 'Open AI'] }), field: 'sandbox.credentials[1]', why: /provider name/ },
  { name: 'a fork with a malformed allowlist', method: 'POST', url: '/api/v1/sessions/s1/fork', body: { sandbox: { network: { allow: ['ok.org', ''] } } }, field: 'sandbox.network.allow[1]', why: /empty/ },
  { name: "a project's default allowlist", method: 'POST', url: '/api/v1/projects', body: { name: 'p', source: { path: '/x' }, settings: { sandbox: { network: { allow: ['*.com'] } } } }, field: 'settings.sandbox.network.allow[0]', why: /top-level/ },
  { name: "a project's policy of the wrong type", method: 'POST', url: '/api/v1/projects', body: { name: 'p', source: { path: '/x' }, settings: { policy: { allowOpenNetwork: 'yes' } } }, field: 'settings.policy.allowOpenNetwork', why: /boolean/ },
  { name: "a user's grant of the wrong type", method: 'PATCH', url: '/api/v1/users/u1', body: { allowOpenNetwork: 1 }, field: 'allowOpenNetwork', why: /boolean/ },
];

test.each(cases)('$name → 400 naming $field', async ({ method, url, body, field, why }) => {
  const r = await call(method, url, body);
  expect(r.status).toBe(400);
  expect(r.type).toContain('application/problem+json');
  expect(r.body).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
  expect(r.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ in: 'body', path: field, message: expect.stringMatching(why) })]));
  expect(r.body.detail).toContain(field);
});

test('the OpenAPI document describes the three network shapes, credentials, networkInForce and the users grant', async () => {
  const raw = (await call('GET', '/docs/json')).body;
  const text = JSON.stringify(raw);
  // Named schemas are $refs to components: read the document with them resolved in place.
  const doc: any = await SwaggerParser.dereference(structuredClone(raw));
  const create = doc.paths['/api/v1/sessions'].post.requestBody.content['application/json'].schema;
  const network = create.properties.sandbox.properties.network;
  expect(JSON.stringify(network.anyOf ?? network.oneOf)).toContain('"const":"open"');
  expect(JSON.stringify(network)).toContain('allow');
  expect(network.description).toMatch(/egress proxy/);
  expect(create.properties.sandbox.properties.credentials.items.pattern).toBeDefined();
  expect(JSON.stringify(doc.paths['/api/v1/sessions'].post.responses['201'])).toContain('networkInForce');
  expect(doc.paths['/api/v1/users/{userId}'].patch).toBeDefined();
  expect(text).toContain('allowOpenNetwork');
});
