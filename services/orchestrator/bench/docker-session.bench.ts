import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Bus } from '@codeagent/bus';
import type { ProjectV1, SessionV1 } from '@codeagent/contracts';
import { DockerDriver } from '@codeagent/sandbox';
import { importBusyboxImage, startTestEngine } from '@codeagent/sandbox/test/docker-engine';
import { createTestBroker, createTestDatabase, spawnTs, testLogger, waitFor, type ServiceProcess } from '@codeagent/testing';
import { msSince, percentile, report } from '../../../bench/lib';

// Session create → ready through the real orchestrator, workspace and shell services (processes, over
// RabbitMQ), for one Dockerfile project: in Docker (its image built once, then cached by the
// Dockerfile's content) beside the same project in a Bubblewrap jail (`driver: "bubblewrap"`). Both
// prepare the same workspace; the difference is the sandbox. Also the first create, which builds the
// image, and the close of each. The engine: the host's, or a private dockerd started here.

const ROUNDS = 15;

async function main(): Promise<void> {
  const engine = startTestEngine();
  if (engine.skipReason) throw new Error(`no Docker engine for this benchmark: ${engine.skipReason}`);
  const broker = await createTestBroker('docker-bench');
  const db = await createTestDatabase('sqlite', 'docker-bench');
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'docker-bench-data-'));
  const projectDir = mkdtempSync(path.join(os.tmpdir(), 'docker-bench-project-'));
  const docker = new DockerDriver({ dockerHost: engine.host, pull: false });
  const image = await importBusyboxImage(docker.docker);
  const procs: ServiceProcess[] = [];
  const start = async (entry: string, env: Record<string, string>) => {
    const p = spawnTs(entry, { RABBITMQ_URL: broker.url, DATA_DIR: dataDir, LOG_LEVEL: 'info', ...env });
    procs.push(p);
    await waitFor(entry, () => {
      if (p.child.exitCode !== null) throw new Error(`${entry} exited: ${p.output().slice(-2000)}`);
      return p.output().includes('"service started"');
    }, { timeoutMs: 60_000, intervalMs: 100 });
  };
  try {
    await start('services/workspace/src/main.ts', { INSTANCE_ID: 'ws-bench', WORKSPACE_PORT: '0', WORKSPACE_UNMOUNT_ON_STOP: 'true' });
    await start('services/shell/src/main.ts', { INSTANCE_ID: 'shell-bench', SHELL_PORT: '0', DOCKER_HOST: engine.host!, SHELL_DOCKER_IMAGE: image, SHELL_DOCKER_BUILD_NETWORK: 'none' });
    await start('services/orchestrator/src/main.ts', { ...db.env, INSTANCE_ID: 'orch-bench', ORCHESTRATOR_PORT: '0', ORCHESTRATOR_POOL_SIZE: '0', ORCHESTRATOR_RECONCILE_MS: '0', ORCHESTRATOR_TASKS_SYNC_MS: '0', ORCHESTRATOR_DISCOVERY_MS: '0' });
    const client = await Bus.connect({ url: broker.url, service: 'bench-client', instanceId: `bench-${process.pid}`, logger: testLogger() });
    const req = <T>(name: string, payload: unknown) => (client.request as any)(name, payload, { timeoutMs: 300_000 }) as Promise<T>;

    mkdirSync(projectDir, { recursive: true });
    writeFileSync(path.join(projectDir, 'Dockerfile'), `FROM ${image}\nRUN echo built > /etc/made-by\n`);
    writeFileSync(path.join(projectDir, 'README.md'), 'a project\n');
    const project = await req<ProjectV1>('orchestrator.project.create', { name: 'bench', source: { path: projectDir } });
    const timed = async (driver: 'docker' | 'bubblewrap') => {
      let t = process.hrtime.bigint();
      const s = await req<SessionV1>('orchestrator.session.create', { projectId: project.id, driver });
      const createMs = msSince(t);
      if (s.status !== 'ready' || s.driver !== driver) throw new Error(`session ${s.id} is ${s.status} in ${s.driver}`);
      t = process.hrtime.bigint();
      await req('orchestrator.session.close', { sessionId: s.id });
      return { createMs, closeMs: msSince(t) };
    };
    const first = await timed('docker'); // builds the image
    await timed('bubblewrap'); // warm-up of the jail path
    const docker_: Array<{ createMs: number; closeMs: number }> = [];
    const jail: Array<{ createMs: number; closeMs: number }> = [];
    for (let i = 0; i < ROUNDS; i++) {
      docker_.push(await timed('docker'));
      jail.push(await timed('bubblewrap'));
    }
    await client.close(500);
    const load = os.loadavg()[0]!;
    report(
      'docker-session',
      [
        { name: 'session create → ready, Docker (image cached), p50', value: percentile(docker_.map((x) => x.createMs), 50), unit: 'ms' },
        { name: 'session create → ready, Docker (image cached), p95', value: percentile(docker_.map((x) => x.createMs), 95), unit: 'ms' },
        { name: 'session create → ready, Bubblewrap jail, same project, p50', value: percentile(jail.map((x) => x.createMs), 50), unit: 'ms' },
        { name: 'session create → ready, Bubblewrap jail, same project, p95', value: percentile(jail.map((x) => x.createMs), 95), unit: 'ms' },
        { name: 'first Docker session create (builds the image)', value: first.createMs, unit: 'ms' },
        { name: 'session close, Docker, p50', value: percentile(docker_.map((x) => x.closeMs), 50), unit: 'ms' },
        { name: 'session close, Bubblewrap jail, p50', value: percentile(jail.map((x) => x.closeMs), 50), unit: 'ms' },
        { name: 'host load average (1 min) at the end', value: load, unit: '' },
      ],
      `${ROUNDS} alternating rounds after one of each; the real orchestrator, workspace and shell processes over RabbitMQ, a ${engine.host?.includes('cadock') ? 'private dockerd (no bridge, no iptables)' : 'Docker engine'}, a busybox image made with docker import and a one-line Dockerfile on it (network none).`,
    );
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    await broker.dispose();
    await db.dispose();
    await engine.stop();
    for (const dir of [dataDir, projectDir]) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
