import { randomUUID } from 'node:crypto';
import { mkdir, realpath, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { AppError, type WorkspaceSourceV1 } from '@codeagent/contracts';
import { folderFingerprint, copyTree } from '../volumes/layers';
import { isInside } from '../files/resolve';
import { addWorktree, cloneInto, headCommit, localRepoPath, removeWorktree, repoTop } from '../sources/git';
import type { WorkspaceRecord, WorkspaceRepository } from '../repositories/workspace-repository';
import { KeyedLock } from '@codeagent/config';
import type { Storage } from './storage';
import type { Deps } from './types';

const EMPTY_LAYER = 'empty';

/** A workspace as the contract shows it. */
export interface WorkspaceView {
  workspaceId: string;
  path: string;
  source: WorkspaceSourceV1;
  quotaMb: number;
  usedBytes: number;
  createdAt: string;
  owner?: string;
  storage: { mode: WorkspaceRecord['mode']; quota: 'hard' | 'soft'; layers: number; notes: string[] };
  parent?: WorkspaceRecord['parent'];
}

/**
 * Prepares, forks and removes workspaces. Storage strategy (see README): overlay lower layers that are
 * never written (a copied folder, a clone, a frozen upper, a materialized snapshot), one upper per
 * workspace on its own loop-mounted ext4 image (the hard quota); fall back to plain copies and soft
 * quotas where the host refuses those mounts.
 */
export class WorkspaceService {
  readonly lock = new KeyedLock();
  /** Workspaces the start could not mount again, with why: refused until a next start mounts them. */
  readonly unmounted = new Map<string, string>();

  constructor(
    readonly repo: WorkspaceRepository,
    readonly storage: Storage,
    readonly deps: Deps,
  ) {}

  get overlay(): boolean {
    return this.storage.caps.overlay;
  }

  async prepare(req: { source: WorkspaceSourceV1; quotaMb?: number; owner?: string; requestId?: string }): Promise<WorkspaceView> {
    const again = await this.answered(req.requestId);
    if (again) return again;
    const quotaMb = req.quotaMb ?? this.deps.config.defaultQuotaMb;
    const source = await this.checkSource(req.source);
    const id = newId('ws');
    const mode = source.kind === 'worktree' ? 'worktree' : this.overlay ? 'overlay' : 'copy';
    const record = await this.reserve(id, { source, quotaMb, owner: req.owner, mode, requestId: req.requestId });
    try {
      const { hardQuota } = await this.storage.volumes.createVolume(id, quotaMb);
      record.hardQuota = hardQuota;
      if (source.kind === 'worktree') {
        const repo = await repoTop(source.path);
        const baseCommit = await headCommit(repo);
        const branch = source.branch ?? `codeagent/${id}`;
        const tree = this.storage.volumes.treeDir(id);
        // Recorded before git runs, so that a crash in between still lets start-up remove the worktree.
        record.worktree = { repo, branch, baseCommit, createdBranch: false };
        await this.repo.update(id, { worktree: record.worktree, hardQuota });
        const { createdBranch } = await addWorktree(repo, tree, branch);
        record.worktree.createdBranch = createdBranch;
        record.path = tree;
      } else if (mode === 'overlay') {
        const layer = await this.sourceLayer(id, source);
        record.layers = [layer];
        await this.repo.update(id, { layers: record.layers, hardQuota });
        record.path = await this.storage.volumes.mountOverlay(id, [this.storage.layers.dir(layer)]);
      } else {
        const tree = this.storage.volumes.treeDir(id);
        await mkdir(tree, { recursive: true });
        if (source.kind === 'path') await copyTree(source.path, tree);
        else if (source.kind === 'git') await cloneInto(source.url, tree, source.ref, localRepoPath(source.url) !== undefined);
        record.path = tree;
      }
      const ready = await this.repo.update(id, { status: 'ready', path: record.path, hardQuota, worktree: record.worktree, layers: record.layers });
      this.deps.log.info({ workspaceId: id, mode, hardQuota, source: source.kind }, 'workspace prepared');
      await this.deps.publish('workspace.prepared', { workspaceId: id, owner: req.owner, path: ready.path, sourceKind: source.kind });
      return this.view(ready);
    } catch (err) {
      await this.destroy(record).catch((e: Error) => this.deps.log.error({ err: e, workspaceId: id }, 'cleanup after a failed prepare failed'));
      throw mapFsError(err);
    }
  }

  /**
   * The workspace an earlier delivery of the same bus message made (a redelivery after a crash or a
   * lost ack), so that prepare and fork are idempotent. One still being made is a CONFLICT to retry.
   */
  async answered(requestId: string | undefined): Promise<WorkspaceView | undefined> {
    if (!requestId) return undefined;
    const r = await this.repo.getByRequest(requestId);
    if (!r) return undefined;
    if (r.status !== 'ready') throw new AppError('CONFLICT', `workspace ${r.workspaceId} of this request is still being made`, { retryable: true });
    return this.view(r);
  }

  /** The layer holding a source's files. Unchanged local folders share one layer (fingerprint). */
  private async sourceLayer(id: string, source: WorkspaceSourceV1): Promise<string> {
    const layers = this.storage.layers;
    if (source.kind === 'empty') {
      if (!(await layers.exists(EMPTY_LAYER))) await layers.create(EMPTY_LAYER, async () => undefined);
      return EMPTY_LAYER;
    }
    if (source.kind === 'path') {
      const layerId = `src-${await folderFingerprint(source.path)}`;
      if (!(await layers.exists(layerId))) await layers.fromFolder(layerId, source.path);
      return layerId;
    }
    if (source.kind === 'git') return layers.create(`git-${id}`, (dir) => cloneInto(source.url, dir, source.ref, localRepoPath(source.url) !== undefined));
    throw new Error(`no layer for source ${source.kind}`);
  }

  async get(id: string): Promise<WorkspaceView> {
    return this.view(await this.touch(id));
  }

  async list(owner?: string): Promise<WorkspaceView[]> {
    const records = (await this.repo.list({ owner })).filter((r) => r.status === 'ready');
    return Promise.all(records.map((r) => this.view(r)));
  }

  /** A ready workspace, marked active now (the idle timer restarts). */
  async touch(id: string): Promise<WorkspaceRecord> {
    const r = await this.repo.get(id);
    if (!r || r.status !== 'ready') throw new AppError('NOT_FOUND', `no workspace ${id}`);
    // Its folder is not its files: a read would miss them and a write land beside them.
    const why = this.unmounted.get(id);
    if (why) throw new AppError('CONFLICT', `workspace ${id} could not be mounted again at this service's start: ${why}`);
    // Idle timeouts are minutes to hours: a write per file operation would be wasted.
    if (Date.now() - Date.parse(r.lastActiveAt) < 5_000) return r;
    return this.repo.update(id, { lastActiveAt: new Date().toISOString() });
  }

  async remove(id: string, reason = 'requested'): Promise<boolean> {
    return this.lock.run(id, async () => {
      const r = await this.repo.get(id);
      if (!r) return false;
      await this.repo.update(id, { status: 'removing' });
      await this.destroy(r);
      this.unmounted.delete(id);
      this.deps.log.info({ workspaceId: id, reason }, 'workspace removed');
      await this.deps.publish('workspace.removed', { workspaceId: id, owner: r.owner, reason });
      return true;
    });
  }

  /** Everything a workspace left: worktree, mounts, loop device, folders, record, unshared layers. */
  async destroy(r: WorkspaceRecord): Promise<void> {
    if (r.worktree) await removeWorktree(r.worktree, this.storage.volumes.treeDir(r.workspaceId));
    await this.storage.volumes.destroy(r.workspaceId);
    await this.repo.delete(r.workspaceId);
    // A workspace on the empty layer alone (what a session without a source gets) frees no layer: the
    // collection reads every workspace's record, which a session's close should not pay for.
    if (!(r.layers.length > 0 && r.layers.every((l) => l === EMPTY_LAYER))) await this.collectLayers();
  }

  /** Removes layers no workspace stacks on any more. */
  async collectLayers(): Promise<string[]> {
    const keep = new Set<string>([EMPTY_LAYER]);
    for (const w of await this.repo.list()) for (const l of w.layers) keep.add(l);
    return this.storage.layers.collect(keep);
  }

  async view(r: WorkspaceRecord): Promise<WorkspaceView> {
    const usage = await this.storage.volumes.usage(r.workspaceId, r.hardQuota).catch(() => ({ usedBytes: 0 }));
    return {
      workspaceId: r.workspaceId,
      path: r.path,
      source: r.source,
      quotaMb: r.quotaMb,
      usedBytes: usage.usedBytes,
      createdAt: r.createdAt,
      owner: r.owner,
      storage: { mode: r.mode, quota: r.hardQuota ? 'hard' : 'soft', layers: r.layers.length, notes: r.notes },
      parent: r.parent,
    };
  }

  async createRecord(id: string, init: { source: WorkspaceSourceV1; quotaMb: number; owner?: string; mode: WorkspaceRecord['mode']; parent?: WorkspaceRecord['parent']; requestId?: string }): Promise<WorkspaceRecord> {
    const now = new Date().toISOString();
    const notes = [...this.storage.caps.notes];
    if (init.mode === 'worktree') notes.push('git worktree: a checkout on its own branch in the source repository (not copy-on-write)');
    const record: WorkspaceRecord = { workspaceId: id, ...init, status: 'preparing', hardQuota: false, layers: [], path: '', notes, createdAt: now, lastActiveAt: now };
    await this.repo.insert(record);
    return record;
  }

  /**
   * Checks the global cap and records the workspace (status preparing) in one step, so that two
   * concurrent prepares cannot both fit under the cap.
   */
  async reserve(id: string, init: Parameters<WorkspaceService['createRecord']>[1]): Promise<WorkspaceRecord> {
    return this.lock.run('global-cap', async () => {
      await this.checkGlobalCap(init.quotaMb);
      return this.createRecord(id, init);
    });
  }

  async checkGlobalCap(quotaMb: number): Promise<void> {
    const cap = this.deps.config.globalCapMb;
    if (!cap) return;
    const used = await this.repo.totalQuotaMb();
    if (used + quotaMb > cap) {
      throw new AppError('LIMIT_REACHED', `the workspaces' quotas would total ${used + quotaMb} MiB, over the ${cap} MiB cap`, { details: { allocatedMb: used, requestedMb: quotaMb, capMb: cap } });
    }
  }

  /**
   * The folder a source's files can be read from in place (for discovery): a local folder or worktree
   * source, or a local git repository's working tree when no ref is asked for; checked as prepare
   * checks it. INVALID_STATE for a source that has no such folder (a remote URL, a ref, empty).
   */
  async sourceFolder(source: WorkspaceSourceV1): Promise<string> {
    if (source.kind === 'path' || source.kind === 'worktree') return this.checkLocalFolder(source.path, source.path, false);
    const local = source.kind === 'git' && !source.ref ? localRepoPath(source.url) : undefined;
    if (local === undefined) throw new AppError('INVALID_STATE', `a ${source.kind === 'git' ? 'git source with a remote URL or a ref' : `${source.kind} source`} has no folder to read in place; discover a workspace prepared from it instead`);
    return this.checkLocalFolder(local, source.kind === 'git' ? source.url : local, false);
  }

  private async checkSource(source: WorkspaceSourceV1): Promise<WorkspaceSourceV1> {
    if (source.kind === 'empty') return source;
    if (source.kind === 'git') {
      const local = localRepoPath(source.url);
      return local === undefined ? source : { ...source, url: await this.checkLocalFolder(local, source.url, false) };
    }
    return { ...source, path: await this.checkLocalFolder(source.path, source.path, source.kind === 'path') };
  }

  /**
   * The real path of a local source folder, refused unless it is inside the allowed roots and outside
   * our data. A folder that is copied (`copied`) may not hold our data either: the copy would take
   * in every workspace and snapshot, and itself.
   */
  private async checkLocalFolder(folder: string, shown: string, copied: boolean): Promise<string> {
    if (!path.isAbsolute(folder)) throw new AppError('VALIDATION_FAILED', `source path must be absolute: ${shown}`);
    const real = await realpath(folder).catch(() => {
      throw new AppError('NOT_FOUND', `source folder ${shown} does not exist`);
    });
    if (!(await stat(real)).isDirectory()) throw new AppError('VALIDATION_FAILED', `source ${shown} is not a folder`);
    const roots = this.deps.config.allowedRoots.map((r) => path.resolve(r));
    if (roots.length && !roots.some((r) => isInside(r, real))) throw new AppError('FORBIDDEN', `source ${shown} is outside the allowed roots`);
    for (const own of [this.storage.root, this.storage.snapshots.root]) {
      if (isInside(own, real)) throw new AppError('FORBIDDEN', `source ${shown} is inside the service's data folder`);
      if (copied && isInside(real, own)) throw new AppError('FORBIDDEN', `source ${shown} holds the service's data folder ${own}: set WORKSPACE_DATA_DIR (or DATA_DIR) outside it`);
    }
    return real;
  }
}

export const newId = (prefix: string) => `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 20)}`;

/** Full disks are the caller's quota, not our failure. */
export function mapFsError(err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new AppError('QUOTA_EXCEEDED', 'the workspace disk quota is exhausted', { cause: err });
  if (err instanceof Error && /No space left on device|Disk quota exceeded/.test(err.message)) return new AppError('QUOTA_EXCEEDED', 'the workspace disk quota is exhausted', { cause: err });
  return err;
}

export async function removeQuietly(p: string): Promise<void> {
  await rm(p, { recursive: true, force: true }).catch(() => undefined);
}
