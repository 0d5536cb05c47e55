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
export class CommandStatus {
  constructor(private readonly deps: { repo: Pick<SessionsRepository, 'commandState' | 'setCommandState'>; clock: Clock; log: Logger }) {}

  /** A stored batch of the log: its commands' starts and completions, in order, settle busy/idle. */
  async follow(stored: SessionBusEventV1[]): Promise<void> {
    for (const e of stored) {
      if (e.kind === 'command.started') await this.started(e.sessionId, e.data.commandId);
      else if (e.kind === 'command.completed') await this.completed(e.sessionId, e.data.commandId);
    }
  }

  /**
   * A command started: the session is busy running it. Idempotent (a redelivered batch, the reply to
   * exec applied first) and order-proof: a start arriving after its own completion is ignored.
   */
  async started(id: string, commandId: string): Promise<void> {
    await this.settle(id, (s) => {
      if (s.lastCompletedCommandId === commandId || s.runningCommandId === commandId) return undefined;
      return { status: 'busy', runningCommandId: commandId };
    });
  }

  /**
   * The shell reported a command completed (or answered it): idle unless another command started
   * since, whose own completion will make it idle. Idempotent, like started.
   */
  async completed(id: string, commandId: string): Promise<void> {
    await this.settle(id, (s) => {
      if (s.lastCompletedCommandId === commandId) return undefined;
      const othersRun = Boolean(s.runningCommandId) && s.runningCommandId !== commandId;
      // `ready` never becomes idle (its start was not seen): it only records the activity.
      const status = othersRun || s.status === 'ready' ? s.status : 'idle';
      return { status, runningCommandId: othersRun ? s.runningCommandId : null, lastCompletedCommandId: commandId };
    });
  }

  /**
   * Applies a command fact as a compare-and-set on the state read (status and running command), read
   * again when another writer (a replica applying the next event) got there first. Facts about a
   * session that is not runnable any more are dropped.
   */
  private async settle(id: string, next: (s: CommandState) => { status: SessionStatusV1; runningCommandId: string | null | undefined; lastCompletedCommandId?: string } | undefined): Promise<void> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const s = await this.deps.repo.commandState(id);
      if (!s || !RUNNABLE_STATUSES.includes(s.status)) return;
      const want = next(s);
      if (!want) return;
      if (want.status !== s.status) assertMove(id, s.status, want.status);
      const to = { ...want, runningCommandId: want.runningCommandId ?? null, lastActivityAt: this.deps.clock.now().toISOString() };
      // Only stored: the jail's stream logs busy and idle itself, around the command's own events.
      if (await this.deps.repo.setCommandState(id, { status: s.status, runningCommandId: s.runningCommandId ?? null }, to)) return;
    }
    this.deps.log.warn({ sessionId: id }, 'busy/idle not recorded: the session kept changing');
  }
}
