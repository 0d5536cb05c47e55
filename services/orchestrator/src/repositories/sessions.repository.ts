import type { NetworkInForceV1, SandboxSpecV1, SessionStatusV1, WorkspaceSourceV1 } from '@codeagent/contracts';
import type { SqlRunner } from '@codeagent/db';
import type { CommandState, SessionExpectation, SessionFilter, SessionsRepository } from '../sessions/ports';
import { LIVE_STATUSES, type SessionRecord } from '../sessions/session';
import { isNotFound, type Db } from './database';
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

/** The columns a patch may set (undefined fields are left alone). */
function toData(p: Partial<SessionRecord>) {
  const d: Record<string, unknown> = {};
  const copy = ['owner', 'status', 'failureReason', 'closeReason', 'projectId', 'workspacePolicy', 'workspaceId', 'workspacePath', 'shellInstanceId', 'ownerInstance', 'lastSeq', 'runningCommandId', 'lastCompletedCommandId'] as const;
  for (const k of copy) if (p[k] !== undefined) d[k] = p[k];
  if (p.source !== undefined) d.source = p.source;
  if (p.sandbox !== undefined) d.sandbox = p.sandbox;
  if (p.limitsInForce !== undefined) d.limitsInForce = p.limitsInForce;
  if (p.networkInForce !== undefined) d.networkInForce = p.networkInForce;
  for (const k of ['driver', 'container', 'driverNote'] as const) if (p[k] !== undefined) d[k] = p[k];
  if (p.forkedFrom !== undefined) {
    d.forkedFromSession = p.forkedFrom.sessionId;
    d.forkedFromSnapshot = p.forkedFrom.snapshotId ?? null;
  }
  for (const k of ['readyAt', 'closedAt', 'lastActivityAt', 'createdAt'] as const) if (p[k] !== undefined) d[k] = date(p[k]);
  return d;
}

export class PrismaSessionsRepository implements SessionsRepository {
  /** `driver` serves the per-command and per-create queries, where Prisma's query building costs several times the query. */
  constructor(
    private readonly db: Db,
    private readonly driver: SqlRunner,
  ) {}

  async insert(s: SessionRecord): Promise<void> {
    await this.db.session.create({ data: { id: s.id, ...toData(s) } as Parameters<Db['session']['create']>[0]['data'] });
  }

  async get(id: string): Promise<SessionRecord | undefined> {
    const r = await this.db.session.findUnique({ where: { id } });
    return r ? toRecord(r) : undefined;
  }

  async update(id: string, patch: Partial<SessionRecord>, expect: SessionExpectation = {}): Promise<SessionRecord | undefined> {
    // The compare-and-set: the WHERE holds the expected state; no row matching means someone else won.
    // One statement (UPDATE ... RETURNING), so the answer is the row as this update left it.
    const where = {
      id,
      ...(expect.statuses ? { status: { in: [...expect.statuses] } } : {}),
      ...(expect.ownerInstance ? { ownerInstance: expect.ownerInstance } : {}),
      ...(expect.runningCommandId !== undefined ? { runningCommandId: expect.runningCommandId } : {}),
    };
    try {
      return toRecord(await this.db.session.update({ where, data: toData(patch) }));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async remove(id: string): Promise<void> {
    await this.db.sessionEvent.deleteMany({ where: { sessionId: id } });
    await this.db.session.deleteMany({ where: { id } });
  }

  async list(f: SessionFilter): Promise<{ sessions: SessionRecord[]; nextCursor?: string }> {
    const offset = offsetOf(f.cursor);
    const rows = await this.db.session.findMany({
      where: {
        ...(f.owner ? { owner: f.owner } : {}),
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
    const live = LIVE_STATUSES.map(() => '?').join(', ');
    const rows = owner
      ? await this.driver.run(`SELECT COUNT(*) AS n FROM sessions WHERE owner = ? AND status IN (${live})`, [owner, ...LIVE_STATUSES])
      : await this.driver.run(`SELECT COUNT(*) AS n FROM sessions WHERE status IN (${live})`, [...LIVE_STATUSES]);
    return Number(rows[0]?.n ?? 0);
  }

  async listLive(): Promise<SessionRecord[]> {
    return (await this.db.session.findMany({ where: { status: { in: [...LIVE_STATUSES] } }, orderBy: { createdAt: 'asc' } })).map(toRecord);
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
