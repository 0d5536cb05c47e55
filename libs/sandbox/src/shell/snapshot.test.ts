import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readShellSnapshot, shellSavedAt } from './snapshot';

// The state file lies in a folder the sandbox writes (its /run/codeagent): code in it can put anything
// there, and the host reads it, in the process that serves every sandbox.
describe('readShellSnapshot: a state file code in the sandbox may have replaced', () => {
  let dir: string;
  const state = () => path.join(dir, 'shell', 'state');

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'snapshot-test-'));
    mkdirSync(path.join(dir, 'shell'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('reads the folder and the exports the shell saved', () => {
    writeFileSync(state(), '/workspace/sub dir\ndeclare -x FOO="bar"\n');
    expect(readShellSnapshot(dir)).toEqual({ cwd: '/workspace/sub dir', exports: 'declare -x FOO="bar"\n' });
    expect(shellSavedAt(dir)).toBeGreaterThan(0);
  });

  test('a FIFO is not opened for reading (which waits for a writer): no snapshot, at once', () => {
    execFileSync('mkfifo', [state()]);
    // A writer that comes in 3 s: a read that waited for it would take that long and find a snapshot.
    const writer = spawn('sh', ['-c', 'sleep 3; echo /late > "$1"', 'sh', state()], { stdio: 'ignore' });
    try {
      const t = Date.now();
      expect(readShellSnapshot(dir)).toBeUndefined();
      expect(Date.now() - t).toBeLessThan(1000);
    } finally {
      writer.kill('SIGKILL');
    }
  });

  test('a link is not followed (it could name any file of the host)', () => {
    const outside = path.join(dir, 'outside');
    writeFileSync(outside, '/etc\ndeclare -x SECRET="host"\n');
    symlinkSync(outside, state());
    expect(readShellSnapshot(dir)).toBeUndefined();
  });

  test('at most 1 MiB is read of a larger file', () => {
    writeFileSync(state(), `/workspace\n${'declare -x A="x"\n'.repeat(100_000)}`);
    expect(readShellSnapshot(dir)!.exports.length).toBe((1 << 20) - '/workspace\n'.length);
  });
});
