import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, copyFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';

/**
 * A Docker engine for tests: the one DOCKER_HOST (or /var/run/docker.sock) names when it answers,
 * else a private dockerd started here (own data root, no bridge, no iptables changes) and stopped by
 * stop(). Decided synchronously at module load so a test file can choose `describe` or `describe.skip`
 * and say why.
 */
export interface TestEngine {
  host?: string;
  /** Why there is no engine (the tests skip and print it). */
  skipReason?: string;
  stop(): Promise<void>;
}

/** Whether an engine answers /_ping on a unix socket, asked from a child node so this stays synchronous. */
function pingSync(socketPath: string): boolean {
  const script = `require('http').get({socketPath:${JSON.stringify(socketPath)},path:'/_ping',timeout:2000},r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1)).on('timeout',()=>process.exit(1))`;
  return spawnSync(process.execPath, ['-e', script], { timeout: 5000 }).status === 0;
}

export function startTestEngine(): TestEngine {
  const envHost = process.env.DOCKER_HOST;
  const existing = envHost?.startsWith('unix://') ? envHost.slice(7) : envHost ? undefined : '/var/run/docker.sock';
  if (envHost && !existing) return { host: envHost, stop: async () => undefined }; // tcp: trust it; open() says if not
  if (existing && existsSync(existing) && pingSync(existing)) return { host: `unix://${existing}`, stop: async () => undefined };
  if (spawnSync('sh', ['-c', 'command -v dockerd']).status !== 0) {
    return { skipReason: 'no Docker engine answers and dockerd is not installed (apt-get install docker.io)', stop: async () => undefined };
  }
  if (process.getuid?.() !== 0) return { skipReason: 'no Docker engine answers and starting dockerd needs root', stop: async () => undefined };
  const dir = mkdtempSync('/tmp/cadock-');
  const sock = path.join(dir, 'docker.sock');
  const child: ChildProcess = spawn(
    'dockerd',
    ['--host', `unix://${sock}`, '--data-root', path.join(dir, 'root'), '--exec-root', path.join(dir, 'x'), '--pidfile', path.join(dir, 'pid'), '--bridge', 'none', '--iptables=false', '--ip6tables=false'],
    { stdio: ['ignore', 'ignore', 'pipe'], detached: false },
  );
  let log = '';
  child.stderr?.on('data', (b: Buffer) => (log = (log + b.toString()).slice(-4000)));
  // Waits (with a deadline) for the socket to answer: a condition, not a fixed sleep.
  const deadline = Date.now() + 45_000;
  let up = false;
  while (Date.now() < deadline && child.exitCode === null) {
    if (existsSync(sock) && pingSync(sock)) {
      up = true;
      break;
    }
    spawnSync('sleep', ['0.3']);
  }
  const stop = async () => {
    if (child.exitCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await gone;
      clearTimeout(t);
    }
    spawnSync('sh', ['-c', `grep -q ' ${dir}/' /proc/mounts && awk '{print $2}' /proc/mounts | grep '^${dir}/' | sort -r | xargs -r umount -l`]);
    rmSync(dir, { recursive: true, force: true });
  };
  if (!up) {
    void stop();
    return { skipReason: `dockerd did not start within 45 s: ${log.split('\n').slice(-4).join(' | ')}`, stop: async () => undefined };
  }
  return { host: `unix://${sock}`, stop };
}

/** A tiny image made locally from busybox-static (registries are unreachable in CI). */
export async function importBusyboxImage(docker: Docker, tag = 'codeagent-test-busybox:1'): Promise<string> {
  const have = await docker.getImage(tag).inspect().then(() => true, () => false);
  if (have) return tag;
  const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p));
  if (!busybox) throw new Error('busybox is not installed (apt-get install busybox-static)');
  const root = mkdtempSync(path.join(os.tmpdir(), 'cabb-'));
  try {
    for (const d of ['bin', 'tmp', 'workspace', 'etc', 'proc', 'sys', 'dev', 'root']) mkdirSync(path.join(root, d));
    // As in every distribution's image: the engine copies the image's /tmp mode onto the container's tmpfs.
    chmodSync(path.join(root, 'tmp'), 0o1777);
    copyFileSync(busybox, path.join(root, 'bin/busybox'));
    const applets = spawnSync(busybox, ['--list']).stdout.toString().split('\n').filter((a) => /^[a-z0-9_.[-]+$/.test(a) && a !== 'busybox');
    for (const a of applets) symlinkSync('busybox', path.join(root, 'bin', a));
    writeFileSync(path.join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
    writeFileSync(path.join(root, 'etc/group'), 'root:x:0:\n');
    const tar = path.join(root, '..', `${path.basename(root)}.tar`);
    const r = spawnSync('tar', ['-C', root, '-cf', tar, '.']);
    if (r.status !== 0) throw new Error(`tar failed: ${r.stderr.toString()}`);
    const [repo, version] = tag.split(':');
    const stream = await docker.importImage(tar, { repo, tag: version });
    await new Promise<void>((resolve, reject) => docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve())));
    rmSync(tar, { force: true });
    return tag;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
