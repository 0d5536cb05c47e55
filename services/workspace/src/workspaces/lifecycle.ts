import { AppError } from '@codeagent/contracts';
import { fullBelowBytes } from '../volumes/loop-image';
import { detachLoop, listMounts, loopDevicesUnder, mountsUnder, unmount, unmountAndDetach } from '../volumes/mounts';
import type { SnapshotService } from './snapshot-service';
import type { WorkspaceService } from './workspace-service';

/**
 * Start-up recovery and the periodic sweep: idle workspaces removed, full disks reported, and
 * whatever a crash left (half-prepared workspaces, folders without a record, stray mounts and loop
 * devices) collected.
 */
export class Lifecycle {
  /** Workspaces currently reported as full, so that the event is sent once per episode. */
  private readonly full = new Set<string>();
  /** Used bytes seen by the last sweep: a change means the jail wrote, which counts as activity. */
  private readonly lastUsed = new Map<string, number>();

  constructor(
    private readonly ws: WorkspaceService,
    private readonly snaps: SnapshotService,
  ) {}

  async recover(): Promise<{ collected: string[]; remounted: string[] }> {
    const { repo, storage, deps } = this.ws;
    const collected: string[] = [];
    const remounted: string[] = [];
    // The mount table and the loop devices, read once for all workspaces (both grow with them). A
    // device of our images that no mount here uses is detached first, which the kernel does at once
    // unless a mount elsewhere (a kept jail's) still uses its filesystem: what stays attached is that.
    const mounts = await listMounts();
    await this.detachUnused(new Set(mounts.map((m) => m.source)));
    const host = {
      mounted: new Set(mounts.map((m) => m.mountPoint)),
      attached: new Map((await loopDevicesUnder(storage.volumes.root)).map((l) => [l.backingFile, l.device])),
    };
    for (const r of await repo.list()) {
      if (r.status !== 'ready') {
        await this.ws.destroy(r);
        collected.push(r.workspaceId);
        continue;
      }
      try {
        await storage.volumes.ensureMounted(r.workspaceId, r.mode, r.layers.map((l) => storage.layers.dir(l)), r.hardQuota, host);
        remounted.push(r.workspaceId);
      } catch (err) {
        this.ws.unmounted.set(r.workspaceId, (err as Error).message);
        deps.log.error({ err, workspaceId: r.workspaceId }, 'cannot mount a workspace again; it stays recorded, its operations refused');
      }
    }
    const known = new Set((await repo.list()).map((r) => r.workspaceId));
    for (const dir of await storage.volumes.listOnDisk()) {
      if (known.has(dir)) continue;
      await storage.volumes.destroy(dir);
      collected.push(dir);
    }
    // Mounts under our folders that belong to no workspace (their folder is gone), and loop devices
    // of our images that no mount uses (a workspace's whose mount went, or a stop that did not detach).
    // What is still mounted after this pass follows from it: it reads the table once more (the remounts changed it).
    const inUse = new Set<string>();
    for (const m of await mountsUnder(storage.volumes.root)) {
      const stays = known.has(this.workspaceOf(m.mountPoint)) || !(await unmount(m.mountPoint).then(() => true, () => false));
      if (stays) inUse.add(m.source);
    }
    await this.detachUnused(inUse);
    const layers = await this.ws.collectLayers();
    if (collected.length || layers.length) deps.log.warn({ workspaces: collected, layers }, 'collected what a previous run left behind');
    return { collected, remounted };
  }

  /** Detaches the loop devices of our images that are not the source of a mount in `inUse`. */
  private async detachUnused(inUse: Set<string>): Promise<void> {
    for (const l of await loopDevicesUnder(this.ws.storage.volumes.root)) if (!inUse.has(l.device)) await detachLoop(l.device);
  }

  /** The workspace a mount below the volumes' root belongs to (the first folder of its path). */
  private workspaceOf(mountPoint: string): string {
    return mountPoint.slice(this.ws.storage.volumes.root.length + 1).split('/')[0]!;
  }

  /**
   * Unmounts every workspace (overlay, then image; lazily where a process still holds one) and keeps
   * their files: a stopped service leaves no mounts, and the next start's recover() mounts them again.
   * Stop the jails first: a jail that outlives the stop keeps writing to a detached mount.
   */
  async unmountAll(): Promise<number> {
    const { repo, storage } = this.ws;
    let n = 0;
    // One read of the mount table (deepest first), not one per workspace: it grows with the workspaces.
    const known = new Set((await repo.list()).map((r) => r.workspaceId));
    for (const m of await mountsUnder(storage.volumes.root)) {
      if (!known.has(this.workspaceOf(m.mountPoint))) continue;
      await unmountAndDetach([m]).catch((err: Error) => this.ws.deps.log.warn({ err, mountPoint: m.mountPoint }, 'cannot unmount at stop'));
      n++;
    }
    return n;
  }

  /** One pass: idle removal and quota watch. */
  async sweep(now = Date.now()): Promise<{ removed: string[] }> {
    const { repo, storage, deps } = this.ws;
    const removed: string[] = [];
    for (const r of await repo.list()) {
      if (r.status !== 'ready') continue;
      const u = await storage.volumes.usage(r.workspaceId, r.hardQuota).catch(() => undefined);
      // Commands run in the jail never reach this service: a change in the space used is their trace.
      const prev = this.lastUsed.get(r.workspaceId);
      if (u) this.lastUsed.set(r.workspaceId, u.usedBytes);
      const wrote = u !== undefined && prev !== undefined && prev !== u.usedBytes;
      if (wrote) await repo.update(r.workspaceId, { lastActiveAt: new Date(now).toISOString() });
      const idle = deps.config.idleTimeoutMs;
      if (!wrote && idle > 0 && now - Date.parse(r.lastActiveAt) > idle) {
        await this.remove(r.workspaceId, 'idle');
        removed.push(r.workspaceId);
        continue;
      }
      if (!u) continue;
      // Writes inside the sandbox fail with ENOSPC without us seeing them: watch the free space.
      const isFull = u.freeBytes !== undefined && u.totalBytes !== undefined ? u.freeBytes < fullBelowBytes(u.totalBytes) : u.usedBytes >= r.quotaMb * 1024 * 1024;
      if (isFull) await this.reportFull(r.workspaceId, u.usedBytes);
      else this.full.delete(r.workspaceId);
    }
    return { removed };
  }

  async remove(id: string, reason?: string): Promise<boolean> {
    this.snaps.forget(id);
    this.full.delete(id);
    this.lastUsed.delete(id);
    return this.ws.remove(id, reason);
  }

  /** Publishes workspace.quota_exceeded once per episode of a full disk. */
  async reportFull(id: string, usedBytes?: number): Promise<void> {
    if (this.full.has(id)) return;
    const r = await this.ws.repo.get(id);
    if (!r) return;
    this.full.add(id);
    const used = usedBytes ?? (await this.ws.storage.volumes.usage(id, r.hardQuota).catch(() => ({ usedBytes: 0 }))).usedBytes;
    this.ws.deps.log.warn({ workspaceId: id, quotaMb: r.quotaMb, usedBytes: used }, 'workspace disk quota exceeded');
    await this.ws.deps.publish('workspace.quota_exceeded', { workspaceId: id, owner: r.owner, quotaMb: r.quotaMb, usedBytes: used });
  }

  /** Wraps an operation that writes into a workspace: a full disk becomes QUOTA_EXCEEDED and an event. */
  async guardWrite<T>(id: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      if (err instanceof AppError && err.code === 'QUOTA_EXCEEDED') {
        await this.reportFull(id);
        throw err;
      }
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC' || code === 'EDQUOT') {
        await this.reportFull(id);
        throw new AppError('QUOTA_EXCEEDED', 'the workspace disk quota is exhausted', { cause: err });
      }
      throw err;
    }
  }
}

