import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createUser, startFakeLlm, startStack, type FakeLlm, type Stack } from '@codeagent/testing';
import type { Rec } from './bench/client';
import { callAs, ciSocket } from './team';

// Project CI sockets on a team-mode platform (issue 23, PROJECT_CI_AUTH=team), every service a real
// process: a connection says who it is with `{"auth": <API key or token>}` (checked by the gateway),
// and talks only to a project its user may see (decided by the orchestrator, as over REST). Member ben
// cannot talk to member ana's private project socket; a wrong or revoked key is refused; once ana
// shares the project with the team, ben may.
let stack: Stack;
let llm: FakeLlm;
let dir: string;
const keys: Record<string, string> = {};
const users: Record<string, string> = {};

const api = (who: string, method: string, url: string, body?: unknown) => callAs(stack.url, who, keys[who], method, url, body);


beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'ci-auth-project-'));
  llm = await startFakeLlm({ fallbackTurn: { text: 'hello from the project model', usage: { inputTokens: 10, outputTokens: 5 } } });
  stack = await startStack({
    label: 'e2e-ci-auth',
    env: {
      GATEWAY_AUTH_MODE: 'team',
      GATEWAY_JWT_SECRET: 'c'.repeat(40),
      GATEWAY_RATE_LIMIT_PER_MINUTE: '100000',
      PROJECT_CI_AUTH: 'team',
      PROJECT_CI_DEFAULT_PROVIDER: 'fake',
      PROJECT_CI_DEFAULT_MODEL: 'fake-model',
    },
  });
  keys.root = createUser(stack, 'root', 'admin').apiKey;
  await api('root', 'PUT', '/api/v1/providers/fake', { kind: 'openai-compatible', baseURL: llm.openaiBaseURL, models: ['fake-model'] });
  for (const name of ['ana', 'ben']) {
    const u = await api('root', 'POST', '/api/v1/users', { name, role: 'member' });
    users[name] = u.id;
    keys[name] = (await api('root', 'POST', `/api/v1/users/${u.id}/api-keys`, { label: 'e2e' })).key;
  }
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  await llm?.close();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

test("a member cannot talk to another member's project socket; the owner, a team project and an admin can", async () => {
  const project = await api('ana', 'POST', '/api/v1/projects', { name: 'anas-ci', source: { path: dir } });
  expect(project.visibility).toBe('private');
  const port = project.socketPort as number;

  // Without credentials: chat is refused, the line stays open; a ping says alive, not whose project.
  const anon = await ciSocket(port);
  expect(await anon.ask({ content: 'hello?' })).toEqual({ error: { code: 'UNAUTHENTICATED', message: expect.stringMatching(/"auth"/) } });
  expect(await anon.ask({ ping: true })).toEqual({ pong: true });
  anon.close();

  // Ben's valid key on ana's private project: the project does not exist for him, and the line closes.
  const ben = await ciSocket(port);
  expect(await ben.ask({ auth: keys.ben, id: 1 })).toEqual({ error: { code: 'NOT_FOUND', message: expect.any(String) }, id: 1 });
  expect(await ben.closed()).toBe(true);

  // A key that is no key.
  const forged = await ciSocket(port);
  expect((await forged.ask({ auth: 'ca_forged_key_0000000000' }))?.error?.code).toBe('UNAUTHENTICATED');
  expect(await forged.closed()).toBe(true);

  // Ana, the owner: authenticated, then her message reaches the project's model.
  const ana = await ciSocket(port);
  expect(await ana.ask({ auth: keys.ana })).toEqual({ authenticated: true, user: users.ana, project: 'anas-ci' });
  expect(await ana.ask({ content: 'how is the build?' })).toEqual({ content: 'hello from the project model', project: 'anas-ci' });
  expect(JSON.stringify(llm.requests.at(-1))).toContain('[Project: anas-ci] how is the build?');

  // Shared with the team: ben may talk to it now.
  await api('ana', 'PATCH', `/api/v1/projects/${project.id}`, { visibility: 'team' });
  const benAgain = await ciSocket(port);
  expect(await benAgain.ask({ auth: keys.ben })).toEqual({ authenticated: true, user: users.ben, project: 'anas-ci' });
  expect((await benAgain.ask({ content: 'may I?' }))?.content).toBe('hello from the project model');
  benAgain.close();

  // An admin sees every project.
  const root = await ciSocket(port);
  expect((await root.ask({ auth: keys.root }))?.authenticated).toBe(true);
  root.close();

  // Every message is checked again: ana's key revoked while she is connected stops her next message.
  const keyId = ((await api('root', 'GET', `/api/v1/users/${users.ana}/api-keys`)).apiKeys as Rec[])[0]!.id;
  await api('root', 'DELETE', `/api/v1/api-keys/${keyId}`);
  expect((await ana.ask({ content: 'still there?' }))?.error?.code).toBe('UNAUTHENTICATED');
  ana.close();
});
