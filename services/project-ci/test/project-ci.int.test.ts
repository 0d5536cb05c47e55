import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Bus } from '@codeagent/bus';
import { createTestBroker, freePortBlock, spawnTs, startFakeLlm, testLogger, waitFor, type FakeLlm, type ServiceProcess, type TestBroker } from '@codeagent/testing';
import { startLlmForwarder } from './llm-forwarder';
import { isListening, NdjsonClient } from './ndjson-client';
import { projectCreated, projectDeleted } from './project-events';

// The real service as a process, on a vhost of this file's own, the real RabbitMQ, real sockets
// (node:net) on a port base of this file's own; the model is the fake LLM server of libs/testing
// (Ollama wire format over HTTP), reached through a real bus consumer of orchestrator.llm.complete
// (test/llm-forwarder.ts) standing in for the orchestrator's provider registry.

jest.setTimeout(90_000);

let base: number;
let broker: TestBroker;
let dataDir: string;
let llm: FakeLlm;
let client: Bus;
let forwarder: Bus;
let service: ServiceProcess | undefined;
const sockets: NdjsonClient[] = [];

async function startService(): Promise<ServiceProcess> {
  const proc = spawnTs('services/project-ci/src/main.ts', {
    RABBITMQ_URL: broker.url,
    DATA_DIR: dataDir,
    INSTANCE_ID: `project-ci-${process.pid}`,
    PROJECT_CI_PORT: '0',
    PROJECT_CI_PORT_BASE: String(base),
    PROJECT_CI_HEALTH_INTERVAL_MS: '500',
    PROJECT_CI_CLOSE_GRACE_MS: '2000',
    LOG_LEVEL: 'info',
  });
  await waitFor(`project-ci to start\n${proc.output().slice(-2000)}`, () => proc.output().includes('"service started"') || proc.child.exitCode !== null, {
    timeoutMs: 45_000,
    intervalMs: 100,
  });
  if (proc.child.exitCode !== null) throw new Error(`project-ci exited:\n${proc.output().slice(-3000)}`);
  return proc;
}

async function open(port: number): Promise<NdjsonClient> {
  const c = await NdjsonClient.open(port);
  sockets.push(c);
  return c;
}

const list = () => client.request('project-ci.list', {}, { timeoutMs: 10_000 });
const ciOf = async (projectId: string) => (await list()).cis.find((c) => c.project_id === projectId);

beforeAll(async () => {
  base = await freePortBlock(50);
  broker = await createTestBroker('project-ci');
  dataDir = mkdtempSync(path.join(tmpdir(), 'project-ci-int-'));
  llm = await startFakeLlm({ models: ['llama3.3:70b'] });
  forwarder = (await startLlmForwarder(broker.url, llm.url)).bus;
  client = await Bus.connect({ url: broker.url, service: 'test', instanceId: `project-ci-test-${process.pid}`, logger: testLogger() });
  service = await startService();
});

afterAll(async () => {
  for (const s of sockets) s.close();
  await service?.stop('SIGTERM');
  await client?.close(500);
  await forwarder?.close(500);
  await llm?.close();
  await broker?.dispose();
  rmSync(dataDir, { recursive: true, force: true });
});

test('two projects get their sockets on base + index and chat on both at once, prefixed, each with its own model', async () => {
  await projectCreated(client, { id: 'proj-a', name: 'Alpha', index: 0, provider: 'ollama', model: 'llama3.3:70b' });
  await projectCreated(client, { id: 'proj-b', name: 'Beta', index: 1 });
  await waitFor('both CIs running', async () => (await list()).cis.filter((c) => c.status === 'running').length === 2, { timeoutMs: 20_000 });
  expect((await ciOf('proj-a'))).toMatchObject({ socket_port: base, ci_socket: 'project-alpha-ai', project_name: 'Alpha' });
  expect((await ciOf('proj-b'))).toMatchObject({ socket_port: base + 1, ci_socket: 'project-beta-ai' });

  llm.push({ text: 'first answer' }, { text: 'second answer' });
  const [a, b] = [await open(base), await open(base + 1)];
  const answers = await Promise.all([a.ask({ content: 'hello alpha' }, 30_000), b.ask({ content: 'hello beta' }, 30_000)]);
  expect(answers.map((x) => x.project)).toEqual(['Alpha', 'Beta']);
  expect(answers.map((x) => x.content).sort()).toEqual(['first answer', 'second answer']);
  const prompts = llm.requests.map((r) => (r.body.messages as Array<{ content: string }>).at(-1)!.content).sort();
  expect(prompts).toEqual(['[Project: Alpha] hello alpha', '[Project: Beta] hello beta']);
  expect(llm.requests.find((r) => JSON.stringify(r.body).includes('hello alpha'))!.body.model).toBe('llama3.3:70b');

  expect(await a.ask({ ping: true })).toEqual({ pong: true, project: 'Alpha' });
  a.sendRaw('{"content": oops}\n');
  expect((await a.next()).error.code).toBe('VALIDATION_FAILED');
  expect((await ciOf('proj-a'))!.last_response_at).not.toBeNull();
});

test('a 200 KB reply arrives whole on the socket', async () => {
  const big = 'lorem ipsum '.repeat(17_000) + 'THE END';
  llm.push({ text: big });
  const c = await open(base);
  const answer = await c.ask({ content: 'write me a long one' }, 30_000);
  expect(answer.content).toHaveLength(big.length);
  expect(answer.content).toBe(big);
});

test('the HTTP route’s bus command and the socket are the same conversation', async () => {
  llm.push({ text: 'noted: blue' });
  const viaBus = await client.request('project-ci.chat', { project_name: 'beta', message: 'my favourite colour is blue' }, { timeoutMs: 30_000 });
  expect(viaBus).toMatchObject({ response: 'noted: blue', project_name: 'Beta', ci_socket: 'project-beta-ai', socket_port: base + 1 });

  llm.push({ text: 'it is blue' });
  const b = await open(base + 1);
  expect(await b.ask({ content: 'what is my favourite colour?' }, 30_000)).toEqual({ content: 'it is blue', project: 'Beta' });
  const sent = (llm.requests.at(-1)!.body.messages as Array<{ role: string; content: string }>).map((m) => `${m.role}: ${m.content}`);
  expect(sent).toEqual(expect.arrayContaining(['user: [Project: Beta] my favourite colour is blue', 'assistant: noted: blue']));
  expect(sent.at(-1)).toBe('user: [Project: Beta] what is my favourite colour?');

  const history = await client.request('project-ci.history', { project: 'proj-b' }, { timeoutMs: 10_000 });
  expect(history.messages.map((m) => m.via)).toEqual(['socket', 'socket', 'bus', 'bus', 'socket', 'socket']);
  await expect(client.request('project-ci.chat', { project_name: 'Gamma', message: 'hi' }, { timeoutMs: 10_000 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
});

test('deleting a project closes its socket and its port is reused by the next project', async () => {
  const b = await open(base + 1);
  await projectDeleted(client, { id: 'proj-b', name: 'Beta', index: 1 });
  await waitFor('Beta to leave the registry', async () => !(await ciOf('proj-b')), { timeoutMs: 20_000 });
  await waitFor('the port to be free', async () => !(await isListening(base + 1)));
  await waitFor('the client to be disconnected', () => b.isClosed);

  await projectCreated(client, { id: 'proj-c', name: 'Gamma', index: 1 });
  await waitFor('Gamma running', async () => (await ciOf('proj-c'))?.status === 'running', { timeoutMs: 20_000 });
  expect(await ciOf('proj-c')).toMatchObject({ socket_port: base + 1, history_messages: 0 });
  expect(await (await open(base + 1)).ask({ ping: true })).toEqual({ pong: true, project: 'Gamma' });
});

test('after a restart the remaining CIs are back on their ports, with their conversation', async () => {
  await service!.stop('SIGTERM');
  await waitFor('the ports to close', async () => !(await isListening(base)) && !(await isListening(base + 1)));
  service = await startService();
  await waitFor('Alpha and Gamma running again', async () => (await list()).cis.filter((c) => c.status === 'running').length === 2, { timeoutMs: 20_000 });
  expect((await list()).cis.map((c) => [c.project_name, c.socket_port])).toEqual([['Alpha', base], ['Gamma', base + 1]]);
  llm.push({ text: 'welcome back' });
  expect(await (await open(base)).ask({ content: 'still there?' }, 30_000)).toEqual({ content: 'welcome back', project: 'Alpha' });
  const kept = await client.request('project-ci.history', { project: 'Alpha' }, { timeoutMs: 10_000 });
  expect(kept.messages.map((m) => m.content.slice(0, 20))).toEqual(['hello alpha', 'first answer', 'write me a long one', 'lorem ipsum lorem ip', 'still there?', 'welcome back']);
  // The context is bounded (PROJECT_CI_CONTEXT_CHARS): the 200 KB answer reaches the model cut from its start.
  const sent = (llm.requests.at(-1)!.body.messages as Array<{ role: string; content: string }>).map((m) => `${m.role}: ${m.content}`);
  expect(sent.at(-2)).toMatch(/^assistant: \n\[\.\.\. earlier text cut to fit the context \.\.\.\]\n[a-z ]+THE END$/);
  expect(sent.at(-2)!.length).toBeLessThan(33_000);
  expect(sent.at(-1)).toBe('user: [Project: Alpha] still there?');
});
