import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Bus, sessionLogHandlers } from '@codeagent/bus';
import { asStored } from './fakes';
import type { SessionEventV1 } from '@codeagent/contracts';
import { BubblewrapDriver, DockerDriver } from '@codeagent/sandbox';
import { importBusyboxImage, startTestEngine } from '@codeagent/sandbox/test/docker-engine';
import { runService, type RunningService } from '@codeagent/service';
import { createTestBroker, TEST_BUS_SECRET, testLogger, waitFor, type TestBroker } from '@codeagent/testing';
import { loadServiceEnv } from '../src/env';
import { shellService } from '../src/service';

// A real engine: the host's if one answers, else a private dockerd started for this file.
const engine = startTestEngine();
if (engine.skipReason) console.warn(`shell service docker tests skipped: ${engine.skipReason}`);
const d = engine.skipReason ? describe.skip : describe;

d('shell service with driver "docker" (real RabbitMQ, real dockerd)', () => {
  jest.setTimeout(60_000);
  let broker: TestBroker;
  let service: RunningService;
  let client: Bus;
  let workspace: string;
  let dataDir: string;
  let docker: DockerDriver;
  let image: string;
  let containersDir: string;
  const instanceId = `shell-docker-${process.pid}`;
  const log: SessionEventV1[] = [];
  const startService = async () => {
    // Kept sessions (SHELL_KEEP_JAILS, the default): the containers' folders outlive the process, as shellDrivers makes them.
    docker = new DockerDriver({ dockerHost: engine.host, pull: false, buildNetwork: 'none', containersDir });
    const env = loadServiceEnv({ RABBITMQ_URL: broker.url, CODEAGENT_BUS_SECRET: TEST_BUS_SECRET, INSTANCE_ID: instanceId, SHELL_PORT: '0', LOG_LEVEL: 'silent', DATA_DIR: dataDir, SHELL_POOL_SIZE: '0' });
    service = await runService({ ...shellService(env, { bubblewrap: new BubblewrapDriver(), docker }), opsPort: 0 }, { exitOnSignal: false });
  };

  beforeAll(async () => {
    broker = await createTestBroker('shelldocker');
    workspace = mkdtempSync(path.join(os.tmpdir(), 'shell-dock-'));
    // The service's own files (e.g. outside agents' state) apart from the workspace the tests list.
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'shell-dock-data-'));
    containersDir = mkdtempSync(path.join(os.tmpdir(), 'shell-dock-containers-'));
    image = await importBusyboxImage(new DockerDriver({ dockerHost: engine.host }).docker);
    await startService();
    client = await Bus.connect({ url: broker.url, service: 'shell-docker-test', instanceId: 'client', logger: testLogger() });
    await client.subscribe('shell-docker-test', sessionLogHandlers(async (e) => void log.push(asStored(e))), { durable: false, ordered: true });
  });

  afterAll(async () => {
    await client?.close();
    await service?.stop();
    await broker?.dispose();
    await engine.stop();
    for (const dir of [workspace, dataDir, containersDir]) rmSync(dir, { recursive: true, force: true });
  });

  test('a docker session: exec, network none, limits, close removes the container', async () => {
    const opened = await client.request(
      'shell.open',
      { sessionId: 'dk1', workspaceDir: workspace, network: 'none', limits: { memoryMb: 128, pids: 64 }, env: { HELLO: 'world' }, driver: 'docker', image },
      { timeoutMs: 30_000 },
    );
    expect(opened).toMatchObject({ driver: 'docker', instanceId, limitsInForce: { memory: expect.stringContaining('128 MiB'), pids: expect.stringContaining('64') } });
    const exec = (command: string) => client.request('shell.exec', { sessionId: 'dk1', command }, { instanceId, timeoutMs: 30_000 });
    expect(await exec('echo $HELLO; echo err >&2; exit 3')).toMatchObject({ exitCode: 3, stdout: 'world\n', stderr: 'err\n' });
    expect((await exec('cd /tmp && ls /sys/class/net')).stdout).toBe('lo\n');
    expect((await exec('pwd')).stdout).toBe('/tmp\n');
    expect(await client.request('shell.close', { sessionId: 'dk1' }, { instanceId, timeoutMs: 30_000 })).toMatchObject({ closed: true });
    await waitFor('the container to be gone', async () => (await docker.docker.listContainers({ all: true, filters: { label: ['codeagent.sandbox'] } })).every((c) => !c.Labels['codeagent.sandbox']?.startsWith('dk1-')));
  });
  test('a project that brings a Dockerfile: shell.open with dockerfile builds and runs its image', async () => {
    writeFileSync(path.join(workspace, 'Dockerfile'), `FROM ${image}\nRUN echo from-dockerfile > /etc/made-by\n`);
    const opened = await client.request(
      'shell.open',
      { sessionId: 'dk2', workspaceDir: workspace, network: 'none', limits: {}, env: {}, driver: 'docker', dockerfile: 'Dockerfile' },
      { timeoutMs: 45_000 },
    );
    expect(opened.driver).toBe('docker');
    const r = await client.request('shell.exec', { sessionId: 'dk2', command: 'cat /etc/made-by; ls /workspace' }, { instanceId, timeoutMs: 30_000 });
    expect(r.stdout).toBe('from-dockerfile\nDockerfile\n');
    await expect(
      client.request('shell.open', { sessionId: 'dk3', workspaceDir: workspace, network: 'none', limits: {}, env: {}, driver: 'docker', dockerfile: '../../etc/passwd' }, { timeoutMs: 30_000 }),
    ).rejects.toMatchObject({ code: 'PATH_OUTSIDE_WORKSPACE' });
    expect(await client.request('shell.close', { sessionId: 'dk2' }, { instanceId, timeoutMs: 30_000 })).toMatchObject({ closed: true });
  });

  test("a devcontainer's remoteUser and postCreateCommand: run as that user before the reply; a failing one fails the open and leaves no container", async () => {
    const open = (sessionId: string, postCreateCommand: string) =>
      client.request('shell.open', { sessionId, workspaceDir: workspace, network: 'none', limits: {}, env: {}, driver: 'docker', image, user: '4321:4321', postCreateCommand }, { timeoutMs: 30_000 });
    const opened = await open('dk4', 'id -u > /tmp/made-by');
    // Listed with its container, in the reply and in shell.list.
    expect(opened).toMatchObject({ driver: 'docker', container: expect.stringMatching(/^codeagent-dk4-/) });
    expect((await client.request('shell.list', {}, { instanceId, timeoutMs: 30_000 })).sessions).toContainEqual(expect.objectContaining({ sessionId: 'dk4', driver: 'docker', container: opened.container }));
    expect((await client.request('shell.exec', { sessionId: 'dk4', command: 'cat /tmp/made-by; id -u' }, { instanceId, timeoutMs: 30_000 })).stdout).toBe('4321\n4321\n');
    await client.request('shell.close', { sessionId: 'dk4' }, { instanceId, timeoutMs: 30_000 });

    await expect(open('dk5', 'echo setting up; echo broken >&2; exit 7')).rejects.toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringMatching(/postCreateCommand exited with 7: setting up \| broken/) });
    expect((await docker.docker.listContainers({ all: true, filters: { label: ['codeagent.sandbox'] } })).filter((c) => c.Labels['codeagent.sandbox']?.startsWith('dk5-'))).toEqual([]);
    // Not for jails: nothing there would run it as asked.
    await expect(
      client.request('shell.open', { sessionId: 'dk6', workspaceDir: workspace, network: 'none', limits: {}, env: {}, driver: 'bubblewrap', postCreateCommand: 'true' }, { timeoutMs: 30_000 }),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  test('a docker session outlives a graceful restart of the shell service while a command streams: output goes on with the next seqs, the exit arrives, the shell is the same', async () => {
    const opened = await client.request('shell.open', { sessionId: 'dk-kept', workspaceDir: workspace, network: 'none', limits: {}, env: { GIVEN: 'at-open' }, driver: 'docker', image, firstSeq: 1 }, { timeoutMs: 30_000 });
    const exec = (command: string, commandId?: string) => client.request('shell.exec', { sessionId: 'dk-kept', command, ...(commandId ? { commandId } : {}) }, { instanceId, timeoutMs: 30_000 });
    await exec('cd /tmp; export FOO="kept value"; sleep 1000 &');
    const events = () => log.filter((e) => e.sessionId === 'dk-kept');
    // A container's terminal is a `docker exec` attached to the service: it ends with it, and the log says so.
    await client.request('shell.pty.open', { sessionId: 'dk-kept' }, { instanceId, timeoutMs: 30_000 });
    const lines = 300;
    const running = exec(`for i in $(seq 1 ${lines}); do echo "line $i"; sleep 0.01; done; sh -c 'exit 5'`, 'stream');
    await waitFor('some output', () => events().some((e) => e.kind === 'output' && e.data.data.includes('line 20\n')), { timeoutMs: 20_000 });
    // The exec in flight is answered, not dropped: the replica restarts and the command goes on.
    const stopped = service.stop();
    await expect(running).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE', details: { reason: 'replica_restarting' } });
    await stopped;
    expect((await docker.docker.getContainer(opened.container!).inspect()).State.Running).toBe(true);
    await startService();

    const completed = await waitFor('the completion after the restart', () => events().find((e) => e.kind === 'command.completed' && e.data.commandId === 'stream'), { timeoutMs: 30_000 });
    expect(completed.kind === 'command.completed' && completed.data.exitCode).toBe(5);
    const output = events()
      .filter((e) => e.kind === 'output' && e.data.commandId === 'stream')
      .map((e) => (e.kind === 'output' ? e.data.data : ''))
      .join('');
    expect(output).toBe(Array.from({ length: lines }, (_, i) => `line ${i + 1}\n`).join(''));
    // The same shell in the same container, with its background process.
    expect((await exec('pwd; echo "$FOO|$GIVEN"; ps | grep -c "[s]leep 1000"')).stdout).toBe('/tmp\nkept value|at-open\n1\n');
    expect((await client.request('shell.list', {}, { instanceId, timeoutMs: 30_000 })).sessions).toContainEqual(expect.objectContaining({ sessionId: 'dk-kept', container: opened.container }));
    const seqs = events().map((e) => e.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    expect(events().filter((e) => e.kind === 'note' && e.data.terminal)).toMatchObject([{ data: { terminal: { exitCode: 129 } } }]);
    await client.request('shell.close', { sessionId: 'dk-kept' }, { instanceId, timeoutMs: 30_000 });
    expect(await docker.docker.getContainer(opened.container!).inspect().then(() => 'there', () => 'gone')).toBe('gone');
  });
});
