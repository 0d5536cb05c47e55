// Egress benchmarks (issue 16), each pair in the same run: opening a sandbox with an allowlist (its
// egress proxy attached in its network namespace) against one with network "none", interleaved; and a
// 100 MB download from a test host through the jail's proxy against the same download straight from
// this process's network namespace, both by curl, interleaved. `npm run bench -- egress`;
// BENCH_EGRESS_OPENS sets the opens per mode (default 40), BENCH_EGRESS_MB the download (default 100),
// BENCH_EGRESS_ROUNDS the downloads per way (default 5). The goals are this benchmark's own (the issue
// sets none): the proxy should cost well under a node start per open and keep half of direct speed.
//
// Traffic goes only to the test host, in a network namespace this benchmark makes (libs/testing); the
// driver resolves its one name itself, so no DNS server is asked.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startTestHost, type TestHost } from '@codeagent/testing';
import { msSince, percentile, report, type Figure } from '../../../bench/lib';
import { BubblewrapDriver } from '../src/bubblewrap/driver';
import type { Network, Sandbox } from '../src/types';

const run = promisify(execFile);
const root = mkdtempSync(path.join(os.tmpdir(), 'egress-bench-'));
let host: TestHost | undefined;

/** curl's own figures, the same in the jail and on the host: bytes received and seconds taken. */
const CURL = `curl -sS --fail -o /dev/null -w '%{size_download} %{time_total}'`;

function parseCurl(out: string, want: number): number {
  const [bytes, secs] = out.trim().split(' ').map(Number);
  if (bytes !== want || !secs) throw new Error(`curl got ${bytes} of ${want} bytes (${out.trim()})`);
  return want / 2 ** 20 / secs!;
}

async function main(): Promise<void> {
  const opens = Number(process.env.BENCH_EGRESS_OPENS ?? 40);
  const mb = Number(process.env.BENCH_EGRESS_MB ?? 100);
  const rounds = Number(process.env.BENCH_EGRESS_ROUNDS ?? 5);
  host = await startTestHost();
  const address = host.address;
  const driver = new BubblewrapDriver({
    egress: {
      allowAddresses: [host.cidr],
      resolve: async (name) => {
        if (name !== 'allowed.test') throw Object.assign(new Error(`${name}: not a bench name`), { code: 'ENOTFOUND' });
        return [address];
      },
    },
  });
  const workspace = path.join(root, 'ws');
  mkdirSync(workspace);
  const allow: Network = { allow: ['allowed.test'] };

  // Warm both paths once (page cache, cgroup detection, the proxy helper's node start-up).
  await (await driver.open({ workspaceDir: workspace })).close();
  await (await driver.open({ workspaceDir: workspace, network: allow })).close();
  const none: number[] = [];
  const allowed: number[] = [];
  for (let i = 0; i < opens; i++) {
    for (const [network, into] of [['none', none], [allow, allowed]] as const) {
      const t = process.hrtime.bigint();
      const sb = await driver.open({ workspaceDir: workspace, network });
      into.push(msSince(t));
      await sb.close();
    }
  }
  const figures: Figure[] = [
    { name: 'open, network none, p50', value: percentile(none, 50), unit: 'ms' },
    { name: 'open, network none, p95', value: percentile(none, 95), unit: 'ms' },
    { name: 'open, allowlist (egress proxy attached), p50', value: percentile(allowed, 50), unit: 'ms' },
    { name: 'open, allowlist (egress proxy attached), p95', value: percentile(allowed, 95), unit: 'ms' },
    { name: 'open: what the allowlist adds, p50', value: percentile(allowed, 50) - percentile(none, 50), unit: 'ms', goal: '<= 100' },
  ];

  const bytes = mb * 2 ** 20;
  const sb: Sandbox = await driver.open({ workspaceDir: workspace, network: allow });
  const viaProxy: number[] = [];
  const direct: number[] = [];
  const proxyOnly: number[] = [];
  // The jail's init: its network namespace is where the proxy's listener lives.
  const initPid = (sb as unknown as { jail: { initPid: number } }).jail.initPid;
  try {
    // One small request first, so neither way pays for a first connection's set-up in its figure.
    await sb.exec(`curl -sS -o /dev/null http://allowed.test/bytes?n=1`);
    await run('curl', ['-sS', '--noproxy', '*', '-o', '/dev/null', `http://${address}/bytes?n=1`]);
    for (let i = 0; i < rounds; i++) {
      const r = await sb.exec(`${CURL} 'http://allowed.test/bytes?n=${bytes}'`, { timeoutMs: 300_000 });
      if (r.exitCode !== 0) throw new Error(`curl in the jail: exit ${r.exitCode}: ${r.stderr}`);
      viaProxy.push(parseCurl(r.stdout, bytes));
      const d = await run('sh', ['-c', `${CURL} --noproxy '*' 'http://${address}/bytes?n=${bytes}'`], { timeout: 300_000 });
      direct.push(parseCurl(d.stdout, bytes));
      // The same proxy from a curl outside the jail's cgroup and user namespace (nsenter joins only its
      // network namespace): what the proxy costs, apart from the jail's CPU share.
      const o = await run('sh', ['-c', `nsenter --net=/proc/${initPid}/ns/net ${CURL} -x http://127.0.0.1:3128 'http://allowed.test/bytes?n=${bytes}'`], { timeout: 300_000 });
      proxyOnly.push(parseCurl(o.stdout, bytes));
    }
  } finally {
    await sb.close();
  }
  const proxyMiBs = percentile(viaProxy, 50);
  const directMiBs = percentile(direct, 50);
  figures.push(
    { name: `${mb} MB download, direct from this namespace (curl on the host), median of ${rounds}`, value: directMiBs, unit: 'MiB/s' },
    { name: `${mb} MB download through the jail's egress proxy (curl in the jail), median of ${rounds}`, value: proxyMiBs, unit: 'MiB/s' },
    { name: `${mb} MB download through the same proxy, curl outside the jail's cgroup (nsenter into its network namespace), median of ${rounds}`, value: percentile(proxyOnly, 50), unit: 'MiB/s' },
    { name: `${mb} MB download: through the proxy (curl in the jail) / direct`, value: proxyMiBs / directMiBs, unit: 'x', goal: '>= 0.5' },
  );
  report(
    'egress',
    figures,
    `${opens} opens per mode, interleaved; ${rounds} downloads of ${mb} MB per way, interleaved, each timed by curl (time_total). The test host is a node HTTP server in a network namespace of its own behind a veth pair; "direct" is this process's namespace to it, "through the proxy" is the jail's curl → its 127.0.0.1:3128 (a socket in the jail's namespace served by this process) → the same veth.`,
  );
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => {
    host?.close();
    rmSync(root, { recursive: true, force: true });
  });
