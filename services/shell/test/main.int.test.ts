import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Bus } from '@codeagent/bus';
import { createTestBroker, spawnTs, testLogger, waitFor, type ServiceProcess, type TestBroker } from '@codeagent/testing';

jest.setTimeout(60_000);

function pidsRunning(argv: string[]): number[] {
  const want = argv.join('\0') + '\0';
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/cmdline`, 'utf8') === want;
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** The service as it runs in production: its own process from main.ts, default env but the broker. */
describe('shell main.ts as a process', () => {
  let broker: TestBroker;
  let proc: ServiceProcess | undefined;
  let client: Bus;
  let workspace: string;
  const instanceId = `shell-main-${process.pid}`;

  beforeAll(async () => {
    broker = await createTestBroker('shellmain');
    workspace = mkdtempSync(path.join(os.tmpdir(), 'shell-main-'));
    client = await Bus.connect({ url: broker.url, service: 'shell-main-test', instanceId: 'client', logger: testLogger() });
  });

  afterAll(async () => {
    await proc?.stop('SIGKILL');
    await client?.close();
    await broker?.dispose();
    rmSync(workspace, { recursive: true, force: true });
  });

  test('starts, answers its ping, refuses docker without an engine, and closes every jail on SIGTERM when it keeps none', async () => {
    proc = spawnTs('services/shell/src/main.ts', {
      RABBITMQ_URL: broker.url,
      INSTANCE_ID: instanceId,
      SHELL_PORT: '0',
      DATA_DIR: workspace,
      DOCKER_HOST: 'unix:///nonexistent/docker.sock',
      // A replica that will not come back (restart.int.test.ts covers the one that keeps its jails).
      SHELL_KEEP_JAILS: 'false',
    });
    const pong = await waitFor('the ping answer', () => client.request('shell.ping', {}, { timeoutMs: 2000 }).catch(() => undefined), { timeoutMs: 40_000 });
    expect(pong).toMatchObject({ service: 'shell', instanceId, status: 'ok' });
    expect(pong.checks?.docker).toContain('unavailable');

    const base = { workspaceDir: workspace, network: 'none' as const, limits: {}, env: {} };
    await expect(client.request('shell.open', { ...base, sessionId: 'd1', driver: 'docker' }, { timeoutMs: 20_000 })).rejects.toMatchObject({
      code: 'SANDBOX_UNAVAILABLE',
      message: expect.stringContaining('/nonexistent/docker.sock'),
    });

    const opened = await client.request('shell.open', { ...base, sessionId: 'b1', driver: 'bubblewrap' }, { timeoutMs: 30_000 });
    expect(opened.instanceId).toBe(instanceId);
    const argv = ['sleep', `300.0${process.pid % 1000}`];
    await client.request('shell.exec', { sessionId: 'b1', command: `${argv.join(' ')} &` }, { instanceId, timeoutMs: 20_000 });
    await waitFor('the background sleep', () => pidsRunning(argv).length === 1, { timeoutMs: 10_000 });

    expect(await proc.stop('SIGTERM', 30_000)).toBe(0);
    expect(pidsRunning(argv)).toEqual([]);
  });
});
