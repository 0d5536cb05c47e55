import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestHost, waitFor } from '@codeagent/testing';
import type { CrashInfo, OutputChunk, Sandbox } from '../src/types';
import { DockerDriver } from '../src/docker/driver';
import { importBusyboxImage, startTestEngine } from './docker-engine';

// A real engine: the host's if one answers, else a private dockerd started for this file.
const engine = startTestEngine();
if (engine.skipReason) console.warn(`docker driver tests skipped: ${engine.skipReason}`);
const d = engine.skipReason ? describe.skip : describe;

d('DockerDriver (real engine)', () => {
  jest.setTimeout(60_000);
  let driver: DockerDriver;
  let image: string;
  let workspace: string;
  const open: Sandbox[] = [];

  beforeAll(async () => {
    driver = new DockerDriver({ dockerHost: engine.host, pull: false, buildNetwork: 'none' });
    image = await importBusyboxImage(driver.docker);
    workspace = mkdtempSync(path.join(os.tmpdir(), 'dockws-'));
  });

  afterAll(async () => {
    await Promise.allSettled(open.map((s) => s.close()));
    await engine.stop();
    rmSync(workspace, { recursive: true, force: true });
  });

  const openSandbox = async (limits = {}) => {
    const sb = await driver.open({ workspaceDir: workspace, image, limits });
    open.push(sb);
    return sb;
  };

  test('runs commands with structured results; exit ends the shell, a new one replaces it; cd and export persist', async () => {
    const sb = await openSandbox();
    const crashes: CrashInfo[] = [];
    sb.on('crash', (c) => crashes.push(c));
    const r = await sb.exec('echo hi; echo err >&2; exit 3');
    expect(r).toMatchObject({ exitCode: 3, stdout: 'hi\n', stderr: 'err\n', timedOut: false, truncated: false });
    // Sent at once: it waits for the replacement shell instead of writing to the dead one.
    expect((await sb.exec('cd /tmp && export GREETING=hello')).exitCode).toBe(0);
    await waitFor('the crash report', () => crashes.length > 0, { timeoutMs: 20_000 });
    expect(crashes[0]).toMatchObject({ restarted: true });
    const again = await sb.exec('pwd; echo $GREETING');
    expect(again.stdout).toBe('/tmp\nhello\n');
    // The workspace is the host folder, read-write.
    await sb.exec('echo from-container > /workspace/proof.txt');
    expect(readFileSync(path.join(workspace, 'proof.txt'), 'utf8')).toBe('from-container\n');
  });

  test('streams output in order and enforces limits and network none', async () => {
    const sb = await openSandbox({ memoryMb: 64, pids: 16, cpuSeconds: 30 });
    expect(sb.limitsInForce).toMatchObject({ memory: expect.stringContaining('64 MiB'), pids: expect.stringContaining('16'), cpu: expect.stringContaining('30 s') });
    const chunks: OutputChunk[] = [];
    const r = await sb.exec('i=0; while [ $i -lt 2000 ]; do echo line-$i; i=$((i+1)); done', { onOutput: (c) => void chunks.push(c) });
    expect(chunks.map((c) => c.seq)).toEqual(chunks.map((_, i) => i));
    const streamed = Buffer.concat(chunks.map((c) => c.data)).toString();
    expect(streamed).toBe(r.stdout);
    expect(streamed.split('\n')[1999]).toBe('line-1999');
    expect((await sb.exec('ls /sys/class/net')).stdout.trim()).toBe('lo');
    const info = await driver.docker.listContainers({ filters: { label: [`codeagent.sandbox=${sb.id}`] } });
    const inspected = await driver.docker.getContainer(info[0]!.Id).inspect();
    expect(inspected.HostConfig.Memory).toBe(64 * 1024 * 1024);
    expect(inspected.HostConfig.PidsLimit).toBe(16);
    expect(inspected.HostConfig.NetworkMode).toBe('none');
    // The pids limit really holds: 40 background sleeps cannot all start.
    const fork = await sb.exec('i=0; while [ $i -lt 40 ]; do sleep 20 & i=$((i+1)); done; echo tried');
    expect(fork.stderr).toMatch(/fork|resource temporarily unavailable/i);
  });

  test('network allow: its own namespace, egress only through the proxy to allowed names (a test host it makes)', async () => {
    const host = await startTestHost();
    try {
      const names: Record<string, string> = { 'allowed.test': host.address, 'denied.test': host.address };
      const egressDriver = new DockerDriver({
        dockerHost: engine.host,
        pull: false,
        egress: { allowAddresses: [host.cidr], resolve: async (n) => (names[n] ? [names[n]!] : Promise.reject(Object.assign(new Error(n), { code: 'ENOTFOUND' }))) },
      });
      const sb = await egressDriver.open({ workspaceDir: workspace, image, network: { allow: ['allowed.test'] } });
      open.push(sb);
      const denied: string[] = [];
      sb.on('egress', (d) => void (d.allowed ? undefined : denied.push(d.host)));
      expect(sb.networkInForce).toMatchObject({ mode: 'allow', interfaces: ['lo'], routes: 0, proxy: 'http://127.0.0.1:3128' });
      const ok = await sb.exec('wget -q -O - http://allowed.test/from-docker');
      expect(ok).toMatchObject({ exitCode: 0 });
      expect(JSON.parse(ok.stdout)).toEqual({ host: 'allowed.test', path: '/from-docker' });
      const no = await sb.exec('wget -q -O - http://denied.test/ 2>&1; echo "exit $?"');
      expect(no.stdout).toMatch(/403|Forbidden/);
      expect(denied).toContain('denied.test');
      // No route of its own: the test host's address straight is unreachable (the bridge is never used).
      expect((await sb.exec(`nc -w 3 ${host.address} 80 </dev/null; echo "exit $?"`)).stdout).not.toContain('exit 0');
    } finally {
      host.close();
    }
  });

  test('interrupt ends a running command; timeouts are reported', async () => {
    const sb = await openSandbox();
    let seen = '';
    const running = sb.exec('echo started && sleep 30 && echo not-reached', { onOutput: (c) => void (seen += c.data.toString()) });
    await waitFor('the command to start', () => seen.includes('started'), { timeoutMs: 10_000 });
    expect(await sb.interrupt()).toBe(true);
    const r = await running;
    expect(r.exitCode).toBe(130);
    expect(r.stdout).not.toContain('not-reached');
    const t = await sb.exec('sleep 30', { timeoutMs: 300 });
    expect(t.timedOut).toBe(true);
    expect((await sb.exec('echo still-alive')).stdout).toBe('still-alive\n');
    expect(await sb.interrupt()).toBe(false);
  });

  test('a terminal in the same container', async () => {
    const sb = await openSandbox();
    await sb.exec('echo shared > /tmp/marker');
    const pty = await sb.openPty({ cols: 100, rows: 30 });
    let out = '';
    pty.onData((s) => void (out += s));
    pty.write('cat /tmp/marker; echo sum-$((40+2))\n');
    await waitFor('terminal output', () => out.includes('sum-42') && out.includes('shared'), { timeoutMs: 10_000 });
    pty.resize(120, 40);
    await pty.close();
  });

  test('close removes the container and every process in it', async () => {
    const sb = await openSandbox();
    await sb.exec('sleep 300 & sleep 300 &');
    await sb.close();
    const left = await driver.docker.listContainers({ all: true, filters: { label: [`codeagent.sandbox=${sb.id}`] } });
    expect(left).toHaveLength(0);
    await expect(sb.exec('true')).rejects.toMatchObject({ code: 'INVALID_STATE' });
  });

  test('a project that brings a Dockerfile gets its image built once, then reused', async () => {
    const { writeFileSync, mkdirSync } = await import('node:fs');
    const ws = mkdtempSync(path.join(os.tmpdir(), 'dockproj-'));
    try {
      mkdirSync(path.join(ws, 'docker'));
      writeFileSync(path.join(ws, 'docker', 'Dockerfile'), `FROM ${image}\nRUN echo built-by-project > /built.txt\n`);
      const sb = await driver.open({ workspaceDir: ws, dockerfile: 'docker/Dockerfile' });
      open.push(sb);
      expect((await sb.exec('cat /built.txt')).stdout).toBe('built-by-project\n');
      const again = await driver.open({ workspaceDir: ws, dockerfile: 'docker/Dockerfile' });
      open.push(again);
      expect((await again.exec('cat /built.txt')).exitCode).toBe(0);
      await expect(driver.open({ workspaceDir: ws, dockerfile: '../Dockerfile' })).rejects.toMatchObject({ code: 'PATH_OUTSIDE_WORKSPACE' });
      writeFileSync(path.join(ws, 'Broken'), `FROM ${image}\nRUN exit 7\n`);
      await expect(driver.open({ workspaceDir: ws, dockerfile: 'Broken' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining('did not build') });
    } finally {
      rmSync(ws, { recursive: true, force: true });
    }
  });

  test('a workspace owned by a user runs the shell as that user, so files made inside belong to them', async () => {
    const { chownSync, statSync } = await import('node:fs');
    const ws = mkdtempSync(path.join(os.tmpdir(), 'dockown-'));
    try {
      chownSync(ws, 1234, 1234);
      const sb = await driver.open({ workspaceDir: ws, image });
      open.push(sb);
      expect((await sb.exec('id -u; touch /workspace/made; echo $HOME')).stdout).toBe('1234\n/tmp\n');
      expect(statSync(path.join(ws, 'made')).uid).toBe(1234);
      // Interrupt still reaches the user's processes (the helper runs as root inside the container).
      let seen = '';
      const running = sb.exec('echo go && sleep 30', { onOutput: (c) => void (seen += c.data.toString()) });
      await waitFor('the sleep', () => seen.includes('go'), { timeoutMs: 10_000 });
      expect(await sb.interrupt()).toBe(true);
      expect((await running).exitCode).toBe(130);
      await sb.close();
    } finally {
      rmSync(ws, { recursive: true, force: true });
    }
  });

  test('the built-image cache keeps to its size: the least recently used unused image goes, the one in use and the newest stay', async () => {
    const { writeFileSync } = await import('node:fs');
    // A cache of 0 bytes: after a build, every other built image that no container uses is removed.
    const tiny = new DockerDriver({ dockerHost: engine.host, pull: false, buildNetwork: 'none', imageCacheMb: 0 });
    const ws = mkdtempSync(path.join(os.tmpdir(), 'dockcache-'));
    const tags = async () => (await tiny.docker.listImages({ filters: { reference: ['codeagent-project:*'] } })).flatMap((i) => i.RepoTags ?? []);
    try {
      const build = async (name: string) => {
        writeFileSync(path.join(ws, name), `FROM ${image}\nRUN echo ${name} > /etc/which\n`);
        const sb = await tiny.open({ workspaceDir: ws, dockerfile: name });
        open.push(sb);
        return sb;
      };
      // Other tests' images may be there too (and go when unused): each build's own tag is the one that appeared.
      const before = await tags();
      const a = await build('A.Dockerfile');
      const tagA = (await tags()).find((t) => !before.includes(t));
      expect(tagA).toBeDefined();
      await a.close();
      const b = await build('B.Dockerfile'); // A's image is unused now: it goes
      const afterB = await tags();
      const tagB = afterB.find((t) => t !== tagA && !before.includes(t));
      expect(tagB).toBeDefined();
      expect(afterB).not.toContain(tagA);
      const c = await build('C.Dockerfile'); // B's is in use by a container: the engine keeps it
      const afterC = await tags();
      expect(afterC).toContain(tagB);
      expect(afterC.filter((t) => t !== tagB && !before.includes(t))).toHaveLength(1);
      expect((await c.exec('cat /etc/which')).stdout).toBe('C.Dockerfile\n');
      await Promise.all([b.close(), c.close()]);
    } finally {
      rmSync(ws, { recursive: true, force: true });
    }
  });

  test('removeLeftovers() removes the containers of a dead process of this host, not those of a live one', async () => {
    const live = await openSandbox();
    const dead = await driver.docker.createContainer({
      Image: image,
      Cmd: ['sleep', '300'],
      // A pid that no process has (pid_max is at most 2^22).
      Labels: { 'codeagent.sandbox': 'leftover-1', 'codeagent.host': os.hostname(), 'codeagent.pid': String(2 ** 22 + 1) },
    });
    await dead.start();
    const removed = await driver.removeLeftovers();
    expect(removed).toHaveLength(1);
    await expect(dead.inspect()).rejects.toMatchObject({ statusCode: 404 });
    expect((await live.exec('echo still here')).stdout).toBe('still here\n');
  });

  test('available() names the missing engine; open() then refuses with SANDBOX_UNAVAILABLE', async () => {
    const none = new DockerDriver({ dockerHost: 'unix:///nonexistent/docker.sock' });
    const a = await none.available();
    expect(a.ok).toBe(false);
    expect(a.reason).toContain('/nonexistent/docker.sock');
    await expect(none.open({ workspaceDir: workspace })).rejects.toMatchObject({ code: 'SANDBOX_UNAVAILABLE' });
  });
});
