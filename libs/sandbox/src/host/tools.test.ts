import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runHostTool } from './tools';

describe('runHostTool: host tools run by kept helper shells (real /bin/sh)', () => {
  test('passes every argument as it is (no shell parses it) and answers stdout and stderr apart', async () => {
    const words = ['a b', "it's", '$HOME', ';rm -rf /', '`id`', '"q"', '', 'ü\ttab'];
    const r = await runHostTool('sh', ['-c', 'printf "%s|" "$@"; echo err >&2', 'sh', ...words]);
    expect(r).toEqual({ stdout: `${words.join('|')}|`, stderr: 'err\n' });
  });

  test('a failing tool rejects naming it, with its stderr and its exit status as cause.code; a missing one is 127', async () => {
    const err = await runHostTool('sh', ['-c', 'echo boom >&2; exit 3']).catch((e: Error & { cause?: { code?: number } }) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe("sh -c echo boom >&2; exit 3 failed: boom");
    expect((err as Error & { cause: { code: number } }).cause.code).toBe(3);
    await expect(runHostTool('no-such-tool-here', [])).rejects.toMatchObject({ cause: { code: 127 } });
  });

  test('runs in the given folder with the given environment (set, changed and removed variables)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'host-tools-'));
    try {
      process.env.HOST_TOOLS_GONE = 'here';
      const { HOST_TOOLS_GONE: _gone, ...env }: NodeJS.ProcessEnv = { ...process.env, HOST_TOOLS_SET: 'a b', HOME: '/elsewhere' };
      const r = await runHostTool('sh', ['-c', 'pwd; echo "$HOST_TOOLS_SET|$HOME|${HOST_TOOLS_GONE-unset}"'], { cwd: dir, env });
      expect(r.stdout).toBe(`${dir}\na b|/elsewhere|unset\n`);
      // Without env, this process's own.
      expect((await runHostTool('sh', ['-c', 'echo "$HOST_TOOLS_GONE"'])).stdout).toBe('here\n');
    } finally {
      delete process.env.HOST_TOOLS_GONE;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a tool past its timeout is killed (with the shell that ran it) and the next ones still run', async () => {
    const started = Date.now();
    await expect(runHostTool('sleep', ['30'], { timeoutMs: 200 })).rejects.toThrow(/sleep 30 failed: no end within 200 ms; killed/);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect((await runHostTool('echo', ['after'])).stdout).toBe('after\n');
  });

  test('more tools at once than idle shells: each gets its own output, and long ones hold up none of the others', async () => {
    const all = await Promise.all(Array.from({ length: 12 }, (_, i) => runHostTool('sh', ['-c', 'sleep 0.05; echo "$1"', 'sh', `job-${i}`])));
    expect(all.map((r) => r.stdout)).toEqual(Array.from({ length: 12 }, (_, i) => `job-${i}\n`));
    // Six tools that take a while (more than the shells kept idle), then a quick one: it answers
    // while they all still run.
    let long = 0;
    const slow = Array.from({ length: 6 }, () => runHostTool('sleep', ['3']).then(() => void long++));
    expect((await runHostTool('echo', ['quick'])).stdout).toBe('quick\n');
    expect(long).toBe(0);
    await Promise.all(slow);
  });
});
