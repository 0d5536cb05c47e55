import type { AgentRunV1 } from '@codeagent/contracts';

/** Where runs are kept; the agent code depends on this, not on a database. */
export interface AgentRunRepository {
  save(run: AgentRunV1): Promise<void>;
  get(runId: string): Promise<AgentRunV1 | undefined>;
  listBySession(sessionId: string): Promise<AgentRunV1[]>;
  /** Runs recorded as running, by any replica. */
  listRunning(): Promise<AgentRunV1[]>;
  /**
   * Saves `ended` only if its stored record still says running (a compare-and-set, so that two
   * replicas never both end one run): true when this call ended it.
   */
  endIfRunning(ended: AgentRunV1): Promise<boolean>;
}

/**
 * Runs in memory (bounded). A run lives in the replica that executes it; its steps also go to the
 * session event log as agent.run.* events, which is the durable record. A Prisma implementation
 * replaces this once the orchestrator's database is in place.
 */
export class MemoryAgentRunRepository implements AgentRunRepository {
  private readonly runs = new Map<string, AgentRunV1>();

  constructor(private readonly max = 1000) {}

  async save(run: AgentRunV1): Promise<void> {
    this.runs.delete(run.runId);
    this.runs.set(run.runId, run);
    if (this.runs.size > this.max) this.runs.delete(this.runs.keys().next().value!);
  }

  async get(runId: string): Promise<AgentRunV1 | undefined> {
    return this.runs.get(runId);
  }

  async listBySession(sessionId: string): Promise<AgentRunV1[]> {
    return [...this.runs.values()].filter((r) => r.sessionId === sessionId);
  }

  async listRunning(): Promise<AgentRunV1[]> {
    return [...this.runs.values()].filter((r) => r.status === 'running');
  }

  async endIfRunning(ended: AgentRunV1): Promise<boolean> {
    if (this.runs.get(ended.runId)?.status !== 'running') return false;
    await this.save(ended);
    return true;
  }
}
