import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Bus, sessionLogHandlers } from '@codeagent/bus';
import { asStored } from './fakes';
import type { EventName, EventPayload, SessionEventV1 } from '@codeagent/contracts';
import { BubblewrapDriver } from '@codeagent/sandbox';
import { runService, type RunningService } from '@codeagent/service';
import { createTestBroker, TEST_BUS_SECRET, testLogger, waitFor, type TestBroker } from '@codeagent/testing';
import { loadServiceEnv } from '../src/env';
import { shellService } from '../src/service';

jest.setTimeout(60_000);

/** Host pids whose command line is exactly `argv` (the jails share this host's kernel). */
function pidsRunning(argv: string[]): number[] {
  const want = argv.join('\0') + '\0';
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8') === want) out.push(Number(d));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

describe('shell service over the bus (real RabbitMQ, real bubblewrap)', () => {
  let broker: TestBroker;
  let service: RunningService;
  let client: Bus;
  let workspace: string;
  const events: Array<{ name: EventName; payload: unknown }> = [];
  const instanceId = `shell-it-${process.pid}`;
  // A duration nobody else uses, so its processes can be found on the host.
  const nap = (s: number) => `${s}.0${process.pid % 1000}`;

  const of = <N extends EventName>(name: N, sessionId: string) =>
    events.filter((e) => e.name === name && (e.payload as { sessionId: string }).sessionId === sessionId).map((e) => e.payload as EventPayload<N>);
  // Recorded as stored (asStored): output as text.
  const outputOf = (sessionId: string) => (of('session.event', sessionId) as SessionEventV1[]).flatMap((e) => (e.kind === 'output' ? [{ seq: e.seq, ...e.data }] : []));

  beforeAll(async () => {
    broker = await createTestBroker('shell');
    workspace = mkdtempSync(path.join(os.tmpdir(), 'shell-ws-'));
    const env = loadServiceEnv({
      RABBITMQ_URL: broker.url,
      CODEAGENT_BUS_SECRET: TEST_BUS_SECRET,
      INSTANCE_ID: instanceId,
      SHELL_PORT: '0',
      SHELL_MAX_SESSIONS: '2',
      SHELL_DOCKER_ENABLED: 'false',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      DATA_DIR: workspace,
    });
    service = await runService({ ...shellService(env, { bubblewrap: new BubblewrapDriver() }), opsPort: 0 }, { exitOnSignal: false });
    client = await Bus.connect({ url: broker.url, service: 'shell-test', instanceId: 'client', logger: testLogger() });
    const record = async (payload: unknown, ctx: { name: string }) => void events.push({ name: ctx.name as EventName, payload });
    await client.subscribe(
      'shell-test',
      { ...sessionLogHandlers(async (e) => void events.push({ name: 'session.event', payload: asStored(e) })), 'shell.command.completed': record, 'shell.crashed': record, 'shell.closed': record, 'shell.terminal.active': record },
      { durable: false, ordered: true },
    );
  });

  afterAll(async () => {
    await client?.close();
    await service?.stop();
    await broker?.dispose();
    rmSync(workspace, { recursive: true, force: true });
  });

  const open = (sessionId: string) => client.request('shell.open', { sessionId, workspaceDir: workspace, network: 'none', limits: {}, env: {}, driver: 'bubblewrap' }, { timeoutMs: 30_000 });
  const exec = (sessionId: string, command: string, extra: { commandId?: string; timeoutMs?: number } = {}) =>
    client.request('shell.exec', { sessionId, command, ...extra }, { instanceId, timeoutMs: 45_000, user: 'ada' });

  test('answers its ping with the bubblewrap check', async () => {
    const pong = await client.request('shell.ping', {});
    expect(pong).toMatchObject({ service: 'shell', instanceId, status: 'ok' });
    expect(pong.checks?.bubblewrap).toBe('ok');
  });

  test('open, exec with a structured result, audit event, cd and export persist', async () => {
    const opened = await open('s1');
    expect(opened).toMatchObject({ sessionId: 's1', instanceId, driver: 'bubblewrap' });
    expect(Object.keys(opened.limitsInForce).length).toBeGreaterThan(0);

    const r = await exec('s1', 'echo hi; echo err >&2; exit 3', { commandId: 'c-exit' });
    expect(r).toMatchObject({ commandId: 'c-exit', exitCode: 3, stdout: 'hi\n', stderr: 'err\n', timedOut: false });
    // The reply comes after the audit record is with the broker; the subscriber gets it shortly.
    const done = await waitFor('the audit record', () => of('shell.command.completed', 's1').find((c) => c.commandId === 'c-exit'));
    expect(done).toMatchObject({ command: 'echo hi; echo err >&2; exit 3', user: 'ada', exitCode: 3 });
    // `exit` ended the persistent shell: a new one replaced it, in its folder, and subscribers were told.
    await waitFor('shell.crashed', () => of('shell.crashed', 's1').length === 1);
    expect(of('shell.crashed', 's1')[0]).toMatchObject({ restarted: true });
    const crashed = await waitFor('the crash in the log', () => (of('session.event', 's1') as SessionEventV1[]).find((e) => e.kind === 'shell.crashed'));
    expect(crashed.data).toMatchObject({ restarted: true, restoredCwd: '/workspace' });

    expect((await exec('s1', 'mkdir -p sub && cd sub && export FOO=bar')).exitCode).toBe(0);
    expect((await exec('s1', 'pwd; echo $FOO')).stdout).toBe('/workspace/sub\nbar\n');
  });

  test('output events arrive in order with a gapless per-session seq, coalesced', async () => {
    const r = await exec('s1', 'i=0; while [ $i -lt 20000 ]; do echo "line $i"; i=$((i+1)); done; echo tail >&2', { commandId: 'c-many' });
    expect(r.exitCode).toBe(0);
    await waitFor('the completed event', () => of('shell.command.completed', 's1').find((c) => c.commandId === 'c-many'));
    const log = of('session.event', 's1');
    expect(log.map((e) => e.seq)).toEqual(log.map((_, i) => i + 1));
    const mine = outputOf('s1').filter((e) => e.commandId === 'c-many');
    const stdout = mine.filter((e) => e.stream === 'stdout').map((e) => Buffer.from(e.data, e.encoding === 'base64' ? 'base64' : 'utf8').toString()).join('');
    expect(stdout).toBe(r.stdout);
    expect(stdout.split('\n')[19999]).toBe('line 19999');
    expect(mine.filter((e) => e.stream === 'stderr').map((e) => e.data).join('')).toBe('tail\n');
    expect(mine.length).toBeLessThan(20000);
    const started = log.find((e) => e.kind === 'command.started' && e.data.commandId === 'c-many')!;
    const completed = of('shell.command.completed', 's1').find((c) => c.commandId === 'c-many')!;
    expect(log.find((e) => e.seq === started.seq + 1)).toMatchObject({ kind: 'status', data: { to: 'busy' } });
    expect(mine[0]!.seq).toBe(started.seq + 2);
    expect(completed.seq).toBe(mine.at(-1)!.seq + 1);
    expect(log.find((e) => e.seq === completed.seq)).toMatchObject({ kind: 'command.completed', data: { commandId: 'c-many', exitCode: 0 } });
  });

  test("a command's UTF-8 output goes as text events, however its pipe's reads fell, and nothing of it is lost", async () => {
    // `yes` writes 8 KiB at a time: lines of ten 3-byte characters, so reads end mid-character.
    const r = await exec('s1', "yes '€€€€€€€€€€' | head -n 20000; printf 'ends €' >&2", { commandId: 'c-utf8' });
    await waitFor('the completed event', () => of('shell.command.completed', 's1').find((c) => c.commandId === 'c-utf8'));
    const mine = outputOf('s1').filter((e) => e.commandId === 'c-utf8');
    expect(mine.filter((e) => e.encoding === 'base64')).toHaveLength(0);
    expect(mine.filter((e) => e.stream === 'stdout').map((e) => e.data).join('')).toBe('€€€€€€€€€€\n'.repeat(20000));
    expect(mine.filter((e) => e.stream === 'stderr').map((e) => e.data).join('')).toBe('ends €');
    expect(r.stdout).toBe('€€€€€€€€€€\n'.repeat(20000));
  });

  test('interrupt ends a sleep 30', async () => {
    const argv = ['sleep', nap(30)];
    const running = exec('s1', argv.join(' '));
    await waitFor('the sleep to run in the jail', () => pidsRunning(argv).length > 0, { timeoutMs: 15_000 });
    expect(await client.request('shell.interrupt', { sessionId: 's1' }, { instanceId })).toEqual({ interrupted: true });
    const r = await running;
    expect(r.exitCode).toBe(130);
    expect(pidsRunning(argv)).toEqual([]);
    expect((await exec('s1', 'pwd')).stdout).toBe('/workspace/sub\n');
  });

  test('a timeout is a result; a terminal streams as output with stream "pty"', async () => {
    const t = await exec('s1', `sleep ${nap(20)}`, { timeoutMs: 500 });
    expect(t).toMatchObject({ timedOut: true });
    expect(t.exitCode).not.toBe(0);

    const ptyText = () =>
      outputOf('s1')
        .filter((e) => e.stream === 'pty')
        .map((e) => Buffer.from(e.data, e.encoding === 'base64' ? 'base64' : 'utf8').toString())
        .join('');
    // Keystrokes with no terminal open one (80x24, as shell.pty.open without a size) and reach it.
    expect(await client.request('shell.pty.input', { sessionId: 's1', data: 'echo first-$(stty size)\n' }, { instanceId, timeoutMs: 20_000 })).toEqual({ ok: true });
    await waitFor('the terminal opened by input', () => ptyText().includes('first-24 80'), { timeoutMs: 15_000 });
    expect(await client.request('shell.pty.open', { sessionId: 's1', cols: 100, rows: 30 }, { instanceId, timeoutMs: 20_000 })).toEqual({ ok: true });
    expect(await client.request('shell.pty.resize', { sessionId: 's1', cols: 120, rows: 40 }, { instanceId })).toEqual({ ok: true });
    // Reattaching without a size keeps the size the terminal has.
    expect(await client.request('shell.pty.open', { sessionId: 's1' }, { instanceId })).toEqual({ ok: true });
    expect(await client.request('shell.pty.input', { sessionId: 's1', data: 'echo pty-$((6*7)) $(stty size)\n' }, { instanceId })).toEqual({ ok: true });
    await waitFor('terminal output', () => ptyText().includes('pty-42 40 120'), { timeoutMs: 15_000 });
    // Typing is said once per window (SHELL_TERMINAL_ACTIVITY_MS, 10 s), not once per keystroke.
    await waitFor('the activity fact', () => of('shell.terminal.active', 's1').length > 0, { timeoutMs: 5_000 });
    expect(of('shell.terminal.active', 's1')).toEqual([{ sessionId: 's1', at: expect.any(String) }]);
    expect(outputOf('s1').filter((e) => e.stream === 'pty').every((e) => e.commandId === undefined)).toBe(true);
    // A terminal printing UTF-8 gives text events, however its reads fell: each ends on a character
    // boundary (`yes` writes 8 KiB at a time, lines of ten 3-byte characters, so reads end mid-character).
    expect(await client.request('shell.pty.input', { sessionId: 's1', data: "yes '€€€€€€€€€€' | head -n 20000; echo utf8-done\n" }, { instanceId })).toEqual({ ok: true });
    await waitFor('the characters printed', () => /utf8-done\r\n[^]*\$ $/.test(ptyText()), { timeoutMs: 60_000 });
    expect(outputOf('s1').filter((e) => e.stream === 'pty' && e.encoding === 'base64')).toHaveLength(0);
    expect(ptyText().match(/^€{10}\r$/gm)).toHaveLength(20000);
    // Still one gapless sequence with the command output.
    const all = of('session.event', 's1');
    expect(all.map((e) => e.seq)).toEqual(all.map((_, i) => i + 1));
  });

  test('the maximum of sessions is refused with LIMIT_REACHED', async () => {
    await open('s2');
    await expect(open('s3')).rejects.toMatchObject({ code: 'LIMIT_REACHED', message: expect.stringContaining('SHELL_MAX_SESSIONS') });
    const list = await client.request('shell.list', {}, { instanceId });
    expect(list.sessions.map((s) => s.sessionId).sort()).toEqual(['s1', 's2']);
  });

  test('a command for a session this replica does not hold is NOT_FOUND', async () => {
    await expect(exec('nobody', 'true')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(client.request('shell.interrupt', { sessionId: 'nobody' }, { instanceId })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  test('close leaves no process behind', async () => {
    const argv = ['sleep', nap(300)];
    await exec('s2', `${argv.join(' ')} & ${argv.join(' ')} & echo started`);
    await waitFor('the background sleeps', () => pidsRunning(argv).length === 2, { timeoutMs: 15_000 });
    const closed = await client.request('shell.close', { sessionId: 's2' }, { instanceId, timeoutMs: 30_000 });
    expect(closed).toEqual({ closed: true, lastSeq: expect.any(Number) });
    // The last seq the jail gave is the last of the session's log.
    await waitFor('the log up to lastSeq', () => of('session.event', 's2').at(-1)?.seq === closed.lastSeq);
    await waitFor('every process of the jail to be gone', () => pidsRunning(argv).length === 0, { timeoutMs: 10_000 });
    await waitFor('shell.closed', () => of('shell.closed', 's2').length === 1);
    expect(of('shell.closed', 's2')[0]).toEqual({ sessionId: 's2', instanceId, lastSeq: closed.lastSeq });
    expect(await client.request('shell.close', { sessionId: 's2' }, { instanceId })).toEqual({ closed: false });
    await expect(exec('s2', 'true')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
