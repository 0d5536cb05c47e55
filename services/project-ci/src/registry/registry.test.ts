import { createServer, type Server } from 'node:net';
import { networkInterfaces } from 'node:os';
import { AppError } from '@codeagent/contracts';
import { freePortBlock, testLogger, waitFor } from '@codeagent/testing';
import { isListening, NdjsonClient } from '../../test/ndjson-client';
import { MemoryStore, RecordingModel } from '../../test/fakes';
import { Conversation } from '../conversation/conversation';
import { CiSocketServer } from '../socket/ci-server';
import { ProjectCiRegistry, type RegistryOptions } from './registry';

// The registry's domain with real TCP sockets on a port base of this file's own, a recording fake model
// and an in-memory repository (the JSON and bus wiring are covered by the integration test).

let base: number;
beforeAll(async () => {
  base = await freePortBlock(50);
});
const registries: ProjectCiRegistry[] = [];
const clients: NdjsonClient[] = [];
const foreign: Server[] = [];

function makeRegistry(store = new MemoryStore(), model = new RecordingModel(), extra: Partial<RegistryOptions> = {}) {
  const conversation = new Conversation({ history: store, model, keepMessages: 6, contextChars: 100_000 });
  const registry = new ProjectCiRegistry({
    host: '127.0.0.1',
    portBase: base,
    maxLineBytes: 64 * 1024,
    maxClients: 3,
    closeGraceMs: 2_000,
    maxMissedPings: 2,
    pingTimeoutMs: 1_000,
    repository: store,
    conversation,
    log: testLogger(),
    ...extra,
  });
  registries.push(registry);
  return { registry, store, model };
}
async function open(port: number) {
  const c = await NdjsonClient.open(port);
  clients.push(c);
  return c;
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(registries.splice(0).map((r) => r.stopAll()));
  await Promise.all(foreign.splice(0).map((s) => new Promise((r) => s.close(r))));
});

test('two projects chat at once on their own ports, each answer prefixed and tagged with its project', async () => {
  const { registry, model } = makeRegistry();
  model.answer = async (r) => {
    await new Promise((res) => setTimeout(res, 50));
    return `reply to ${r.messages.at(-1)!.content}`;
  };
  const a = await registry.ensure({ projectId: 'p-a', name: 'Alpha', index: 0 });
  const b = await registry.ensure({ projectId: 'p-b', name: 'Beta', index: 1, provider: 'ollama', model: 'llama3.3:70b' });
  expect([a.socket_port, b.socket_port, a.status, b.ci_socket]).toEqual([base, base + 1, 'running', 'project-beta-ai']);
  const [ca, cb] = [await open(base), await open(base + 1)];
  const answers = await Promise.all([ca.ask({ content: 'hi from a' }), cb.ask({ content: 'hi from b', id: 7 })]);
  expect(answers).toEqual([
    { content: 'reply to [Project: Alpha] hi from a', project: 'Alpha' },
    { content: 'reply to [Project: Beta] hi from b', project: 'Beta', id: 7 },
  ]);
  expect(model.requests.find((r) => r.projectId === 'p-b')).toMatchObject({ provider: 'ollama', model: 'llama3.3:70b' });
  expect(await ca.ask({ ping: true })).toEqual({ pong: true, project: 'Alpha' });
  const listed = await registry.list();
  expect(listed.map((c) => [c.project_name, c.status, c.history_messages])).toEqual([['Alpha', 'running', 2], ['Beta', 'running', 2]]);
  expect(listed[0]!.last_response_at).not.toBeNull();
});

test('a 200 KB reply arrives whole; bad lines get an error line and the connection (and others) keep working', async () => {
  const { registry, model } = makeRegistry();
  const big = 'x'.repeat(200 * 1024 - 10) + ' the end';
  model.answer = () => big;
  await registry.ensure({ projectId: 'p', name: 'P', index: 2 });
  const c = await open(base + 2);
  const other = await open(base + 2);
  expect((await c.ask({ content: 'long please' })).content).toBe(big);
  c.sendRaw('not json\n');
  expect((await c.next()).error).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining('not JSON') });
  expect((await c.ask({ content: '' })).error.code).toBe('VALIDATION_FAILED');
  expect((await c.ask([1, 2])).error.code).toBe('VALIDATION_FAILED');
  c.sendRaw(JSON.stringify({ content: 'y'.repeat(70 * 1024) }) + '\n');
  expect((await c.next()).error.code).toBe('PAYLOAD_TOO_LARGE');
  model.answer = () => 'fine';
  expect(await c.ask({ content: 'still there?' })).toEqual({ content: 'fine', project: 'P' });
  expect(await other.ask({ content: 'me too' })).toEqual({ content: 'fine', project: 'P' });
});

test('both doors share the history, bounded, and the model sees it as context', async () => {
  const { registry, model } = makeRegistry();
  await registry.ensure({ projectId: 'p', name: 'Shared', index: 3 });
  const c = await open(base + 3);
  await c.ask({ content: 'first via socket' });
  const viaBus = await registry.chat.send('shared', 'second via bus', 'bus');
  expect(viaBus.ci.socket_port).toBe(base + 3);
  const last = model.requests.at(-1)!.messages.map((m) => `${m.role}:${m.content}`);
  expect(last.slice(1)).toEqual([
    'user:[Project: Shared] first via socket',
    'assistant:echo: [Project: Shared] first via socket',
    'user:[Project: Shared] second via bus',
  ]);
  for (let i = 0; i < 4; i++) await c.ask({ content: `more ${i}` });
  const h = await registry.chat.history('p');
  expect(h.messages).toHaveLength(6);
  expect(h.messages.at(-1)).toMatchObject({ role: 'assistant', via: 'socket' });
  await expect(registry.chat.send('nobody', 'x', 'bus')).rejects.toMatchObject({ code: 'NOT_FOUND' });
});

test('deleting a project closes its socket gracefully (the answer in progress is delivered) and frees the port for the next project', async () => {
  const { registry, model } = makeRegistry();
  let release!: () => void;
  model.answer = () => new Promise<string>((r) => (release = () => r('late but whole')));
  await registry.ensure({ projectId: 'old', name: 'Old', index: 4 });
  const c = await open(base + 4);
  c.send({ content: 'slow one' });
  await waitFor('the model to be asked', () => model.requests.length === 1);
  c.send({ content: 'queued behind it', id: 'q' });
  const removing = registry.remove('old');
  await waitFor('the port to stop accepting', async () => !(await isListening(base + 4)));
  release();
  await removing;
  const answers = [await c.next(), await c.next()];
  expect(answers).toEqual(
    expect.arrayContaining([
      { content: 'late but whole', project: 'Old' },
      { error: { code: 'SERVICE_UNAVAILABLE', message: 'project "Old" was deleted; its CI is closed' }, id: 'q' },
    ]),
  );
  expect(model.requests).toHaveLength(1);
  await waitFor('the client to be disconnected', () => c.isClosed);
  expect((await registry.list()).map((x) => x.project_id)).toEqual([]);
  model.answer = () => 'new here';
  const next = await registry.ensure({ projectId: 'new', name: 'New', index: 4 });
  expect(next).toMatchObject({ socket_port: base + 4, status: 'running', history_messages: 0 });
  expect(await (await open(base + 4)).ask({ content: 'hello' })).toEqual({ content: 'new here', project: 'New' });
});

test('two projects with the same index never share a port: the second waits, then gets it', async () => {
  const { registry } = makeRegistry();
  await registry.ensure({ projectId: 'first', name: 'First', index: 5 });
  const second = await registry.ensure({ projectId: 'second', name: 'Second', index: 5 });
  expect(second.status).toBe('conflict');
  expect(second.status_reason).toContain('"First"');
  await registry.remove('first');
  expect(await registry.get('second')).toMatchObject({ status: 'running', socket_port: base + 5 });
  expect(await (await open(base + 5)).ask({ ping: true })).toEqual({ pong: true, project: 'Second' });
});

test('a port held by another process is reported, not swapped, and taken once it is free', async () => {
  const { registry } = makeRegistry();
  const squatter = createServer();
  foreign.push(squatter);
  await new Promise<void>((r) => squatter.listen(base + 6, '127.0.0.1', r));
  const ci = await registry.ensure({ projectId: 'p', name: 'Squatted', index: 6 });
  expect(ci).toMatchObject({ status: 'port_in_use', socket_port: base + 6 });
  expect(ci.status_reason).toContain(`127.0.0.1:${base + 6} is in use by another process`);
  await new Promise((r) => squatter.close(r));
  await registry.checkHealth();
  expect(await registry.get('p')).toMatchObject({ status: 'running' });
});

test('a CI that stops answering pings is restarted on its port', async () => {
  const servers: CiSocketServer[] = [];
  const { registry } = makeRegistry(undefined, undefined, {
    serverFactory: (o) => {
      const s = new CiSocketServer(o);
      servers.push(s);
      return s;
    },
  });
  await registry.ensure({ projectId: 'p', name: 'Flaky', index: 7 });
  await registry.checkHealth();
  expect((await registry.get('p')).last_ping_ms).not.toBeNull();
  // Break it behind the registry's back: the socket goes away as if the CI had died.
  await servers[0]!.close('test breaks it', 0);
  await registry.checkHealth();
  expect(await registry.get('p')).toMatchObject({ status: 'unhealthy' });
  await registry.checkHealth();
  expect(servers).toHaveLength(2);
  expect(await registry.get('p')).toMatchObject({ status: 'running', socket_port: base + 7 });
  expect(await (await open(base + 7)).ask({ ping: true })).toEqual({ pong: true, project: 'Flaky' });
});

test('after a restart every CI comes back on its port with its conversation', async () => {
  const store = new MemoryStore();
  const first = makeRegistry(store);
  await first.registry.ensure({ projectId: 'p', name: 'Stays', index: 8 });
  await (await open(base + 8)).ask({ content: 'remember me' });
  await first.registry.stopAll();
  expect(await isListening(base + 8)).toBe(false);
  const second = makeRegistry(store);
  await second.registry.restore();
  expect(await second.registry.get('Stays')).toMatchObject({ status: 'running', socket_port: base + 8, history_messages: 2 });
  await (await open(base + 8)).ask({ content: 'and now?' });
  expect(second.model.requests[0]!.messages.map((m) => m.content)).toContain('[Project: Stays] remember me');
});

test('a repeated created event changes nothing; a rename keeps the port', async () => {
  const { registry } = makeRegistry();
  await registry.ensure({ projectId: 'p', name: 'Before', index: 9 });
  await registry.ensure({ projectId: 'p', name: 'Before', index: 9 });
  const renamed = await registry.ensure({ projectId: 'p', name: 'After', index: 9 });
  expect(renamed).toMatchObject({ project_name: 'After', ci_socket: 'project-after-ai', socket_port: base + 9, status: 'running' });
  expect(await (await open(base + 9)).ask({ ping: true })).toEqual({ pong: true, project: 'After' });
  expect(() => registry.ensure({ projectId: 'q', name: 'Huge', index: 70_000 })).toThrow(/not a TCP port/);

  // A changed index moves the CI, and a project that was refused the old port gets it.
  await registry.ensure({ projectId: 'waiting', name: 'Waiting', index: 9 });
  expect((await registry.get('waiting')).status).toBe('conflict');
  expect(await registry.ensure({ projectId: 'p', name: 'After', index: 12 })).toMatchObject({ socket_port: base + 12, status: 'running' });
  expect(await registry.get('waiting')).toMatchObject({ socket_port: base + 9, status: 'running' });
});

test('a failing model is an error line for that message only; the conversation keeps no half turn', async () => {
  const { registry, model } = makeRegistry();
  await registry.ensure({ projectId: 'p', name: 'Down', index: 10 });
  const c = await open(base + 10);
  model.answer = () => {
    throw new AppError('PROVIDER_FAILED', 'ollama is not reachable at 127.0.0.1:11434');
  };
  expect(await c.ask({ content: 'hello?', id: 'x1' })).toEqual({ error: { code: 'PROVIDER_FAILED', message: 'ollama is not reachable at 127.0.0.1:11434' }, id: 'x1' });
  model.answer = () => {
    throw new Error('a bug with internals');
  };
  expect((await c.ask({ content: 'again' })).error).toEqual({ code: 'INTERNAL', message: 'internal error' });
  expect((await registry.get('p')).history_messages).toBe(0);
  model.answer = () => 'back';
  expect(await c.ask({ content: 'now?' })).toEqual({ content: 'back', project: 'Down' });
});

test('CI sockets listen on loopback only', async () => {
  const { registry } = makeRegistry();
  await registry.ensure({ projectId: 'p', name: 'Local', index: 11 });
  expect(await isListening(base + 11, '127.0.0.1')).toBe(true);
  const external = Object.values(networkInterfaces())
    .flat()
    .find((i) => i && i.family === 'IPv4' && !i.internal);
  // Hosts without a non-loopback interface have nothing else to reach it from.
  if (external) expect(await isListening(base + 11, external.address)).toBe(false);
});

test('a CI serves a bounded number of clients at once and says so to the one too many', async () => {
  const { registry } = makeRegistry();
  await registry.ensure({ projectId: 'p', name: 'Busy', index: 13 });
  const three = [await open(base + 13), await open(base + 13), await open(base + 13)];
  for (const c of three) expect(await c.ask({ ping: true })).toEqual({ pong: true, project: 'Busy' });
  const extra = await open(base + 13);
  expect((await extra.next()).error).toEqual({ code: 'LIMIT_REACHED', message: 'this CI already has 3 clients; try again later' });
  await waitFor('the extra client to be disconnected', () => extra.isClosed);
  // Full is not dead: the health round must not restart it.
  await registry.checkHealth();
  await registry.checkHealth();
  expect(await registry.get('p')).toMatchObject({ status: 'running' });
  expect(await three[1]!.ask({ ping: true })).toEqual({ pong: true, project: 'Busy' });
  three[0]!.close();
  await waitFor('a place to free up', async () => {
    const again = await open(base + 13);
    const first = await again.ask({ ping: true }, 2_000).catch(() => undefined);
    return first?.pong === true;
  });
});
