import type { WorkspaceSourceV1 } from '@codeagent/contracts';
import type { StorageMode } from '../volumes/volumes';

/** What the service keeps about a workspace. */
export interface WorkspaceRecord {
  workspaceId: string;
  owner?: string;
  source: WorkspaceSourceV1;
  quotaMb: number;
  /** `preparing` until its files are in place; a record still preparing at start is a crash left-over. */
  status: 'preparing' | 'ready' | 'removing';
  mode: StorageMode;
  /** Whether the quota is enforced by the kernel (a loop-mounted image) or only checked by the service. */
  hardQuota: boolean;
  /** Overlay lower layers, top first (empty in copy and worktree modes). */
  layers: string[];
  /** Host path of the files: what the shell binds at /workspace. */
  path: string;
  worktree?: { repo: string; branch: string; baseCommit: string; createdBranch: boolean };
  parent?: { workspaceId?: string; snapshotId?: string };
  /** Why the workspace is stored as it is (fallbacks taken), for people reading the record. */
  notes: string[];
  createdAt: string;
  lastActiveAt: string;
  /** The bus message that asked for it (prepare, fork): a redelivery finds it instead of making another. */
  requestId?: string;
}

export interface SnapshotRecord {
  snapshotId: string;
  workspaceId: string;
  label?: string;
  createdAt: string;
  files: number;
  bytes: number;
  checksum: string;
}

/** The service's records. The domain code knows only this interface; Prisma lives behind it. */
export interface WorkspaceRepository {
  insert(r: WorkspaceRecord): Promise<void>;
  get(workspaceId: string): Promise<WorkspaceRecord | undefined>;
  getByRequest(requestId: string): Promise<WorkspaceRecord | undefined>;
  list(filter?: { owner?: string }): Promise<WorkspaceRecord[]>;
  /** The quotas of every workspace recorded, summed (MiB). */
  totalQuotaMb(): Promise<number>;
  update(workspaceId: string, patch: Partial<Omit<WorkspaceRecord, 'workspaceId'>>): Promise<WorkspaceRecord>;
  delete(workspaceId: string): Promise<void>;
  insertSnapshot(s: SnapshotRecord): Promise<void>;
  getSnapshot(snapshotId: string): Promise<SnapshotRecord | undefined>;
  listSnapshots(workspaceId: string): Promise<SnapshotRecord[]>;
  /** Idempotent: deleting an unknown snapshot is not an error. */
  deleteSnapshot(snapshotId: string): Promise<void>;
}
