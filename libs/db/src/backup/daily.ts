import { randomBytes } from 'node:crypto';
import { access, link, mkdir, readdir, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import type { DatabaseTarget } from '../target';
import { dumpDatabase, dumpFileName } from './dump';

/** Seed 003's "automatic daily snapshots": how often, how many, where. */
export interface DatabaseSnapshotPolicy {
  /** One snapshot per period of this length (a day by default); 0: none. */
  intervalMs: number;
  /** Periods kept; older snapshots of this service are deleted. */
  keep: number;
  /** Folder of the snapshots: `<dir>/<period start>/<service>.db` (or `.pgdump.gz`). */
  dir: string;
}

export interface DatabaseSnapshots {
  /** Takes this period's snapshot if no replica has yet, then prunes; resolves with its file, or undefined. */
  runOnce(): Promise<string | undefined>;
  stop(): Promise<void>;
}

/** The folder name of the period holding `now`: its start, e.g. `2026-12-04T00-00-00Z`. */
export function snapshotStamp(now: number, intervalMs: number): string {
  return new Date(Math.floor(now / intervalMs) * intervalMs).toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
}

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

/**
 * Snapshots one service's database once per period. Checked at start and then every period (at most
 * hourly), so a restart neither skips a day nor takes it twice; replicas sharing the database race
 * for the period's file and exactly one wins (a hard link never replaces a file). Each service prunes
 * only its own files, and a period folder goes when its last file does.
 */
export function scheduleDatabaseSnapshots(opts: {
  service: string;
  target: DatabaseTarget;
  policy: DatabaseSnapshotPolicy;
  onSnapshot?: (info: { file: string; tables: Record<string, number> }) => void;
  onError?: (err: Error) => void;
}): DatabaseSnapshots {
  const { service, target, policy } = opts;
  const name = dumpFileName(service, target.kind);
  let running: Promise<string | undefined> | undefined;

  const prune = async () => {
    const periods = (await readdir(policy.dir, { withFileTypes: true })).filter((d) => d.isDirectory() && /^\d{4}-\d\d-\d\dT/.test(d.name)).map((d) => d.name).sort();
    for (const old of periods.slice(0, Math.max(0, periods.length - policy.keep))) {
      await rm(path.join(policy.dir, old, name), { force: true });
      await rmdir(path.join(policy.dir, old)).catch(() => undefined); // other services' files still there
    }
  };

  const take = async (): Promise<string | undefined> => {
    const folder = path.join(policy.dir, snapshotStamp(Date.now(), policy.intervalMs));
    const file = path.join(folder, name);
    let taken: string | undefined;
    if (!(await exists(file))) {
      await mkdir(folder, { recursive: true });
      const mine = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
      try {
        const tables = await dumpDatabase(target, mine);
        await link(mine, file).then(
          () => {
            taken = file;
            opts.onSnapshot?.({ file, tables });
          },
          (err: NodeJS.ErrnoException) => {
            if (err.code !== 'EEXIST') throw err; // another replica took this period's snapshot
          },
        );
      } finally {
        await rm(mine, { force: true });
      }
    }
    await prune();
    return taken;
  };

  const runOnce = () => (running ??= take().finally(() => (running = undefined)));
  let timer: NodeJS.Timeout | undefined;
  if (policy.intervalMs > 0) {
    const tick = () =>
      void runOnce()
        .catch((err: Error) => opts.onError?.(err))
        .finally(() => {
          if (timer) timer = setTimeout(tick, Math.min(policy.intervalMs, 3_600_000)).unref();
        });
    timer = setTimeout(tick, 0).unref();
  }
  return {
    runOnce,
    stop: async () => {
      clearTimeout(timer);
      timer = undefined;
      await running?.catch(() => undefined);
    },
  };
}
