/**
 * The shell service's egress through the real proxy (issue 16): shell.open with an allowlist and a
 * credential, over the real bus (a vhost of its own), with the driver built from the environment as
 * main.ts builds it (SHELL_EGRESS_HOSTS, SHELL_EGRESS_HOSTS_ONLY, SHELL_EGRESS_ALLOW_ADDRESSES).
 * Traffic goes only to loopback and to a test host in a network namespace this file makes; with
 * SHELL_EGRESS_HOSTS_ONLY no name is ever looked up in a real DNS.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Bus } from '@codeagent/bus';
import type { EventPayload } from '@codeagent/contracts';
import { runService, type RunningService } from '@codeagent/service';
import { createTestBroker, startTestHost, TEST_BUS_SECRET, testLogger, waitFor, type TestBroker, type TestHost } from '@codeagent/testing';
import { bubblewrapDriver } from '../src/drivers';
import { loadServiceEnv } from '../src/env';
import { shellService } from '../src/service';

jest.setTimeout(120_000);

describe('shell service egress through the real proxy (real RabbitMQ, real bubblewrap, a test host)', () => {
  let broker: TestBroker;
  let service: RunningService;
  let client: Bus;
  let host: TestHost;
  let workspace: string;
  const denied: EventPayload<'shell.egress.denied'>[] = [];
  const instanceId = `shell-egress-it-${process.pid}`;
  const key = `sk-ant-test-${randomBytes(12).toString('hex')}`;
  const sessionId = 'egress-1';

  const exec = (command: string, timeoutMs = 30_000) => client.request('shell.exec', { sessionId, command, timeoutMs }, { instanceId, timeoutMs: timeoutMs + 15_000 });
  const curl = (args: string) => exec(`curl -sS --max-time 8 ${args}`);

  beforeAll(async () => {
    host = await startTestHost();
    broker = await createTestBroker('shell-egress');
    workspace = mkdtempSync(path.join(os.tmpdir(), 'shell-egress-ws-'));
    const env = loadServiceEnv({
      RABBITMQ_URL: broker.url,
      CODEAGENT_BUS_SECRET: TEST_BUS_SECRET,
      INSTANCE_ID: instanceId,
      SHELL_PORT: '0',
      SHELL_DOCKER_ENABLED: 'false',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      DATA_DIR: workspace,
      // The admin's policy names the test host's /30 (a private range, refused otherwise).
      SHELL_EGRESS_ALLOW_ADDRESSES: host.cidr,
      SHELL_EGRESS_HOSTS: `allowed.test=${host.address}, denied.test=${host.address},provider.test=${host.address}`,
      SHELL_EGRESS_HOSTS_ONLY: 'true',
    });
    service = await runService({ ...shellService(env, { bubblewrap: bubblewrapDriver(env) }), opsPort: 0 }, { exitOnSignal: false });
    client = await Bus.connect({ url: broker.url, service: 'shell-egress-test', instanceId: 'client', logger: testLogger() });
    await client.subscribe('shell-egress-test', { 'shell.egress.denied': async (p) => void denied.push(p) }, { durable: false });
  });

  afterAll(async () => {
    await client?.request('shell.close', { sessionId }, { instanceId, timeoutMs: 30_000 }).catch(() => undefined);
    await client?.close();
    await service?.stop();
    await broker?.dispose();
    host?.close();
    if (workspace) rmSync(workspace, { recursive: true, force: true });
  });

  test('shell.open with an allowlist and a credential answers networkInForce as read back from the jail', async () => {
    const opened = await client.request(
      'shell.open',
      {
        sessionId,
        workspaceDir: workspace,
        network: { allow: ['allowed.test', 'unmapped.test'] },
        credentials: [{ name: 'anthropic', upstream: 'http://provider.test/api', headers: { 'x-api-key': key }, baseUrlEnv: ['ANTHROPIC_BASE_URL'], placeholderKeyEnv: ['ANTHROPIC_API_KEY'] }],
        limits: {},
        env: {},
        driver: 'bubblewrap',
      },
      { timeoutMs: 30_000 },
    );
    expect(opened.networkInForce).toEqual({
      mode: 'allow',
      interfaces: ['lo'],
      routes: 0,
      proxy: 'http://127.0.0.1:3128',
      dns: '127.0.0.1:53',
      allow: ['allowed.test', 'unmapped.test'],
      credentials: ['anthropic'],
      allowAddresses: [host.cidr],
    });
    // The same facts from inside: loopback only, and no route but loopback's.
    const r = await exec("tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '; echo routes $(tail -n +2 /proc/net/route | grep -vc '^lo')");
    expect(r.stdout).toBe('lo\nroutes 0\n');
  });

  test('an allowed name resolves (SHELL_EGRESS_HOSTS, through the jail DNS) and is reachable through the proxy', async () => {
    expect((await exec('getent hosts allowed.test')).stdout).toContain(host.address);
    const r = await curl('http://allowed.test/from-the-shell');
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ host: 'allowed.test', path: '/from-the-shell' });
  });

  test('a denied name is refused before resolution and published as shell.egress.denied with the name', async () => {
    const r = await curl('-i http://denied.test/should-not-arrive');
    expect(r.stdout).toContain('403');
    expect(r.stdout).toContain('denied.test is not in the allowlist');
    const event = await waitFor('shell.egress.denied for denied.test', () => denied.find((d) => d.host === 'denied.test' && d.via === 'http'));
    expect(event).toMatchObject({ sessionId, port: 80, count: 1, reason: 'denied.test is not in the allowlist' });
    // The same address under an allowed name answers, so this is the name being refused, not the host.
    expect((await host.seen()).some((s) => s.path === '/should-not-arrive')).toBe(false);
    // Its DNS fails too, and that is an event of its own.
    expect((await exec('getent hosts denied.test; echo "status $?"')).stdout).toContain('status 2');
    await waitFor('shell.egress.denied via dns', () => denied.find((d) => d.host === 'denied.test' && d.via === 'dns'));
  });

  test('with SHELL_EGRESS_HOSTS_ONLY an allowed name that is not listed does not resolve (no DNS server is asked)', async () => {
    const r = await curl('-i http://unmapped.test/');
    expect(r.stdout).toContain('403');
    expect(r.stdout).toContain('unmapped.test does not resolve');
  });

  test('the credential: the provider (the test host) sees the key, the jail never has it', async () => {
    const call = await exec(`curl -sS --max-time 8 -H "x-api-key: $ANTHROPIC_API_KEY" -H 'anthropic-version: 2023-06-01' -d '{"model":"m"}' "$ANTHROPIC_BASE_URL/v1/messages"`);
    expect(call.exitCode).toBe(0);
    expect(JSON.parse(call.stdout)).toMatchObject({ host: 'provider.test', path: '/api/v1/messages' });
    const seen = (await host.seen()).find((s) => s.path === '/api/v1/messages');
    expect(seen?.headers['x-api-key']).toBe(key);
    expect(seen?.headers['anthropic-version']).toBe('2023-06-01');
    const jail = await exec(`env; cat /proc/*/environ /proc/*/cmdline 2>/dev/null | tr '\\0' '\\n'; grep -rls ${key} /workspace /tmp /home /etc /run /var 2>/dev/null; echo done`, 90_000);
    expect(jail.stdout).toContain('ANTHROPIC_BASE_URL=http://anthropic.credentials.internal');
    expect(jail.stdout).toContain('ANTHROPIC_API_KEY=codeagent-egress-proxy-adds-the-key');
    expect(jail.stdout).not.toContain(key);
  });
});
