import type { WorkspaceSourceV1 } from '@codeagent/contracts';
import type { Prisma } from '../../prisma/generated/sqlite';
import type { Db } from './database';
import type { SnapshotRecord, WorkspaceRecord, WorkspaceRepository } from './workspace-repository';

type Row = Awaited<ReturnType<Db['workspace']['findUniqueOrThrow']>>;
type SnapRow = Awaited<ReturnType<Db['snapshot']['findUniqueOrThrow']>>;

const toRecord = (r: Row): WorkspaceRecord => ({
  workspaceId: r.id,
  owner: r.owner ?? undefined,
  source: r.source as WorkspaceSourceV1,
  quotaMb: r.quotaMb,
  status: r.status as WorkspaceRecord['status'],
  mode: r.mode as WorkspaceRecord['mode'],
  hardQuota: r.hardQuota,
  layers: r.layers as string[],
  path: r.path,
  worktree: (r.worktree ?? undefined) as WorkspaceRecord['worktree'],
  parent: (r.parent ?? undefined) as WorkspaceRecord['parent'],
  notes: r.notes as string[],
  createdAt: r.createdAt.toISOString(),
  lastActiveAt: r.lastActiveAt.toISOString(),
  requestId: r.requestId ?? undefined,
});

const toSnapshot = (s: SnapRow): SnapshotRecord => ({
  snapshotId: s.id,
  workspaceId: s.workspaceId,
  label: s.label ?? undefined,
  createdAt: s.createdAt.toISOString(),
  files: s.files,
  bytes: Number(s.bytes),
  checksum: s.checksum,
});

const json = (v: unknown) => v as Prisma.InputJsonValue;

function toData(p: Partial<WorkspaceRecord>): Prisma.WorkspaceUpdateInput {
  const d: Prisma.WorkspaceUpdateInput = {};
  if ('owner' in p) d.owner = p.owner ?? null;
  if (p.source !== undefined) d.source = json(p.source);
  if (p.quotaMb !== undefined) d.quotaMb = p.quotaMb;
  if (p.status !== undefined) d.status = p.status;
  if (p.mode !== undefined) d.mode = p.mode;
  if (p.hardQuota !== undefined) d.hardQuota = p.hardQuota;
  if (p.layers !== undefined) d.layers = json(p.layers);
  if (p.path !== undefined) d.path = p.path;
  if (p.worktree !== undefined) d.worktree = json(p.worktree);
  if (p.parent !== undefined) d.parent = json(p.parent);
  if (p.notes !== undefined) d.notes = json(p.notes);
  if (p.createdAt !== undefined) d.createdAt = new Date(p.createdAt);
  if (p.lastActiveAt !== undefined) d.lastActiveAt = new Date(p.lastActiveAt);
  if (p.requestId !== undefined) d.requestId = p.requestId;
  return d;
}

/** Workspace and snapshot records in the service's database (SQLite or PostgreSQL). */
export class PrismaWorkspaceRepository implements WorkspaceRepository {
  constructor(private readonly db: Db) {}

  async insert(r: WorkspaceRecord): Promise<void> {
    await this.db.workspace.create({ data: { id: r.workspaceId, ...(toData(r) as Omit<Prisma.WorkspaceCreateInput, 'id'>) } });
  }
  async get(id: string): Promise<WorkspaceRecord | undefined> {
    const r = await this.db.workspace.findUnique({ where: { id } });
    return r ? toRecord(r) : undefined;
  }
  async getByRequest(requestId: string): Promise<WorkspaceRecord | undefined> {
    const r = await this.db.workspace.findUnique({ where: { requestId } });
    return r ? toRecord(r) : undefined;
  }
  async list(filter: { owner?: string } = {}): Promise<WorkspaceRecord[]> {
    const rows = await this.db.workspace.findMany({ where: filter.owner === undefined ? {} : { owner: filter.owner }, orderBy: { createdAt: 'asc' } });
    return rows.map(toRecord);
  }
  async update(id: string, patch: Partial<Omit<WorkspaceRecord, 'workspaceId'>>): Promise<WorkspaceRecord> {
    return toRecord(await this.db.workspace.update({ where: { id }, data: toData(patch) }));
  }
  async delete(id: string): Promise<void> {
    await this.db.workspace.deleteMany({ where: { id } });
  }
  async insertSnapshot(s: SnapshotRecord): Promise<void> {
    await this.db.snapshot.create({ data: { id: s.snapshotId, workspaceId: s.workspaceId, label: s.label ?? null, createdAt: new Date(s.createdAt), files: s.files, bytes: BigInt(s.bytes), checksum: s.checksum } });
  }
  async getSnapshot(id: string): Promise<SnapshotRecord | undefined> {
    const s = await this.db.snapshot.findUnique({ where: { id } });
    return s ? toSnapshot(s) : undefined;
  }
  async deleteSnapshot(id: string): Promise<void> {
    await this.db.snapshot.deleteMany({ where: { id } });
  }
  async listSnapshots(workspaceId: string): Promise<SnapshotRecord[]> {
    return (await this.db.snapshot.findMany({ where: { workspaceId }, orderBy: { createdAt: 'asc' } })).map(toSnapshot);
  }
}
