import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { deferred, testLogger, waitFor } from '@codeagent/testing';
import { FakeDriver, FakeSink, type FakeSandbox } from '../../test/fakes';
import { JailRegistry } from './registry';

describe('JailRegistry', () => {
  let dir: string;
  let sink: FakeSink;
  let bwrap: FakeDriver;
  let docker: FakeDriver;
  let registry: JailRegistry;

  const openReq = (sessionId: string, extra: Record<string, unknown> = {}) => ({
    sessionId,
    workspaceDir: dir,
    network: 'none' as const,
    limits: {},
    env: {},
    driver: 'bubblewrap' as const,
    ...extra,
  });

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'shellreg-'));
    sink = new FakeSink();
    bwrap = new FakeDriver('bubblewrap');
    docker = new FakeDriver('docker');
    registry = new JailRegistry({
      instanceId: 'replica-1',
      maxSessions: 2,
      drivers: { bubblewrap: bwrap, docker },
      sink,
      log: testLogger(),
      stream: { maxChunkBytes: 1024, highWaterBytes: 1 << 20 },
      maxResultBytes: 1 << 20,
      defaultLimits: { memoryMb: 256 },
      defaultDockerImage: 'img:default',
    });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('open answers this replica and the limits in force; a repeated open is the same session', async () => {
    const a = await registry.open(openReq('s1', { limits: { pids: 64 } }));
    expect(a).toEqual({ sessionId: 's1', instanceId: 'replica-1', driver: 'bubblewrap', limitsInForce: { memory: 'fake 64 MiB' }, networkInForce: { mode: 'none', interfaces: ['lo'], routes: 0 } });
    expect(bwrap.opened[0]!.opts).toMatchObject({ workspaceDir: dir, network: 'none', limits: { memoryMb: 256, pids: 64 } });
    expect(await registry.open(openReq('s1'))).toEqual(a);
    expect(bwrap.opened).toHaveLength(1);
    const other = mkdtempSync(path.join(os.tmpdir(), 'shellreg-'));
    await expect(registry.open({ ...openReq('s1'), workspaceDir: other })).rejects.toMatchObject({ code: 'CONFLICT' });
    rmSync(other, { recursive: true });
  });

  test('the maximum of sessions is refused with LIMIT_REACHED, and a close frees a slot', async () => {
    await registry.open(openReq('s1'));
    await registry.open(openReq('s2'));
    await expect(registry.open(openReq('s3'))).rejects.toMatchObject({ code: 'LIMIT_REACHED', message: expect.stringContaining('SHELL_MAX_SESSIONS') });
    expect(await registry.close('s1')).toEqual({ closed: true, lastSeq: 0 });
    await expect(registry.open(openReq('s3'))).resolves.toMatchObject({ sessionId: 's3' });
  });

  test('commands for a session this replica does not hold are NOT_FOUND; closing one is false', async () => {
    await expect(registry.exec('nope', { command: 'out:x', commandId: 'c' })).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('replica-1') });
    await expect(registry.interrupt('nope')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(() => registry.ptyInput('nope', 'x')).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    expect(await registry.close('nope')).toEqual({ closed: false });
  });

  test('exec logs started, busy, ordered output, completed and idle from the session seq given at open, with the audit fact, then replies', async () => {
    await registry.open({ ...openReq('s1'), firstSeq: 5 });
    const r = await registry.exec('s1', { command: 'out:hi; err:oops; out:there; exit:3', commandId: 'c1', user: 'ada' });
    expect(r).toMatchObject({ commandId: 'c1', exitCode: 3, stdout: 'hithere', stderr: 'oops' });
    expect(sink.logged().map((e) => e.kind)).toEqual(['command.started', 'status', 'output', 'output', 'output', 'command.completed', 'status']);
    // A command that ends within the hold costs one message for its seven log events, then the audit fact.
    expect(sink.messages()).toEqual(['[command.started status output output output command.completed status]', 'shell.command.completed']);
    expect(sink.logged('status').map((e) => [e.seq, e.data])).toEqual([
      [6, { from: 'ready', to: 'busy' }],
      [11, { from: 'busy', to: 'idle' }],
    ]);
    expect(sink.output().map((e) => [e.seq, e.stream, e.data])).toEqual([
      [7, 'stdout', 'hi'],
      [8, 'stderr', 'oops'],
      [9, 'stdout', 'there'],
    ]);
    expect(sink.logged('command.completed')[0]).toMatchObject({ seq: 10, data: { commandId: 'c1', user: 'ada', exitCode: 3 } });
    expect(sink.of('shell.command.completed')[0]).toMatchObject({ sessionId: 's1', commandId: 'c1', user: 'ada', exitCode: 3, seq: 10 });
    // An orchestrator's event takes the next seq; the next command continues the same sequence, from idle.
    expect(await registry.append('s1', 'note', { message: 'between commands' })).toBe(12);
    await registry.exec('s1', { command: 'out:again', commandId: 'c2' });
    expect(sink.output().at(-1)).toMatchObject({ seq: 15, commandId: 'c2' });
    expect(sink.logged('status').at(-2)).toMatchObject({ seq: 14, data: { from: 'idle', to: 'busy' } });
    // Close answers the last seq, after which the orchestrator numbers the session's events.
    expect(await registry.close('s1')).toEqual({ closed: true, lastSeq: 17 });
  });

  test("exec replies once the command's events are handed to the broker, without waiting for their confirms", async () => {
    await registry.open(openReq('s1'));
    const confirms = deferred();
    sink.gate = () => confirms.promise;
    const r = await registry.exec('s1', { command: 'out:hi', commandId: 'c1' });
    expect(r).toMatchObject({ exitCode: 0, stdout: 'hi' });
    // The command's log events (one batch) and the audit fact are both on their way; neither is confirmed.
    expect(sink.begun).toEqual(['session.event.batch', 'shell.command.completed']);
    expect(sink.events).toEqual([]);
    confirms.resolve();
    await waitFor('the two confirms', () => sink.events.length === 2);
  });

  test('busy and idle are not logged over a state the orchestrator appended that is not ready or idle (closing)', async () => {
    await registry.open(openReq('s1'));
    expect(await registry.append('s1', 'status', { from: 'ready', to: 'closing' })).toBe(1);
    await registry.exec('s1', { command: 'out:last words', commandId: 'c1' });
    expect(sink.logged('status').map((e) => e.data.to)).toEqual(['closing']);
    expect(sink.logged().map((e) => e.kind)).toEqual(['status', 'command.started', 'output', 'command.completed']);
  });

  test('a sandbox failure still closes the audit record (exit code -1) and the session stays usable', async () => {
    await registry.open(openReq('s1'));
    await expect(registry.exec('s1', { command: 'out:a; vanish', commandId: 'c1' })).rejects.toMatchObject({ code: 'INVALID_STATE' });
    expect(sink.of('shell.command.completed')[0]).toMatchObject({ commandId: 'c1', exitCode: -1, seq: 4 });
    expect((await registry.exec('s1', { command: 'out:b', commandId: 'c2' })).stdout).toBe('b');
  });

  test('a second command while one runs is INVALID_STATE; interrupt ends the first', async () => {
    await registry.open(openReq('s1'));
    const running = registry.exec('s1', { command: 'hang', commandId: 'c1' });
    await waitFor('the command to run', () => (bwrap.opened[0] as FakeSandbox).running);
    expect(registry.list().sessions[0]?.busy).toBe(true);
    await expect(registry.exec('s1', { command: 'out:x', commandId: 'c2' })).rejects.toMatchObject({ code: 'INVALID_STATE' });
    expect(await registry.interrupt('s1')).toBe(true);
    expect((await running).exitCode).toBe(130);
    expect(registry.list().sessions[0]?.busy).toBe(false);
  });

  test('a shell that crashed without a replacement is reported and released', async () => {
    await registry.open(openReq('s1'));
    const sb = bwrap.opened[0] as FakeSandbox;
    sb.crash({ reason: 'killed', restarted: false });
    await waitFor('the closed event', () => sink.of('shell.closed').length === 1);
    expect(sink.of('shell.crashed')[0]).toEqual({ sessionId: 's1', reason: 'killed', restarted: false });
    expect(sb.closed).toBe(true);
    expect(registry.size).toBe(0);
  });

  test('docker sessions get the default image; an unavailable driver is SANDBOX_UNAVAILABLE', async () => {
    await registry.open(openReq('d1', { driver: 'docker' }));
    expect(docker.opened[0]!.opts).toMatchObject({ image: 'img:default' });
    docker.ok = false;
    await expect(registry.open(openReq('d2', { driver: 'docker' }))).rejects.toMatchObject({ code: 'SANDBOX_UNAVAILABLE', message: expect.stringContaining('no engine') });
    const noDocker = new JailRegistry({ ...(registry as unknown as { opts: ConstructorParameters<typeof JailRegistry>[0] }).opts, drivers: { bubblewrap: bwrap } });
    await expect(noDocker.open(openReq('d3', { driver: 'docker' }))).rejects.toMatchObject({ code: 'SANDBOX_UNAVAILABLE' });
  });

  test('bad workspaces are refused before any sandbox is made', async () => {
    await expect(registry.open({ ...openReq('s1'), workspaceDir: 'relative/dir' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(registry.open({ ...openReq('s1'), workspaceDir: path.join(dir, 'missing') })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(bwrap.opened).toHaveLength(0);
    expect(registry.size).toBe(0);
  });

  test('closeAll ends every jail', async () => {
    await registry.open(openReq('s1'));
    await registry.open(openReq('s2'));
    await registry.closeAll();
    expect(bwrap.opened.every((s) => (s as FakeSandbox).closed)).toBe(true);
    expect(registry.list().sessions).toEqual([]);
  });
});
