import { mkdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import { AppError, type WorkspaceSourceV1 } from '@codeagent/contracts';
import { WorkspaceFiles } from '../files/file-ops';
import type { WorkspaceRepository } from '../repositories/workspace-repository';
import { probeCapabilities, type CowSetting, type QuotaSetting } from '../volumes/capabilities';
import { Lifecycle } from './lifecycle';
import { SnapshotService } from './snapshot-service';
import { Storage } from './storage';
import type { Deps } from './types';
import { WorkspaceService } from './workspace-service';
import { discoverProject } from '../discovery/discover';

/** The service's domain, assembled: what handlers call. Free of the bus and of Prisma. */
export interface WorkspaceApp {
  workspaces: WorkspaceService;
  snapshots: SnapshotService;
  lifecycle: Lifecycle;
  /** The file API over a ready workspace (marks it active). */
  files(workspaceId: string): Promise<{ files: WorkspaceFiles; hardQuota: boolean; quotaMb: number }>;
  /** What a workspace's files, or a project's source folder read in place, ask for (discovery/discover.ts). */
  discover(target: { workspaceId?: string; source?: WorkspaceSourceV1 }): ReturnType<typeof discoverProject>;
  /** Soft-quota check for writes where the kernel does not enforce one. */
  checkSoftQuota(workspaceId: string, addBytes: number): Promise<void>;
  storage: Storage;
  /** Stops background work, removes the pool's volumes and (unless told not to) unmounts every workspace. */
  stop(opts?: { unmount?: boolean }): Promise<void>;
}

export async function createWorkspaceApp(opts: { root: string; snapshotDir?: string; cow: CowSetting; quota: QuotaSetting; repo: WorkspaceRepository } & Deps): Promise<WorkspaceApp> {
  const root = path.resolve(opts.root);
  await mkdir(root, { recursive: true });
  const realRoot = await realpath(root);
  const caps = await probeCapabilities(realRoot, opts.cow, opts.quota);
  for (const note of caps.notes) opts.log.warn({ note }, 'workspace storage fallback');
  opts.log.info({ overlay: caps.overlay, loopQuota: caps.loop }, 'workspace storage capabilities');
  const storage = new Storage(realRoot, caps, opts.snapshotDir, { size: opts.config.poolSize ?? 0, quotaMb: opts.config.defaultQuotaMb });
  await storage.init();
  const deps: Deps = { log: opts.log, publish: opts.publish, config: opts.config };
  const workspaces = new WorkspaceService(opts.repo, storage, deps);
  const snapshots = new SnapshotService(workspaces);
  const lifecycle = new Lifecycle(workspaces, snapshots);
  const limits = { maxFileBytes: opts.config.maxFileBytes, maxListEntries: opts.config.maxListEntries };
  return {
    workspaces,
    snapshots,
    lifecycle,
    storage,
    async stop(opts = {}) {
      await storage.volumes.stop();
      if (opts.unmount ?? true) await lifecycle.unmountAll();
    },
    async files(id) {
      const r = await workspaces.touch(id);
      return { files: new WorkspaceFiles(await realpath(r.path), limits), hardQuota: r.hardQuota, quotaMb: r.quotaMb };
    },
    async discover(target) {
      if (target.source) return discoverProject(await workspaces.sourceFolder(target.source));
      const r = await workspaces.touch(target.workspaceId ?? '');
      return discoverProject(r.path);
    },
    async checkSoftQuota(id, addBytes) {
      const r = await workspaces.touch(id);
      if (r.hardQuota) return;
      const { usedBytes } = await storage.volumes.usage(id, false);
      if (usedBytes + addBytes > r.quotaMb * 1024 * 1024) {
        await lifecycle.reportFull(id, usedBytes);
        throw new AppError('QUOTA_EXCEEDED', `the write would take the workspace past its ${r.quotaMb} MiB quota`);
      }
    },
  };
}
