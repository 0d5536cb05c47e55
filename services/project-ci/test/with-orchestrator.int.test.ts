import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Bus } from '@codeagent/bus';
import { createTestBroker, freePortBlock, spawnTs, startFakeLlm, testLogger, waitFor, type FakeLlm, type ServiceProcess, type TestBroker } from '@codeagent/testing';
import { isListening, NdjsonClient } from './ndjson-client';

// project-ci with the real orchestrator, both as processes on a vhost of this file's own: projects
// are created and deleted through orchestrator.project.* (which publishes the project events and
// allocates the lowest free index), and every chat message is answered by the orchestrator's own
// orchestrator.llm.complete handler through its provider registry, configured to an Ollama server
// that is the fake LLM of libs/testing.

jest.setTimeout(120_000);

let base: number;
let broker: TestBroker;
let root: string;
let llm: FakeLlm;
let client: Bus;
const procs: ServiceProcess[] = [];
const sockets: NdjsonClient[] = [];

let projectCi: ServiceProcess;
const projectCiEnv = () => ({ DATA_DIR: path.join(root, 'project-ci'), PROJECT_CI_PORT: '0', PROJECT_CI_PORT_BASE: String(base) });

async function start(entry: string, name: string, env: Record<string, string>): Promise<ServiceProcess> {
  const proc = spawnTs(entry, { RABBITMQ_URL: broker.url, INSTANCE_ID: `${name}-${process.pid}`, LOG_LEVEL: 'info', ...env });
  procs.push(proc);
  await waitFor(`${name} to start`, () => proc.output().includes('"service started"') || proc.child.exitCode !== null, { timeoutMs: 60_000, intervalMs: 100 });
  if (proc.child.exitCode !== null) throw new Error(`${name} exited:\n${proc.output().slice(-3000)}`);
  return proc;
}

const ci = async (name: string) => (await client.request('project-ci.list', {}, { timeoutMs: 10_000 })).cis.find((c) => c.project_name === name);

beforeAll(async () => {
  base = await freePortBlock(50);
  broker = await createTestBroker('project-ci-orch');
  root = mkdtempSync(path.join(tmpdir(), 'project-ci-orch-'));
  llm = await startFakeLlm({ models: ['llama3.3:70b'] });
  client = await Bus.connect({ url: broker.url, service: 'test', instanceId: `pci-orch-test-${process.pid}`, logger: testLogger(), requestTimeoutMs: 30_000 });
  await start('services/orchestrator/src/main.ts', 'orchestrator', { DATA_DIR: path.join(root, 'orchestrator'), ORCHESTRATOR_PORT: '0', ORCHESTRATOR_POOL_SIZE: '0' });
  projectCi = await start('services/project-ci/src/main.ts', 'project-ci', projectCiEnv());
  await client.request('orchestrator.provider.set', { name: 'ollama', baseURL: `${llm.url}/api`, enabled: true });
});

afterAll(async () => {
  for (const s of sockets) s.close();
  await Promise.all(procs.map((p) => p.stop('SIGTERM')));
  await client?.close(500);
  await llm?.close();
  await broker?.dispose();
  rmSync(root, { recursive: true, force: true });
});

test('projects made by the orchestrator get their sockets; messages are answered by its provider registry', async () => {
  const alpha = await client.request('orchestrator.project.create', {
    name: 'Orch-Alpha',
    source: { kind: 'empty' },
    settings: { ci: { provider: 'ollama', model: 'llama3.3:70b' } },
  });
  const beta = await client.request('orchestrator.project.create', { name: 'Orch-Beta', source: { kind: 'empty' }, settings: { ci: { provider: 'ollama', model: 'llama3.3:70b' } } });
  await waitFor('both CIs running', async () => (await ci('Orch-Alpha'))?.status === 'running' && (await ci('Orch-Beta'))?.status === 'running', { timeoutMs: 30_000 });
  expect((await ci('Orch-Alpha'))!.socket_port).toBe(base + alpha.index);
  expect((await ci('Orch-Beta'))!.socket_port).toBe(base + beta.index);

  llm.push({ text: 'hello from the real registry' });
  const s = await NdjsonClient.open(base + alpha.index);
  sockets.push(s);
  expect(await s.ask({ content: 'who answers?' }, 60_000)).toEqual({ content: 'hello from the real registry', project: 'Orch-Alpha' });
  const req = llm.requests.at(-1)!;
  expect(req.format).toBe('ollama');
  expect(req.body.model).toBe('llama3.3:70b');
  expect(JSON.stringify(req.body.messages)).toContain('[Project: Orch-Alpha] who answers?');

  llm.push({ text: 'same conversation' });
  const viaBus = await client.request('project-ci.chat', { project_name: 'Orch-Alpha', message: 'and through the HTTP door?' }, { timeoutMs: 60_000 });
  expect(viaBus).toMatchObject({ response: 'same conversation', ci_socket: 'project-orch-alpha-ai', socket_port: base + alpha.index, provider: 'ollama' });
  expect(JSON.stringify(llm.requests.at(-1)!.body.messages)).toContain('hello from the real registry');

  // Deleting frees the index; the orchestrator gives it to the next project, and project-ci the port.
  await client.request('orchestrator.project.delete', { projectId: alpha.id });
  await waitFor('the port to be free', async () => !(await ci('Orch-Alpha')) && !(await isListening(base + alpha.index)), { timeoutMs: 30_000 });
  const gamma = await client.request('orchestrator.project.create', { name: 'Orch-Gamma', source: { kind: 'empty' }, settings: {} });
  expect(gamma.index).toBe(alpha.index);
  await waitFor('Gamma on the freed port', async () => (await ci('Orch-Gamma'))?.status === 'running', { timeoutMs: 30_000 });
  expect((await ci('Orch-Gamma'))!.socket_port).toBe(base + alpha.index);
});

test('changes made while project-ci is down are caught up when it comes back', async () => {
  await projectCi.stop('SIGTERM');
  const gamma = await client.request('orchestrator.project.get', { projectId: 'Orch-Gamma' });
  const beta = await client.request('orchestrator.project.get', { projectId: 'Orch-Beta' });
  await client.request('orchestrator.project.delete', { projectId: beta.id });
  const delta = await client.request('orchestrator.project.create', { name: 'Orch-Delta', source: { kind: 'empty' }, settings: {} });
  expect(delta.index).toBe(beta.index);
  projectCi = await start('services/project-ci/src/main.ts', 'project-ci', projectCiEnv());
  await waitFor('Gamma and Delta running, Beta gone', async () => {
    const cis = (await client.request('project-ci.list', {}, { timeoutMs: 10_000 })).cis;
    return cis.length === 2 && cis.every((c) => c.status === 'running') && !cis.some((c) => c.project_name === 'Orch-Beta');
  }, { timeoutMs: 30_000 });
  expect((await ci('Orch-Gamma'))!.socket_port).toBe(base + gamma.index);
  expect((await ci('Orch-Delta'))!.socket_port).toBe(base + beta.index);
  const s = await NdjsonClient.open(base + beta.index);
  sockets.push(s);
  expect(await s.ask({ ping: true })).toEqual({ pong: true, project: 'Orch-Delta' });
});
