import type { AgentRunStatusV1, AgentRunV1 } from '@codeagent/contracts';

export interface RunLimits {
  maxSteps: number;
  budgetUsd: number;
  /** Epoch ms after which the run stops. */
  deadline: number;
}

/** One live run: its record, its limits, and the signal that stops it (interrupt or timeout). */
export class RunControl {
  readonly abort = new AbortController();
  private stopReason?: AgentRunStatusV1;
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly run: AgentRunV1,
    readonly limits: RunLimits,
  ) {
    this.timer = setTimeout(() => this.stop('timed_out'), Math.max(0, limits.deadline - Date.now()));
    this.timer.unref();
  }

  stop(reason: AgentRunStatusV1): void {
    if (this.stopReason) return;
    this.stopReason = reason;
    this.abort.abort(new Error(reason));
  }

  /** Why the run must not take another step, if it must not. */
  limitReached(): AgentRunStatusV1 | undefined {
    if (this.stopReason) return this.stopReason;
    if (this.run.costUsd >= this.limits.budgetUsd) return 'budget_exceeded';
    if (this.run.steps.length >= this.limits.maxSteps) return 'step_limit';
    if (Date.now() >= this.limits.deadline) return 'timed_out';
    return undefined;
  }

  get stopped(): AgentRunStatusV1 | undefined {
    return this.stopReason;
  }

  dispose(): void {
    clearTimeout(this.timer);
  }
}
