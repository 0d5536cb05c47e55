import { createTestBroker, waitFor, type TestBroker } from '@codeagent/testing';
import { TestClient } from './client';
import { FakeOrchestrator } from './fake-orchestrator';
import { FakeProjectCi } from './fake-project-ci';
import { http, startTestGateway, type TestGateway } from './harness';

let broker: TestBroker;
let orch: FakeOrchestrator;
let ci: FakeProjectCi | undefined;
let gw: TestGateway;

beforeAll(async () => {
  broker = await createTestBroker('gateway-forwarding');
  orch = await FakeOrchestrator.start(broker.url);
  // A short generic timeout, so a chat or a command that outlasts it proves those routes wait longer.
  gw = await startTestGateway(broker.url, { GATEWAY_REQUEST_TIMEOUT_MS: '400' });
}, 30_000);
afterAll(async () => {
  await gw?.stop();
  await ci?.close();
  await orch?.close();
  await broker?.dispose();
});

// Runs first, while no project-ci consumes its commands.
test('without project-ci, a project is still answered (ciStatus unknown) and the chat is a 503 naming project-ci', async () => {
  const created = await http(gw.url, 'POST', '/api/v1/projects', { body: { name: 'Lonely', source: { path: '/tmp' } } });
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({ name: 'Lonely', ciSocket: null, socketPort: null, ciStatus: 'unknown' });
  const chat = await http(gw.url, 'POST', '/api/projects/chat', { body: { project_name: 'Lonely', message: 'hi' } });
  expect(chat.status).toBe(503);
  expect(chat.headers.get('content-type')).toContain('application/problem+json');
  expect(chat.body).toMatchObject({ code: 'SERVICE_UNAVAILABLE', service: 'project-ci' });
  await http(gw.url, 'DELETE', `/api/v1/projects/${created.body.id}`);
});

test('a created project comes back with its CI socket, once project-ci has opened it; list, get and rename carry it too', async () => {
  ci = await FakeProjectCi.start(broker.url, { portBase: 42100, openDelayMs: 300 });
  const created = await http(gw.url, 'POST', '/api/v1/projects', { body: { name: 'Claude Code', source: { path: '/tmp' } } });
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({ name: 'Claude Code', ciSocket: 'project-claude-code-ai', socketPort: 42100 + created.body.index, ciStatus: 'running' });
  const id = created.body.id as string;

  const one = await http(gw.url, 'GET', `/api/v1/projects/${id}`);
  expect(one.body).toMatchObject({ id, ciSocket: 'project-claude-code-ai', socketPort: created.body.socketPort });
  const list = await http(gw.url, 'GET', '/api/v1/projects');
  expect(list.body.projects).toEqual([expect.objectContaining({ id, ciSocket: 'project-claude-code-ai', socketPort: created.body.socketPort, ciStatus: 'running' })]);

  const renamed = await http(gw.url, 'PATCH', `/api/v1/projects/${id}`, { body: { name: 'Other Name' } });
  expect(renamed.status).toBe(200);
  expect(renamed.body).toMatchObject({ name: 'Other Name', ciSocket: 'project-other-name-ai', socketPort: created.body.socketPort });

  // A project project-ci knows nothing about is said to have no CI, not made up.
  ci.cis.delete(id);
  expect((await http(gw.url, 'GET', `/api/v1/projects/${id}`)).body).toMatchObject({ ciSocket: null, socketPort: null, ciStatus: 'missing' });
}, 20_000);

test('POST /api/projects/chat forwards to project-ci and waits longer than the generic request timeout', async () => {
  const p = await http(gw.url, 'POST', '/api/v1/projects', { body: { name: 'Chatty', source: { path: '/tmp' } } });
  expect(p.status).toBe(201);
  // 1 s: more than GATEWAY_REQUEST_TIMEOUT_MS (400 ms) here; project-ci may take up to 120 s for a model.
  const chat = await http(gw.url, 'POST', '/api/projects/chat', { body: { project_name: 'chatty', message: 'sleep 1000' } });
  expect(chat.status).toBe(200);
  expect(chat.body).toEqual({ response: '[Project: Chatty] sleep 1000', project_name: 'Chatty', ci_socket: 'project-chatty-ai', socket_port: p.body.socketPort });
  const unknown = await http(gw.url, 'POST', '/api/projects/chat', { body: { project_name: 'nope', message: 'hi' } });
  expect(unknown.status).toBe(404);
  expect(unknown.body.detail).toContain('nope');
});

test('an exec without timeoutMs is given GATEWAY_EXEC_TIMEOUT_MS (not the generic request timeout) and waited for, over HTTP and the socket', async () => {
  const sessionId = orch.addSession('local');
  const res = await http(gw.url, 'POST', `/api/v1/sessions/${sessionId}/exec`, { body: { command: 'wait 1000' } });
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ exitCode: 0, timedOut: false });
  const sent = orch.received.filter((r) => r.name === 'shell.exec').at(-1)!.payload as { timeoutMs?: number };
  // The command (sent to the shell) is told the same limit the gateway waits for (default 10 minutes, the orchestrator's own default).
  expect(sent.timeoutMs).toBe(600_000);
  const c = new TestClient(gw.url);
  try {
    await c.connected();
    const id = c.command('/exec', ['wait 1000'], { sessionId });
    const reply = await waitFor('socket exec reply', () => c.reply(id), { timeoutMs: 10_000 });
    expect(reply.type).toBe('response');
    expect(reply.payload).toMatchObject({ commandId: id, exitCode: 0 });
    expect((orch.received.filter((r) => r.name === 'shell.exec').at(-1)!.payload as { timeoutMs?: number }).timeoutMs).toBe(600_000);
  } finally {
    c.close();
  }
});

test('a chat longer than GATEWAY_CHAT_TIMEOUT_MS is a 504 naming project-ci, not a hang', async () => {
  const impatient = await startTestGateway(broker.url, { GATEWAY_CHAT_TIMEOUT_MS: '300' });
  try {
    const res = await http(impatient.url, 'POST', '/api/projects/chat', { body: { project_name: 'chatty', message: 'sleep 700' } });
    expect(res.status).toBe(504);
    expect(res.body).toMatchObject({ code: 'SERVICE_TIMEOUT', service: 'project-ci' });
    expect(res.body.detail).toContain('project-ci');
  } finally {
    await impatient.stop();
  }
});
