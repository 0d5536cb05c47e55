import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Bus, sessionLogHandlers } from '@codeagent/bus';
import { asStored } from './fakes';
import type { EventPayload, SessionEventV1 } from '@codeagent/contracts';
import { createTestBroker, hostProcessesMatching, spawnTs, TEST_BUS_SECRET, testLogger, waitFor, type ServiceProcess, type TestBroker } from '@codeagent/testing';

jest.setTimeout(120_000);

/**
 * The shell service as a process that is stopped and started again (SHELL_KEEP_JAILS, the default):
 * its sessions' jails outlive it and the next start of the same replica adopts them.
 */
describe('shell replica restarts keep their jails (real RabbitMQ, real bubblewrap, two processes)', () => {
  let broker: TestBroker;
  let proc: ServiceProcess | undefined;
  /** The workspace service, started by the reboot test: the shell waits for it before starting gone jails again. */
  let workspaceService: ServiceProcess | undefined;
  let client: Bus;
  let dataDir: string;
  let workspace: string;
  const instanceId = `shell-restart-${process.pid}`;
  const log: SessionEventV1[] = [];
  const crashes: EventPayload<'shell.crashed'>[] = [];
  const tag = `kept${process.pid}`;

  /** The shell service's process; `start` also waits for it to answer. */
  const spawnShell = (keep = true) => {
    proc = spawnTs('services/shell/src/main.ts', {
      RABBITMQ_URL: broker.url,
      CODEAGENT_BUS_SECRET: TEST_BUS_SECRET,
      INSTANCE_ID: instanceId,
      SHELL_PORT: '0',
      DATA_DIR: dataDir,
      SHELL_DOCKER_ENABLED: 'false',
      SHELL_KEEP_JAILS: String(keep),
    });
    return proc;
  };
  const start = async (keep = true) => {
    spawnShell(keep);
    await waitFor('the shell to answer', () => client.request('shell.ping', {}, { instanceId, timeoutMs: 1000 }).catch(() => undefined), { timeoutMs: 60_000 });
  };
  /** The end of the running shell service's log, for a failure to show. */
  const shellLog = () => `the shell's log ends:\n${proc!.output().slice(-6000)}`;
  /** A graceful stop (SIGTERM); one past its 30 s grace fails with the end of the service's log. */
  const stopShell = async () => {
    const how = await proc!.stop('SIGTERM', 30_000);
    if (how !== 0) throw new Error(`the shell service ended by ${String(how)}, not by its own stop; ${shellLog()}`);
  };
  const exec = (sessionId: string, command: string, commandId?: string) =>
    client.request('shell.exec', { sessionId, command, ...(commandId ? { commandId } : {}) }, { instanceId, timeoutMs: 30_000 });
  /** The kept sessions' state files of this replica. */
  const keptRoot = () => path.join(dataDir, 'shell', instanceId, 'sessions');
  const keptFiles = () => readdirSync(keptRoot()).map((d) => path.join(keptRoot(), d, 'session'));
  /** Every process in the pid namespace of `pid`: the whole jail it runs in. */
  const jailProcessesOf = (pid: number): number[] => {
    const nsOf = (p: string) => {
      try {
        return readlinkSync(`/proc/${p}/ns/pid`);
      } catch {
        return undefined; // not ours to read, or gone meanwhile
      }
    };
    const ns = nsOf(String(pid));
    if (!ns) throw new Error(`process ${pid} is gone`);
    return readdirSync('/proc').filter((p) => /^\d+$/.test(p) && nsOf(p) === ns).map(Number);
  };
  const eventsOf = (sessionId: string) => log.filter((e) => e.sessionId === sessionId);
  /** Every seq of the session's log once, in order, from 1. */
  const expectGapless = (sessionId: string) => {
    const seqs = eventsOf(sessionId).map((e) => e.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
  };
  /** Opens a session, leaves a background job in it, moves to sub/ and exports FOO; its kept state file and when it was saved at open. */
  const open = async (sessionId: string) => {
    const before = new Set(keptFiles());
    await client.request('shell.open', { sessionId, workspaceDir: workspace, network: 'none', limits: {}, env: { GIVEN: 'at-open' }, driver: 'bubblewrap', firstSeq: 1 }, { timeoutMs: 30_000 });
    const file = keptFiles().find((f) => !before.has(f))!;
    const savedAtOpen = statSync(file).mtimeMs;
    await exec(sessionId, `mkdir -p sub; (exec -a ${tag}-${sessionId} sleep 1000) &`);
    await exec(sessionId, 'cd sub; export FOO="kept value"');
    return { file, savedAtOpen };
  };

  beforeAll(async () => {
    broker = await createTestBroker('shellrestart');
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'shell-restart-data-'));
    workspace = mkdtempSync(path.join(os.tmpdir(), 'shell-restart-ws-'));
    client = await Bus.connect({ url: broker.url, service: 'shell-restart-test', instanceId: 'client', logger: testLogger() });
    await client.subscribe(
      'shell-restart-test',
      { ...sessionLogHandlers(async (e) => void log.push(asStored(e))), 'shell.crashed': async (p) => void crashes.push(p) },
      { durable: false, ordered: true },
    );
    await start();
  });

  afterAll(async () => {
    for (const id of ['graceful', 'killed', 'orphaned', 'rebooted', 'agent', 'retired']) await client.request('shell.close', { sessionId: id }, { instanceId, timeoutMs: 20_000 }).catch(() => undefined);
    await proc?.stop('SIGTERM');
    await workspaceService?.stop('SIGTERM');
    await client?.close();
    await broker?.dispose();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(workspace, { recursive: true, force: true });
  });

  /** What the session's terminal printed, as the log holds it. */
  const terminalText = (sessionId: string) =>
    eventsOf(sessionId)
      .map((e) => (e.kind === 'output' && e.data.stream === 'pty' ? e.data.data : ''))
      .join('');
  const terminalLines = (sessionId: string) => [...terminalText(sessionId).matchAll(/^pty (\d+)\r$/gm)].map((m) => Number(m[1]));

  test('a graceful restart while a command and the terminal print: output goes on with the next seqs, the exit arrives, the shell and the terminal are the same', async () => {
    await open('graceful');
    // The terminal prints numbered lines for about 4 s, then reads a line and says it back.
    await client.request('shell.pty.open', { sessionId: 'graceful', cols: 120, rows: 40 }, { instanceId, timeoutMs: 30_000 });
    await client.request('shell.pty.input', { sessionId: 'graceful', data: 'for i in $(seq 1 400); do echo "pty $i"; sleep 0.01; done; read x; echo "got $x $(stty size)"\r' }, { instanceId });
    const lines = 300;
    const running = exec('graceful', `for i in $(seq 1 ${lines}); do echo "line $i"; sleep 0.01; done; bash -c 'exit 5'`, 'stream');
    await waitFor('some output', () => eventsOf('graceful').some((e) => e.kind === 'output' && e.data.data.includes('line 20\n')), { timeoutMs: 20_000 });
    await waitFor('the terminal printing', () => terminalLines('graceful').length >= 10, { timeoutMs: 20_000 });
    // The exec in flight is answered, not dropped: the replica restarts and the command goes on.
    const stopped = stopShell();
    await expect(running).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE', details: { reason: 'replica_restarting' } });
    await stopped;
    expect(hostProcessesMatching(`${tag}-graceful`)).toHaveLength(1);
    expect(terminalLines('graceful').length).toBeLessThan(400);
    await start();

    const completed = await waitFor('the completion after the restart', () => eventsOf('graceful').find((e) => e.kind === 'command.completed' && e.data.commandId === 'stream'), { timeoutMs: 30_000 });
    expect(completed.kind === 'command.completed' && completed.data.exitCode).toBe(5);
    const output = eventsOf('graceful')
      .filter((e) => e.kind === 'output' && e.data.commandId === 'stream')
      .map((e) => (e.kind === 'output' ? e.data.data : ''))
      .join('');
    expect(output).toBe(Array.from({ length: lines }, (_, i) => `line ${i + 1}\n`).join(''));
    const r = await exec('graceful', `pwd; echo "$FOO|$GIVEN"; pgrep -fc ${tag}-graceful`);
    expect(r.stdout).toBe('/workspace/sub\nkept value|at-open\n1\n');
    // The terminal printed through the restart (every line once, in order) and is the same one: the
    // program in it reads what is typed now, at the size it was opened with.
    await waitFor('the terminal\'s last line', () => terminalLines('graceful').includes(400), { timeoutMs: 30_000 });
    expect(terminalLines('graceful')).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
    await client.request('shell.pty.input', { sessionId: 'graceful', data: 'after-restart\r' }, { instanceId });
    await waitFor('the typed line said back', () => terminalText('graceful').includes('got after-restart 40 120\r\n'), { timeoutMs: 10_000 });
    expect(eventsOf('graceful').filter((e) => e.kind === 'note' && /terminal/.test(e.data.message))).toEqual([]);
    expectGapless('graceful');
  });

  test('after kill -9 the next start adopts the jail: the shell, its background process and the seqs go on', async () => {
    await open('killed');
    const before = eventsOf('killed').length;
    expect(await proc!.stop('SIGKILL')).toBe('SIGKILL');
    expect(hostProcessesMatching(`${tag}-killed`)).toHaveLength(1);
    await start();
    expect((await client.request('shell.list', {}, { instanceId })).sessions.map((s) => s.sessionId)).toEqual(expect.arrayContaining(['graceful', 'killed']));
    expect((await exec('killed', 'pwd; echo "$FOO"')).stdout).toBe('/workspace/sub\nkept value\n');
    await waitFor('the new command in the log', () => eventsOf('killed').length > before + 3, { timeoutMs: 10_000 });
    expectGapless('killed');
  });

  test('a jail gone with its host (its processes killed) comes back, once the workspace service answers, in a new jail with its folder, exports and supervised outside agents, and the log says what was lost', async () => {
    const kept = await open('rebooted');
    // The state that lists the background job is saved again a moment (STATE_SETTLE_MS) after the job started.
    await waitFor('the kept state saved again after the job started', () => statSync(kept.file).mtimeMs > kept.savedAtOpen, { timeoutMs: 10_000 });
    // Outside agents: one supervised when the jail goes, one a person stopped, one that ended cleanly.
    const agent = (name: string, script: string) =>
      client.request('shell.agent.start', { sessionId: 'rebooted', name, command: 'bash', args: ['-c', script], restart: { maxFailures: 5, baseDelayMs: 100 } }, { instanceId, timeoutMs: 30_000 });
    const agentProcesses = (name: string) => hostProcessesMatching(`${tag}-agent-${name}`).filter((p) => readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'sleep');
    for (const name of ['supervised', 'stopped']) await agent(name, `exec -a ${tag}-agent-${name} sleep 1000`);
    await agent('ended', 'exit 0');
    await waitFor('the agents running', () => agentProcesses('supervised').length === 1 && agentProcesses('stopped').length === 1, { timeoutMs: 10_000 });
    await client.request('shell.agent.stop', { sessionId: 'rebooted', name: 'stopped' }, { instanceId, timeoutMs: 30_000 });
    await waitFor('the clean exit seen', async () => (await client.request('shell.agent.status', { sessionId: 'rebooted', name: 'ended' }, { instanceId })).status === 'exited', { timeoutMs: 10_000 });
    // A command running when the jail goes is lost with it.
    exec('rebooted', 'sleep 600', 'lost').catch(() => undefined);
    await waitFor('the command started', () => eventsOf('rebooted').some((e) => e.kind === 'command.started' && e.data.commandId === 'lost'), { timeoutMs: 10_000 });
    expect(await proc!.stop('SIGKILL')).toBe('SIGKILL');
    // What a reboot does: every process of the jail gone (everything in its pid namespace).
    for (const pid of jailProcessesOf(hostProcessesMatching(`${tag}-rebooted`)[0]!)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone with its namespace */
      }
    }
    await waitFor('the jail gone', () => hostProcessesMatching(`${tag}-rebooted`).length === 0, { timeoutMs: 10_000 });
    // After a reboot the workspace service mounts the workspaces at its start: the shell waits for it
    // before it starts a jail again on one (it would bind the bare folder under the mount point).
    const shell = spawnShell();
    await waitFor('the shell waiting for the workspace service', () => shell.output().includes('waiting for the workspace service'), { timeoutMs: 60_000 });
    expect(eventsOf('rebooted').some((e) => e.kind === 'shell.crashed')).toBe(false);
    workspaceService = spawnTs('services/workspace/src/main.ts', { RABBITMQ_URL: broker.url, CODEAGENT_BUS_SECRET: TEST_BUS_SECRET, INSTANCE_ID: `workspace-${process.pid}`, WORKSPACE_PORT: '0', DATA_DIR: path.join(dataDir, 'workspace-service') });
    await waitFor('the shell to answer', () => client.request('shell.ping', {}, { instanceId, timeoutMs: 1000 }).catch(() => undefined), { timeoutMs: 60_000 });
    const crash = await waitFor('the restored event', () => eventsOf('rebooted').find((e) => e.kind === 'shell.crashed'), { timeoutMs: 20_000 });
    expect(crash.kind === 'shell.crashed' && crash.data).toMatchObject({ restarted: true, restoredCwd: '/workspace/sub', lostProcesses: [expect.stringContaining(`${tag}-rebooted`)] });
    expect(crashes.find((c) => c.sessionId === 'rebooted')).toMatchObject({ restarted: true });
    // The lost command ends as any command whose shell died: its completion (-1), then idle (the session
    // takes commands again), then the crash; then the supervised agent starts again in the new jail.
    await waitFor('the agent started again in the log', () => eventsOf('rebooted').some((e) => e.seq > crash.seq && e.kind === 'note'), { timeoutMs: 20_000 });
    const after = eventsOf('rebooted').slice(eventsOf('rebooted').findIndex((e) => e.kind === 'command.started' && e.data.commandId === 'lost') + 1);
    expect(after.map((e) => (e.kind === 'status' ? `status ${e.data.to}` : e.kind === 'command.completed' ? `completed ${e.data.exitCode}` : e.kind)).filter((k) => k !== 'output')).toEqual(['status busy', 'completed -1', 'status idle', 'shell.crashed', 'note']);
    expect(after.find((e) => e.kind === 'note')?.data).toMatchObject({ externalAgent: { name: 'supervised', type: 'started' } });
    expect((await exec('rebooted', `pwd; echo "$FOO|$GIVEN"; pgrep -fc ${tag}-rebooted || true`)).stdout).toBe('/workspace/sub\nkept value|at-open\n0\n');
    // The supervised agent runs again in the new jail, as after a crash; the others not.
    await waitFor('the supervised agent running again', () => agentProcesses('supervised').length === 1, { timeoutMs: 20_000 });
    expect(agentProcesses('stopped')).toEqual([]);
    expect((await client.request('shell.agent.list', { sessionId: 'rebooted' }, { instanceId })).agents).toMatchObject([{ name: 'supervised', status: 'running' }]);
    expectGapless('rebooted');
    // The other jails were adopted as they were.
    expect(hostProcessesMatching(`${tag}-graceful`)).toHaveLength(1);
  });

  test('a jail whose shell died while no shell process held it: what the shell left running ends with it instead of running on outside any session', async () => {
    // After the reboot test, which started the workspace service: a restore waits for it.
    await open('orphaned');
    await stopShell();
    // Only the shell dies (as when a command ends it): the jail's init lives on, waiting for the job.
    const [job] = hostProcessesMatching(`${tag}-orphaned`);
    const shell = jailProcessesOf(job!).find((p) => readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'bash');
    process.kill(shell!, 'SIGKILL');
    await start();
    const crash = await waitFor('the restored event', () => eventsOf('orphaned').find((e) => e.kind === 'shell.crashed'), { timeoutMs: 20_000 });
    expect(crash.kind === 'shell.crashed' && crash.data).toMatchObject({ restarted: true, restoredCwd: '/workspace/sub', lostProcesses: [expect.stringContaining(`${tag}-orphaned`)] });
    await waitFor('the job ended with the old jail', () => hostProcessesMatching(`${tag}-orphaned`).length === 0, { timeoutMs: 10_000 });
    expect((await exec('orphaned', 'pwd; echo "$FOO"')).stdout).toBe('/workspace/sub\nkept value\n');
  });

  test("an outside agent goes on in its tmux across a restart and is supervised again: a crash after it is restarted", async () => {
    await open('agent');
    const looper = `sleep 1001.${process.pid % 1000}`;
    // The agent itself, not tmux or the wrapper whose command lines name it.
    const agentPids = () => hostProcessesMatching(looper).filter((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8') === `${looper.replace(' ', '\0')}\0`);
    const definition = { sessionId: 'agent', name: 'looper', command: 'sh', args: ['-c', `echo "run $$"; exec ${looper}`], restart: { maxFailures: 5, baseDelayMs: 100 } };
    await client.request('shell.agent.start', definition, { instanceId, timeoutMs: 30_000 });
    await waitFor('the agent running', () => agentPids().length === 1, { timeoutMs: 10_000 });
    const first = agentPids()[0];
    await stopShell();
    expect(agentPids()).toEqual([first]);
    await start();
    const { agents } = await client.request('shell.agent.list', { sessionId: 'agent' }, { instanceId });
    // Once in a loaded CI run the list was empty: the service's log then says why.
    if (!agents.length) throw new Error(`the agent is not supervised again; ${shellLog()}`);
    expect(agents).toMatchObject([{ name: 'looper', status: 'running' }]);
    // The jail restored in the test before was adopted, not restored again: when no pooled jail was
    // ready its new jail was named like a pooled one, and this start's sweep of the pool killed it.
    expect(eventsOf('orphaned').filter((e) => e.kind === 'shell.crashed')).toHaveLength(1);
    // Supervised again: a crash is seen and the agent restarted, as before the restart.
    process.kill(first!, 'SIGKILL');
    await waitFor('the agent restarted by the new supervisor', () => agentPids().some((p) => p !== first), { timeoutMs: 20_000 });
    await waitFor('the restart in the log', () => eventsOf('agent').some((e) => e.kind === 'note' && (e.data as { externalAgent?: { type?: string } }).externalAgent?.type === 'restarting'), { timeoutMs: 10_000 });
  });

  test('a start that keeps nothing (SHELL_KEEP_JAILS=false: a replica retired) adopts what the run before kept, and closes it at its own stop', async () => {
    const { file } = await open('retired');
    await stopShell();
    expect(hostProcessesMatching(`${tag}-retired`)).toHaveLength(1);
    await start(false);
    expect((await exec('retired', 'pwd; echo "$FOO"')).stdout).toBe('/workspace/sub\nkept value\n');
    // Not kept by this run: off the list once adopted, so no later start brings back what it closes.
    expect(existsSync(file)).toBe(false);
    await stopShell();
    await waitFor('the jail closed with the replica', () => hostProcessesMatching(`${tag}-retired`).length === 0 || undefined, { timeoutMs: 10_000 });
    for (const id of ['graceful', 'killed', 'agent']) expect(hostProcessesMatching(`${tag}-${id}`)).toEqual([]);
    expect(keptFiles()).toEqual([]);
    await start();
  });
});

