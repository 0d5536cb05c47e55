import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { BubblewrapSandbox } from './sandbox';
import { runHostTool } from '../host/tools';
import { mountsBelow } from '../host/mountinfo';

/** After a pooled jail failed to start, the next try waits this long (the host may lack what it needs). */
const RETRY_AFTER_FAILURE_MS = 5000;
/** Straight failures after which the pool stops trying (a host where mounts are not allowed, say). */
const MAX_STRAIGHT_FAILURES = 3;

/**
 * Jails started ahead of demand, for sessions of the common shape (no network, no credentials, limits
 * a cgroup can change later): opening one is then an assignment, not a bwrap start. Each jail binds an
 * empty folder of its own, made a shared mount point, at /workspace; the assignment bind-mounts the
 * session's workspace over that folder on the host, and the mount propagates into the jail (bwrap
 * makes the jail's mounts slaves of the host's). A pooled jail is used once: it never goes back.
 *
 * Refilled in the background one jail at a time, so a burst of sessions does not start a burst of
 * jails; the pool's memory is `size` idle jails (about 1 MiB of cgroup-charged memory each, README).
 */
export class JailPool {
  private readonly ready: BubblewrapSandbox[] = [];
  /** The jail being started, if one is: a close waits for it, so that it is not left running. */
  private starting?: Promise<unknown>;
  private closed = false;
  private pausedUntil = 0;
  private failures = 0;

  constructor(
    private readonly size: number,
    private readonly startOne: () => Promise<BubblewrapSandbox>,
    private readonly onError: (err: Error) => void,
  ) {}

  /** A ready jail, or undefined when none is (the caller starts one the usual way). Refills behind it. */
  take(): BubblewrapSandbox | undefined {
    const sb = this.ready.shift();
    this.fill();
    return sb;
  }

  get available(): number {
    return this.ready.length;
  }

  fill(): void {
    if (this.closed || this.starting || this.ready.length >= this.size || Date.now() < this.pausedUntil || this.failures >= MAX_STRAIGHT_FAILURES) return;
    this.starting = this.startOne().then(
      (sb) => {
        this.starting = undefined;
        this.failures = 0;
        if (this.closed) return sb.close();
        this.ready.push(sb);
        this.fill();
      },
      (err: Error) => {
        this.starting = undefined;
        this.pausedUntil = Date.now() + RETRY_AFTER_FAILURE_MS;
        // Sessions still get jails of their own: the pool only saves them the start.
        if (++this.failures >= MAX_STRAIGHT_FAILURES) err.message = `${err.message}; the pool stops trying (sessions get jails of their own)`;
        this.onError(err);
        setTimeout(() => this.fill(), RETRY_AFTER_FAILURE_MS).unref();
      },
    );
  }

  /** Closes the jails still waiting (they belong to no session). */
  async close(): Promise<void> {
    this.closed = true;
    // A jail still starting is closed by its own start's ending (closed is set), awaited here.
    await Promise.allSettled([...this.ready.splice(0).map((s) => s.close()), this.starting]);
  }
}

/** Runs mount(8) (node has no mount(2)); rejects with what it said. */
export async function mount(args: string[]): Promise<void> {
  await runHostTool('mount', args, { timeoutMs: 10_000 });
}

/** Mount points at or under `dir` in this process's mount namespace, deepest first. */
export function mountsUnder(dir: string): string[] {
  return mountsBelow(readFileSync('/proc/self/mountinfo', 'utf8'), dir).map((m) => m.mountPoint);
}

/** The folder a pooled jail binds at /workspace, made a mount point on the host: the only one in a jail's folder. */
export function poolSlot(jailDir: string): string {
  return path.join(jailDir, 'workspace');
}

/**
 * Removes a jail's folder. A pooled jail's has a session's workspace mounted in it: it is unmounted
 * first, and the folder is left alone (and the caller told) if anything is still mounted there, so
 * that a workspace is never removed through its mount point. A folder without the pool's slot has
 * nothing of ours mounted in it, and the mount table is not read: it grows with the sessions (~5 ms
 * of CPU per read with 1,000), and a close read it twice.
 */
export async function removeJailFolder(dir: string): Promise<boolean> {
  if (!existsSync(poolSlot(dir))) {
    rmSync(dir, { recursive: true, force: true });
    return true;
  }
  for (let i = 0; i < 4; i++) {
    const mounts = mountsUnder(path.resolve(dir));
    if (mounts.length === 0) {
      rmSync(dir, { recursive: true, force: true });
      return true;
    }
    for (const m of mounts) await runHostTool('umount', ['-l', m], { timeoutMs: 10_000 }).catch(() => undefined);
  }
  return false;
}

/** Marks a pooled jail's folder as given to a session (a kept session's state then owns it). */
export function markAssigned(dir: string): void {
  writeFileSync(path.join(dir, 'assigned'), '');
}

/**
 * Ends the pooled jails a previous process left waiting (it was killed, so they were neither given to
 * a session nor closed): their bwrap processes, found by the folder their command line binds, are
 * killed and their folders unmounted and removed. Jails given to a session are its, and stay.
 */
export async function sweepPool(jailsDir: string): Promise<string[]> {
  let names: string[];
  try {
    names = readdirSync(jailsDir).filter((n) => n.startsWith('pool-'));
  } catch {
    return [];
  }
  const swept: string[] = [];
  for (const name of names) {
    const dir = path.join(jailsDir, name);
    // A pooled jail is one with the pool's slot. A jail started again for a lost pooled one keeps its
    // id, so its folder is named like the pool's, but has no slot: it is a session's (sweeping it
    // killed a restored session at the next start).
    if (existsSync(path.join(dir, 'assigned')) || !existsSync(poolSlot(dir))) continue;
    for (const pid of processesBinding(`${dir}/shell`)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    if (await removeJailFolder(dir)) swept.push(name);
  }
  return swept;
}

/** Host pids whose command line names `needle` as one argument. */
function processesBinding(needle: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').includes(needle)) out.push(Number(d));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}
