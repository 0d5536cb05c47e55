import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { prom } from '@codeagent/telemetry';
import { testLogger, waitFor } from '@codeagent/testing';
import { FakeDriver, FakeSink, type FakeSandbox } from '../../test/fakes';
import { JailRegistry } from './registry';

// The service side of the egress policy: network and credentials reach the driver, networkInForce
// comes back in the reply, and refused egress is published bounded however hard a jail tries.
let dir: string;
let sink: FakeSink;
let driver: FakeDriver;
let registry: JailRegistry;
const credential = { name: 'anthropic', upstream: 'https://api.anthropic.com', headers: { 'x-api-key': 'sk-ant-secret' }, baseUrlEnv: ['ANTHROPIC_BASE_URL'] };
const open = (sessionId: string, extra: Record<string, unknown> = {}) =>
  registry.open({ sessionId, workspaceDir: dir, network: { allow: ['pypi.org'] }, limits: {}, env: {}, driver: 'bubblewrap', ...extra });
const denied = (sessionId: string) => sink.of('shell.egress.denied').filter((e) => e.sessionId === sessionId);

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'shell-egress-'));
  sink = new FakeSink();
  driver = new FakeDriver('bubblewrap');
  registry = new JailRegistry({
    instanceId: 'r1',
    maxSessions: 4,
    drivers: { bubblewrap: driver },
    sink,
    log: testLogger(),
    stream: { maxChunkBytes: 1024, highWaterBytes: 1 << 20 },
    maxResultBytes: 1 << 20,
    defaultLimits: {},
    egressDenials: { windowMs: 300, maxEventsPerWindow: 3 },
  });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test('network and credentials go to the driver; the reply carries what the jail can reach', async () => {
  const opened = await open('s1', { credentials: [credential] });
  expect(driver.opened[0]!.opts).toMatchObject({ network: { allow: ['pypi.org'] }, credentials: [credential] });
  expect(opened.networkInForce).toEqual({ mode: 'allow', interfaces: ['lo'], routes: 0, proxy: 'http://127.0.0.1:3128', allow: ['pypi.org'], credentials: ['anthropic'] });
});

test('a refusal is published at once; a flood of the same one becomes one event with a count per window', async () => {
  await open('s1');
  const sb = driver.opened[0] as FakeSandbox;
  const counted = async () => (await prom.register.getSingleMetric('shell_egress_denied_total')?.get())?.values.find((v) => v.labels.via === 'connect')?.value ?? 0;
  const before = await counted();
  sb.egress({ allowed: true, host: 'pypi.org', port: 443, via: 'connect' });
  for (let i = 0; i < 500; i++) sb.egress({ allowed: false, host: 'evil.example', port: 443, via: 'connect', reason: 'not in the allowlist' });
  // Waits for both, not for the first alone: a loaded machine may not look again before the window ends.
  await waitFor('the first refusal and the coalesced repeats', () => denied('s1').length >= 2, { timeoutMs: 3000 });
  expect(denied('s1')).toHaveLength(2);
  expect(denied('s1')[0]).toMatchObject({ sessionId: 's1', host: 'evil.example', port: 443, via: 'connect', reason: 'not in the allowlist', count: 1 });
  expect(denied('s1')[1]).toMatchObject({ host: 'evil.example', count: 499, reason: 'not in the allowlist (repeated)' });
  // Every refusal counts in the metric, coalesced or not; the allowed connection does not.
  expect((await counted()) - before).toBe(500);
});

test('thousands of distinct hosts: at most max events at once, the rest summed up in one', async () => {
  await open('s2');
  const sb = driver.opened[0] as FakeSandbox;
  for (let i = 0; i < 5000; i++) sb.egress({ allowed: false, host: `h${i}.example`, port: 80, via: 'dns', reason: 'not in the allowlist' });
  await waitFor('the first three and the summary', () => denied('s2').length >= 4, { timeoutMs: 3000 });
  expect(denied('s2')).toHaveLength(4);
  expect(denied('s2').slice(0, 3).map((e) => [e.host, e.count])).toEqual([
    ['h0.example', 1],
    ['h1.example', 1],
    ['h2.example', 1],
  ]);
  expect(denied('s2')[3]).toMatchObject({ host: '*', port: 0, via: 'dns', count: 4997, reason: expect.stringContaining('4997 more refused attempts to 1000 or more other hosts') });
});

test('closing a session publishes what its window held (in its log too) before shell.closed', async () => {
  await open('s3');
  const sb = driver.opened[0] as FakeSandbox;
  sb.egress({ allowed: false, host: 'x.example', port: 443, via: 'http', reason: 'r' });
  sb.egress({ allowed: false, host: 'x.example', port: 443, via: 'http', reason: 'r' });
  await registry.close('s3');
  const names = sink.events.map((e) => e.name);
  expect(names.filter((n) => n === 'shell.egress.denied')).toHaveLength(2);
  expect(names.lastIndexOf('shell.egress.denied')).toBeLessThan(names.indexOf('shell.closed'));
  expect(sink.logged('egress.denied').map((e) => [e.seq, e.data.count])).toEqual([
    [1, 1],
    [2, 1],
  ]);
});
