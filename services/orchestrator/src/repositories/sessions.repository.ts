import type { NetworkInForceV1, SandboxSpecV1, SessionStatusV1, WorkspaceSourceV1 } from '@codeagent/contracts';
import { readTimestamp, timestampAsText, type SqlRow, type SqlRunner, type SqlValue } from '@codeagent/db';
import type { CommandState, SessionExpectation, SessionFilter, SessionsRepository } from '../sessions/ports';
import { LIVE_STATUSES, POOL_OWNER, type SessionRecord } from '../sessions/session';
import type { Db } from './database';
import { offsetOf } from '../paging';

type Row = NonNullable<Awaited<ReturnType<Db['session']['findUnique']>>>;

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : undefined);
const date = (s: string | undefined) => (s === undefined ? undefined : new Date(s));

function toRecord(r: Row): SessionRecord {
  return {
    id: r.id,
    owner: r.owner,
    status: r.status as SessionStatusV1,
    ...(r.failureReason ? { failureReason: r.failureReason } : {}),
    ...(r.closeReason ? { closeReason: r.closeReason } : {}),
    ...(r.projectId ? { projectId: r.projectId } : {}),
    source: r.source as WorkspaceSourceV1,
    sandbox: r.sandbox as SandboxSpecV1,
    workspacePolicy: r.workspacePolicy === 'keep' ? 'keep' : 'remove',
    ...(r.workspaceId ? { workspaceId: r.workspaceId } : {}),
    ...(r.workspacePath ? { workspacePath: r.workspacePath } : {}),
    ...(r.shellInstanceId ? { shellInstanceId: r.shellInstanceId } : {}),
    ...(r.limitsInForce ? { limitsInForce: r.limitsInForce as Record<string, string> } : {}),
    ...(r.networkInForce ? { networkInForce: r.networkInForce as NetworkInForceV1 } : {}),
    ...(r.driver === 'docker' || r.driver === 'bubblewrap' ? { driver: r.driver } : {}),
    ...(r.container ? { container: r.container } : {}),
    ...(r.driverNote ? { driverNote: r.driverNote } : {}),
    ...(r.forkedFromSession ? { forkedFrom: { sessionId: r.forkedFromSession, ...(r.forkedFromSnapshot ? { snapshotId: r.forkedFromSnapshot } : {}) } } : {}),
    ownerInstance: r.ownerInstance,
    lastSeq: r.lastSeq,
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
    ...(r.readyAt ? { readyAt: iso(r.readyAt) } : {}),
    ...(r.closedAt ? { closedAt: iso(r.closedAt) } : {}),
    lastActivityAt: r.lastActivityAt.toISOString(),
    ...(r.runningCommandId ? { runningCommandId: r.runningCommandId } : {}),
    ...(r.lastCompletedCommandId ? { lastCompletedCommandId: r.lastCompletedCommandId } : {}),
  };
}

/** The sessions table's columns as plain SQL writes them, by kind; a record's field has the column's name. */
const SCALARS = ['owner', 'status', 'failureReason', 'closeReason', 'projectId', 'workspacePolicy', 'workspaceId', 'workspacePath', 'shellInstanceId', 'driver', 'container', 'driverNote', 'ownerInstance', 'lastSeq', 'runningCommandId', 'lastCompletedCommandId'] as const;
const JSONS = ['source', 'sandbox', 'limitsInForce', 'networkInForce'] as const;
const DATES = ['createdAt', 'readyAt', 'closedAt', 'lastActivityAt'] as const;
/** Placeholders for LIVE_STATUSES, bound after the statement's other values. */
const LIVE_IN = LIVE_STATUSES.map(() => '?').join(', ');

/** Every column, the timestamps as text (timestampAsText), for fromRow. */
const SELECT = [
  'id', ...SCALARS, ...JSONS, '"forkedFromSession"', '"forkedFromSnapshot"',
  ...[...DATES, 'updatedAt'].map((c) => timestampAsText(`"${c}"`)),
].map((c) => (c.startsWith('"') || c.startsWith('CAST') ? c : `"${c}"`)).join(', ');

/**
 * The columns a patch sets and their values (undefined fields are left alone); `updatedAt` is now, as
 * Prisma's @updatedAt would set it. JSON goes as its text, which both engines take for their column.
 */
function toColumns(p: Partial<SessionRecord>): [string[], SqlValue[]] {
  const columns: string[] = [];
  const values: SqlValue[] = [];
  const set = (column: string, v: SqlValue) => (columns.push(`"${column}"`), values.push(v));
  for (const k of SCALARS) if (p[k] !== undefined) set(k, p[k]);
  for (const k of JSONS) if (p[k] !== undefined) set(k, JSON.stringify(p[k]));
  if (p.forkedFrom !== undefined) {
    set('forkedFromSession', p.forkedFrom.sessionId);
    set('forkedFromSnapshot', p.forkedFrom.snapshotId ?? null);
  }
  for (const k of DATES) if (p[k] !== undefined) set(k, new Date(p[k]));
  set('updatedAt', new Date());
  return [columns, values];
}

/** A row as plain SQL reads it, in the shape Prisma gives (SQLite answers JSON as its text). */
function fromRow(r: SqlRow): SessionRecord {
  const row: Record<string, unknown> = { ...r };
  for (const k of JSONS) if (typeof row[k] === 'string') row[k] = JSON.parse(row[k] as string);
  for (const k of [...DATES, 'updatedAt']) row[k] = row[k] == null ? null : readTimestamp(row[k]);
  row.lastSeq = Number(row.lastSeq);
  return toRecord(row as Row);
}

export class PrismaSessionsRepository implements SessionsRepository {
  /**
   * `driver` serves the per-command and per-create queries (a record's insert, read and update among
   * them), where Prisma's query compiler costs several times the query; Prisma serves the rest.
   */
  constructor(
    private readonly db: Db,
    private readonly driver: SqlRunner,
  ) {}

  async insert(s: SessionRecord): Promise<void> {
    const [columns, values] = toColumns(s);
    await this.driver.run(`INSERT INTO sessions (id, ${columns.join(', ')}) VALUES (?, ${columns.map(() => '?').join(', ')})`, [s.id, ...values]);
  }

  async get(id: string): Promise<SessionRecord | undefined> {
    const [r] = await this.driver.run(`SELECT ${SELECT} FROM sessions WHERE id = ?`, [id]);
    return r ? fromRow(r) : undefined;
  }

  async update(id: string, patch: Partial<SessionRecord>, expect: SessionExpectation = {}): Promise<SessionRecord | undefined> {
    // The compare-and-set: the WHERE holds the expected state; no row matching means someone else won.
    // One statement (UPDATE ... RETURNING), so the answer is the row as this update left it.
    const [columns, values] = toColumns(patch);
    const where = ['id = ?'];
    const args: SqlValue[] = [id];
    if (expect.statuses) {
      if (expect.statuses.length === 0) return undefined;
      where.push(`status IN (${expect.statuses.map(() => '?').join(', ')})`);
      args.push(...expect.statuses);
    }
    if (expect.owner !== undefined) (where.push('owner = ?'), args.push(expect.owner));
    if (expect.ownerInstance) (where.push('"ownerInstance" = ?'), args.push(expect.ownerInstance));
    if (expect.runningCommandId === null) where.push('"runningCommandId" IS NULL');
    else if (expect.runningCommandId !== undefined) (where.push('"runningCommandId" = ?'), args.push(expect.runningCommandId));
    const [r] = await this.driver.run(`UPDATE sessions SET ${columns.map((c) => `${c} = ?`).join(', ')} WHERE ${where.join(' AND ')} RETURNING ${SELECT}`, [...values, ...args]);
    return r ? fromRow(r) : undefined;
  }

  async remove(id: string): Promise<void> {
    await this.db.sessionEvent.deleteMany({ where: { sessionId: id } });
    await this.db.session.deleteMany({ where: { id } });
  }

  async list(f: SessionFilter): Promise<{ sessions: SessionRecord[]; nextCursor?: string }> {
    const offset = offsetOf(f.cursor);
    const rows = await this.db.session.findMany({
      where: {
        AND: [{ owner: { not: POOL_OWNER } }, ...(f.owner ? [{ owner: f.owner }] : [])],
        ...(f.projectId ? { projectId: f.projectId } : {}),
        ...(f.statuses ? { status: { in: f.statuses } } : {}),
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      skip: offset,
      take: f.limit + 1,
    });
    const more = rows.length > f.limit;
    return { sessions: rows.slice(0, f.limit).map(toRecord), ...(more ? { nextCursor: String(offset + f.limit) } : {}) };
  }

  async countLive(owner?: string): Promise<number> {
    // COUNT is a bigint on PostgreSQL (a string from the driver).
    const rows = owner
      ? await this.driver.run(`SELECT COUNT(*) AS n FROM sessions WHERE owner = ? AND status IN (${LIVE_IN})`, [owner, ...LIVE_STATUSES])
      : await this.driver.run(`SELECT COUNT(*) AS n FROM sessions WHERE owner <> ? AND status IN (${LIVE_IN})`, [POOL_OWNER, ...LIVE_STATUSES]);
    return Number(rows[0]?.n ?? 0);
  }

  async listPooled(ownerInstance: string): Promise<SessionRecord[]> {
    const rows = await this.driver.run(`SELECT ${SELECT} FROM sessions WHERE owner = ? AND status = 'ready' AND "ownerInstance" = ? ORDER BY "createdAt", id`, [POOL_OWNER, ownerInstance]);
    return rows.map(fromRow);
  }

  /** Every live session (the pool's too), for each reconciliation: plain SQL (through Prisma, ~60 µs a row). */
  async listLive(): Promise<SessionRecord[]> {
    const rows = await this.driver.run(`SELECT ${SELECT} FROM sessions WHERE status IN (${LIVE_IN}) ORDER BY "createdAt", id`, [...LIVE_STATUSES]);
    return rows.map(fromRow);
  }

  async listIdle(ownerInstance: string, quietSince: Date): Promise<SessionRecord[]> {
    const rows = await this.driver.run(
      `SELECT ${SELECT} FROM sessions WHERE "ownerInstance" = ? AND status IN ('ready', 'idle') AND owner <> ? AND "lastActivityAt" < ? ORDER BY "lastActivityAt", id`,
      [ownerInstance, POOL_OWNER, quietSince],
    );
    return rows.map(fromRow);
  }

  async commandState(id: string): Promise<CommandState | undefined> {
    const [r] = await this.driver.run('SELECT status, "runningCommandId", "lastCompletedCommandId" FROM sessions WHERE id = ?', [id]);
    if (!r) return undefined;
    return {
      id,
      status: r.status as SessionStatusV1,
      ...(r.runningCommandId ? { runningCommandId: String(r.runningCommandId) } : {}),
      ...(r.lastCompletedCommandId ? { lastCompletedCommandId: String(r.lastCompletedCommandId) } : {}),
    };
  }

  async setCommandState(
    id: string,
    from: { status: SessionStatusV1; runningCommandId: string | null },
    to: { status: SessionStatusV1; runningCommandId: string | null; lastCompletedCommandId?: string; lastActivityAt: string },
  ): Promise<boolean> {
    const running = from.runningCommandId === null ? '"runningCommandId" IS NULL' : '"runningCommandId" = ?';
    const rows = await this.driver.run(
      'UPDATE sessions SET status = ?, "runningCommandId" = ?, "lastCompletedCommandId" = COALESCE(?, "lastCompletedCommandId"), "lastActivityAt" = ?, "updatedAt" = ? ' +
        `WHERE id = ? AND status = ? AND ${running} RETURNING id`,
      [to.status, to.runningCommandId, to.lastCompletedCommandId ?? null, new Date(to.lastActivityAt), new Date(), id, from.status, ...(from.runningCommandId === null ? [] : [from.runningCommandId])],
    );
    return rows.length > 0;
  }
}
