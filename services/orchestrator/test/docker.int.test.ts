import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { networkInterfaces, tmpdir } from 'node:os';
import path from 'node:path';
import type { ProjectV1, SessionEventV1, SessionV1 } from '@codeagent/contracts';
import { DockerDriver } from '@codeagent/sandbox';
import { importBusyboxImage, startTestEngine } from '@codeagent/sandbox/test/docker-engine';
import { createTestBroker, createTestDatabase, spawnTs, waitFor, type ServiceProcess, type TestBroker, type TestDatabase } from '@codeagent/testing';
import { connectClient, startOrchestrator } from './harness';

// Issue 22: project discovery chooses the sandbox. The real orchestrator, workspace and shell services
// (their main.ts, as processes) over the real broker, and a real dockerd: the host's if one answers,
// else a private one this file starts (own data root, no bridge, no iptables) and stops. Images are made
// locally (`docker import` of busybox); no registry is reachable.
const engine = startTestEngine();
if (engine.skipReason) console.warn(`\n\n*** SKIPPED: orchestrator docker tests (issue 22) did not run: ${engine.skipReason} ***\n\n`);
const d = engine.skipReason ? describe.skip : describe;

const MiB = 1024 * 1024;

d('sessions in Docker chosen by project discovery (real orchestrator, workspace, shell, RabbitMQ, dockerd)', () => {
  let broker: TestBroker;
  let db: TestDatabase;
  let orch: ServiceProcess;
  let workspace: ServiceProcess;
  let shell: ServiceProcess | undefined;
  let client: Awaited<ReturnType<typeof connectClient>>;
  let docker: DockerDriver;
  let image: string;
  let dataDir: string;
  let projectsDir: string;
  let hostServer: Server;
  let hostUrl: string;
  const req = <T>(name: string, payload: unknown, timeoutMs = 120_000) => (client.bus.request as any)(name, payload, { timeoutMs }) as Promise<T>;
  const exec = (sessionId: string, command: string) => req<{ exitCode: number; stdout: string; stderr: string }>('orchestrator.session.exec', { sessionId, command });
  const containersOf = async (sessionId: string) =>
    (await docker.docker.listContainers({ all: true, filters: { label: ['codeagent.sandbox'] } })).filter((c) => c.Labels['codeagent.sandbox']?.startsWith(`${sessionId}-`));

  async function startShell(dockerHost: string, id: string): Promise<ServiceProcess> {
    const p = spawnTs('services/shell/src/main.ts', {
      RABBITMQ_URL: broker.url,
      DATA_DIR: dataDir,
      INSTANCE_ID: id,
      SHELL_PORT: '0',
      DOCKER_HOST: dockerHost,
      SHELL_DOCKER_IMAGE: image,
      SHELL_DOCKER_BUILD_NETWORK: 'none',
      // Jails started ahead or kept would outlive the test's shells.
      SHELL_KEEP_JAILS: 'false',
      SHELL_POOL_SIZE: '0',
    });
    await waitFor(`shell ${id} to start`, () => {
      if (p.child.exitCode !== null) throw new Error(`shell exited: ${p.output().slice(-3000)}`);
      return p.output().includes('"service started"');
    }, { timeoutMs: 60_000, intervalMs: 100 });
    return p;
  }

  function project(name: string, files: Record<string, string>): string {
    const dir = path.join(projectsDir, name);
    for (const [rel, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      writeFileSync(path.join(dir, rel), text);
    }
    return dir;
  }

  beforeAll(async () => {
    broker = await createTestBroker('orch-docker');
    db = await createTestDatabase((process.env.TEST_DATABASES ?? 'sqlite').split(',')[0] as 'sqlite', 'orch-docker');
    dataDir = mkdtempSync(path.join(tmpdir(), 'orch-docker-data-'));
    projectsDir = mkdtempSync(path.join(tmpdir(), 'orch-docker-projects-'));
    docker = new DockerDriver({ dockerHost: engine.host, pull: false });
    image = await importBusyboxImage(docker.docker);
    // A server on the host's own address: the container must not reach it (the host can).
    const address = Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal)?.address ?? '127.0.0.1';
    hostServer = createServer((_q, r) => r.end('host reached\n'));
    await new Promise<void>((resolve) => hostServer.listen(0, '0.0.0.0', resolve));
    hostUrl = `http://${address}:${(hostServer.address() as { port: number }).port}/`;
    client = await connectClient(broker.url);
    workspace = spawnTs('services/workspace/src/main.ts', { RABBITMQ_URL: broker.url, DATA_DIR: dataDir, INSTANCE_ID: 'workspace-docker', WORKSPACE_PORT: '0', WORKSPACE_UNMOUNT_ON_STOP: 'true' });
    await waitFor('workspace to start', () => workspace.output().includes('"service started"'), { timeoutMs: 60_000, intervalMs: 100 });
    orch = await startOrchestrator({ RABBITMQ_URL: broker.url, ...db.env, INSTANCE_ID: 'orch-docker', ORCHESTRATOR_RECONCILE_MS: '0', ORCHESTRATOR_TASKS_SYNC_MS: '0', ORCHESTRATOR_DISCOVERY_MS: '300' });
  }, 180_000);

  afterAll(async () => {
    await Promise.all([orch?.stop(), workspace?.stop(), shell?.stop()]);
    await client?.bus.close(500);
    await broker?.dispose();
    await db?.dispose();
    hostServer?.close();
    // Nothing of ours may be left on the engine, whoever's it is.
    if (docker) expect((await docker.docker.listContainers({ all: true, filters: { label: ['codeagent.sandbox'] } })).filter((c) => c.Labels['codeagent.host'])).toEqual([]);
    await engine.stop();
    for (const dir of [dataDir, projectsDir]) if (dir) rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  test('with no Docker engine, a Dockerfile project says so at create, and runs in a jail only when a fallback is asked for', async () => {
    shell = await startShell('unix:///nonexistent/docker.sock', 'shell-no-engine');
    const dir = project('no-engine', { Dockerfile: `FROM ${image}\n`, 'hello.txt': 'hi\n' });
    const p = await req<ProjectV1>('orchestrator.project.create', { name: 'no-engine', source: { path: dir } });
    expect(p.discovery).toMatchObject({ tier: 'dockerfile', driver: 'docker', dockerfile: 'Dockerfile', image });

    const err = await req('orchestrator.session.create', { projectId: p.id }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SANDBOX_UNAVAILABLE', message: expect.stringMatching(/runs in Docker \(chosen by the project \(its Dockerfile\)\), but .*no Docker engine answers.*fallbackToBubblewrap/) });

    const s = await req<SessionV1>('orchestrator.session.create', { projectId: p.id, fallbackToBubblewrap: true });
    expect(s).toMatchObject({ status: 'ready', driver: 'bubblewrap', driverNote: expect.stringContaining('fell back to a bubblewrap jail') });
    expect((await exec(s.id, 'cat hello.txt')).stdout).toBe('hi\n');
    await req('orchestrator.session.close', { sessionId: s.id });
    await shell.stop();
    shell = undefined;
  }, 120_000);

  test('a Dockerfile project: its image is built, the session runs in its container with limits in force, no network, output in the log and its terminal; close leaves no container', async () => {
    shell = await startShell(engine.host!, 'shell-docker');
    const dir = project('built', { Dockerfile: `FROM ${image}\nRUN echo from-dockerfile > /etc/made-by\n`, 'hello.txt': 'hello from the project\n' });
    const p = await req<ProjectV1>('orchestrator.project.create', { name: 'built', source: { path: dir } });
    expect(p.discovery).toMatchObject({ tier: 'dockerfile', driver: 'docker' });

    const s = await req<SessionV1>('orchestrator.session.create', { projectId: p.id, sandbox: { memoryMb: 128, pids: 64, cpuSeconds: 30, diskMb: 16 } });
    expect(s).toMatchObject({ status: 'ready', driver: 'docker', container: expect.stringMatching(/^codeagent-/), limitsInForce: { memory: expect.stringContaining('128 MiB'), pids: expect.stringContaining('64') } });
    const [c] = await containersOf(s.id);
    expect(c?.Names).toEqual([`/${s.container}`]);
    // Listed with its container by the shell too.
    expect((await req<{ sessions: Array<{ sessionId: string; container?: string; driver?: string }> }>('shell.list', {})).sessions).toContainEqual(expect.objectContaining({ sessionId: s.id, driver: 'docker', container: s.container }));

    // Its own image, the workspace mounted.
    expect((await exec(s.id, 'cat /etc/made-by; cat /workspace/hello.txt')).stdout).toBe('from-dockerfile\nhello from the project\n');
    // Limits in force: the engine's settings and what the container's cgroup says.
    const info = await docker.docker.getContainer(c!.Id).inspect();
    expect(info.HostConfig).toMatchObject({ Memory: 128 * MiB, MemorySwap: 128 * MiB, PidsLimit: 64, NetworkMode: 'none' });
    expect(info.HostConfig.Ulimits).toEqual(expect.arrayContaining([{ Name: 'cpu', Soft: 30, Hard: 30 }, { Name: 'fsize', Soft: 16 * MiB, Hard: 16 * MiB }]));
    const cg = await exec(s.id, 'cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes; cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max');
    expect(cg.stdout).toBe(`${128 * MiB}\n64\n`);
    expect((await exec(s.id, 'dd if=/dev/zero of=/tmp/big bs=1M count=32 2>&1; echo "exit $?"')).stdout).toMatch(/exit [1-9]/);
    // No network: only loopback, and the host's own address is unreachable (as it is not from the host).
    expect((await exec(s.id, 'ls /sys/class/net')).stdout).toBe('lo\n');
    expect((await exec(s.id, `wget -T 3 -q -O- ${hostUrl}`)).exitCode).not.toBe(0);
    expect(await fetch(hostUrl).then((r) => r.text())).toBe('host reached\n');
    // The terminal: the same contract as a jail's (opened on first input, its output streamed as `pty`).
    await (client.bus.request as any)('shell.pty.input', { sessionId: s.id, data: 'echo pty-$((6*7)); cat /etc/made-by\n' }, { instanceId: s.shellInstanceId, timeoutMs: 30_000 });
    const ptyText = () => client.live.filter((e) => e.sessionId === s.id && e.kind === 'output' && (e.data as { stream: string }).stream === 'pty').map((e) => (e.data as { data: string }).data).join('');
    await waitFor('the terminal to answer from the container', () => /pty-42[\s\S]*from-dockerfile/.test(ptyText()), { timeoutMs: 20_000, intervalMs: 50 });

    const closed = await req<SessionV1>('orchestrator.session.close', { sessionId: s.id });
    expect(closed.status).toBe('closed');
    const log = (await req<{ events: SessionEventV1[] }>('orchestrator.session.events', { sessionId: s.id, since: 0, limit: 1000 })).events;
    expect(log.filter((e) => e.kind === 'output').map((e) => (e.data as { data: string }).data).join('')).toContain('from-dockerfile\n');
    expect(await containersOf(s.id)).toEqual([]);
    // The image stays cached for the next session (same Dockerfile, no rebuild).
    expect((await docker.docker.listImages({ filters: { reference: ['codeagent-project:*'] } })).length).toBeGreaterThan(0);
  }, 240_000);

  test('a devcontainer project: build, containerEnv, remoteUser and postCreateCommand honoured; features reported as unsupported offline', async () => {
    shell ??= await startShell(engine.host!, 'shell-docker');
    const dir = project('devc', {
      // (busybox's image has no adduser applet: the user is written into the files it reads)
      '.devcontainer/Dockerfile': `FROM ${image}\nRUN echo 'dev:x:1234:1234::/tmp:/bin/sh' >> /etc/passwd && echo 'dev:x:1234:' >> /etc/group\n`,
      '.devcontainer/devcontainer.json': JSON.stringify({
        build: { dockerfile: 'Dockerfile', context: '..' },
        containerEnv: { APP_MODE: 'dev' },
        remoteUser: 'dev',
        postCreateCommand: 'echo "made by $(id -un) in $PWD" > /tmp/post-create',
        features: { 'ghcr.io/devcontainers/features/node:1': {} },
      }),
      'package.json': '{"scripts":{"test":"jest"}}',
    });
    const p = await req<ProjectV1>('orchestrator.project.create', { name: 'devc', source: { path: dir } });
    expect(p.discovery).toMatchObject({
      tier: 'devcontainer',
      driver: 'docker',
      languages: ['node'],
      testCommand: 'npm test',
      dockerfile: '.devcontainer/Dockerfile',
      devcontainer: { remoteUser: 'dev', containerEnv: { APP_MODE: 'dev' }, unsupported: [expect.stringContaining('not supported offline')] },
    });
    const s = await req<SessionV1>('orchestrator.session.create', { projectId: p.id });
    expect(s).toMatchObject({ status: 'ready', driver: 'docker' });
    expect((await exec(s.id, 'cat /tmp/post-create; echo "$APP_MODE"; id -u')).stdout).toBe('made by dev in /workspace\ndev\n1234\n');
    await req('orchestrator.session.close', { sessionId: s.id });
    expect(await containersOf(s.id)).toEqual([]);
  }, 240_000);

  test('a language project runs in a jail with what it lacks reported; a session may override the driver with docker; a Dockerfile added later moves it to Docker', async () => {
    shell ??= await startShell(engine.host!, 'shell-docker');
    const dir = project('lang', { 'mix.exs': '', 'hello.txt': 'hi\n' });
    const p = await req<ProjectV1>('orchestrator.project.create', { name: 'lang', source: { path: dir } });
    expect(p.discovery).toMatchObject({ tier: 'language', driver: 'bubblewrap', languages: ['elixir'], setupCommand: 'mix deps.get', testCommand: 'mix test', missing: expect.arrayContaining(['mix']) });
    expect(await req<ProjectV1>('orchestrator.project.get', { projectId: p.id })).toMatchObject({ discovery: p.discovery });

    const jail = await req<SessionV1>('orchestrator.session.create', { projectId: p.id });
    expect(jail).toMatchObject({ status: 'ready', driver: 'bubblewrap' });
    expect(jail.container).toBeUndefined();
    const boxed = await req<SessionV1>('orchestrator.session.create', { projectId: p.id, driver: 'docker' });
    expect(boxed).toMatchObject({ status: 'ready', driver: 'docker', container: expect.any(String) });
    // The shell's default image (here the imported busybox), the same workspace contents.
    expect((await exec(boxed.id, 'cat hello.txt; ls /bin/busybox')).stdout).toBe('hi\n/bin/busybox\n');
    await Promise.all([jail, boxed].map((x) => req('orchestrator.session.close', { sessionId: x.id })));
    expect(await containersOf(boxed.id)).toEqual([]);

    // Its files change outside the platform: the project's discovery follows, and so do its next sessions.
    writeFileSync(path.join(dir, 'Dockerfile'), `FROM ${image}\n`);
    await waitFor('the project to be discovered again', async () => (await req<ProjectV1>('orchestrator.project.get', { projectId: p.id })).discovery?.tier === 'dockerfile', { timeoutMs: 20_000, intervalMs: 200 });
    const next = await req<SessionV1>('orchestrator.session.create', { projectId: p.id });
    expect(next).toMatchObject({ status: 'ready', driver: 'docker' });
    await req('orchestrator.session.close', { sessionId: next.id });
  }, 240_000);

  test('a shell killed with its containers running: the next shell on the host removes them at start', async () => {
    shell ??= await startShell(engine.host!, 'shell-docker');
    const dir = project('leftover', { Dockerfile: `FROM ${image}\n` });
    const p = await req<ProjectV1>('orchestrator.project.create', { name: 'leftover', source: { path: dir } });
    const s = await req<SessionV1>('orchestrator.session.create', { projectId: p.id });
    expect(await containersOf(s.id)).toHaveLength(1);
    shell.child.kill('SIGKILL');
    await shell.stop();
    // Killed: nothing closed it.
    expect(await containersOf(s.id)).toHaveLength(1);
    shell = await startShell(engine.host!, 'shell-docker-2');
    expect(await containersOf(s.id)).toEqual([]);
    expect(shell.output()).toContain('leftover sandboxes of a dead shell removed');
  }, 240_000);
});
