import type { WorkspaceSourceV1 } from '@codeagent/contracts';
import { readTimestamp, timestampAsText, type SqlRow, type SqlRunner, type SqlValue } from '@codeagent/db';
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

/** A record's field as the plain-SQL path binds it: JSON as its text and booleans as 1/0 (both engines take those for their column), dates as Date. */
function toSql(field: string, v: unknown): SqlValue {
  if (v === undefined || v === null) return null;
  if (JSON_FIELDS.has(field)) return JSON.stringify(v);
  if (DATE_FIELDS.has(field)) return new Date(v as string);
  if (typeof v === 'boolean') return v ? 1 : 0;
  return v as SqlValue;
}

/** The workspaces table's columns, by the record's field: what the plain-SQL path writes and reads. */
const COLUMNS = {
  owner: 'owner', source: 'source', quotaMb: 'quota_mb', status: 'status', mode: 'mode', hardQuota: 'hard_quota', layers: 'layers', path: 'path',
  worktree: 'worktree', parent: 'parent', notes: 'notes', createdAt: 'created_at', lastActiveAt: 'last_active_at', requestId: 'request_id',
} as const satisfies Record<Exclude<keyof WorkspaceRecord, 'workspaceId'>, string>;
const JSON_FIELDS = new Set<string>(['source', 'layers', 'worktree', 'parent', 'notes']);
const DATE_FIELDS = new Set<string>(['createdAt', 'lastActiveAt']);
/** Every column, the timestamps as text (timestampAsText). */
const SELECT = `id, owner, source, quota_mb, status, mode, hard_quota, layers, path, worktree, parent, notes,
  ${timestampAsText('created_at')}, ${timestampAsText('last_active_at')}, request_id`;

/**
 * Workspace and snapshot records in the service's database (SQLite or PostgreSQL). A session's create
 * and close read and write its workspace's row five times: those go through `driver` (plain SQL), as
 * Prisma's query compiler cost the workspace service about a third of its CPU there; Prisma does the rest.
 */
export class PrismaWorkspaceRepository implements WorkspaceRepository {
  constructor(
    private readonly db: Db,
    private readonly driver: SqlRunner,
  ) {}

  async insert(r: WorkspaceRecord): Promise<void> {
    const fields = (Object.keys(COLUMNS) as (keyof typeof COLUMNS)[]).filter((f) => r[f] !== undefined);
    const columns = ['id', ...fields.map((f) => COLUMNS[f])].join(', ');
    const params = ['?', ...fields.map(() => '?')].join(', ');
    await this.driver.run(`INSERT INTO workspaces (${columns}) VALUES (${params})`, [r.workspaceId, ...fields.map((f) => toSql(f, r[f]))]);
  }
  async get(id: string): Promise<WorkspaceRecord | undefined> {
    const [r] = await this.driver.run(`SELECT ${SELECT} FROM workspaces WHERE id = ?`, [id]);
    return r ? this.fromRow(r) : undefined;
  }
  async getByRequest(requestId: string): Promise<WorkspaceRecord | undefined> {
    const [r] = await this.driver.run(`SELECT ${SELECT} FROM workspaces WHERE request_id = ?`, [requestId]);
    return r ? this.fromRow(r) : undefined;
  }
  async list(filter: { owner?: string } = {}): Promise<WorkspaceRecord[]> {
    const rows = await this.db.workspace.findMany({ where: filter.owner === undefined ? {} : { owner: filter.owner }, orderBy: { createdAt: 'asc' } });
    return rows.map(toRecord);
  }
  async totalQuotaMb(): Promise<number> {
    const [r] = await this.driver.run('SELECT COALESCE(SUM(quota_mb), 0) AS n FROM workspaces');
    return Number(r?.n ?? 0);
  }
  async update(id: string, patch: Partial<Omit<WorkspaceRecord, 'workspaceId'>>): Promise<WorkspaceRecord> {
    // A field given as undefined is left as it is (as Prisma does), except owner, which it clears.
    const fields = (Object.keys(COLUMNS) as (keyof typeof COLUMNS)[]).filter((f) => f in patch && (patch[f] !== undefined || f === 'owner'));
    const sets = fields.map((f) => `${COLUMNS[f]} = ?`);
    const [r] = fields.length
      ? await this.driver.run(`UPDATE workspaces SET ${sets.join(', ')} WHERE id = ? RETURNING ${SELECT}`, [...fields.map((f) => toSql(f, patch[f])), id])
      : await this.driver.run(`SELECT ${SELECT} FROM workspaces WHERE id = ?`, [id]);
    if (!r) throw new Error(`workspace ${id} has no record to update`);
    return this.fromRow(r);
  }
  async delete(id: string): Promise<void> {
    await this.driver.run('DELETE FROM workspaces WHERE id = ?', [id]);
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

  /** A row the plain-SQL path read: SQLite gives JSON as its text (every JSON column holds an object or a list) and booleans as 0/1, PostgreSQL parsed values. */
  private fromRow(r: SqlRow): WorkspaceRecord {
    const parse = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v);
    return {
      workspaceId: String(r.id),
      owner: (r.owner as string | null) ?? undefined,
      source: parse(r.source) as WorkspaceSourceV1,
      quotaMb: Number(r.quota_mb),
      status: r.status as WorkspaceRecord['status'],
      mode: r.mode as WorkspaceRecord['mode'],
      hardQuota: Boolean(r.hard_quota),
      layers: parse(r.layers) as string[],
      path: String(r.path),
      worktree: (parse(r.worktree) ?? undefined) as WorkspaceRecord['worktree'],
      parent: (parse(r.parent) ?? undefined) as WorkspaceRecord['parent'],
      notes: parse(r.notes) as string[],
      createdAt: readTimestamp(r.created_at).toISOString(),
      lastActiveAt: readTimestamp(r.last_active_at).toISOString(),
      requestId: (r.request_id as string | null) ?? undefined,
    };
  }
}
