import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Bus } from '@codeagent/bus';
import { ServiceNames, type CommandName } from '@codeagent/contracts';
import { createTestBroker, spawnTs, testLogger, waitFor, type ServiceProcess, type TestBroker } from '@codeagent/testing';

// Every service, started as its own process with its default configuration (but free ports and a
// data folder of its own), answers its ping over the bus, serves /health and /metrics, and stops with
// exit code 0 on SIGTERM.
let broker: TestBroker;
let dataDir: string;
let client: Bus;
const procs: ServiceProcess[] = [];

beforeAll(async () => {
  broker = await createTestBroker('services');
  dataDir = mkdtempSync(path.join(tmpdir(), 'codeagent-services-'));
  client = await Bus.connect({ url: broker.url, service: 'test', instanceId: 'services-test', logger: testLogger() });
});
afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop('SIGKILL')));
  await client?.close(500);
  await broker.dispose();
  rmSync(dataDir, { recursive: true, force: true });
});

const NO_KEPT_JAILS = { SHELL_KEEP_JAILS: 'false', SHELL_POOL_SIZE: '0' };

test.each(ServiceNames)('%s starts, answers its ping and /health, and exits 0 on SIGTERM', async (service) => {
  const envPrefix = service.toUpperCase().replace('-', '_');
  const proc = spawnTs(`services/${service}/src/main.ts`, {
    RABBITMQ_URL: broker.url,
    DATA_DIR: path.join(dataDir, service),
    INSTANCE_ID: `${service}-under-test`,
    [`${envPrefix}_PORT`]: '0',
    LOG_LEVEL: 'info',
    // A shell that will not start again: no jails kept or started ahead to outlive the test.
    ...(service === 'shell' ? NO_KEPT_JAILS : {}),
  });
  procs.push(proc);
  const exitedEarly = new Promise<never>((_, reject) =>
    proc.child.once('exit', (code) => reject(new Error(`${service} exited with ${code} before starting:\n${proc.output().slice(-3000)}`))),
  );
  exitedEarly.catch(() => undefined); // the race below observes it; later exits (SIGTERM) are expected
  const opsPort = await Promise.race([exitedEarly, waitFor(
    `${service} to start`,
    () => {
      const line = proc.output().split('\n').find((l) => l.includes('"service started"'));
      return line ? (JSON.parse(line) as { opsPort?: number }).opsPort ?? -1 : undefined;
    },
    { timeoutMs: 45_000, intervalMs: 100 },
  )]);

  const pong = await client.request(`${service}.ping` as CommandName, {} as never, { timeoutMs: 10_000 });
  expect(pong).toMatchObject({ service, instanceId: `${service}-under-test`, status: 'ok' });

  if (opsPort > 0) {
    const health = await fetch(`http://127.0.0.1:${opsPort}/health`);
    expect(health.status).toBe(200);
    const metrics = await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
    expect(metrics).toContain('process_cpu_user_seconds_total');
  }

  expect(await proc.stop('SIGTERM')).toBe(0);
  expect(proc.output()).toContain('"msg":"stopped"');
}, 90_000);

test('a service whose broker went away (its vhost deleted) still stops on SIGTERM, with exit code 0', async () => {
  const gone = await createTestBroker('services-gone');
  const proc = spawnTs('services/shell/src/main.ts', {
    RABBITMQ_URL: gone.url,
    DATA_DIR: path.join(dataDir, 'broker-gone'),
    INSTANCE_ID: 'shell-broker-gone',
    SHELL_PORT: '0',
    ...NO_KEPT_JAILS,
  });
  procs.push(proc);
  await waitFor('the shell to start', () => proc.output().includes('"service started"'), { timeoutMs: 45_000, intervalMs: 100 });
  await gone.dispose();
  await waitFor('the shell to lose the broker', () => proc.output().includes('bus disconnected'), { timeoutMs: 15_000, intervalMs: 100 });
  // Publishing service.stopping and closing channels would wait forever for a reconnect; the stop
  // bounds them, so the exit comes within its few-second steps, far inside stop()'s 20 s.
  expect(await proc.stop('SIGTERM', 20_000)).toBe(0);
  expect(proc.output()).toContain('"msg":"stopped"');
}, 90_000);
