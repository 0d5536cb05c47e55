import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ServiceNames, type ServiceName } from '@codeagent/contracts';
import { createTestBroker, freePort, freePortBlock, REPO_ROOT, spawnJs, spawnTs, TEST_BUS_SECRET, waitFor, type ServiceProcess } from '@codeagent/testing';
import { percentile, report, type Figure } from '../../bench/lib';

// The production build against tsx (issue 25): the six services started together, as `npm start`
// starts them, once from services/<name>/dist/main.js and once from their sources through tsx; for each
// service the time from its spawn to its own /health answering 200, and its resident memory once the
// whole stack answers. ROUNDS rounds, the two ways alternating; medians.

const ROUNDS = Number(process.env.BENCH_BUILD_ROUNDS ?? 3);
type Mode = 'build' | 'tsx';

const portVar = (s: ServiceName) => (s === 'gateway' ? 'GATEWAY_OPS_PORT' : `${s.toUpperCase().replace('-', '_')}_PORT`);

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function round(mode: Mode): Promise<Map<ServiceName, { readyMs: number; rssMiB: number }>> {
  const broker = await createTestBroker(`bench-build-${mode}`);
  const dataDir = mkdtempSync(path.join(tmpdir(), 'bench-build-'));
  const ports = new Map<ServiceName, number>();
  for (const s of ServiceNames) ports.set(s, await freePort());
  const gatewayPort = await freePort();
  const env: Record<string, string> = {
    RABBITMQ_URL: broker.url,
    CODEAGENT_BUS_SECRET: TEST_BUS_SECRET,
    DATA_DIR: dataDir,
    GATEWAY_PORT: String(gatewayPort),
    GATEWAY_SSH_PORT: '0',
    PROJECT_CI_PORT_BASE: String(await freePortBlock(100)),
    LOG_LEVEL: 'warn',
    // The services' own start and memory: no sessions made ahead (they would be live sessions, kept
    // like any at a stop), and nothing kept for a next start (the data folder goes after each round).
    ORCHESTRATOR_POOL_SIZE: '0',
    SHELL_KEEP_JAILS: 'false',
    WORKSPACE_UNMOUNT_ON_STOP: 'true',
    ...Object.fromEntries([...ports].map(([s, p]) => [portVar(s), String(p)])),
  };
  const procs = new Map<ServiceName, { proc: ServiceProcess; spawnedAt: number; readyMs?: number }>();
  try {
    for (const s of ServiceNames) {
      const instance = { ...env, INSTANCE_ID: `${s}-${process.pid}` };
      const spawnedAt = performance.now();
      const proc = mode === 'build' ? spawnJs(`services/${s}/dist/main.js`, instance) : spawnTs(`services/${s}/src/main.ts`, instance);
      procs.set(s, { proc, spawnedAt });
    }
    await waitFor(
      'every service’s /health and then the gateway’s',
      async () => {
        for (const [s, p] of procs) {
          if (p.proc.child.exitCode !== null) throw new Error(`${s} exited: ${p.proc.output().slice(-2000)}`);
          if (p.readyMs !== undefined) continue;
          const res = await fetch(`http://127.0.0.1:${ports.get(s)}/health`).catch(() => undefined);
          if (res?.status === 200) p.readyMs = performance.now() - p.spawnedAt;
        }
        if ([...procs.values()].some((p) => p.readyMs === undefined)) return false;
        return (await fetch(`http://127.0.0.1:${gatewayPort}/health`)).status === 200;
      },
      { timeoutMs: 120_000, intervalMs: 20 },
    );
    return new Map([...procs].map(([s, p]) => [s, { readyMs: p.readyMs!, rssMiB: rssMiB(p.proc.child.pid!) }]));
  } finally {
    await Promise.all([...procs.values()].map((p) => p.proc.stop('SIGTERM', 20_000)));
    await broker.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main() {
  execFileSync(process.execPath, ['scripts/build-services.mjs'], { cwd: REPO_ROOT, stdio: 'inherit' });
  const runs: Record<Mode, Array<Map<ServiceName, { readyMs: number; rssMiB: number }>>> = { build: [], tsx: [] };
  for (let i = 0; i < ROUNDS; i++) for (const mode of ['tsx', 'build'] as const) runs[mode].push(await round(mode));
  const median = (mode: Mode, s: ServiceName, k: 'readyMs' | 'rssMiB') => percentile(runs[mode].map((r) => r.get(s)![k]), 50);
  const figures: Figure[] = [];
  let rssBuild = 0;
  let rssTsx = 0;
  for (const s of ServiceNames) {
    figures.push({ name: `${s}: start to /health, build`, value: median('build', s, 'readyMs'), unit: 'ms' });
    figures.push({ name: `${s}: start to /health, tsx`, value: median('tsx', s, 'readyMs'), unit: 'ms' });
    figures.push({ name: `${s}: RSS, build`, value: median('build', s, 'rssMiB'), unit: 'MiB' });
    figures.push({ name: `${s}: RSS, tsx`, value: median('tsx', s, 'rssMiB'), unit: 'MiB' });
    rssBuild += median('build', s, 'rssMiB');
    rssTsx += median('tsx', s, 'rssMiB');
  }
  const slowest = (mode: Mode) => percentile(runs[mode].map((r) => Math.max(...[...r.values()].map((v) => v.readyMs))), 50);
  figures.push({ name: 'slowest service to /health, build', value: slowest('build'), unit: 'ms' });
  figures.push({ name: 'slowest service to /health, tsx', value: slowest('tsx'), unit: 'ms' });
  figures.push({ name: 'six services RSS, build', value: rssBuild, unit: 'MiB' });
  figures.push({ name: 'six services RSS, tsx', value: rssTsx, unit: 'MiB' });
  report('build', figures, `${ROUNDS} rounds per way, the six services started together each time; medians.`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
