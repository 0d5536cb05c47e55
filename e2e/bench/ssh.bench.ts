import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, REPO_ROOT } from '@codeagent/testing';
import { msSince, percentile, report, type Figure } from '../../bench/lib';
import { closeSession, ok, openSession } from './client';
import { startBenchStack } from './measure';

// SSH (issue 21) measured from outside with Debian's OpenSSH client against the whole stack: the time
// from starting `ssh ... 'true'` to its exit (a new connection, key exchange, login and a command in
// the jail each time), and the throughput of `cat` of a large file in the jail through `ssh` beside
// the same through `codeagent run` (REST exec streamed over Socket.IO), in the same run.

const N = Number(process.env.BENCH_SSH_N ?? 30);
const MB = Number(process.env.BENCH_SSH_MB ?? 100);
const CLI = path.join(REPO_ROOT, 'clients/cli/bin/codeagent.js');

/** A run that does not end within this is killed and counted as failed. */
const RUN_TIMEOUT_MS = Number(process.env.BENCH_SSH_TIMEOUT_MS ?? 180_000);

/** Runs a program to its end, counting its stdout bytes; rejects on a non-zero exit or after RUN_TIMEOUT_MS. */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ ms: number; bytes: number }> {
  const t = process.hrtime.bigint();
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env, timeout: RUN_TIMEOUT_MS });
  let bytes = 0;
  let err = '';
  child.stdout.on('data', (d: Buffer) => (bytes += d.length));
  child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
  return new Promise((resolve, reject) =>
    child.once('exit', (code) => (code === 0 ? resolve({ ms: msSince(t), bytes }) : reject(new Error(`${cmd} exited ${String(code)}: ${err.slice(-500)}`)))),
  );
}

async function main() {
  const keys = mkdtempSync(path.join(tmpdir(), 'bench-ssh-'));
  spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(keys, 'id')]);
  const sshPort = await freePort();
  const stack = await startBenchStack('bench-ssh', { GATEWAY_SSH_PORT: String(sshPort), GATEWAY_SSH_AUTHORIZED_KEYS: path.join(keys, 'authorized_keys') });
  const figures: Figure[] = [];
  const failures: string[] = [];
  try {
    const base = stack.url;
    await ok(base, 'POST', '/api/v1/users/me/ssh-keys', { name: 'bench', publicKey: readFileSync(path.join(keys, 'id.pub'), 'utf8') });
    const sessionId = String((await openSession(base)).id);
    const ssh = (command: string) =>
      run('ssh', ['-p', String(sshPort), '-i', path.join(keys, 'id'), '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', `${sessionId}@127.0.0.1`, command]);
    const cli = (command: string) => run(process.execPath, [CLI, 'run', sessionId, '--', command], { ...process.env, CODEAGENT_URL: base, CODEAGENT_HOME: keys });

    for (let i = 0; i < 3; i++) await ssh('true');
    const trueMs: number[] = [];
    for (let i = 0; i < N; i++) trueMs.push((await ssh('true')).ms);
    figures.push({ name: "ssh 'true', start to exit, p50", value: percentile(trueMs, 50), unit: 'ms' });
    figures.push({ name: "ssh 'true', start to exit, p95", value: percentile(trueMs, 95), unit: 'ms' });

    await ok(base, 'POST', `/api/v1/sessions/${sessionId}/exec`, { command: `head -c ${MB * 1_000_000} /dev/urandom | base64 -w 100 | head -c ${MB * 1_000_000} > /workspace/big.txt`, timeoutMs: 600_000 });
    // In turn, so the noise of a shared machine falls on both alike. A run that fails or loses bytes is
    // not a rate: it is said in the notes, and the figure is "not measured" when no run succeeded.
    const rates: Record<'ssh' | 'run', number[]> = { ssh: [], run: [] };
    for (let i = 0; i < 2; i++) {
      for (const [name, go] of [['ssh', ssh], ['run', cli]] as const) {
        const r = await go('cat /workspace/big.txt').catch((err: Error) => (failures.push(`${name}: ${err.message.slice(0, 200)}`), undefined));
        if (!r) continue;
        if (r.bytes !== MB * 1_000_000) failures.push(`${name}: ${r.bytes} bytes of ${MB * 1_000_000}`);
        else rates[name].push(r.bytes / 1e6 / (r.ms / 1000));
      }
    }
    figures.push({ name: `cat of ${MB} MB through ssh`, value: rates.ssh.length ? Math.max(...rates.ssh) : NaN, unit: 'MB/s' });
    figures.push({ name: `cat of ${MB} MB through codeagent run`, value: rates.run.length ? Math.max(...rates.run) : NaN, unit: 'MB/s' });
    await closeSession(base, sessionId);
  } finally {
    await stack.stop();
    rmSync(keys, { recursive: true, force: true });
  }
  report('ssh', figures, [`${N} logins; throughput is the better of two runs each, taken in turn.`, ...failures.map((f) => `failed: ${f}`)].join('\n'));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
