import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startStack, startTestHost, waitFor, type Stack, type TestHost } from '@codeagent/testing';

// The egress of a session through the whole stack (every service a real process, local mode): an
// allowlist and a provider credential asked for over REST reach a test host (in a network namespace
// this file makes) as the admin configured it, the provider's key is added outside the jail, refusals
// land in the session's event log, and an "open" session still cannot reach the platform on the host.
//
// Traffic goes only to loopback and to the test host: the shell resolves names from
// SHELL_EGRESS_HOSTS alone (SHELL_EGRESS_HOSTS_ONLY), so no DNS server and no real address is ever
// asked, and a denied name is refused by name before anything is resolved.
let stack: Stack;
let host: TestHost;
let dir: string;
const key = `sk-ant-e2e-${randomBytes(16).toString('hex')}`;

async function api(method: string, url: string, body?: unknown) {
  const res = await fetch(stack.url + url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json().catch(() => undefined)) as any };
}

async function exec(sessionId: string, command: string, timeoutMs = 30_000): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const r = await api('POST', `/api/v1/sessions/${sessionId}/exec`, { command, timeoutMs });
  if (r.status !== 200) throw new Error(`exec ${command}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

async function events(sessionId: string): Promise<Array<{ kind: string; data: any }>> {
  return (await api('GET', `/api/v1/sessions/${sessionId}/events?limit=10000`)).body.events;
}

beforeAll(async () => {
  host = await startTestHost();
  dir = mkdtempSync(path.join(os.tmpdir(), 'egress-e2e-project-'));
  stack = await startStack({
    label: 'e2e-egress',
    env: {
      // The admin's policy: the test host's /30 is reachable although private.
      SHELL_EGRESS_ALLOW_ADDRESSES: host.cidr,
      // gateway.test names the host's loopback: allowed by name in the open session, refused by address.
      SHELL_EGRESS_HOSTS: [`allowed.test=${host.address}`, `denied.test=${host.address}`, `provider.test=${host.address}`, 'gateway.test=127.0.0.1'].join(','),
      SHELL_EGRESS_HOSTS_ONLY: 'true',
    },
  });
  const provider = await api('PUT', '/api/v1/providers/anthropic', { baseURL: 'http://provider.test/v1', apiKey: key });
  expect(provider.status).toBe(200);
  expect(JSON.stringify(provider.body)).not.toContain(key);
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  host?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('a session with an allowlist and the anthropic credential', () => {
  let id: string;

  beforeAll(async () => {
    const made = await api('POST', '/api/v1/sessions', { source: { path: dir }, sandbox: { network: { allow: ['allowed.test'] }, credentials: ['anthropic'] } });
    expect(made.status).toBe(201);
    id = made.body.id;
    // What the jail can reach, read back by the shell from the jail's own namespace.
    expect(made.body.networkInForce).toMatchObject({ mode: 'allow', interfaces: ['lo'], routes: 0, proxy: 'http://127.0.0.1:3128', allow: ['allowed.test'], credentials: ['anthropic'], allowAddresses: [host.cidr] });
  }, 60_000);

  afterAll(async () => void (id && (await api('DELETE', `/api/v1/sessions/${id}`))), 30_000);

  test('an allowed name is reached through the proxy', async () => {
    const r = await exec(id, 'curl -sS --max-time 8 http://allowed.test/e2e-allowed');
    expect(r).toMatchObject({ exitCode: 0 });
    expect(JSON.parse(r.stdout)).toEqual({ host: 'allowed.test', path: '/e2e-allowed' });
  }, 60_000);

  test('$ANTHROPIC_BASE_URL reaches the provider (the test host), which sees the real key; the jail never has it', async () => {
    const call = await exec(id, `curl -sS --max-time 8 -H "x-api-key: $ANTHROPIC_API_KEY" -H 'anthropic-version: 2023-06-01' -H 'content-type: application/json' -d '{"model":"claude","max_tokens":1,"messages":[]}' "$ANTHROPIC_BASE_URL/v1/messages"`);
    expect(call).toMatchObject({ exitCode: 0 });
    // The configured baseURL http://provider.test/v1 is the AI SDK's form; Anthropic's clients add /v1 themselves.
    expect(JSON.parse(call.stdout)).toEqual({ host: 'provider.test', path: '/v1/messages' });
    const seen = (await host.seen()).filter((s) => s.path === '/v1/messages');
    expect(seen).toHaveLength(1);
    expect(seen[0]!.headers['x-api-key']).toBe(key);

    const jail = await exec(id, `env; cat /proc/*/environ /proc/*/cmdline 2>/dev/null | tr '\\0' '\\n'; grep -rls -- ${key} /workspace /tmp /home /etc /run /var 2>/dev/null; echo done`, 90_000);
    expect(jail.stdout).toContain('ANTHROPIC_BASE_URL=http://anthropic.credentials.internal');
    expect(jail.stdout).toContain('ANTHROPIC_API_KEY=codeagent-egress-proxy-adds-the-key');
    expect(jail.stdout).toContain('done');
    expect(jail.stdout + jail.stderr).not.toContain(key);
  }, 120_000);

  test("the provider's host itself is not in the allowlist: only the credential route reaches it", async () => {
    const r = await exec(id, 'curl -sS -i --max-time 8 http://provider.test/direct');
    expect(r.stdout).toContain('403');
    expect((await host.seen()).some((s) => s.path === '/direct')).toBe(false);
  }, 60_000);

  test("a denied name is refused and the refusal is in the session's events as egress.denied", async () => {
    const r = await exec(id, 'curl -sS -i --max-time 8 http://denied.test/e2e-denied');
    expect(r.stdout).toContain('denied.test is not in the allowlist');
    expect((await host.seen()).some((s) => s.path === '/e2e-denied')).toBe(false);
    const ev = await waitFor('egress.denied for denied.test in the session log', async () => (await events(id)).find((e) => e.kind === 'egress.denied' && e.data.host === 'denied.test'), { timeoutMs: 20_000 });
    expect(ev.data).toMatchObject({ host: 'denied.test', port: 80, via: 'http', reason: 'denied.test is not in the allowlist', count: 1 });
  }, 60_000);
});

describe('a session with "open" network', () => {
  let id: string;
  const gatewayPort = () => Number(new URL(stack.url).port);
  const brokerPort = () => Number(new URL(stack.broker.url).port || 5672);

  beforeAll(async () => {
    const made = await api('POST', '/api/v1/sessions', { source: { path: dir }, sandbox: { network: 'open' } });
    expect(made.status).toBe(201);
    id = made.body.id;
    expect(made.body.networkInForce).toMatchObject({ mode: 'open', interfaces: ['lo'], routes: 0 });
  }, 60_000);

  afterAll(async () => void (id && (await api('DELETE', `/api/v1/sessions/${id}`))), 30_000);

  test("the gateway and RabbitMQ answer on the host's loopback (so the refusals below mean something)", async () => {
    expect((await fetch(`${stack.url}/health`)).status).toBe(200);
    const { connect } = await import('node:net');
    await new Promise<void>((resolve, reject) => {
      const s = connect(brokerPort(), '127.0.0.1', () => (s.destroy(), resolve()));
      s.once('error', reject);
    });
  });

  test("cannot reach the gateway's or RabbitMQ's port on the host loopback directly: the jail's loopback is its own", async () => {
    for (const port of [gatewayPort(), brokerPort()]) {
      const r = await exec(id, `timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/${port}' 2>/dev/null; echo "status $?"`);
      expect({ port, out: r.stdout.trim() }).not.toEqual({ port, out: 'status 0' });
    }
  }, 60_000);

  test('cannot reach them through the proxy either, by address, by a name that resolves to loopback, or as a CONNECT tunnel', async () => {
    for (const port of [gatewayPort(), brokerPort()]) {
      for (const target of [`127.0.0.1:${port}`, `gateway.test:${port}`, `[::ffff:127.0.0.1]:${port}`]) {
        const plain = await exec(id, `curl -sS -i --max-time 8 --noproxy '' -x http://127.0.0.1:3128 http://${target}/health`);
        // The gateway's /health names its services; the proxy's refusal is a problem+json 403.
        expect({ target, refused: /^HTTP\/1\.1 403/.test(plain.stdout) && plain.stdout.includes('x-codeagent-egress: refused'), gateway: plain.stdout.includes('"services"') }).toEqual({ target, refused: true, gateway: false });
        const tunnel = await exec(id, `curl -sS -i --max-time 8 --noproxy '' -p -x http://127.0.0.1:3128 http://${target}/health`);
        expect({ target, refused: tunnel.exitCode !== 0 && tunnel.stdout.includes('403') }).toEqual({ target, refused: true });
      }
    }
    const log = await waitFor('egress.denied for the loopback attempts', async () => {
      const denied = (await events(id)).filter((e) => e.kind === 'egress.denied');
      return denied.some((e) => e.data.host === 'gateway.test') && denied.some((e) => e.data.host === '127.0.0.1') ? denied : undefined;
    }, { timeoutMs: 20_000 });
    expect(log.find((e) => e.data.host === 'gateway.test')!.data.reason).toContain('loopback');
  }, 120_000);
});
