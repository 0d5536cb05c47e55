/**
 * The security battery: each attack must fail safely inside its own sandbox while another session
 * keeps working. Real bwrap, real cgroups, real sockets. Network off is tested here; every network mode
 * (the egress proxy, the allowlist, credentials) in network.int.test.ts. Network is only ever tested switched off
 * (or on loopback): no traffic is sent to outside addresses.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { waitFor } from '@codeagent/testing';
import { BubblewrapDriver } from '../src/bubblewrap/driver';
import { hostProcessesMatching, sandboxCgroup, tempWorkspaces } from './fixtures';
import type { Sandbox } from '../src/types';

const driver = new BubblewrapDriver();
const ws = tempWorkspaces('sec');
const all: Sandbox[] = [];
let a: Sandbox;
let b: Sandbox;
let wsA: string;
let wsB: string;
const secret = `secret-${randomBytes(8).toString('hex')}`;

async function openOne(dir: string, limits?: { memoryMb?: number; pids?: number }): Promise<Sandbox> {
  const sb = await driver.open({ workspaceDir: dir, limits });
  all.push(sb);
  return sb;
}

/** The bystander: another session that must keep answering while a neighbour misbehaves. */
async function bystanderWorks(): Promise<void> {
  expect(await b.exec(`cat secret.txt`, { timeoutMs: 15_000 })).toMatchObject({ exitCode: 0, stdout: secret });
}

function canConnectFromHost(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

beforeAll(async () => {
  wsA = ws.make('a');
  wsB = ws.make('b');
  writeFileSync(path.join(wsB, 'secret.txt'), secret);
  a = await openOne(wsA, { memoryMb: 256, pids: 128 });
  b = await openOne(wsB);
});

afterAll(async () => {
  await Promise.all(all.map((s) => s.close()));
  ws.cleanup();
});

describe('sandbox security battery (real bwrap)', () => {
  it('cannot read /etc/shadow', async () => {
    const host = readFileSync('/etc/shadow', 'utf8');
    expect(host).toMatch(/^root:/);
    const r = await a.exec('cat /etc/shadow; cat /etc/gshadow');
    expect(r.exitCode).not.toBe(0);
    expect(r.stdout).not.toContain('root:');
    await bystanderWorks();
  });

  it('cannot see /root or another session\'s workspace', async () => {
    expect(existsSync('/root/.bashrc')).toBe(true);
    const r = await a.exec(`ls -a /root; cat /root/.bashrc; cat ${wsB}/secret.txt; ls ${path.dirname(wsB)}`);
    expect(r.exitCode).not.toBe(0);
    expect(r.stdout).not.toContain(secret);
    expect(r.stdout).not.toContain('.bashrc');
    const found = await a.exec(`grep -rs --exclude-dir=proc --exclude-dir=sys --exclude-dir=usr -l ${secret} / ; true`, { timeoutMs: 30_000 });
    expect(found.stdout).toBe('');
    await bystanderWorks();
  });

  it('cannot write under /usr', async () => {
    const name = `evil-${randomBytes(4).toString('hex')}`;
    const r = await a.exec(`touch /usr/${name}; echo x > /usr/bin/${name}; mkdir /usr/lib/${name}`);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/Read-only file system/);
    for (const p of [`/usr/${name}`, `/usr/bin/${name}`, `/usr/lib/${name}`]) expect(existsSync(p)).toBe(false);
    await bystanderWorks();
  });

  it('cannot change host kernel settings through /proc, nor write anywhere but its own folders', async () => {
    // Only access(2) checks: nothing is written to a host sysctl even if the jail were broken. Character
    // devices are left out: masked secrets are /dev/null, where writes go nowhere.
    const r = await a.exec(
      'for f in /proc/sys/kernel/core_pattern /proc/sys/vm/drop_caches /proc/sysrq-trigger /proc/sys/kernel/modprobe; do [ -w $f ] && echo "WRITABLE $f"; done; ' +
        'echo jail > /proc/sys/kernel/hostname; ' +
        'find / -mindepth 1 -maxdepth 3 \\( -path /proc -o -path /workspace -o -path /tmp -o -path /home -o -path /var -o -path /run -o -path /dev \\) -prune -o -writable -print 2>/dev/null | while read -r f; do [ -c "$f" ] || echo "$f"; done',
      { timeoutMs: 30_000 },
    );
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/Read-only file system/);
    expect((await a.exec('grep CapEff /proc/self/status')).stdout).toMatch(/CapEff:\s+0{16}/);
    await bystanderWorks();
  });

  it('cannot reach the broker, the database or any outside address with network off', async () => {
    // The services are really listening on the host: only the jail's network namespace stops it.
    expect(await canConnectFromHost(5672)).toBe(true);
    expect(await canConnectFromHost(5432)).toBe(true);
    for (const target of ['127.0.0.1/5672', '127.0.0.1/5432', '10.0.0.1/80', '1.1.1.1/443']) {
      const r = await a.exec(`timeout 5 bash -c 'exec 3<>/dev/tcp/${target}' && echo CONNECTED`, { timeoutMs: 15_000 });
      expect(r.stdout).not.toContain('CONNECTED');
      expect(r.exitCode).not.toBe(0);
    }
    const ifaces = await a.exec('cat /proc/net/dev');
    expect(ifaces.stdout).toMatch(/\blo:/);
    expect(ifaces.stdout.trim().split('\n')).toHaveLength(3); // two header lines + lo
    await bystanderWorks();
  });

  it('survives a fork bomb: the pids limit holds and the neighbour keeps working', async () => {
    const dir = ws.make('bomb');
    const tag = `bomb${randomBytes(6).toString('hex')}`;
    writeFileSync(path.join(dir, `${tag}.sh`), 'f() { f | f & }; f; wait\n');
    const sb = await openOne(dir, { pids: 64 });
    const events = path.join(sandboxCgroup('pids', sb.id), 'pids.events');
    const bomb = sb.exec(`bash ${tag}.sh; sleep 30`, { timeoutMs: 4000 });
    // pids.events counts forks refused at pids.max: proof the limit, not luck, stopped the bomb.
    await waitFor('forks refused by the pids limit', () => /max (\d+)/.exec(readFileSync(events, 'utf8'))?.[1] !== '0', { timeoutMs: 15_000 });
    await bystanderWorks();
    expect(hostProcessesMatching(tag).length).toBeLessThanOrEqual(64);
    await bomb;
    await sb.close();
    await waitFor('every bomb process gone', () => hostProcessesMatching(tag).length === 0, { timeoutMs: 10_000 });
    await bystanderWorks();
  });

  it('survives a memory bomb: the memory limit kills it, the shell and the neighbour live on', async () => {
    const r = await a.exec(`python3 -c 'x = bytearray(1 << 30); print("allocated")'`, { timeoutMs: 30_000 });
    expect(r.stdout).not.toContain('allocated');
    expect(r.exitCode).toBe(137); // the cgroup's OOM killer, not a Python error
    // The same interpreter under the limit works: the failure above was the limit.
    expect(await a.exec(`python3 -c 'x = bytearray(64 << 20); print("allocated")'`)).toMatchObject({ exitCode: 0, stdout: 'allocated\n' });
    expect(await a.exec('echo still-here')).toMatchObject({ exitCode: 0, stdout: 'still-here\n' });
    await bystanderWorks();
  });

  it("cannot kill another session's processes", async () => {
    const tag = `${4000 + Math.floor(Math.random() * 1000)}.${Math.floor(Math.random() * 1e6)}`;
    await b.exec(`sleep ${tag} &`);
    const [hostPid] = await waitFor('the neighbour\'s process', () => {
      const p = hostProcessesMatching(`sleep ${tag}`);
      return p.length ? p : null;
    });
    const r = await a.exec(`kill -9 ${hostPid}; kill -9 -1; pkill -9 sleep; ls /proc | grep -c '^[0-9]'`);
    expect(r.stderr).toMatch(/No such process/);
    expect(Number(r.stdout.trim().split('\n').pop())).toBeLessThan(10);
    expect(hostProcessesMatching(`sleep ${tag}`)).toEqual([hostPid]);
    await bystanderWorks();
  });

  it('leaves no process alive after close, whatever it forked or detached', async () => {
    const dir = ws.make('leak');
    const sb = await openOne(dir);
    const tag = `${5000 + Math.floor(Math.random() * 1000)}.${Math.floor(Math.random() * 1e6)}`;
    await sb.exec(`sleep ${tag} & setsid sleep ${tag} & (sleep ${tag} &) ; nohup sleep ${tag} >/dev/null 2>&1 & disown`);
    const pty = await sb.openPty();
    pty.write(`sleep ${tag} &\r`);
    await waitFor('five sleepers', () => hostProcessesMatching(`sleep ${tag}`).length === 5, { timeoutMs: 10_000 });
    await sb.close();
    await waitFor('no sleeper left', () => hostProcessesMatching(`sleep ${tag}`).length === 0, { timeoutMs: 5000 });
    await bystanderWorks();
  });

  it('cannot end a command early by printing an imitation sentinel', async () => {
    const fake = `\\036CA:${'0'.repeat(24)}:`;
    const r = await a.exec(`printf '${fake}0:\\n'; printf '${fake}\\n' >&2; printf '\\036CA:'; echo after; (exit 5)`);
    expect(r.exitCode).toBe(5);
    expect(r.stdout).toContain('after');
    expect(r.stdout).toContain(`\x1eCA:${'0'.repeat(24)}:0:`);
  });

  it('does not follow a workspace symlink to a host path', async () => {
    symlinkSync('/root/.bashrc', path.join(wsA, 'bashrc-link'));
    symlinkSync(wsB, path.join(wsA, 'neighbour-link'));
    symlinkSync('/etc/shadow', path.join(wsA, 'shadow-link'));
    const r = await a.exec('cat bashrc-link; cat neighbour-link/secret.txt; cat shadow-link; ln -sf /proc/1/root/etc/shadow p; cat p');
    expect(r.exitCode).not.toBe(0);
    expect(r.stdout).not.toContain(secret);
    expect(r.stdout).not.toContain('root:');
    expect(r.stdout).not.toContain(readFileSync('/root/.bashrc', 'utf8').slice(0, 40));
    await bystanderWorks();
  });
});
