import type { AgentRunStatusV1, AgentRunV1, EventPayload } from '@codeagent/contracts';
import type { Logger } from '@codeagent/telemetry';
import type { AgentEventSink } from './events';
import type { AgentRunRepository } from './run-store';

/** What agent.run.completed says about a run that has ended. */
export function completedEvent(run: AgentRunV1): EventPayload<'agent.run.completed'> {
  return {
    runId: run.runId,
    sessionId: run.sessionId,
    projectId: run.projectId,
    status: run.status,
    error: run.error,
    result: run.result,
    results: run.results,
    steps: run.steps.length,
    usage: run.usage,
    costUsd: run.costUsd,
    providers: run.providers,
    at: run.endedAt ?? new Date().toISOString(),
  };
}

/**
 * Ends a run that its own replica can no longer end, and says so on agent.run.completed (which the
 * session's owner appends to its log). A compare-and-set: false, with nothing published, when the run
 * was not running anymore (another replica ended it first).
 */
export async function endRunElsewhere(deps: { runs: AgentRunRepository; sink: AgentEventSink; log: Logger }, run: AgentRunV1, status: AgentRunStatusV1, reason: string): Promise<boolean> {
  const ended: AgentRunV1 = { ...run, status, error: reason, result: run.results.map((r) => `## ${r.role}\n${r.output}`).join('\n\n'), endedAt: new Date().toISOString() };
  if (!(await deps.runs.endIfRunning(ended))) return false;
  await deps.sink.publish('agent.run.completed', completedEvent(ended)).catch((err: Error) => deps.log.warn({ runId: run.runId, err: err.message }, 'agent.run.completed not published'));
  return true;
}

/**
 * Agent runs left `running` by an orchestrator replica that stopped. A run is not resumed: what it
 * needs to continue lived only in that replica's memory (the conversation with the model, the
 * outcome of the tool call in flight, the project's MCP clients), and the stored steps keep tool
 * outputs cut, so replaying them is not the conversation the model had. Such a run is ended `failed`
 * with the reason, which frees its session for a new run at once instead of at the run's deadline.
 */
export class OrphanedRuns {
  /** Runs of this replica's id started before this process did are a previous process's. */
  private readonly startedAt = new Date().toISOString();

  constructor(private readonly deps: { runs: AgentRunRepository; sink: AgentEventSink; log: Logger; self: string }) {}

  /**
   * Ends every running run whose replica is gone. Idempotent, and safe with every replica running it
   * at once (endIfRunning is a compare-and-set). `isAlive` is asked once per replica in one pass.
   */
  async end(isAlive: (instanceId: string) => Promise<boolean>): Promise<string[]> {
    const { self, log } = this.deps;
    const alive = new Map<string, Promise<boolean>>();
    const gone = (run: AgentRunV1, instanceId: string) => {
      if (instanceId === self) return Promise.resolve(run.startedAt < this.startedAt);
      if (!alive.has(instanceId)) alive.set(instanceId, isAlive(instanceId));
      return alive.get(instanceId)!.then((a) => !a);
    };
    const ended: string[] = [];
    for (const run of await this.deps.runs.listRunning()) {
      // A run recorded without its replica cannot be told apart from a live one; its deadline frees its session.
      const instanceId = run.instanceId;
      if (!instanceId) continue;
      try {
        if (!(await gone(run, instanceId))) continue;
        const stopped = instanceId === self ? 'stopped and has started again' : 'stopped';
        const reason = `the orchestrator replica ${instanceId} that ran it ${stopped}; the run was ended by ${self} (a run cannot be resumed: its conversation with the model lived in that replica)`;
        if (!(await endRunElsewhere(this.deps, run, 'failed', reason))) continue;
        ended.push(run.runId);
        log.info({ runId: run.runId, sessionId: run.sessionId, from: instanceId }, 'agent run of a replica that is gone ended');
      } catch (err) {
        log.error({ err, runId: run.runId }, 'agent run of a replica that is gone not ended; will retry');
      }
    }
    return ended;
  }
}
