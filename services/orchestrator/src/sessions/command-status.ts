import type { SessionBusEventV1, SessionStatusV1 } from '@codeagent/contracts';
import type { Logger } from '@codeagent/telemetry';
import type { Clock, CommandState, SessionsRepository } from './ports';
import { RUNNABLE_STATUSES } from './session';
import { assertMove } from './state';

/**
 * A session's busy and idle, from its commands' starts and completions: those of the stored log (any
 * replica stores it) and the reply to an exec. Each is a compare-and-set on the stored state, so
 * facts applied twice, out of order or by two replicas at once settle the same.
 */
/** What one command fact makes of a session's command state; undefined: nothing (a repeat, or out of order). */
type Step = (s: CommandState) => CommandState | undefined;

/** A command started: the session is busy running it, unless this start was seen or its completion came first. */
const startedStep =
  (commandId: string): Step =>
  (s) => {
    if (s.lastCompletedCommandId === commandId || s.runningCommandId === commandId) return undefined;
    return { ...s, status: 'busy', runningCommandId: commandId };
  };

/** A command completed: idle unless another command started since, whose own completion will make it idle. */
const completedStep =
  (commandId: string): Step =>
  (s) => {
    if (s.lastCompletedCommandId === commandId) return undefined;
    const othersRun = Boolean(s.runningCommandId) && s.runningCommandId !== commandId;
    // `ready` never becomes idle (its start was not seen): it only records the activity.
    const status = othersRun || s.status === 'ready' ? s.status : 'idle';
    const { runningCommandId: _done, ...rest } = s;
    return { ...rest, status, ...(othersRun ? { runningCommandId: s.runningCommandId } : {}), lastCompletedCommandId: commandId };
  };

export class CommandStatus {
  constructor(private readonly deps: { repo: Pick<SessionsRepository, 'commandState' | 'setCommandState'>; clock: Clock; log: Logger }) {}

  /**
   * A stored batch of the log: its commands' starts and completions, in order, settle busy/idle, in
   * one write per session (a batch usually holds a command's start and its completion both).
   */
  async follow(stored: SessionBusEventV1[]): Promise<void> {
    const steps = new Map<string, Step[]>();
    for (const e of stored) {
      const step = e.kind === 'command.started' ? startedStep(e.data.commandId) : e.kind === 'command.completed' ? completedStep(e.data.commandId) : undefined;
      if (!step) continue;
      const list = steps.get(e.sessionId);
      if (list) list.push(step);
      else steps.set(e.sessionId, [step]);
    }
    for (const [id, list] of steps) await this.settle(id, list);
  }

  /**
   * A command started (the reply to an exec). Idempotent (a redelivered batch, the reply to exec
   * applied first) and order-proof: a start arriving after its own completion is ignored.
   */
  async started(id: string, commandId: string): Promise<void> {
    await this.settle(id, [startedStep(commandId)]);
  }

  /** The shell reported a command completed (or answered it). Idempotent, like started. */
  async completed(id: string, commandId: string): Promise<void> {
    await this.settle(id, [completedStep(commandId)]);
  }

  /**
   * Applies command facts, in order, as one compare-and-set on the state read (status and running
   * command), read again when another writer (a replica applying the next event) got there first.
   * Facts about a session that is not runnable any more are dropped.
   */
  private async settle(id: string, steps: Step[]): Promise<void> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const s = await this.deps.repo.commandState(id);
      if (!s || !RUNNABLE_STATUSES.includes(s.status)) return;
      let want = s;
      for (const step of steps) {
        const next = step(want);
        if (!next) continue;
        if (next.status !== want.status) assertMove(id, want.status, next.status);
        want = next;
      }
      const same = (k: 'status' | 'runningCommandId' | 'lastCompletedCommandId') => (want[k] ?? null) === (s[k] ?? null);
      if (same('status') && same('runningCommandId') && same('lastCompletedCommandId')) return;
      const to = { status: want.status, runningCommandId: want.runningCommandId ?? null, lastCompletedCommandId: want.lastCompletedCommandId, lastActivityAt: this.deps.clock.now().toISOString() };
      // Only stored: the jail's stream logs busy and idle itself, around the command's own events.
      if (await this.deps.repo.setCommandState(id, { status: s.status, runningCommandId: s.runningCommandId ?? null }, to)) return;
    }
    this.deps.log.warn({ sessionId: id }, 'busy/idle not recorded: the session kept changing');
  }
}
