/**
 * The network battery (issue 16): every mode lives in its own network namespace; `allow` and `open`
 * leave it only through the egress proxy, which checks names against the allowlist and addresses
 * against the host's policy, and adds provider keys the jail never sees. Traffic goes only to
 * loopback and to a test host in a network namespace this file makes itself (libs/testing).
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestHost, type TestHost } from '@codeagent/testing';
import { BubblewrapDriver } from '../src/bubblewrap/driver';
import { tempWorkspaces } from './fixtures';
import type { EgressDecision, Network, Sandbox } from '../src/types';

const ws = tempWorkspaces('net');
const opened: Sandbox[] = [];
let host: TestHost;
let loopback: http.Server;
let loopbackPort: number;
/** Test names → addresses. Nothing here asks a real DNS server. */
let names: Record<string, string[]>;
let driver: BubblewrapDriver;
let strictDriver: BubblewrapDriver;

const resolve = async (name: string): Promise<string[]> => {
  const a = names[name];
  if (!a) throw Object.assign(new Error(`${name}: not a test name`), { code: 'ENOTFOUND' });
  return a;
};

async function open(network: Network, opts: { driver?: BubblewrapDriver; credentials?: Parameters<BubblewrapDriver['open']>[0]['credentials'] } = {}): Promise<{ sb: Sandbox; decisions: EgressDecision[] }> {
  const sb = await (opts.driver ?? driver).open({ workspaceDir: ws.make('n'), network, credentials: opts.credentials });
  opened.push(sb);
  const decisions: EgressDecision[] = [];
  sb.on('egress', (d) => decisions.push(d));
  return { sb, decisions };
}

/** Runs curl in the jail; returns its output and exit status. */
async function curl(sb: Sandbox, args: string): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  return sb.exec(`curl -sS --max-time 8 ${args}`, { timeoutMs: 20_000 });
}

/** A TCP connection from inside the jail straight to an address, not through the proxy. */
async function direct(sb: Sandbox, address: string, port: number): Promise<number> {
  const r = await sb.exec(`timeout 5 bash -c 'exec 3<>/dev/tcp/${address}/${port}' 2>/dev/null; echo $?`, { timeoutMs: 15_000 });
  return Number(r.stdout.trim());
}

beforeAll(async () => {
  host = await startTestHost();
  loopback = http.createServer((_req, res) => res.end('host loopback service')).listen(0, '127.0.0.1');
  await new Promise((r) => loopback.once('listening', r));
  loopbackPort = (loopback.address() as AddressInfo).port;
  names = {
    'allowed.test': [host.address],
    'api.allowed.test': [host.address],
    'denied.test': [host.address],
    'provider.test': [host.address],
    // A name an attacker controls that resolves to this host: refused after resolution.
    'rebind.allowed.test': ['127.0.0.1'],
    'v6loop.allowed.test': ['::1'],
  };
  // The admin's policy names the test host's /30: without it that private address is refused too.
  driver = new BubblewrapDriver({ egress: { allowAddresses: [host.cidr], resolve } });
  strictDriver = new BubblewrapDriver({ egress: { resolve } });
}, 30_000);

afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
  loopback?.close();
  host?.close();
  ws.cleanup();
});

describe.each<[string, Network]>([
  ['none', 'none'],
  ['allow', { allow: ['allowed.test', '*.allowed.test'] }],
  ['open', 'open'],
])('network %s: the host is never reachable', (_label, network) => {
  let sb: Sandbox;
  beforeAll(async () => void ({ sb } = await open(network)));

  it('has a namespace of its own with only loopback and no route out (read back from the jail)', async () => {
    expect(sb.networkInForce).toMatchObject({ interfaces: ['lo'], routes: 0 });
    const r = await sb.exec('cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d " "');
    expect(r.stdout.trim().split('\n')).toEqual(['lo']);
  });

  it("cannot connect to the host's loopback services directly (its loopback is its own)", async () => {
    expect(await direct(sb, '127.0.0.1', loopbackPort)).not.toBe(0);
    expect(await direct(sb, host.address, 80)).not.toBe(0);
  });

  it("cannot reach the host's loopback, the proxy itself or IPv6 loopback through the proxy", async () => {
    if (network === 'none') {
      // No proxy at all: nothing listens on the jail's 3128.
      expect(await direct(sb, '127.0.0.1', 3128)).not.toBe(0);
      return;
    }
    for (const target of [`127.0.0.1:${loopbackPort}`, `localhost:${loopbackPort}`, '127.0.0.1:3128', `[::1]:${loopbackPort}`, `[::ffff:127.0.0.1]:${loopbackPort}`, `169.254.169.254:80`]) {
      // --noproxy '': NO_PROXY in the jail names loopback, and here the proxy must be used for it.
      const r = await curl(sb, `--noproxy '' -p -x http://127.0.0.1:3128 http://${target}/`);
      expect({ target, refused: r.exitCode !== 0 && !r.stdout.includes('host loopback service') }).toEqual({ target, refused: true });
    }
  });
});

describe('network allow: the allowlist', () => {
  let sb: Sandbox;
  let decisions: EgressDecision[];
  beforeAll(async () => void ({ sb, decisions } = await open({ allow: ['allowed.test', '*.allowed.test', 'provider.test:80'] })));

  it('reaches an allowed name through the proxy, plain HTTP and a CONNECT tunnel', async () => {
    const plain = await curl(sb, 'http://allowed.test/hello');
    expect(plain).toMatchObject({ exitCode: 0 });
    expect(JSON.parse(plain.stdout)).toEqual({ host: 'allowed.test', path: '/hello' });
    const tunnel = await curl(sb, '-p http://api.allowed.test/t');
    // curl -p tunnels plain HTTP too, which the proxy refuses (each proxied request is checked instead).
    expect(tunnel.exitCode).not.toBe(0);
    const banner = await sb.exec(`exec 3<>/dev/tcp/127.0.0.1/3128; printf 'CONNECT allowed.test:7000 HTTP/1.1\\r\\nHost: allowed.test:7000\\r\\n\\r\\n' >&3; timeout 5 head -n 3 <&3`, { timeoutMs: 15_000 });
    expect(banner.stdout).toContain('200 Connection Established');
    expect(banner.stdout).toContain('hello from the test host');
  });

  it('refuses a denied name, reports it as a decision, and its DNS fails', async () => {
    const r = await curl(sb, '-i http://denied.test/');
    expect(r.stdout).toContain('403');
    expect(r.stdout).toContain('denied.test is not in the allowlist');
    expect(decisions).toContainEqual(expect.objectContaining({ allowed: false, host: 'denied.test', via: 'http' }));
    const dns = await sb.exec('getent hosts denied.test; echo "status $?"; getent hosts allowed.test');
    expect(dns.stdout).toContain('status 2');
    expect(dns.stdout).toContain(`${host.address}`);
    expect(decisions).toContainEqual(expect.objectContaining({ allowed: false, host: 'denied.test', via: 'dns' }));
  });

  it('holds ports to what an entry names', async () => {
    const r = await curl(sb, '-i http://provider.test:7000/');
    expect(r.stdout).toContain('port 7000 of provider.test is not in the allowlist');
  });

  it('refuses raw addresses that are not named, and names that resolve to the host', async () => {
    const raw = await curl(sb, `-i http://${host.address}/`);
    expect(raw.stdout).toContain('403');
    const rebind = await curl(sb, `-i http://rebind.allowed.test:${loopbackPort}/`);
    expect(rebind.stdout).toContain('resolves to 127.0.0.1 is a loopback address');
    const v6 = await curl(sb, `-i http://v6loop.allowed.test:${loopbackPort}/`);
    expect(v6.stdout).toContain('loopback');
  });

  it('refuses a relayed CONNECT: a tunnel to an allowed name carrying a request for a denied one', async () => {
    // A relay inside the jail turns "CONNECT denied.test" into "CONNECT allowed.test" and forwards the
    // client's bytes: the Host inside the tunnel (plain HTTP) or the TLS server name gives it away.
    // The proxy closes the tunnel as soon as it sees the request line, while bash (whose stdout is
    // line-buffered) is still writing the request's later lines: those writes must fail, not kill it.
    const httpRelay = await sb.exec(
      `trap '' PIPE; exec 3<>/dev/tcp/127.0.0.1/3128; printf 'CONNECT allowed.test:80 HTTP/1.1\\r\\n\\r\\n' >&3; read -r status <&3; read -r _ <&3; ` +
        `printf 'GET / HTTP/1.1\\r\\nHost: denied.test\\r\\n\\r\\n' >&3; echo "$status"; timeout 5 cat <&3; echo "end $?"`,
      { timeoutMs: 15_000 },
    );
    expect(httpRelay.stdout).not.toContain('"host":"denied.test"');
    expect(httpRelay.stdout).toContain('200 Connection Established');
    expect(httpRelay.stdout).toContain('end');
    expect(decisions).toContainEqual(expect.objectContaining({ allowed: false, host: 'allowed.test', via: 'connect', reason: expect.stringContaining('plain HTTP through a tunnel') }));
    // TLS: openssl connects to allowed.test through the proxy but names denied.test in its ClientHello.
    const tls = await sb.exec('timeout 8 openssl s_client -proxy 127.0.0.1:3128 -connect allowed.test:443 -servername denied.test </dev/null 2>&1; echo "exit $?"', { timeoutMs: 15_000 });
    expect(decisions).toContainEqual(expect.objectContaining({ allowed: false, host: 'denied.test', via: 'connect', reason: expect.stringContaining('TLS server name') }));
    // The same hello naming the tunnel's own host goes through (the test host counts its bytes).
    const hellos = async (): Promise<number> => (await host.seen()).filter((s) => s.method === 'TLS').length;
    expect(await hellos()).toBe(0);
    await sb.exec('timeout 8 openssl s_client -proxy 127.0.0.1:3128 -connect allowed.test:443 -servername allowed.test </dev/null 2>&1; true', { timeoutMs: 15_000 });
    expect(await hellos()).toBe(1);
  });

  it('the same test host is refused when no admin policy names its private address', async () => {
    const { sb: strict } = await open({ allow: ['allowed.test'] }, { driver: strictDriver });
    const r = await curl(strict, '-i http://allowed.test/');
    expect(r.stdout).toContain('is a private or reserved address');
    expect(strict.networkInForce.allowAddresses).toBeUndefined();
  });

  it('says what is in force', () => {
    expect(sb.networkInForce).toEqual({
      mode: 'allow',
      interfaces: ['lo'],
      routes: 0,
      proxy: 'http://127.0.0.1:3128',
      dns: '127.0.0.1:53',
      allow: ['allowed.test', '*.allowed.test', 'provider.test:80'],
      allowAddresses: [host.cidr],
    });
  });
});

describe('credentials injected outside the jail', () => {
  const key = `sk-test-${randomBytes(12).toString('hex')}`;
  let sb: Sandbox;

  beforeAll(async () => {
    ({ sb } = await open(
      { allow: ['allowed.test'] },
      { credentials: [{ name: 'anthropic', upstream: 'http://provider.test/api', headers: { 'x-api-key': key }, baseUrlEnv: ['ANTHROPIC_BASE_URL'], placeholderKeyEnv: ['ANTHROPIC_API_KEY'] }] },
    ));
  });

  it('the provider sees the key; the jail calls it by its base URL with a placeholder', async () => {
    const r = await sb.exec(`curl -sS --max-time 8 -H "x-api-key: $ANTHROPIC_API_KEY" -d '{"q":1}' "$ANTHROPIC_BASE_URL/v1/messages"`, { timeoutMs: 20_000 });
    expect(r).toMatchObject({ exitCode: 0 });
    expect(JSON.parse(r.stdout)).toMatchObject({ path: '/api/v1/messages' });
    const seen = await host.seen();
    const call = seen.find((s) => s.path === '/api/v1/messages');
    expect(call?.headers['x-api-key']).toBe(key);
  });

  it('the key appears nowhere in the jail: environment, files, /proc', async () => {
    const r = await sb.exec(`env; cat /proc/*/environ /proc/*/cmdline 2>/dev/null | tr '\\0' '\\n'; grep -rls ${key} /workspace /tmp /home /etc /run /var 2>/dev/null; echo done`, { timeoutMs: 60_000 });
    expect(r.stdout).toContain('ANTHROPIC_BASE_URL=http://anthropic.credentials.internal');
    expect(r.stdout).not.toContain(key);
  });

  it('a credential the session was not given is refused', async () => {
    const r = await curl(sb, '-i http://openai.credentials.internal/v1/models');
    expect(r.stdout).toContain('no credential named openai');
  });
});

describe('fail closed', () => {
  it('with the proxy gone the jail has no network at all, not open network', async () => {
    const { sb } = await open({ allow: ['allowed.test'] });
    expect((await curl(sb, 'http://allowed.test/')).exitCode).toBe(0);
    // What a crashed proxy leaves: its listeners in the jail's namespace are closed.
    (sb as unknown as { egress: { detach(): void } }).egress.detach();
    const after = await curl(sb, 'http://allowed.test/');
    expect(after.exitCode).not.toBe(0);
    expect(after.stderr).toMatch(/Failed to connect|Couldn't connect|Connection refused/i);
    expect(await direct(sb, host.address, 80)).not.toBe(0);
  });
});

describe('malformed policies', () => {
  it.each([
    [{ allow: ['*.'] }, '"*."'],
    [{ allow: ['exa mple.com'] }, 'exa mple.com'],
    [{ allow: ['example.com:99999'] }, 'port'],
    [{ allow: ['*.10.0.0.1'] }, 'wildcard'],
    [{ allow: ['http://example.com/'] }, 'http://example.com/'],
  ] as [Network, string][])('%j is refused naming the entry', async (network, mention) => {
    await expect(driver.open({ workspaceDir: ws.make('bad'), network })).rejects.toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining(mention) });
  });

  it('credentials with network none are refused', async () => {
    await expect(driver.open({ workspaceDir: ws.make('bad'), network: 'none', credentials: [{ name: 'x', upstream: 'http://provider.test', headers: {} }] })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});
