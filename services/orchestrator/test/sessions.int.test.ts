import { AppError, type SessionEventV1, type SessionV1 } from '@codeagent/contracts';
import { createTestBroker, createTestDatabase, waitFor, type ServiceProcess, type TestBroker, type TestDatabase } from '@codeagent/testing';
import { TestShell, TestWorkspace } from './fake-services';
import { connectClient, startOrchestrator } from './harness';

// The orchestrator as a real process on a vhost of its own, with its own database, driven over the
// bus like the gateway drives it. Workspace and shell are small real consumers on the same vhost
// (tests/fake-services.ts), so failures can be injected and undo checked.
let broker: TestBroker;
let db: TestDatabase;
let ws: TestWorkspace;
let shell: TestShell;
let orch: ServiceProcess;
let client: Awaited<ReturnType<typeof connectClient>>;
const baseEnv = () => ({
  RABBITMQ_URL: broker.url,
  ...db.env,
  ORCHESTRATOR_MAX_SESSIONS_PER_USER: '2',
  ORCHESTRATOR_MAX_SESSIONS: '50',
  ORCHESTRATOR_RECONCILE_MS: '0',
  ORCHESTRATOR_TASKS_SYNC_MS: '0',
});
const admin = { userId: 'admin', role: 'admin' as const };
const req = <T>(name: string, payload: unknown, timeoutMs = 20_000) => (client.bus.request as any)(name, payload, { timeoutMs }) as Promise<T>;
const create = (owner: string) => req<SessionV1>('orchestrator.session.create', { source: { kind: 'empty' }, owner, sandbox: { network: 'none', memoryMb: 256 } });
const events = (sessionId: string, since = 0, limit = 1000) =>
  req<{ events: SessionEventV1[]; hasMore: boolean; lastSeq: number }>('orchestrator.session.events', { sessionId, since, limit });

/**
 * The stored log once storage has caught up with the live stream (it trails it by a batch): every
 * page after `since`, once the last stored seq is the last one seen live.
 */
async function storedLog(sessionId: string, since = 0): Promise<SessionEventV1[]> {
  const lastLive = () => Math.max(0, ...client.live.filter((e) => e.sessionId === sessionId).map((e) => e.seq));
  await waitFor('storage to catch up with the live stream', async () => lastLive() > 0 && (await events(sessionId)).lastSeq === lastLive(), { timeoutMs: 20_000, intervalMs: 50 });
  const all: SessionEventV1[] = [];
  for (;;) {
    const page = await events(sessionId, since, 400);
    all.push(...page.events);
    if (!page.hasMore) return all;
    since = page.events[page.events.length - 1]!.seq;
  }
}

function assertGapless(list: SessionEventV1[], from: number) {
  expect(list.map((e) => e.seq)).toEqual(Array.from({ length: list.length }, (_, i) => from + i));
}

beforeAll(async () => {
  broker = await createTestBroker('orch-sessions');
  db = await createTestDatabase((process.env.TEST_DATABASES ?? 'sqlite').split(',')[0] as 'sqlite', 'orch-sessions');
  ws = await TestWorkspace.start(broker.url);
  shell = await TestShell.start(broker.url);
  client = await connectClient(broker.url);
  orch = await startOrchestrator({ ...baseEnv(), INSTANCE_ID: 'orch-a' });
}, 60_000);

afterAll(async () => {
  // The orchestrator's own errors, when a test failed, say why better than the reply does.
  const errors = (orch?.output() ?? '').split('\n').filter((l) => /"level":"(error|fatal)"/.test(l));
  if (errors.length) console.log(errors.slice(0, 5).join('\n'));
  if (process.env.ORCH_LOG_FILE) require('node:fs').writeFileSync(process.env.ORCH_LOG_FILE, orch?.output() ?? '');
  await orch?.stop();
  await client?.bus.close(500);
  await shell?.stop();
  await ws?.stop();
  await broker?.dispose();
  await db?.dispose();
});

test('the whole lifecycle: create → ready → busy → idle → closing → closed, with every event logged and published', async () => {
  const s = await create('ann');
  expect(s).toMatchObject({ owner: 'ann', status: 'ready', shellInstanceId: shell.instanceId, source: { kind: 'empty' }, sandbox: { network: 'none', memoryMb: 256 } });
  expect(ws.live.has(s.workspaceId!)).toBe(true);
  expect(shell.jails.has(s.id)).toBe(true);

  const r = await req<{ exitCode: number; stdout: string; commandId: string }>('orchestrator.session.exec', { sessionId: s.id, command: 'hello' });
  expect(r).toMatchObject({ exitCode: 0, stdout: 'hello\n' });
  expect((await req<SessionV1>('orchestrator.session.get', { sessionId: s.id })).status).toBe('idle');

  const closed = await req<SessionV1>('orchestrator.session.close', { sessionId: s.id });
  expect(closed).toMatchObject({ status: 'closed' });
  expect(shell.closed).toContain(s.id);
  expect(ws.removed).toContain(s.workspaceId);

  const log = await storedLog(s.id);
  assertGapless(log, 1);
  const statuses = log.filter((e) => e.kind === 'status').map((e) => (e.data as { to: string }).to);
  expect(statuses).toEqual(['creating', 'ready', 'busy', 'idle', 'closing', 'closed']);
  const kinds = log.map((e) => e.kind);
  expect(kinds).toEqual(expect.arrayContaining(['command.started', 'output', 'command.completed']));
  expect(log.find((e) => e.kind === 'output')?.data).toMatchObject({ commandId: r.commandId, stream: 'stdout', data: 'hello\n' });
  await waitFor('the lifecycle facts', () => ['session.created', 'session.ready', 'session.closed'].every((n) => client.facts.some((f) => f.name === n && f.payload.sessionId === s.id)));
  await waitFor('every event live', () => client.live.filter((e) => e.sessionId === s.id).length === log.length);
  expect(client.live.filter((e) => e.sessionId === s.id)).toEqual(log);
});

test('a failure opening the jail undoes the workspace and leaves the session failed with the reason', async () => {
  shell.failOpen = 'bubblewrap is not installed';
  try {
    const before = ws.removed.length;
    const err = await create('bob').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('SANDBOX_UNAVAILABLE');
    expect(ws.removed.length).toBe(before + 1);
    const removed = ws.removed[ws.removed.length - 1]!;
    expect(ws.live.has(removed)).toBe(false);
    const { sessions } = await req<{ sessions: SessionV1[] }>('orchestrator.session.list', { owner: 'bob', includeEnded: true });
    expect(sessions[0]).toMatchObject({ status: 'failed', failureReason: expect.stringContaining('opening the jail failed: bubblewrap is not installed') });
    await waitFor('session.failed', () => client.facts.some((f) => f.name === 'session.failed' && f.payload.sessionId === sessions[0]!.id));
  } finally {
    shell.failOpen = undefined;
  }
});

test('limits refuse the N+1th live session of a user with LIMIT_REACHED, and count again after a close', async () => {
  const a = await create('carol');
  await create('carol');
  const err = await create('carol').catch((e: unknown) => e);
  expect((err as AppError).code).toBe('LIMIT_REACHED');
  expect((err as AppError).message).toMatch(/carol already has 2 live sessions/);
  expect((await create('dave')).status).toBe('ready'); // another user is not affected
  await req('orchestrator.session.close', { sessionId: a.id });
  expect((await create('carol')).status).toBe('ready');
});

test('a jail lost while its session is being closed does not fail it: the close ends it closed', async () => {
  // How a user's close could end `failed` (as real-services.int.test.ts once did): the close had moved
  // the session to closing and was waiting for shell.close when the jail's shell died and could not
  // be replaced; shell.crashed failed the session under the close, whose move to closed then missed.
  const s = await create('lena');
  const witness = await create('lena');
  const release = shell.holdClose(s.id);
  const closing = req<SessionV1>('orchestrator.session.close', { sessionId: s.id });
  await waitFor('the close to reach the jail', () => shell.closed.includes(s.id));
  // What the shell publishes when a shell dies and cannot be replaced: the crash, then the jail closed.
  const lost = (sessionId: string) => ({ sessionId, reason: 'the shell ended (signal SIGKILL); restart failed', restarted: false });
  await shell.bus.publish('shell.crashed', lost(s.id));
  await shell.bus.publish('shell.closed', { sessionId: s.id, instanceId: shell.instanceId });
  // The orchestrator handles these facts one at a time, in order: once the witness (nobody is closing
  // it) has failed, the facts about the closing session have been handled too.
  await shell.bus.publish('shell.crashed', lost(witness.id));
  await waitFor('the witness failed', () => client.facts.some((f) => f.name === 'session.failed' && f.payload.sessionId === witness.id));
  release();
  expect(await closing).toMatchObject({ status: 'closed' });
  expect(ws.removed).toContain(s.workspaceId);
  expect(client.facts.filter((f) => f.payload.sessionId === s.id).map((f) => f.name)).not.toContain('session.failed');
});

test('events after N replay exactly, in order, with no gap and no duplicate, from the database', async () => {
  const s = await create('erin');
  // Generous timeouts: 1800 confirmed publishes by the stand-in shell are slow on a loaded host.
  await req('orchestrator.session.exec', { sessionId: s.id, command: 'chunks 1500' }, 60_000);
  await req('orchestrator.session.exec', { sessionId: s.id, command: 'chunks 300' }, 60_000);
  const all = await storedLog(s.id);
  assertGapless(all, 1);
  const outputs = all.filter((e) => e.kind === 'output').map((e) => (e.data as { data: string }).data);
  expect(outputs).toEqual([...Array.from({ length: 1500 }, (_, i) => `line ${i + 1}\n`), ...Array.from({ length: 300 }, (_, i) => `line ${i + 1}\n`)]);
  const last = all[all.length - 1]!.seq;
  const tail = await events(s.id, last - 50);
  expect(tail.events).toEqual(all.slice(-50));
  expect(tail.lastSeq).toBe(last);
  expect((await events(s.id, last)).events).toEqual([]);
  await waitFor('the live stream to catch up', () => client.live.filter((e) => e.sessionId === s.id).length >= all.length, { timeoutMs: 20_000 });
  expect(client.live.filter((e) => e.sessionId === s.id)).toEqual(all);
}, 150_000);

test('storage is idempotent: a redelivered event is stored once, and a seq given twice keeps the first', async () => {
  const s = await create('ella');
  const before = await storedLog(s.id);
  const seq = await shell.log(s.id, 'note', { message: 'once' });
  const e = { sessionId: s.id, seq, kind: 'note' as const, data: { message: 'once' }, at: new Date().toISOString() };
  // The same event again (a publish retried after a lost confirm, a redelivery), then another with its seq.
  await shell.bus.publish('session.event', e);
  await shell.bus.publish('session.event', { ...e, data: { message: 'same seq, other content' } });
  await shell.log(s.id, 'note', { message: 'next' });
  const stored = await waitFor('the events stored', async () => {
    const log = (await events(s.id, before.at(-1)!.seq)).events;
    return log.some((x) => x.seq === seq + 1) ? log : undefined;
  });
  expect(stored.map((x) => [x.seq, x.data])).toEqual([
    [seq, { message: 'once' }],
    [seq + 1, { message: 'next' }],
  ]);
  await req('orchestrator.session.close', { sessionId: s.id });
});

test('a member sees and touches only their own sessions', async () => {
  const mine = await create('fred');
  const theirs = await create('gina');
  const fred = { userId: 'fred', role: 'member' as const };
  const list = await req<{ sessions: SessionV1[] }>('orchestrator.session.list', { actor: fred, owner: 'gina' });
  expect(list.sessions.map((s) => s.owner)).toEqual(['fred']);
  expect(list.sessions.map((s) => s.id)).toContain(mine.id);
  const err = await req('orchestrator.session.exec', { actor: fred, sessionId: theirs.id, command: 'x' }).catch((e: unknown) => e);
  expect((err as AppError).code).toBe('FORBIDDEN');
  expect((await req<SessionV1>('orchestrator.session.get', { actor: admin, sessionId: theirs.id })).owner).toBe('gina');
});

test('a restart (another replica taking over) keeps sessions; a session whose jail vanished meanwhile fails with the reason', async () => {
  const kept = await create('hank');
  await req('orchestrator.session.exec', { sessionId: kept.id, command: 'before restart' });
  const lost = await create('hank');
  const seqBefore = (await events(kept.id)).lastSeq;

  expect(await orch.stop('SIGTERM')).toBe(0);
  shell.jails.delete(lost.id); // the jail died while no orchestrator was running
  orch = await startOrchestrator({ ...baseEnv(), INSTANCE_ID: 'orch-b' });

  expect((await req<SessionV1>('orchestrator.session.get', { sessionId: kept.id })).status).toBe('idle');
  const failed = await req<SessionV1>('orchestrator.session.get', { sessionId: lost.id });
  expect(failed).toMatchObject({ status: 'failed', failureReason: expect.stringContaining('the jail is gone') });

  const r = await req<{ stdout: string }>('orchestrator.session.exec', { sessionId: kept.id, command: 'after restart' });
  expect(r.stdout).toBe('after restart\n');
  const log = await storedLog(kept.id);
  assertGapless(log, 1);
  expect(log.filter((e) => e.seq > seqBefore).length).toBeGreaterThan(3);
  const outs = log.filter((e) => e.kind === 'output').map((e) => (e.data as { data: string }).data);
  expect(outs).toEqual(['before restart\n', 'after restart\n']);
}, 90_000);

test('a session on a project takes its sandbox defaults; deleting the project closes the session', async () => {
  const p = await req<{ id: string }>('orchestrator.project.create', { name: 'with-sessions', source: { path: '/tmp' }, settings: { sandbox: { memoryMb: 300, network: 'open' } } });
  const s = await req<SessionV1>('orchestrator.session.create', { projectId: 'with-sessions', owner: 'ivy', sandbox: { network: 'none' } });
  expect(s).toMatchObject({ status: 'ready', projectId: p.id, source: { kind: 'path', path: '/tmp' }, sandbox: { memoryMb: 300, network: 'none' } });
  expect(await req('orchestrator.project.delete', { projectId: p.id })).toMatchObject({ deleted: true });
  expect(await req<SessionV1>('orchestrator.session.get', { sessionId: s.id })).toMatchObject({ status: 'closed', closeReason: 'its project with-sessions was deleted' });
  expect(shell.jails.has(s.id)).toBe(false);
});

test('fork: from the live workspace or from one of the session’s own snapshots, never from another’s', async () => {
  const mine = await create('jill');
  const theirs = await create('kurt');
  const snap = await req<{ snapshotId: string; sessionId: string }>('orchestrator.session.snapshot', { sessionId: mine.id, label: 'before' });
  expect(snap.sessionId).toBe(mine.id);
  const foreign = await req<{ snapshotId: string }>('orchestrator.session.snapshot', { sessionId: theirs.id });

  const live = await req<SessionV1>('orchestrator.session.fork', { sessionId: mine.id, owner: 'jill' });
  expect(live).toMatchObject({ status: 'ready', owner: 'jill', forkedFrom: { sessionId: mine.id } });
  expect(live.workspaceId).not.toBe(mine.workspaceId);
  await req('orchestrator.session.close', { sessionId: live.id }); // jill may hold two live sessions
  const fromSnap = await req<SessionV1>('orchestrator.session.fork', { sessionId: mine.id, snapshotId: snap.snapshotId, owner: 'jill' });
  expect(fromSnap.forkedFrom).toEqual({ sessionId: mine.id, snapshotId: snap.snapshotId });
  expect(ws.forks.slice(-2)).toEqual([{ workspaceId: mine.workspaceId }, { snapshotId: snap.snapshotId }]);

  const forks = ws.forks.length;
  const err = await req('orchestrator.session.fork', { sessionId: mine.id, snapshotId: foreign.snapshotId, owner: 'jill' }).catch((e: unknown) => e);
  expect(err).toMatchObject({ code: 'NOT_FOUND', message: `session ${mine.id} has no snapshot ${foreign.snapshotId}` });
  expect(ws.forks.length).toBe(forks);
  expect((await storedLog(mine.id)).filter((e) => e.kind === 'snapshot').map((e) => e.data)).toEqual([{ snapshotId: snap.snapshotId, label: 'before' }]);
});
