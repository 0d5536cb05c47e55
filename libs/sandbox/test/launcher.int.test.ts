import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT, waitFor } from '@codeagent/testing';
import { JailLauncher } from '../src/bubblewrap/launcher';
import { statOf } from '../src/bubblewrap/proc';
import { openFds, tempWorkspaces } from './fixtures';

// The launcher that starts jail wrappers from a kept /bin/sh: what a wrapper gets (its pid, its
// signals, its fds, its parent) and what it says back, with real processes.
const ws = tempWorkspaces('launcher');
const started: number[] = [];
afterAll(() => {
  for (const pid of started) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  ws.cleanup();
});

function files(name: string) {
  const dir = ws.make(name);
  return { dir, fd3File: path.join(dir, 'fd3'), stderrFile: path.join(dir, 'err') };
}

/** Ready, then waits (`exec sleep`) as bwrap would run on: its pid saved, to compare with what the launcher says. */
const WAITS = 'echo $$ > "$1/pid"; ready; exec sleep 600';

const parentOf = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
const sigIgnored = (pid: number) => BigInt(`0x${/SigIgn:\s+([0-9a-f]+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]}`);

describe('JailLauncher (real processes)', () => {
  it('starts many wrappers at once, each answered with its own pid once it is ready', async () => {
    const all = Array.from({ length: 20 }, (_, i) => files(`many-${i}`));
    const launched = await Promise.all(all.map((f) => JailLauncher.shared().launch(WAITS, [f.dir], { ...f, orphan: true })));
    for (const [i, l] of launched.entries()) {
      started.push(l.pid);
      expect(l).toEqual({ pid: Number(readFileSync(path.join(all[i]!.dir, 'pid'), 'utf8')), ready: true });
      expect(statOf(l.pid)).not.toBeNull();
    }
  });

  it('gives what the wrapper execs SIGINT and SIGQUIT at their defaults and no fd of the launcher', async () => {
    const f = files('fds');
    const l = await JailLauncher.shared().launch(WAITS, [f.dir], { ...f, orphan: false });
    started.push(l.pid);
    // A background job of a shell starts with both ignored, and a jail would inherit that.
    expect(sigIgnored(l.pid) & ((1n << 1n) | (1n << 2n))).toBe(0n);
    // What the program it execs after `ready` (bwrap, here sleep) holds: 0-2 and 3 (bwrap's status
    // file) as given, nothing else: not fd 4, the launcher's channel (closed by `ready`), nor one the
    // launching process holds without close-on-exec: launch-probe.ts is given one (its fd 3) as a
    // harness or a service manager may leave one, and reports what its wrapper's program holds.
    await waitFor('the exec after ready', () => readFileSync(`/proc/${l.pid}/comm`, 'utf8') === 'sleep\n', { timeoutMs: 10_000 });
    expect(openFds(l.pid)).toEqual({ '0': '/dev/null', '1': '/dev/null', '2': f.stderrFile, '3': f.fd3File });
    const p = files('probe');
    const stray = openSync(path.join(p.dir, 'stray'), 'w');
    const tsx = pathToFileURL(require.resolve('tsx', { paths: [REPO_ROOT] })).href;
    const out = execFileSync(process.execPath, ['--import', tsx, path.join(__dirname, 'launch-probe.ts'), p.dir, p.fd3File, p.stderrFile], { stdio: ['ignore', 'pipe', 'inherit', stray], encoding: 'utf8' });
    closeSync(stray);
    const probe = JSON.parse(out) as { own: Record<string, string>; launched: Record<string, string> };
    expect(probe.own['3']).toBe(path.join(p.dir, 'stray')); // the probe did inherit it
    expect(probe.launched).toEqual({ '0': '/dev/null', '1': '/dev/null', '2': p.stderrFile, '3': p.fd3File });
  });

  it('orphans the wrapper when asked (it outlives this process), else keeps it a child of the launcher', async () => {
    const a = files('orphan');
    const b = files('child');
    const orphan = await JailLauncher.shared().launch(WAITS, [a.dir], { ...a, orphan: true });
    const child = await JailLauncher.shared().launch(WAITS, [b.dir], { ...b, orphan: false });
    started.push(orphan.pid, child.pid);
    const launcher = parentOf(child.pid);
    expect(parentOf(launcher)).toBe(process.pid);
    expect([process.pid, launcher]).not.toContain(parentOf(orphan.pid));
  });

  it('answers a wrapper that ends before it is ready with its exit status; what it said is in its stderr file', async () => {
    const f = files('fails');
    const l = await JailLauncher.shared().launch('echo "no cgroup for you" >&2; exit 97', [], { ...f, orphan: true });
    expect(l).toEqual({ pid: expect.any(Number), ready: false, code: 97 });
    expect(readFileSync(f.stderrFile, 'utf8')).toBe('no cgroup for you\n');
  });

  it('answers a wrapper killed before it said anything as killed', async () => {
    const f = files('killed');
    const l = JailLauncher.shared().launch('echo $$ > "$1/pid"; exec sleep 600', [f.dir], { ...f, orphan: true });
    const pidFile = path.join(f.dir, 'pid');
    await waitFor('the wrapper', () => readdirSync(f.dir).includes('pid') && readFileSync(pidFile, 'utf8').endsWith('\n'), { timeoutMs: 10_000 });
    process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
    expect(await l).toEqual({ pid: Number(readFileSync(pidFile, 'utf8')), ready: false, code: 137 });
  });
});
