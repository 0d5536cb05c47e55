import { AppError, type ExecResultV1, type SandboxSpecV1, type SessionEventV1, type SessionStatusV1 } from '@codeagent/contracts';
import { testLogger } from '@codeagent/testing';
import { EventLog } from './event-log';
import { EventIngest } from './ingest';
import { SessionManager, type SessionPolicy } from './manager';
import { Reconciler } from './recovery';
import { SessionPool, type PoolShape } from './pool';
import type { EventsRepository, SessionExpectation, SessionFilter, SessionsRepository, ShellPort, WorkspacePort } from './ports';
import { isEnded, isPooled, type SessionRecord } from './session';

// The lifecycle rules with in-memory stand-ins for the database and the other services: the limits,
// idle closing, and state moves under concurrency. The real database and bus are covered by
// test/*.int.test.ts.

class MemorySessions implements SessionsRepository {
  readonly rows = new Map<string, SessionRecord>();
  async insert(s: SessionRecord) {
    this.rows.set(s.id, { ...s });
  }
  async get(id: string) {
    const r = this.rows.get(id);
    return r && { ...r };
  }
  async update(id: string, patch: Partial<SessionRecord>, expect: SessionExpectation = {}) {
    const r = this.rows.get(id);
    if (!r || (expect.statuses && !expect.statuses.includes(r.status)) || (expect.ownerInstance && r.ownerInstance !== expect.ownerInstance)) return undefined;
    if (expect.owner !== undefined && r.owner !== expect.owner) return undefined;
    if (expect.runningCommandId !== undefined && (r.runningCommandId ?? null) !== expect.runningCommandId) return undefined;
    const next = { ...r, ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) } as SessionRecord;
    this.rows.set(id, next);
    return { ...next };
  }
  async remove(id: string) {
    this.rows.delete(id);
  }
  async list(_f: SessionFilter) {
    return { sessions: [...this.rows.values()] };
  }
  async countLive(owner?: string) {
    return [...this.rows.values()].filter((r) => !isEnded(r.status) && (owner ? r.owner === owner : !isPooled(r))).length;
  }
  async listPooled(ownerInstance: string) {
    return [...this.rows.values()].filter((r) => isPooled(r) && r.status === 'ready' && r.ownerInstance === ownerInstance);
  }
  async listLive() {
    return [...this.rows.values()].filter((r) => !isEnded(r.status));
  }
  async listIdle(ownerInstance: string, quietSince: Date) {
    return [...this.rows.values()].filter((r) => r.ownerInstance === ownerInstance && (r.status === 'ready' || r.status === 'idle') && !isPooled(r) && Date.parse(r.lastActivityAt) < quietSince.getTime());
  }
  async commandState(id: string) {
    return this.get(id);
  }
  /** Compare-and-set writes of busy/idle, counted. */
  commandWrites = 0;
  async setCommandState(id: string, from: { status: SessionStatusV1; runningCommandId: string | null }, to: { status: SessionStatusV1; runningCommandId: string | null; lastCompletedCommandId?: string; lastActivityAt: string }) {
    this.commandWrites += 1;
    return (await this.update(id, to, { statuses: [from.status], runningCommandId: from.runningCommandId })) !== undefined;
  }
}

class MemoryEvents implements EventsRepository {
  readonly rows: SessionEventV1[] = [];
  async append(events: SessionEventV1[]) {
    this.rows.push(...events);
    return [];
  }
  async since(sessionId: string, since: number, limit: number) {
    const after = this.rows.filter((e) => e.sessionId === sessionId && e.seq > since);
    return { events: after.slice(0, limit), hasMore: after.length > limit };
  }
  async maxSeq(sessionId: string) {
    return Math.max(0, ...this.rows.filter((e) => e.sessionId === sessionId).map((e) => e.seq));
  }
  async prune() {
    return 0;
  }
}

function setup(policy: Partial<SessionPolicy> = {}) {
  let now = Date.parse('2026-11-21T12:00:00.000Z');
  const clock = { now: () => new Date(now) };
  const repo = new MemorySessions();
  // What is published is stored at once here (the store's part is covered by its own tests).
  const stored = new MemoryEvents();
  /** The facts published (session.created, ...), as name and user. */
  const facts: Array<{ name: string; user?: string }> = [];
  const publisher = {
    publish: async (name: string, payload: unknown) => {
      if (name === 'session.event') stored.rows.push(payload as SessionEventV1);
      else facts.push({ name, user: (payload as { user?: string }).user });
    },
  };
  /** The jails' streams: the last seq each gave (from shell.open's firstSeq). */
  const jails = new Map<string, number>();
  const removed: string[] = [];
  const closedJails: string[] = [];
  const pendingExec: Array<() => void> = [];
  let closeGate: Promise<void> | undefined;
  const workspace: WorkspacePort = {
    prepare: async () => ({ workspaceId: `ws_${repo.rows.size}`, path: '/tmp/x' }),
    fork: async () => ({ workspaceId: 'ws_fork', path: '/tmp/y' }),
    remove: async (id) => void removed.push(id),
    snapshotIds: async () => [],
  };
  const shell: ShellPort = {
    open: async (req) => {
      jails.set(req.sessionId, req.firstSeq - 1);
      return { instanceId: 'shell-1', limitsInForce: {} };
    },
    close: async (_i, sessionId) => {
      await closeGate;
      if (!jails.has(sessionId)) return undefined;
      closedJails.push(sessionId);
      const last = jails.get(sessionId);
      jails.delete(sessionId);
      return last;
    },
    append: async (_i, req) => {
      if (!jails.has(req.sessionId)) throw new AppError('NOT_FOUND', `no jail for ${req.sessionId}`);
      const seq = jails.get(req.sessionId)! + 1;
      jails.set(req.sessionId, seq);
      stored.rows.push({ sessionId: req.sessionId, seq, kind: req.kind, data: req.data, at: clock.now().toISOString() } as SessionEventV1);
      return seq;
    },
    // Each command waits until the test lets it finish, so tests control the overlap; as the real
    // shell does, it reports the start (applied as its event would be).
    exec: (_i, req) =>
      new Promise<ExecResultV1>((resolve) =>
        void manager.commands.started(req.sessionId, req.commandId).then(() => pendingExec.push(() => {
          resolve({ commandId: req.commandId, exitCode: 0, stdout: '', stderr: '', durationMs: 1, timedOut: false, truncated: false });
        })),
      ),
    interrupt: async () => true,
    list: async () => [],
  };
  const events = new EventLog(stored, publisher, shell, clock);
  const manager = new SessionManager({
    repo,
    events,
    workspace,
    shell,
    publisher,
    clock,
    log: testLogger(),
    self: 'orch-1',
    policy: { maxSessions: 100, maxPerUser: 100, idleMs: 60_000, execTimeoutMs: 1000, ...policy },
  });
  const create = (owner = 'ann') => manager.create({ owner, source: { kind: 'empty' }, sandbox: {}, workspacePolicy: 'remove' });
  const statuses = async (id: string) => {
    return stored.rows.filter((e) => e.sessionId === id && e.kind === 'status').map((e) => (e.data as { to: string }).to);
  };
  /** Jails close only once the returned function is called. */
  const holdCloses = () => {
    let release = () => {};
    closeGate = new Promise((r) => (release = r));
    return release;
  };
  const seqs = (id: string) => stored.rows.filter((e) => e.sessionId === id).map((e) => e.seq);
  /** A create the pool may serve: an empty workspace in the default sandbox. */
  const ask = (owner: string, sandbox: SandboxSpecV1 = {}) => ({ owner, source: { kind: 'empty' } as const, sandbox, workspacePolicy: 'remove' as const });
  const pool = (size: number, more: PoolShape[] = []) => new SessionPool({ manager, repo, log: testLogger(), shapes: [{ size, sandbox: {} }, ...more] });
  return { manager, repo, events, shell, workspace, create, removed, closedJails, pendingExec, statuses, seqs, holdCloses, facts, pool, ask, advance: (ms: number) => (now += ms) };
}

test('the overall limit refuses the N+1th session, whoever asks, and leaves no trace of it', async () => {
  const { create, repo } = setup({ maxSessions: 2, maxPerUser: 5 });
  await create('ann');
  await create('bob');
  const err = (await create('carl').catch((e: unknown) => e)) as AppError;
  expect(err).toBeInstanceOf(AppError);
  expect(err).toMatchObject({ code: 'LIMIT_REACHED', details: { limit: 'overall', max: 2 } });
  expect(repo.rows.size).toBe(2);
});

test('idle sessions are closed after the configured time; busy ones and recently active ones are not', async () => {
  const t = setup({ idleMs: 60_000 });
  const quiet = await t.create();
  const busy = await t.create();
  const active = await t.create();
  const running = t.manager.exec(busy.id, { command: 'sleep' });
  await new Promise((r) => setImmediate(r));
  t.advance(50_000);
  await t.manager.touch(active.id);
  t.advance(20_000);
  expect(await t.manager.closeIdle()).toEqual([quiet.id]);
  expect((await t.manager.get(quiet.id)).closeReason).toBe('idle for more than 60 s');
  expect(t.closedJails).toEqual([quiet.id]);
  expect((await t.manager.get(busy.id)).status).toBe('busy');
  t.pendingExec.shift()!();
  await running;
  expect((await t.manager.get(busy.id)).status).toBe('idle');
});

test('a completion arriving after the next command started leaves the session busy until that one completes', async () => {
  // Two replicas apply the shell's facts; the first command's completion is the one that lags.
  const t = setup();
  const s = await t.create();
  await t.manager.commands.started(s.id, 'cmd_a');
  await t.manager.commands.started(s.id, 'cmd_b');
  await t.manager.commands.completed(s.id, 'cmd_a');
  expect((await t.manager.get(s.id)).status).toBe('busy');
  await t.manager.commands.completed(s.id, 'cmd_b');
  expect((await t.manager.get(s.id)).status).toBe('idle');
  // Busy and idle are stored only: the jail's stream logs them (the shell's Session), not this manager.
  expect(await t.statuses(s.id)).toEqual(['creating', 'ready']);
});

test('busy/idle follow a stored batch of the log: its commands\' starts and completions, in order', async () => {
  const t = setup();
  const s = await t.create();
  const at = '2026-12-05T00:00:00.000Z';
  const ev = (seq: number, kind: 'command.started' | 'command.completed' | 'output', commandId: string): SessionEventV1 =>
    (kind === 'output'
      ? { sessionId: s.id, seq, kind, data: { commandId, stream: 'stdout', data: 'x' }, at }
      : { sessionId: s.id, seq, kind, data: { commandId, command: 'x', ...(kind === 'command.completed' ? { exitCode: 0, durationMs: 1, timedOut: false } : {}) }, at }) as SessionEventV1;
  const writes = t.repo.commandWrites;
  await t.manager.commands.follow([ev(3, 'command.started', 'cmd_a'), ev(4, 'output', 'cmd_a'), ev(5, 'command.completed', 'cmd_a'), ev(6, 'command.started', 'cmd_b')]);
  expect(await t.manager.get(s.id)).toMatchObject({ status: 'busy', runningCommandId: 'cmd_b', lastCompletedCommandId: 'cmd_a' });
  // The batch's three facts are one write.
  expect(t.repo.commandWrites - writes).toBe(1);
  await t.manager.commands.follow([ev(7, 'command.completed', 'cmd_b')]);
  expect(await t.manager.get(s.id)).toMatchObject({ status: 'idle', lastCompletedCommandId: 'cmd_b' });
  expect((await t.manager.get(s.id)).runningCommandId ?? null).toBeNull();
  // A batch redelivered after the state moved on writes nothing: folded, it ends where the state is.
  await t.manager.commands.follow([ev(5, 'command.completed', 'cmd_a'), ev(6, 'command.started', 'cmd_b'), ev(7, 'command.completed', 'cmd_b')]);
  expect(t.repo.commandWrites - writes).toBe(2);
});

test('a start arriving after its own completion, and facts applied twice (every replica), change nothing', async () => {
  const t = setup();
  const s = await t.create();
  await t.manager.commands.started(s.id, 'cmd_a');
  await t.manager.commands.completed(s.id, 'cmd_a');
  await t.manager.commands.completed(s.id, 'cmd_a');
  await t.manager.commands.started(s.id, 'cmd_a');
  expect((await t.manager.get(s.id)).status).toBe('idle');
  await Promise.all([t.manager.commands.started(s.id, 'cmd_b'), t.manager.commands.started(s.id, 'cmd_b')]);
  expect((await t.manager.get(s.id)).status).toBe('busy');
  await Promise.all([t.manager.commands.completed(s.id, 'cmd_b'), t.manager.commands.completed(s.id, 'cmd_b')]);
  expect((await t.manager.get(s.id)).status).toBe('idle');
});

test('an idle close does not close a session whose command started after the idle check read it', async () => {
  const t = setup({ idleMs: 60_000 });
  const s = await t.create();
  t.advance(70_000);
  const listIdle = t.repo.listIdle.bind(t.repo);
  // The command's start is applied between the idle check's read and its close.
  t.repo.listIdle = async (...args) => {
    const quiet = await listIdle(...args);
    await t.manager.commands.started(s.id, 'cmd_late');
    return quiet;
  };
  expect(await t.manager.closeIdle()).toEqual([]);
  expect((await t.manager.get(s.id)).status).toBe('busy');
  expect(t.closedJails).toEqual([]);
});

test('a command given a stale record (ready, while the session is idle) still marks it busy, then idle', async () => {
  const t = setup();
  const stale = await t.create();
  const first = t.manager.exec(stale.id, { command: 'a' });
  await new Promise((r) => setImmediate(r));
  t.pendingExec.shift()!();
  await first;
  expect((await t.manager.get(stale.id)).status).toBe('idle');
  const second = t.manager.exec(stale, { command: 'b' });
  await new Promise((r) => setImmediate(r));
  expect((await t.manager.get(stale.id)).status).toBe('busy');
  t.pendingExec.shift()!();
  await second;
  expect((await t.manager.get(stale.id)).status).toBe('idle');
});

test('the log is one gapless sequence: numbered here before the jail and after it closed, by the jail in between', async () => {
  const t = setup();
  const s = await t.create();
  await t.manager.commands.started(s.id, 'cmd_a');
  await t.manager.close(s.id);
  // creating (here, 1), ready and closing (the jail, from firstSeq 2), closed (here, after the jail's last).
  expect(await t.statuses(s.id)).toEqual(['creating', 'ready', 'closing', 'closed']);
  expect(t.seqs(s.id)).toEqual([1, 2, 3, 4]);
});

test('a session failing because its jail is gone continues after the highest seq seen', async () => {
  const t = setup();
  const s = await t.create();
  await t.events.append(await t.manager.get(s.id), 'note', { message: 'from the jail' });
  // The shell replica vanished: its close cannot answer the last seq.
  t.shell.close = async () => Promise.reject(new AppError('SERVICE_UNAVAILABLE', 'replica gone'));
  await t.manager.fail(s.id, 'the jail is gone');
  expect(await t.statuses(s.id)).toEqual(['creating', 'ready', 'failed']);
  expect(t.seqs(s.id)).toEqual([1, 2, 3, 4]);
});

test('two closes at once both answer with the closed session, which is closed once', async () => {
  const t = setup();
  const s = await t.create();
  const [x, y] = await Promise.all([t.manager.close(s.id), t.manager.close(s.id)]);
  expect([x.status, y.status]).toEqual(['closed', 'closed']);
  expect(await t.statuses(s.id)).toEqual(['creating', 'ready', 'closing', 'closed']);
  expect(t.removed).toEqual([s.workspaceId]);
});

test('a reconcile that misses a jail does not fail a session whose close began meanwhile: the close ends it closed', async () => {
  // The race behind a session closed by its user ending `failed`: the reconciler read the session
  // idle, asked the shell for its jails, and the close removed the jail in between.
  const t = setup();
  const s = await t.create();
  const release = t.holdCloses();
  let closing: Promise<SessionRecord> | undefined;
  const reconciler = new Reconciler({
    repo: t.repo,
    manager: t.manager,
    workspace: t.workspace,
    peers: { self: 'orch-1', isAlive: async () => true },
    log: testLogger(),
    shellRestartGraceMs: 0,
    shell: {
      open: async () => ({ instanceId: 'shell-1', limitsInForce: {} }),
      close: async () => undefined,
      append: async () => Promise.reject(new Error('not used')),
      exec: async () => Promise.reject(new Error('not used')),
      interrupt: async () => false,
      // The close starts while the shell answers, and its jail is already gone from the answer.
      list: async () => {
        closing = t.manager.close(s.id);
        while ((await t.repo.get(s.id))?.status !== 'closing') await new Promise((r) => setImmediate(r));
        return [];
      },
    },
  });
  const report = await reconciler.run();
  release();
  expect((await closing!).status).toBe('closed');
  expect(report.failed).toEqual([]);
  expect(t.removed).toEqual([s.workspaceId]);
});

test('a shell replica that left the bus may be restarting: its sessions wait out the grace, then fail', async () => {
  const t = setup();
  const s = await t.create();
  let answer: string[] | 'gone' = 'gone';
  const reconciler = (graceMs: number) =>
    new Reconciler({
      repo: t.repo,
      manager: t.manager,
      workspace: t.workspace,
      peers: { self: 'orch-1', isAlive: async () => true },
      log: testLogger(),
      shellRestartGraceMs: graceMs,
      shell: { ...t.shell, list: async () => answer },
    });
  const patient = reconciler(60_000);
  // Gone (restarting with the jail kept): the session is kept, twice.
  expect((await patient.run()).kept).toEqual([s.id]);
  expect((await patient.run()).kept).toEqual([s.id]);
  expect((await t.repo.get(s.id))?.status).toBe('ready');
  // Back with the jail: kept, and the clock starts again the next time it goes.
  answer = [s.id];
  expect((await patient.run()).kept).toEqual([s.id]);
  // Gone for longer than the grace: failed with the reason.
  answer = 'gone';
  const report = await reconciler(0).run();
  expect(report.failed).toEqual([{ sessionId: s.id, reason: expect.stringContaining('no longer exists') }]);
});

test('a jail-closed fact read before a close began does not fail the session that close is closing', async () => {
  // shell.closed's handler read the session ready; the user's close moved it to closing before the
  // failure was stored. The failure must be checked against the state it was drawn from.
  const t = setup();
  const s = await t.create();
  const release = t.holdCloses();
  const ingest = new EventIngest(t.events, t.manager, testLogger());
  const read = t.repo.get.bind(t.repo);
  let closing: Promise<SessionRecord> | undefined;
  t.repo.get = async (id: string) => {
    const seen = await read(id);
    t.repo.get = read;
    closing = t.manager.close(s.id);
    while ((await read(s.id))?.status !== 'closing') await new Promise((r) => setImmediate(r));
    return seen;
  };
  await ingest.shellClosed({ sessionId: s.id, instanceId: 'shell-1', lastSeq: 2 });
  release();
  expect((await closing!).status).toBe('closed');
  expect(await t.statuses(s.id)).toEqual(['creating', 'ready', 'closing', 'closed']);
});

describe('the warm pool', () => {
  test('hands out a session made ahead to its new owner, once, and refills behind it; pooled ones count against no limit and publish no fact', async () => {
    const t = setup({ maxSessions: 1 });
    const pool = t.pool(2);
    await pool.sync();
    await pool.idle();
    const made = [...t.repo.rows.keys()];
    expect(made).toHaveLength(2);
    expect(await t.repo.countLive()).toBe(0);
    expect(t.facts).toEqual([]);
    const s = await pool.take(t.ask('ann'), new Date());
    expect(s).toMatchObject({ id: made[0], owner: 'ann', status: 'ready' });
    expect(t.facts).toEqual([{ name: 'session.created', user: 'ann' }, { name: 'session.ready', user: 'ann' }]);
    await pool.idle();
    expect(pool.size).toBe(2);
    expect(t.repo.rows.size).toBe(3);
    // The limit counts ann's session, not the pool's: bob is refused and the pool keeps what it had.
    await expect(pool.take(t.ask('bob'), new Date())).rejects.toMatchObject({ code: 'LIMIT_REACHED' });
    expect(pool.size).toBe(2);
    expect([...t.repo.rows.values()].filter((r) => r.owner === 'bob')).toEqual([]);
  });

  test('serves only its shapes, skips a pooled session that failed, and is never closed as idle', async () => {
    const t = setup({ idleMs: 60_000 });
    const pool = t.pool(2);
    await pool.sync();
    await pool.idle();
    expect(await pool.take(t.ask('ann', { memoryMb: 512 }), new Date())).toBeUndefined();
    // Nor a create with anything of its own in the jail: its env, a project, another driver.
    expect(await pool.take({ ...t.ask('ann'), env: { A: '1' } }, new Date())).toBeUndefined();
    expect(await pool.take({ ...t.ask('ann'), projectId: 'p-1' }, new Date())).toBeUndefined();
    expect(await pool.take({ ...t.ask('ann'), driver: 'docker' }, new Date())).toBeUndefined();
    const [first, second] = [...t.repo.rows.keys()];
    await t.manager.fail(first!, 'the jail is gone');
    t.advance(120_000);
    expect(await t.manager.closeIdle()).toEqual([]);
    expect((await pool.take(t.ask('ann'), new Date()))?.id).toBe(second);
    // One with the same limits given in another order is the same shape.
    const shaped = t.pool(0, [{ size: 1, sandbox: { memoryMb: 512, pids: 64 } }]);
    await shaped.sync();
    await shaped.idle();
    expect(await shaped.take(t.ask('bob', { pids: 64, memoryMb: 512 }), new Date())).toMatchObject({ owner: 'bob', sandbox: { memoryMb: 512, pids: 64 } });
  });

  test('a replica started with a smaller pool finds its pooled sessions again and closes the surplus', async () => {
    const t = setup();
    const before = t.pool(3);
    await before.sync();
    await before.idle();
    await before.stop();
    const after = t.pool(1);
    await after.sync();
    await after.idle();
    expect(after.size).toBe(1);
    expect([...t.repo.rows.values()].map((r) => r.status).sort()).toEqual(['closed', 'closed', 'ready']);
    expect(t.closedJails).toHaveLength(2);
    expect(t.facts).toEqual([]);
  });

  test('a surplus pooled session that was given out meanwhile is not closed', async () => {
    const t = setup();
    const pool = t.pool(1);
    await pool.sync();
    await pool.idle();
    const [id] = [...t.repo.rows.keys()];
    await t.manager.assign(id!, 'ann');
    expect(await t.manager.closePooled(id!, 'surplus')).toBe(false);
    expect(await t.manager.get(id!)).toMatchObject({ owner: 'ann', status: 'ready' });
  });
});
