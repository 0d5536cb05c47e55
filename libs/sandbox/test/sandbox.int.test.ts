import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { waitFor } from '@codeagent/testing';
import type { CrashInfo, OutputChunk, Sandbox } from '../src/types';
import { hostProcessesMatching, sandboxCgroup, tempWorkspaces } from './fixtures';
import { BubblewrapDriver } from '../src/bubblewrap/driver';
import { childrenOf } from '../src/bubblewrap/proc';
import type { JailPty } from '../src/bubblewrap/pty';

const driver = new BubblewrapDriver();
const ws = tempWorkspaces('int');
const open: Sandbox[] = [];
async function sandbox(limits?: { memoryMb?: number; pids?: number }): Promise<{ sb: Sandbox; dir: string }> {
  const dir = ws.make('ws');
  const sb = await driver.open({ workspaceDir: dir, limits });
  open.push(sb);
  return { sb, dir };
}

afterAll(async () => {
  await Promise.all(open.map((s) => s.close()));
  ws.cleanup();
});

describe('BubblewrapDriver (real bwrap)', () => {
  it('is available on this host and says which limits are in force', async () => {
    expect(await driver.available()).toEqual({ ok: true });
    const { sb } = await sandbox({ memoryMb: 300, pids: 100 });
    expect(sb.driver).toBe('bubblewrap');
    expect(sb.limitsInForce.memory).toMatch(/300 MiB/);
    expect(sb.limitsInForce.pids).toMatch(/100/);
  });

  it('caps CPU bandwidth through the cgroup cpu controller', async () => {
    const dir = ws.make('cpu');
    const sb = await driver.open({ workspaceDir: dir, limits: { cpus: 0.1 } });
    open.push(sb);
    expect(sb.limitsInForce.cpus).toMatch(/cgroup v1 cfs quota 0.1 CPU/);
    await sb.exec(`timeout 1 sh -c 'while :; do :; done'`, { timeoutMs: 15_000 });
    const stat = readFileSync(path.join(sandboxCgroup('cpu', sb.id), 'cpu.stat'), 'utf8');
    expect(Number(/nr_throttled (\d+)/.exec(stat)?.[1])).toBeGreaterThan(0);
  });

  it('keeps cd, export and functions between commands; stdin is /dev/null; background jobs do not hold a command', async () => {
    const { sb } = await sandbox();
    expect((await sb.exec('mkdir -p sub && cd sub && export GREETING=hi && hello() { echo "hello $1"; }')).exitCode).toBe(0);
    const r = await sb.exec('pwd; echo $GREETING; hello you; cat; echo "stdin done"');
    expect(r).toMatchObject({ exitCode: 0, stdout: '/workspace/sub\nhi\nhello you\nstdin done\n', timedOut: false });
    const bg = await sb.exec('sleep 100 & echo started', { timeoutMs: 10_000 });
    expect(bg).toMatchObject({ exitCode: 0, stdout: 'started\n', timedOut: false });
    expect(await sb.exec('exit_with() { return $1; }; exit_with 42')).toMatchObject({ exitCode: 42 });
    expect(await sb.exec('echo out; echo err >&2; printf "no newline"')).toMatchObject({ stdout: 'out\nno newline', stderr: 'err\n' });
  });

  it('refuses a second command while one runs', async () => {
    const { sb } = await sandbox();
    await expect(sb.exec('true', { timeoutMs: -1 })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    const first = sb.exec('sleep 0.3; echo first');
    await expect(sb.exec('echo second')).rejects.toMatchObject({ code: 'INVALID_STATE' });
    expect((await first).stdout).toBe('first\n');
  });

  it('streams every byte of binary output in order while capping the result', async () => {
    const { sb, dir } = await sandbox();
    const data = randomBytes(3 << 20);
    writeFileSync(path.join(dir, 'blob.bin'), data);
    const chunks: OutputChunk[] = [];
    const r = await sb.exec('cat blob.bin; echo tail >&2', { maxResultBytes: 1000, onOutput: (c) => void chunks.push(c) });
    expect(r.truncated).toBe(true);
    expect(Buffer.byteLength(r.stdout, 'utf8')).toBeGreaterThan(0);
    expect(chunks.map((c) => c.seq)).toEqual(chunks.map((_, i) => i));
    const out = Buffer.concat(chunks.filter((c) => c.stream === 'stdout').map((c) => c.data));
    expect(out.equals(data)).toBe(true);
    expect(Buffer.concat(chunks.filter((c) => c.stream === 'stderr').map((c) => c.data)).toString()).toBe('tail\n');
  });

  it('applies backpressure: a slow async consumer still gets everything, coalesced', async () => {
    const { sb } = await sandbox();
    let received = 0;
    let calls = 0;
    const r = await sb.exec('head -c 8000000 /dev/zero', {
      onOutput: async (c) => {
        calls++;
        received += c.data.length;
        await new Promise((res) => setImmediate(res));
      },
    });
    expect(r.exitCode).toBe(0);
    expect(received).toBe(8_000_000);
    expect(calls).toBeLessThan(8_000_000 / 4096);
  });

  it('times out (overall and on silence), returns output so far, and the shell stays usable', async () => {
    const { sb } = await sandbox();
    const crashes: CrashInfo[] = [];
    sb.on('crash', (c) => crashes.push(c));
    await sb.exec('export MARK=kept');
    const t = await sb.exec('echo before; sleep 30', { timeoutMs: 400 });
    expect(t).toMatchObject({ timedOut: true, exitCode: 130, stdout: 'before\n' });
    const s = await sb.exec('echo tick; sleep 30', { silenceTimeoutMs: 400, timeoutMs: 20_000 });
    expect(s).toMatchObject({ timedOut: true, stdout: 'tick\n' });
    // A command that ignores SIGINT gets SIGKILL after the grace period.
    const k = await sb.exec(`bash -c 'trap "" INT; sleep 30'`, { timeoutMs: 300 });
    expect(k).toMatchObject({ timedOut: true, exitCode: 137 });
    // The same shell, not a restarted one.
    expect(await sb.exec('echo $MARK')).toMatchObject({ exitCode: 0, stdout: 'kept\n' });
    expect(crashes).toEqual([]);
  });

  it('interrupts on request and spares background jobs of earlier commands', async () => {
    const { sb } = await sandbox();
    expect(await sb.interrupt()).toBe(false);
    await sb.exec('sleep 300 & echo $! > /tmp/bg.pid');
    let started!: () => void;
    const going = new Promise<void>((r) => (started = r));
    const run = sb.exec('echo go; sleep 30', { onOutput: (c) => (c.data.toString().includes('go') ? started() : undefined) });
    await going;
    expect(await sb.interrupt()).toBe(true);
    expect(await run).toMatchObject({ exitCode: 130, timedOut: false });
    expect(await sb.exec('kill -0 $(cat /tmp/bg.pid) && echo bg-alive')).toMatchObject({ stdout: 'bg-alive\n' });
  });

  it('restarts a shell that died in its folder with its exports, tells the caller, and stays usable', async () => {
    const { sb } = await sandbox();
    const crashes: CrashInfo[] = [];
    sb.on('crash', (c) => crashes.push(c));
    await sb.exec('mkdir -p "sub dir" && cd "sub dir" && export KEPT="a b"');
    expect(await sb.exec('echo bye; exit 7')).toMatchObject({ exitCode: 7, stdout: 'bye\n' });
    expect(await sb.exec('echo "back in $PWD, $KEPT"')).toMatchObject({ exitCode: 0, stdout: 'back in /workspace/sub dir, a b\n' });
    // The jail's exit status reaches the reason (from bwrap's status file: no jail is our child).
    expect(crashes).toEqual([
      {
        reason: expect.stringMatching(/^the shell ended \(exit status 7\); a new shell runs in \/workspace\/sub dir with \d+ exported variables restored$/),
        restarted: true,
        restoredCwd: '/workspace/sub dir',
        restoredExports: expect.any(Number),
      },
    ]);
    // A loop in the shell itself has no child to signal: the shell is replaced.
    const loop = await sb.exec('while :; do :; done', { timeoutMs: 300 });
    expect(loop.timedOut).toBe(true);
    expect(await sb.exec('echo again')).toMatchObject({ stdout: 'again\n' });
    expect(crashes).toHaveLength(2);
  });

  it('replaces at once a shell that exits while a background job runs, and the job goes with the old jail', async () => {
    // A jail that outlives its process (as the shell service runs them): bwrap ends with the shell, but
    // its init waits for the job, and so does stdout. The end is seen from bwrap's status file (this
    // exec waited for the job, 300 s in a manual run, when only the shell's stdout was watched).
    const sb = await new BubblewrapDriver({ jailsDir: ws.make('jails') }).open({ workspaceDir: ws.make('ws') });
    open.push(sb);
    const crashes: CrashInfo[] = [];
    sb.on('crash', (c) => crashes.push(c));
    const marker = `bg-job-${randomBytes(4).toString('hex')}`;
    await sb.exec(`(exec -a ${marker} sleep 1000) & echo started`);
    // Until its subshell has exec'd, the job's command line is the shell's own (a CI run listed that).
    await waitFor('the job running', () => hostProcessesMatching(marker).length === 1, { timeoutMs: 10_000 });
    expect(await sb.exec('exit 4')).toMatchObject({ exitCode: 4 });
    expect(await sb.exec('echo back')).toMatchObject({ exitCode: 0, stdout: 'back\n' });
    // The job is named among what was lost with the old jail.
    expect(crashes).toEqual([expect.objectContaining({ reason: expect.stringContaining(`lost processes: ${marker} 1000`), restarted: true, lostProcesses: [`${marker} 1000`] })]);
    await waitFor('the old jail\'s job gone', () => hostProcessesMatching(marker).length === 0, { timeoutMs: 10_000 });
  }, 60_000);

  it('a close while a dead shell is being replaced is a close, not a crash that could not restart', async () => {
    // `exit` ends the shell; the caller closes at once, while the replacement starts. The failed start
    // is the close's doing: reporting it as a crash made the orchestrator fail a session being closed.
    const { sb } = await sandbox();
    const crashes: CrashInfo[] = [];
    sb.on('crash', (c) => crashes.push(c));
    expect(await sb.exec('exit 3')).toMatchObject({ exitCode: 3 });
    await sb.close();
    expect(crashes.filter((c) => !c.restarted)).toEqual([]);
    // Nothing of the jail is left: neither the replacement's processes nor its folder (whose removal
    // raced the replacement's start: ENOTEMPTY) nor its cgroup.
    expect(hostProcessesMatching(sb.id)).toEqual([]);
    expect(() => sandboxCgroup('pids', sb.id)).toThrow(/no pids cgroup/);
  });

  it('opens a PTY in the same jail: input, output, resize', async () => {
    const { sb } = await sandbox();
    await sb.exec('echo from-exec > /tmp/shared.txt');
    const pty = await sb.openPty({ cols: 80, rows: 24 });
    let text = '';
    pty.onData((d) => void (text += d));
    pty.write('cat /tmp/shared.txt; echo $((6*7))x; hostname\r');
    await waitFor('pty output', () => text.includes('from-exec') && text.includes('42x'), { timeoutMs: 10_000 });
    pty.resize(100, 30);
    pty.write('stty size\r');
    await waitFor('resized terminal', () => text.includes('30 100'), { timeoutMs: 10_000 });
    pty.write('grep CapEff /proc/self/status; id -u\r');
    await waitFor('capabilities line', () => /CapEff:\s+0+\s/.test(text) && /\n1000\r?\n/.test(text), { timeoutMs: 10_000 });
    await pty.close();
  });

  it("holds a terminal's output while its listener is busy (the terminal waits on its full pipe), then delivers every byte", async () => {
    const { sb } = await sandbox();
    const pty = await sb.openPty();
    let text = '';
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let calls = 0;
    pty.onData((d) => {
      text += d.toString('latin1');
      return ++calls === 1 ? held : undefined;
    });
    const count = 5_000_000;
    pty.write(`head -c ${count} /dev/zero | tr '\\0' x; echo; echo END-$((40+2))\r`);
    // The holder's `script` blocks writing to the pipe nobody reads: the output is held, not buffered here.
    const script = () => childrenOf((pty as JailPty).state().holderPid)[0];
    await waitFor('the terminal blocked on its pipe', () => /pipe_write/.test(readFileSync(`/proc/${script()}/wchan`, 'utf8')), { timeoutMs: 20_000 });
    expect(text.length).toBeLessThan(1_000_000);
    release();
    await waitFor('the end of the output', () => text.includes('END-42'), { timeoutMs: 60_000 });
    // The program's x's are one unbroken run, every one of them there.
    expect(Math.max(...(text.match(/x+/g) ?? []).map((run) => run.length))).toBe(count);
    await pty.close();
  });

  it('rejects bad options with a clear error', async () => {
    await expect(driver.open({ workspaceDir: 'relative/path' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(driver.open({ workspaceDir: '/nonexistent/dir/xyz' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('fails closed after close()', async () => {
    const { sb } = await sandbox();
    await sb.close();
    await sb.close();
    await expect(sb.exec('echo x')).rejects.toMatchObject({ code: 'INVALID_STATE' });
  });
});
