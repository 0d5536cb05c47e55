// Workspace benchmarks: prepare and fork of a generated 100 MB, 10,000-file repository, snapshot and
// restore throughput. `npm run bench -- workspace`. BENCH_WS_FILES / BENCH_WS_FILE_KB change the size.
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { msSince, report, type Figure } from '../../../bench/lib';
import { testLogger } from '@codeagent/testing';
import { JsonFileWorkspaceRepository } from '../test/json-file.repository';
import { createWorkspaceApp } from '../src/workspaces/app';
import { detachLoop, loopDevicesUnder, mountsUnder, unmount } from '../src/volumes/mounts';

const FILES = Number(process.env.BENCH_WS_FILES ?? 10_000);
const FILE_KB = Number(process.env.BENCH_WS_FILE_KB ?? 10);
const TOTAL_MB = (FILES * FILE_KB) / 1024;
const DIRS = FILES / 100;

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t = process.hrtime.bigint();
  const value = await fn();
  return { ms: msSince(t), value };
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'ws-bench-'));
  try {
    // 100 folders of 100 files, text-like random content (base64, so it does not compress or dedupe).
    const src = path.join(tmp, 'repo');
    for (let d = 0; d < FILES / 100; d++) {
      mkdirSync(path.join(src, `dir${d}`), { recursive: true });
      for (let f = 0; f < 100; f++) writeFileSync(path.join(src, `dir${d}`, `file${f}.txt`), randomBytes((FILE_KB * 1024 * 3) / 4).toString('base64'));
    }
    const root = path.join(tmp, 'data', 'workspace');
    const repo = await JsonFileWorkspaceRepository.open(path.join(root, 'records.json'));
    const app = await createWorkspaceApp({
      root,
      cow: 'auto',
      quota: 'auto',
      repo,
      log: testLogger('bench'),
      publish: async () => undefined,
      config: { defaultQuotaMb: 1024, globalCapMb: 0, idleTimeoutMs: 0, allowedRoots: [], maxFileBytes: 10 * 1024 * 1024, maxListEntries: 100_000, maxLayerDepth: 24, poolSize: 2 },
    });
    const figures: Figure[] = [];
    const mode = `${app.storage.caps.overlay ? 'overlay' : 'copy'} + ${app.storage.caps.loop ? 'loop-image quota' : 'soft quota'}`;

    const cold = await timed(() => app.workspaces.prepare({ source: { kind: 'path', path: src } }));
    figures.push({ name: `prepare ${TOTAL_MB} MB / ${FILES} files, first (copies into a shared layer)`, value: cold.ms, unit: 'ms', goal: '<= 5000' });
    const warm = await timed(() => app.workspaces.prepare({ source: { kind: 'path', path: src } }));
    figures.push({ name: 'prepare again, unchanged folder (layer shared)', value: warm.ms, unit: 'ms', goal: '<= 500' });
    const ws = cold.value;

    // A fork of the unchanged workspace: a new upper over the same layers.
    const clean: number[] = [];
    for (let i = 0; i < 5; i++) {
      await waitPool(app);
      const f = await timed(() => app.snapshots.fork({ workspaceId: ws.workspaceId }));
      clean.push(f.ms);
      await app.lifecycle.remove(f.value.view.workspaceId);
    }
    figures.push({ name: 'fork of a live workspace, unchanged since prepare, median of 5', value: median(clean), unit: 'ms', goal: '<= 100' });

    // The parent changes 100 files, then is forked: only those are copied.
    for (let i = 0; i < 100; i++) writeFileSync(path.join(ws.path, `dir${i % DIRS}`, `file${Math.floor(i / DIRS)}.txt`), `changed ${i}\n`);
    const forks: number[] = [];
    for (let i = 0; i < 5; i++) {
      await waitPool(app);
      const f = await timed(() => app.snapshots.fork({ workspaceId: ws.workspaceId }));
      forks.push(f.ms);
      await app.lifecycle.remove(f.value.view.workspaceId);
    }
    figures.push({ name: 'fork of a live workspace (100 files changed), median of 5', value: median(forks), unit: 'ms', goal: '<= 100' });

    const snap = await timed(() => app.snapshots.snapshot(ws.workspaceId));
    figures.push({ name: 'snapshot, first (hash + store every file)', value: TOTAL_MB / (snap.ms / 1000), unit: 'MB/s', goal: '>= 100' });
    figures.push({ name: 'snapshot, first, duration', value: snap.ms, unit: 'ms' });
    for (let i = 0; i < 100; i++) writeFileSync(path.join(ws.path, `dir${i % DIRS}`, `file${Math.floor(i / DIRS) + 50}.txt`), `again ${i}\n`);
    const snap2 = await timed(() => app.snapshots.snapshot(ws.workspaceId));
    figures.push({ name: 'snapshot after 100 changed files (stat cache, dedupe)', value: snap2.ms, unit: 'ms', goal: '<= 1000' });

    const f1 = await timed(() => app.snapshots.fork({ snapshotId: snap.value.snapshotId }));
    figures.push({ name: 'fork from a snapshot, first (materializes its layer as hard links)', value: f1.ms, unit: 'ms', goal: '<= 2000' });
    await waitPool(app);
    const f2 = await timed(() => app.snapshots.fork({ snapshotId: snap.value.snapshotId }));
    figures.push({ name: 'fork from the same snapshot again', value: f2.ms, unit: 'ms', goal: '<= 100' });
    await app.lifecycle.remove(f1.value.view.workspaceId);
    await app.lifecycle.remove(f2.value.view.workspaceId);

    const r1 = await timed(() => app.snapshots.restore(ws.workspaceId, snap.value.snapshotId));
    figures.push({ name: 'restore of 100 changed files', value: r1.ms, unit: 'ms', goal: '<= 1000' });
    // Full restore: every file deleted, all bytes written back (and verified against their hashes).
    for (let d = 0; d < FILES / 100; d++) for (let f = 0; f < 100; f++) unlinkSync(path.join(ws.path, `dir${d}`, `file${f}.txt`));
    const r2 = await timed(() => app.snapshots.restore(ws.workspaceId, snap.value.snapshotId));
    figures.push({ name: 'restore, every file rewritten (verified)', value: TOTAL_MB / (r2.ms / 1000), unit: 'MB/s', goal: '>= 50' });
    figures.push({ name: 'restore, every file rewritten, duration', value: r2.ms, unit: 'ms' });

    for (const w of await app.workspaces.list()) await app.lifecycle.remove(w.workspaceId);
    await app.stop();
    report('workspace', figures, `storage: ${mode}; ${FILES} files of ${FILE_KB} KiB; load average at the end ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} on ${os.cpus().length} cores`);
  } finally {
    for (const m of await mountsUnder(tmp)) await unmount(m.mountPoint).catch(() => undefined);
    for (const l of await loopDevicesUnder(tmp)) await detachLoop(l.device);
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Forks are measured with the volume pool refilled, as in a service that is not saturated. */
async function waitPool(app: { storage: { volumes: { poolReady(): number } } }): Promise<void> {
  for (let i = 0; i < 200 && app.storage.volumes.poolReady() < 1; i++) await new Promise((r) => setTimeout(r, 25));
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
