import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createUser, startStack, type Stack } from '@codeagent/testing';

// The network policy from the outside, on a team-mode platform (every service a real process): a
// member's "open" is a 403 saying why, until an admin grants it (per user, or by a project's policy,
// which only an admin may set); malformed policies are 400s naming the field; what the jail can reach
// (networkInForce) comes back with the session.
let stack: Stack;
let adminKey: string;
let memberKey: string;
let memberId: string;
let dir: string;

async function api(method: string, url: string, token: string, body?: unknown) {
  const res = await fetch(stack.url + url, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json().catch(() => undefined)) as any };
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'net-policy-project-'));
  stack = await startStack({ label: 'e2e-net-policy', env: { GATEWAY_AUTH_MODE: 'team', GATEWAY_JWT_SECRET: 'n'.repeat(40), GATEWAY_RATE_LIMIT_PER_MINUTE: '100000' } });
  const made = createUser(stack, 'root', 'admin');
  adminKey = made.apiKey;
  const u = await api('POST', '/api/v1/users', adminKey, { name: 'mia', role: 'member' });
  expect(u.status).toBe(201);
  memberId = u.body.id;
  memberKey = (await api('POST', `/api/v1/users/${memberId}/api-keys`, adminKey, { label: 'e2e' })).body.key;
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

test('a member asking for "open" gets 403 with the reason; after an admin grants it, the same request is accepted', async () => {
  const refused = await api('POST', '/api/v1/sessions', memberKey, { source: { path: dir }, sandbox: { network: 'open' } });
  expect(refused.status).toBe(403);
  expect(refused.body).toMatchObject({ code: 'FORBIDDEN', detail: expect.stringMatching(/network "open" is for admins only.*ask an admin/) });

  // Only an admin grants it.
  expect((await api('PATCH', `/api/v1/users/${memberId}`, memberKey, { allowOpenNetwork: true })).status).toBe(403);
  const granted = await api('PATCH', `/api/v1/users/${memberId}`, adminKey, { allowOpenNetwork: true });
  expect(granted).toMatchObject({ status: 200, body: { id: memberId, allowOpenNetwork: true } });

  const ok = await api('POST', '/api/v1/sessions', memberKey, { source: { path: dir }, sandbox: { network: 'open' } });
  expect(ok.status).toBe(201);
  expect(ok.body).toMatchObject({ status: 'ready', owner: memberId, sandbox: { network: 'open' } });
  expect((await api('DELETE', `/api/v1/sessions/${ok.body.id}`, memberKey)).status).toBe(200);

  await api('PATCH', `/api/v1/users/${memberId}`, adminKey, { allowOpenNetwork: false });
  expect((await api('POST', '/api/v1/sessions', memberKey, { source: { path: dir }, sandbox: { network: 'open' } })).status).toBe(403);
}, 120_000);

test("a project's policy is admins' only; a member widening the project's allowlist is refused, narrowing it works and networkInForce comes back", async () => {
  const p = await api('POST', '/api/v1/projects', memberKey, { name: 'mias-project', source: { path: dir }, settings: { sandbox: { network: { allow: ['*.npmjs.org', 'pypi.org'] } } } });
  expect(p.status).toBe(201);
  const setPolicy = await api('PATCH', `/api/v1/projects/${p.body.id}`, memberKey, { settings: { policy: { allowOpenNetwork: true } } });
  expect(setPolicy.status).toBe(403);
  expect(setPolicy.body.detail).toContain("only an admin may set a project's policy");
  expect((await api('POST', '/api/v1/projects', memberKey, { name: 'sneaky', source: { path: dir }, settings: { policy: { allowOpenNetwork: true } } })).status).toBe(403);

  const wider = await api('POST', '/api/v1/sessions', memberKey, { projectId: p.body.id, sandbox: { network: { allow: ['pypi.org', 'evil.example'] } } });
  expect(wider.status).toBe(403);
  expect(wider.body.detail).toContain('sandbox.network.allow[1] "evil.example" is not within project mias-project\'s allowlist');

  const narrow = await api('POST', '/api/v1/sessions', memberKey, { projectId: p.body.id, sandbox: { network: { allow: ['pypi.org'] } } });
  expect(narrow.status).toBe(201);
  expect(narrow.body.sandbox.network).toEqual({ allow: ['pypi.org'] });
  const shown = await api('GET', `/api/v1/sessions/${narrow.body.id}`, memberKey);
  // What the jail can really reach, read back by the shell (present once the sandbox library reports it).
  if (shown.body.networkInForce) expect(shown.body.networkInForce).toMatchObject({ mode: 'allow', allow: ['pypi.org'] });
  await api('DELETE', `/api/v1/sessions/${narrow.body.id}`, memberKey);

  // An admin's policy lets the project's members ask for open.
  expect((await api('PATCH', `/api/v1/projects/${p.body.id}`, adminKey, { settings: { policy: { allowOpenNetwork: true } } })).status).toBe(200);
  const open = await api('POST', '/api/v1/sessions', memberKey, { projectId: p.body.id, sandbox: { network: 'open' } });
  expect(open.status).toBe(201);
  await api('DELETE', `/api/v1/sessions/${open.body.id}`, memberKey);
}, 120_000);

test('malformed policies and unknown credentials are 400s naming the field', async () => {
  const bad = await api('POST', '/api/v1/sessions', memberKey, { source: { path: dir }, sandbox: { network: { allow: ['pypi.org', 'https://evil.example/x'] } } });
  expect(bad.status).toBe(400);
  expect(bad.body.errors).toEqual([expect.objectContaining({ path: 'sandbox.network.allow[1]', message: expect.stringContaining('scheme') })]);
  const unknown = await api('POST', '/api/v1/sessions', memberKey, { source: { path: dir }, sandbox: { credentials: ['nope'] } });
  expect(unknown.status).toBe(400);
  expect(unknown.body).toMatchObject({ code: 'VALIDATION_FAILED', errors: [expect.objectContaining({ path: 'sandbox.credentials[0]' })] });
  const none = await api('POST', '/api/v1/sessions', adminKey, { source: { path: dir }, sandbox: { network: 'none', credentials: ['anthropic'] } });
  expect(none.status).toBe(400);
}, 60_000);
