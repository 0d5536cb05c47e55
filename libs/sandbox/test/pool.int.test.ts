import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { waitFor } from '@codeagent/testing';
import type { Sandbox } from '../src/types';
import { sandboxCgroup, tempWorkspaces } from './fixtures';
import { BubblewrapDriver } from '../src/bubblewrap/driver';
import { mountsUnder, sweepPool } from '../src/bubblewrap/pool';

const ws = tempWorkspaces('pool');
const jailsDir = ws.make('jails');
const errors: Error[] = [];
const driver = new BubblewrapDriver({ jailsDir, pool: { size: 2, onError: (e) => errors.push(e) } });
const open: Sandbox[] = [];
afterAll(async () => {
  await Promise.all(open.map((s) => s.close()));
  await driver.close();
  ws.cleanup();
});

describe('a pool of jails started ahead (real bwrap)', () => {
  it('gives two sessions jails that share nothing: workspace, /tmp, processes, environment; with their own limits', async () => {
    await waitFor('two pooled jails', () => driver.pooled === 2, { timeoutMs: 20_000 });
    const [wa, wb] = [ws.make('a'), ws.make('b')];
    writeFileSync(path.join(wb, 'from-host'), 'b\n');
    const a = await driver.open({ workspaceDir: wa, env: { ONLY_A: '1' }, limits: { memoryMb: 300, pids: 100 } });
    const b = await driver.open({ workspaceDir: wb, env: { ONLY_B: 'two words' } });
    open.push(a, b);
    // Both came from the pool: no bwrap was started for them.
    expect([a.id, b.id].every((id) => id.startsWith('pool-'))).toBe(true);
    const tag = `sleep 1002.${process.pid % 1000}`;
    expect(await a.exec(`echo in-a > /workspace/fa; echo t > /tmp/ta; ${tag} & echo "$ONLY_A|$ONLY_B|$(pwd)"`)).toMatchObject({ exitCode: 0, stdout: '1||/workspace\n' });
    // A's files are the host workspace's, seen through the mount.
    expect(readFileSync(path.join(wa, 'fa'), 'utf8')).toBe('in-a\n');
    const inB = await b.exec(`ls /workspace; ls /tmp | wc -l; pgrep -fc "${tag}" || true; echo "$ONLY_A|$ONLY_B|$(pwd)"`);
    expect(inB.stdout).toBe('from-host\n0\n0\n|two words|/workspace\n');
    // The limits asked for are on the jail's cgroups, not the pool's defaults.
    expect(a.limitsInForce.memory).toMatch(/300 MiB/);
    expect(readFileSync(path.join(sandboxCgroup('memory', a.id), 'memory.limit_in_bytes'), 'utf8').trim()).toBe(String(300 * 1024 * 1024));
    expect(readFileSync(path.join(sandboxCgroup('pids', a.id), 'pids.max'), 'utf8').trim()).toBe('100');
    // Closing a pooled jail unmounts the workspace and leaves its files alone.
    await a.close();
    expect(readFileSync(path.join(wa, 'fa'), 'utf8')).toBe('in-a\n');
    expect(mountsUnder(jailsDir).filter((m) => m.includes(a.id))).toEqual([]);
    // The pool is refilled behind the sessions it served.
    await waitFor('the pool refilled', () => driver.pooled === 2, { timeoutMs: 20_000 });
    expect(errors).toEqual([]);
  });

  it('a session of another shape gets a jail of its own', async () => {
    const dir = ws.make('rlimit');
    const sb = await driver.open({ workspaceDir: dir, limits: { cpuSeconds: 100 } });
    open.push(sb);
    expect(sb.id.startsWith('pool-')).toBe(false);
    expect(sb.limitsInForce.cpu).toMatch(/100 s/);
    expect(existsSync(dir)).toBe(true);
  });

  it("a jail started again for a lost pooled session (its id, named like the pool's) is a session's: a start's sweep leaves it", async () => {
    // What a restore does when no pooled jail is ready: a jail of its own, with the lost one's id. The
    // sweep took it for a pooled jail left waiting (no 'assigned' mark) and killed it at the next start.
    const restoredJails = ws.make('restored-jails');
    const sb = await new BubblewrapDriver({ jailsDir: restoredJails }).open({ workspaceDir: ws.make('restored'), id: 'pool-0123456789ab' });
    open.push(sb);
    expect(await sweepPool(restoredJails)).toEqual([]);
    expect(await sb.exec('echo alive')).toMatchObject({ exitCode: 0, stdout: 'alive\n' });
  });
});

