import { isNotFound } from '@codeagent/db';
import { AgentRunV1 } from '@codeagent/contracts';
import type { AgentRunRepository } from '../agents/run-store';
import { type Db } from './database';

/** Agent runs in the orchestrator's database: the record as JSON, the queried fields as columns. */
export class PrismaAgentRunRepository implements AgentRunRepository {
  constructor(private readonly db: Db) {}

  async save(run: AgentRunV1): Promise<void> {
    const row = toRow(run);
    await this.db.agentRun.upsert({ where: { id: run.runId }, create: { id: run.runId, ...row }, update: row });
  }

  async endIfRunning(ended: AgentRunV1): Promise<boolean> {
    // One statement whose WHERE holds the expected status: no row matching means someone else ended it.
    try {
      await this.db.agentRun.update({ where: { id: ended.runId, status: 'running' }, data: toRow(ended) });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  async get(runId: string): Promise<AgentRunV1 | undefined> {
    const row = await this.db.agentRun.findUnique({ where: { id: runId } });
    return row ? AgentRunV1.parse(row.data) : undefined;
  }

  async listBySession(sessionId: string): Promise<AgentRunV1[]> {
    const rows = await this.db.agentRun.findMany({ where: { sessionId }, orderBy: { startedAt: 'asc' }, take: 500 });
    return rows.map((r) => AgentRunV1.parse(r.data));
  }

  async listRunning(): Promise<AgentRunV1[]> {
    const rows = await this.db.agentRun.findMany({ where: { status: 'running' }, orderBy: { startedAt: 'asc' } });
    return rows.map((r) => AgentRunV1.parse(r.data));
  }
}

function toRow(run: AgentRunV1) {
  return {
    sessionId: run.sessionId,
    projectId: run.projectId ?? null,
    status: run.status,
    data: run as object,
    startedAt: new Date(run.startedAt),
    endedAt: run.endedAt ? new Date(run.endedAt) : null,
  };
}
