import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '@codeagent/contracts';
import type { SnapshotRecord, WorkspaceRecord } from '../repositories/workspace-repository';
import { openFileInside } from '../files/pinned';
import { diffManifests, type TreeDiff } from '../snapshots/diff';
import { buildManifest, type HashCache, type Manifest } from '../snapshots/manifest';
import { materializeSnapshot, restoreTree } from '../snapshots/restore';
import { copyConfined } from '../volumes/layers';
import { mapFsError, newId, type WorkspaceService, type WorkspaceView } from './workspace-service';

/**
 * Snapshots, restore, diff and fork. A snapshot is a manifest over content-addressed blobs; a fork
 * stacks a new upper over immutable layers (the parent's layers plus its frozen upper, or a snapshot
 * materialized as hard links to its blobs).
 */
export class SnapshotService {
  /** Per-workspace stat cache: unchanged files are not re-hashed by the next snapshot or diff. */
  private readonly caches = new Map<string, HashCache>();
  /** Per-workspace manifest of its starting state (its lower layers, named by `key`). */
  private readonly starts = new Map<string, { key: string; manifest: Manifest }>();

  constructor(private readonly ws: WorkspaceService) {}

  private cache(id: string): HashCache {
    let c = this.caches.get(id);
    if (!c) this.caches.set(id, (c = new Map()));
    return c;
  }

  forget(id: string): void {
    this.caches.delete(id);
    this.starts.delete(id);
  }

  async snapshot(workspaceId: string, label?: string): Promise<SnapshotRecord> {
    const r = await this.ws.touch(workspaceId);
    return this.ws.lock.run(workspaceId, async () => {
      const snapshotId = newId('snap');
      const result = await this.ws.storage.snapshots.capture(snapshotId, r.path, this.cache(workspaceId));
      const rec: SnapshotRecord = { snapshotId, workspaceId, label, createdAt: new Date().toISOString(), files: result.files, bytes: result.bytes, checksum: result.checksum };
      await this.ws.repo.insertSnapshot(rec);
      this.ws.deps.log.info({ workspaceId, snapshotId, files: result.files, bytes: result.bytes, newBytes: result.newBytes }, 'snapshot taken');
      await this.ws.deps.publish('workspace.snapshotted', { workspaceId, owner: r.owner, snapshotId, bytes: result.bytes });
      return rec;
    });
  }

  /**
   * Deletes a snapshot: its record first (a crash after that leaves a manifest that only keeps blobs
   * alive, never a record without its manifest), then its manifest and the content nothing else holds.
   * Workspaces forked from it keep their files (their layer holds its own links).
   */
  async delete(snapshotId: string): Promise<boolean> {
    const rec = await this.ws.repo.getSnapshot(snapshotId);
    if (!rec) return false;
    await this.ws.repo.deleteSnapshot(snapshotId);
    const freed = await this.ws.storage.snapshots.delete(snapshotId);
    this.ws.deps.log.info({ snapshotId, workspaceId: rec.workspaceId, freedBlobs: freed.blobs, freedBytes: freed.bytes }, 'snapshot deleted');
    return true;
  }

  async list(workspaceId: string): Promise<SnapshotRecord[]> {
    return this.ws.repo.listSnapshots(workspaceId);
  }

  private async loadSnapshot(snapshotId: string): Promise<{ rec: SnapshotRecord; manifest: Manifest }> {
    const rec = await this.ws.repo.getSnapshot(snapshotId);
    if (!rec) throw new AppError('NOT_FOUND', `no snapshot ${snapshotId}`);
    return { rec, manifest: await this.ws.storage.snapshots.load(snapshotId) };
  }

  /** Puts a snapshot back as the live state, in place (see restoreTree), verifying every blob. */
  async restore(workspaceId: string, snapshotId: string): Promise<WorkspaceView> {
    const r = await this.ws.touch(workspaceId);
    const { manifest } = await this.loadSnapshot(snapshotId);
    await this.ws.lock.run(workspaceId, async () => {
      try {
        const stats = await this.ws.storage.snapshots.lock.read(() => restoreTree(r.path, manifest, this.ws.storage.snapshots.blobs, this.cache(workspaceId)));
        this.ws.deps.log.info({ workspaceId, snapshotId, ...stats }, 'snapshot restored');
      } catch (err) {
        throw mapFsError(err);
      }
    });
    await this.ws.deps.publish('workspace.restored', { workspaceId, owner: r.owner, snapshotId });
    return this.ws.get(workspaceId);
  }

  /** `from` is a snapshot id or "start"; `to` a snapshot id or "live". */
  async diff(workspaceId: string, from: string, to: string): Promise<TreeDiff> {
    const r = await this.ws.touch(workspaceId);
    if (from === 'start') return this.diffFromStart(r, to);
    const a = await this.loadSnapshot(from);
    const blobs = this.ws.storage.snapshots.blobs;
    const fromBlob = (e: { hash?: string }) => blobs.read(e.hash!);
    const lock = this.ws.storage.snapshots.lock;
    if (to === 'live') {
      const live = await buildManifest(r.path, { cache: this.cache(workspaceId) });
      return lock.read(() => diffManifests(a.manifest, live, { from: fromBlob, to: (e) => readLive(r.path, e.path) }));
    }
    const b = await this.loadSnapshot(to);
    return lock.read(() => diffManifests(a.manifest, b.manifest, { from: fromBlob, to: fromBlob }));
  }

  /**
   * From the state the workspace was prepared or forked in to `to`. Only an overlay workspace keeps
   * that state (its lower layers, never written); the base manifest is kept in memory since those
   * layers do not change, so a repeated diff walks only the live tree (through its stat cache).
   */
  private async diffFromStart(r: WorkspaceRecord, to: string): Promise<TreeDiff> {
    if (r.mode !== 'overlay' || r.layers.length === 0) {
      throw new AppError('INVALID_STATE', `workspace ${r.workspaceId} is a ${r.mode} workspace, which keeps no copy of its starting state: diff from a snapshot instead`);
    }
    const { storage } = this.ws;
    const lowers = r.layers.map((l) => storage.layers.dir(l));
    const key = r.layers.join(':');
    return this.ws.lock.run(r.workspaceId, () =>
      storage.volumes.withLowersView(r.workspaceId, lowers, async (base) => {
        let start = this.starts.get(r.workspaceId);
        if (start?.key !== key) this.starts.set(r.workspaceId, (start = { key, manifest: await buildManifest(base) }));
        const readBase = (e: { path: string }) => readLive(base, e.path);
        if (to === 'live') {
          const live = await buildManifest(r.path, { cache: this.cache(r.workspaceId) });
          return diffManifests(start.manifest, live, { from: readBase, to: (e) => readLive(r.path, e.path) });
        }
        const b = await this.loadSnapshot(to);
        const blobs = storage.snapshots.blobs;
        return storage.snapshots.lock.read(() => diffManifests(start.manifest, b.manifest, { from: readBase, to: (e) => blobs.read(e.hash!) }));
      }),
    );
  }

  /**
   * A new workspace from a live workspace or a snapshot. Overlay: the child stacks a fresh upper on
   * (the parent's upper frozen into a layer) + (the parent's layers), so only what the parent changed
   * is copied; from a snapshot, on the snapshot's layer (hard links to its blobs, made once).
   * Copy mode, worktrees, and layer stacks at their depth limit go through a snapshot instead.
   */
  async fork(req: { workspaceId?: string; snapshotId?: string; owner?: string; requestId?: string }): Promise<{ view: WorkspaceView; parent: WorkspaceRecord['parent'] }> {
    if (!req.workspaceId === !req.snapshotId) throw new AppError('VALIDATION_FAILED', 'fork needs exactly one of workspaceId and snapshotId');
    const again = await this.ws.answered(req.requestId);
    if (again) return { view: again, parent: again.parent };
    let snapshotId = req.snapshotId;
    let parentRec: WorkspaceRecord | undefined;
    if (req.workspaceId) {
      parentRec = await this.ws.touch(req.workspaceId);
      const canStack = parentRec.mode === 'overlay' && this.ws.overlay && this.ws.storage.caps.confinedCopy && parentRec.layers.length < this.ws.deps.config.maxLayerDepth;
      if (!canStack) snapshotId = (await this.snapshot(req.workspaceId, 'fork')).snapshotId;
    }
    const snap = snapshotId ? await this.loadSnapshot(snapshotId) : undefined;
    const source = parentRec?.source ?? (await this.ws.repo.get(snap!.rec.workspaceId))?.source ?? { kind: 'empty' as const };
    const quotaMb = parentRec?.quotaMb ?? this.ws.deps.config.defaultQuotaMb;
    await this.ws.checkGlobalCap(quotaMb); // before any snapshot work; reserve() checks again atomically

    const id = newId('ws');
    const parent = { workspaceId: req.workspaceId, snapshotId };
    const mode = this.ws.overlay ? 'overlay' : 'copy';
    const rec = await this.ws.reserve(id, { source, quotaMb, owner: req.owner ?? parentRec?.owner, mode, parent, requestId: req.requestId });
    const { storage } = this.ws;
    try {
      // A parent that changed nothing yet has nothing to freeze: the child stacks on its layers alone.
      const freezing = mode === 'overlay' && !snap && parentRec && !(await isEmptyDir(storage.volumes.upperDir(parentRec.workspaceId))) ? parentRec : undefined;
      // Freeze the parent's upper (its changes only) under the parent's lock, so no restore runs
      // meanwhile, while the child's volume is being made.
      const [{ hardQuota }] = await Promise.all([
        storage.volumes.createVolume(id, quotaMb),
        freezing ? this.ws.lock.run(freezing.workspaceId, () => storage.layers.create(`up-${id}`, (dir) => copyConfined(storage.volumes.upperDir(freezing.workspaceId), dir))) : undefined,
      ]);
      let layers: string[] = [];
      let livePath: string;
      if (mode === 'overlay' && !snap && parentRec) {
        layers = freezing ? [`up-${id}`, ...freezing.layers] : [...parentRec.layers];
        await this.ws.repo.update(id, { layers, hardQuota });
        livePath = await storage.volumes.mountOverlay(id, layers.map((l) => storage.layers.dir(l)));
      } else if (mode === 'overlay' && snap) {
        const layer = `snap-${snap.rec.snapshotId}`;
        if (!(await storage.layers.exists(layer))) await storage.snapshots.lock.read(() => storage.layers.create(layer, (dir) => materializeSnapshot(dir, snap.manifest, storage.snapshots.blobs)));
        layers = [layer];
        await this.ws.repo.update(id, { layers, hardQuota });
        livePath = await storage.volumes.mountOverlay(id, [storage.layers.dir(layer)]);
      } else {
        // Copy mode: real copies, never links to blobs (a write in place would change the blob).
        livePath = storage.volumes.treeDir(id);
        await mkdir(livePath, { recursive: true });
        await storage.snapshots.lock.read(() => restoreTree(livePath, snap!.manifest, storage.snapshots.blobs));
      }
      const ready = await this.ws.repo.update(id, { status: 'ready', path: livePath, hardQuota, layers });
      this.ws.deps.log.info({ workspaceId: id, parent, layers: layers.length }, 'workspace forked');
      await this.ws.deps.publish('workspace.forked', { workspaceId: id, owner: ready.owner, fromWorkspaceId: req.workspaceId, fromSnapshotId: snapshotId });
      return { view: await this.ws.view(ready), parent };
    } catch (err) {
      await this.ws.destroy(rec).catch(() => undefined);
      throw mapFsError(err);
    }
  }
}

/** A live file's bytes, never through a link that leads out (the jail may swap one in after the walk). */
async function readLive(root: string, rel: string): Promise<Buffer> {
  const fh = await openFileInside(root, path.join(root, rel), rel).catch(() => undefined);
  if (!fh) return Buffer.alloc(0); // gone or swapped since the walk: shown as emptied
  try {
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}

const isEmptyDir = async (dir: string) => (await readdir(dir).catch(() => [])).length === 0;
