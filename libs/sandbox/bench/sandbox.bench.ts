// Sandbox benchmarks (issue #3): open latency beside raw bwrap, `true` round trip, streaming
// throughput, and many idle sandboxes at once. `npm run bench -- sandbox`; BENCH_SANDBOXES sets the
// number of concurrent sandboxes (default 200: the machine is shared; the figure is 1,000).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { msSince, percentile, report, type Figure } from '../../../bench/lib';
import { BubblewrapDriver } from '../src/bubblewrap/driver';
import { detectCgroups } from '../src/bubblewrap/cgroups';
import { bwrapArgs, jailEnv } from '../src/bubblewrap/jail';
import type { Sandbox } from '../src/types';

const driver = new BubblewrapDriver();
const root = mkdtempSync(path.join(os.tmpdir(), 'sandbox-bench-'));
const workspace = (n: string): string => {
  const d = path.join(root, n);
  require('node:fs').mkdirSync(d);
  return d;
};

/** The same jail as open() builds, running `true`: what bwrap alone costs on this host. */
function rawBwrap(dir: string): Promise<number> {
  const args = bwrapArgs({ workspace: dir, network: 'none', hostname: 'raw', env: jailEnv('raw') }, ['/bin/true'], { dieWithParent: true, stateDir: dir });
  const t = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const p = spawn('bwrap', args, { stdio: ['ignore', 'ignore', 'inherit', 'pipe'] });
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(msSince(t)) : reject(new Error(`bwrap exited ${code}`))));
  });
}

/** Memory charged to every sandbox cgroup together (processes, page tables, tmpfs, kernel objects). */
function sandboxCgroupBytes(): number {
  const mode = detectCgroups();
  if (mode.kind !== 'v1' || !mode.memory) return NaN;
  return Number(readFileSync(path.join(mode.memory, 'memory.usage_in_bytes'), 'utf8'));
}

function memAvailableMiB(): number {
  const m = /MemAvailable:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'));
  return Number(m?.[1]) / 1024;
}

async function main(): Promise<void> {
  const figures: Figure[] = [];
  const dir = workspace('open');
  await driver.available();
  // Warm both paths once (page cache, /etc scan, cgroup detection).
  await rawBwrap(dir);
  await (await driver.open({ workspaceDir: dir })).close();

  const raw: number[] = [];
  const opened: number[] = [];
  for (let i = 0; i < 60; i++) {
    raw.push(await rawBwrap(dir));
    const t = process.hrtime.bigint();
    const sb = await driver.open({ workspaceDir: dir });
    opened.push(msSince(t));
    await sb.close();
  }
  const rawP50 = percentile(raw, 50);
  figures.push(
    { name: 'raw bwrap … true p50', value: rawP50, unit: 'ms' },
    { name: 'raw bwrap … true p99', value: percentile(raw, 99), unit: 'ms' },
    { name: 'open p50', value: percentile(opened, 50), unit: 'ms', goal: `<= ${(2 * rawP50).toFixed(2)}` },
    { name: 'open p99', value: percentile(opened, 99), unit: 'ms' },
    { name: 'open p50 / raw p50', value: percentile(opened, 50) / rawP50, unit: 'x', goal: '<= 2' },
  );

  const sb = await driver.open({ workspaceDir: workspace('exec') });
  for (let i = 0; i < 500; i++) await sb.exec('true');
  const rt: number[] = [];
  for (let i = 0; i < 5000; i++) {
    const t = process.hrtime.bigint();
    await sb.exec('true');
    rt.push(msSince(t));
  }
  figures.push(
    { name: 'true round trip p50', value: percentile(rt, 50), unit: 'ms', goal: '<= 0.2' },
    { name: 'true round trip p99', value: percentile(rt, 99), unit: 'ms' },
  );

  // The same command straight from node, no sandbox: the ceiling of this host's pipes right now.
  const rawMiBs = await new Promise<number>((resolve) => {
    let n = 0;
    const t0 = process.hrtime.bigint();
    const p = spawn('head', ['-c', '500M', '/dev/zero']);
    p.stdout.on('data', (b: Buffer) => void (n += b.length));
    p.on('close', () => resolve(n / 2 ** 20 / (msSince(t0) / 1000)));
  });
  figures.push({ name: 'raw pipe, no sandbox: head -c 500M /dev/zero', value: rawMiBs, unit: 'MiB/s' });
  let bytes = 0;
  const t = process.hrtime.bigint();
  const r = await sb.exec('head -c 500M /dev/zero', { onOutput: (c) => void (bytes += c.data.length), maxResultBytes: 1 << 20 });
  const secs = msSince(t) / 1000;
  if (bytes !== 500 * 2 ** 20 || r.exitCode !== 0) throw new Error(`streamed ${bytes} bytes, exit ${r.exitCode}`);
  figures.push({ name: 'streaming head -c 500M /dev/zero', value: bytes / 2 ** 20 / secs, unit: 'MiB/s', goal: '>= 300' });
  await sb.close();

  const n = Number(process.env.BENCH_SANDBOXES ?? 200);
  const before = memAvailableMiB();
  const cgBefore = sandboxCgroupBytes();
  const rssBefore = process.memoryUsage().rss;
  const many: Sandbox[] = [];
  const manyDir = workspace('many');
  const tOpen = process.hrtime.bigint();
  for (let i = 0; i < n; i += 10) {
    many.push(...(await Promise.all(Array.from({ length: Math.min(10, n - i) }, () => driver.open({ workspaceDir: manyDir })))));
  }
  const openAllMs = msSince(tOpen);
  const perSandbox = (before - memAvailableMiB()) / n;
  const cgPer = (sandboxCgroupBytes() - cgBefore) / 2 ** 20 / n;
  const nodePer = (process.memoryUsage().rss - rssBefore) / 2 ** 20 / n;
  const lat: number[] = [];
  for (let round = 0; round < 5; round++) {
    for (const s of many) {
      const t0 = process.hrtime.bigint();
      await s.exec('true');
      lat.push(msSince(t0));
    }
  }
  figures.push(
    { name: `${n} idle sandboxes: cgroup-charged memory per sandbox`, value: cgPer, unit: 'MiB' },
    { name: `${n} idle sandboxes: host MemAvailable drop per sandbox (noisy: shared machine)`, value: perSandbox, unit: 'MiB' },
    { name: `${n} idle sandboxes: node heap+rss per sandbox`, value: nodePer, unit: 'MiB' },
    { name: `${n} idle sandboxes: opened in`, value: openAllMs / 1000, unit: 's' },
    { name: `exec p50 across ${n} sandboxes`, value: percentile(lat, 50), unit: 'ms' },
    { name: `exec p99 across ${n} sandboxes`, value: percentile(lat, 99), unit: 'ms' },
  );
  await Promise.all(many.map((s) => s.close()));
  rmSync(root, { recursive: true, force: true });
  report('sandbox', figures, n < 1000 ? `Measured ${n} concurrent sandboxes, not the issue's 1,000: the 2-core machine is shared with other engineers' test runs (set BENCH_SANDBOXES=1000 to run the full figure).` : undefined);
}

main().catch((err) => {
  rmSync(root, { recursive: true, force: true });
  console.error(err);
  process.exit(1);
});
