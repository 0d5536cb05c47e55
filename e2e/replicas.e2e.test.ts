import { freePort, spawnTs, startStack, waitFor, type ServiceProcess, type Stack } from '@codeagent/testing';
import { api as gatewayApi, ok as gatewayOk, SocketClient, type Rec, type ServerMessage } from './bench/client';

// Several replicas of every service on the session path, on one broker, every service a real process
// with real jails: two orchestrators, two shells, two gateways. A session's commands go from whichever
// gateway straight to the shell replica holding its jail (issue 17): the jail's shell state proves
// they reach the same one; busy/idle follow the shell's events whichever orchestrator applies them;
// a close seen by one gateway is known to the other, whose next command is a 409, not a timeout.
let stack: Stack;
let gw2: ServiceProcess;
let urls: [string, string];

const api = (gw: 0 | 1, method: string, p: string, body?: unknown) => gatewayApi(urls[gw], method, p, body);
const ok = (gw: 0 | 1, method: string, p: string, body?: unknown) => gatewayOk(urls[gw], method, p, body);
const exec = (gw: 0 | 1, id: string, command: string) => ok(gw, 'POST', `/api/v1/sessions/${id}/exec`, { command });
const statusOf = async (gw: 0 | 1, id: string) => (await ok(gw, 'GET', `/api/v1/sessions/${id}`)).status as string;

beforeAll(async () => {
  stack = await startStack({ label: 'e2e-replicas', env: { GATEWAY_RATE_LIMIT_PER_MINUTE: '100000' } });
  await stack.startReplica('orchestrator', 'orchestrator-2');
  await stack.startReplica('shell', 'shell-2');
  const port = await freePort();
  gw2 = spawnTs('services/gateway/src/main.ts', { ...stack.env, GATEWAY_PORT: String(port), INSTANCE_ID: `gateway-2-${process.pid}` });
  urls = [stack.url, `http://127.0.0.1:${port}`];
  await waitFor('the second gateway to answer /health', async () => (await fetch(`${urls[1]}/health`).catch(() => undefined))?.status === 200, { timeoutMs: 90_000, intervalMs: 250 });
}, 180_000);

afterAll(async () => {
  await gw2?.stop('SIGTERM', 20_000);
  await stack?.stop();
});

test('commands from either gateway reach the jail of their session, on whichever shell replica holds it', async () => {
  // Sessions are opened on whichever shell replica takes the request: open until both hold one.
  const sessions: Rec[] = [];
  await waitFor('sessions on both shell replicas', async () => {
    sessions.push(await ok(sessions.length % 2 === 0 ? 0 : 1, 'POST', '/api/v1/sessions', { source: { kind: 'empty' } }));
    return new Set(sessions.map((s) => s.shellInstanceId)).size === 2;
  }, { timeoutMs: 120_000, intervalMs: 1 });
  for (const [i, s] of sessions.entries()) {
    // State kept by the session's one shell process: set through one gateway, read through the other.
    expect((await exec(0, s.id, `export MARK=m${i}; cd /tmp`)).exitCode).toBe(0);
    expect(await exec(1, s.id, 'echo "$MARK $(pwd)"')).toMatchObject({ exitCode: 0, stdout: `m${i} /tmp\n` });
    expect(await exec(0, s.id, 'echo "$MARK"')).toMatchObject({ stdout: `m${i}\n` });
  }
  for (const s of sessions) await ok(0, 'DELETE', `/api/v1/sessions/${s.id}`);
}, 240_000);

test('a subscriber on each gateway receives every event of commands sent through both, each seq once and in order', async () => {
  const s = await ok(0, 'POST', '/api/v1/sessions', { source: { kind: 'empty' } });
  const clients = [new SocketClient(urls[0]), new SocketClient(urls[1])];
  const received: Array<Array<{ seq: number; kind: string; commandId?: string }>> = [[], []];
  try {
    for (const [i, c] of clients.entries()) {
      await c.connected();
      c.onMessage((m: ServerMessage) => {
        if ((m.type === 'stream' || m.type === 'status') && m.payload.sessionId === s.id) received[i]!.push({ seq: m.payload.seq, kind: m.type === 'stream' ? 'output' : m.payload.kind, commandId: m.payload.commandId ?? m.payload.data?.commandId });
      });
      await c.command('/subscribe', [], { sessionId: s.id, since: 0 });
    }
    const sent: Rec[] = [];
    for (let n = 0; n < 4; n++) sent.push(await exec(n % 2 === 0 ? 0 : 1, s.id, `seq 1 ${200 * (n + 1)}`));
    const last = sent[sent.length - 1]!.commandId as string;
    for (const r of received) {
      await waitFor('the last command’s completion on every subscriber', () => r.some((e) => e.kind === 'command.completed' && e.commandId === last), { timeoutMs: 30_000 });
      const seqs = r.map((e) => e.seq);
      expect(seqs).toEqual([...new Set(seqs)].sort((a, b) => a - b));
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, k) => seqs[0]! + k));
      for (const cmd of sent) expect(r.filter((e) => e.kind === 'command.completed' && e.commandId === cmd.commandId)).toHaveLength(1);
    }
    // The same events on both, up to where the one behind has got (events after the last completion,
    // such as its idle, may still be on their way to either).
    const both = Math.min(received[0]!.length, received[1]!.length);
    expect(received[0]!.slice(0, both)).toEqual(received[1]!.slice(0, both));
  } finally {
    for (const c of clients) c.close();
    await ok(0, 'DELETE', `/api/v1/sessions/${s.id}`);
  }
}, 120_000);

test('busy while a command runs (another from the other gateway meanwhile is refused, 409), idle after, whichever orchestrator applied the events', async () => {
  const s = await ok(0, 'POST', '/api/v1/sessions', { source: { kind: 'empty' } });
  // The command waits for a file the test writes through the other gateway: no fixed sleep.
  const running = exec(0, s.id, 'while [ ! -e go ]; do sleep 0.02; done; echo went');
  await waitFor('the session busy', async () => (await statusOf(1, s.id)) === 'busy', { timeoutMs: 20_000 });
  const refused = await api(1, 'POST', `/api/v1/sessions/${s.id}/exec`, { command: 'echo overlap' });
  expect(refused.status).toBe(409);
  expect(refused.body.code).toBe('INVALID_STATE');
  expect(await statusOf(0, s.id)).toBe('busy');
  await ok(1, 'PUT', `/api/v1/sessions/${s.id}/files?path=go`, { content: '' });
  expect(await running).toMatchObject({ exitCode: 0, stdout: 'went\n' });
  await waitFor('the session idle', async () => (await statusOf(1, s.id)) === 'idle', { timeoutMs: 20_000 });
  // Commands back to back from both gateways: idle at the end, never stuck busy.
  await Promise.all([exec(0, s.id, 'true').catch(() => undefined), exec(1, s.id, 'true').catch(() => undefined)]);
  await exec(1, s.id, 'true');
  await waitFor('the session idle after back-to-back commands', async () => (await statusOf(0, s.id)) === 'idle', { timeoutMs: 20_000 });
  await ok(0, 'DELETE', `/api/v1/sessions/${s.id}`);
}, 120_000);

test('a session closed through one gateway is refused by the other at once (409 INVALID_STATE), not sent to a jail that is gone', async () => {
  const s = await ok(0, 'POST', '/api/v1/sessions', { source: { kind: 'empty' } });
  // Both gateways have the placement cached.
  await exec(0, s.id, 'true');
  await exec(1, s.id, 'true');
  expect((await ok(0, 'DELETE', `/api/v1/sessions/${s.id}`)).status).toBe('closed');
  const after = await api(1, 'POST', `/api/v1/sessions/${s.id}/exec`, { command: 'echo too late' });
  expect(after.status).toBe(409);
  expect(after.body).toMatchObject({ code: 'INVALID_STATE', status: 409 });
  expect(after.body.detail).toMatch(/is clos(ed|ing)/);
  const socket = new SocketClient(urls[1]);
  try {
    await socket.connected();
    await expect(socket.command('/exec', ['echo too late'], { sessionId: s.id })).rejects.toThrow(/INVALID_STATE/);
  } finally {
    socket.close();
  }
}, 60_000);
