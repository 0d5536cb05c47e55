import type { AgentDataV1, EventName, EventPayload, SessionStatusV1 } from '@codeagent/contracts';
import type { Logger } from '@codeagent/telemetry';
import type { EventLog } from './event-log';
import type { SessionManager } from './manager';
import { RUNNABLE_STATUSES, type SessionRecord } from './session';

/**
 * The states in which a jail lost is the session's failure. Not `closing`: that close ends the jail
 * anyway, and failing the session under it made a close its user asked for end `failed`.
 */
const LOSES_ITS_JAIL: readonly SessionStatusV1[] = ['creating', ...RUNNABLE_STATUSES];

/**
 * What the orchestrator does about other services' facts. Each replica receives them all (its own
 * queue, in order): for the sessions it owns, a jail lost under a live session fails it, and an agent
 * run's events are appended to the session's log (through the jail's stream, which numbers them).
 * The shell's own log events (output, commands) need nothing from here: they are `session.event`
 * already, stored by EventStore, and busy/idle follow its commands there.
 */
export class EventIngest {
  constructor(
    private readonly events: EventLog,
    private readonly manager: SessionManager,
    private readonly log: Logger,
  ) {}

  handlers() {
    return {
      'shell.crashed': async (p: EventPayload<'shell.crashed'>) => {
        if (p.restarted || !(await this.owned(p.sessionId))) return;
        await this.manager.fail(p.sessionId, `the jail's shell died: ${p.reason}`, LOSES_ITS_JAIL);
      },
      'shell.closed': async (p: EventPayload<'shell.closed'>) => {
        const s = await this.owned(p.sessionId);
        // Our own close moves to `closing` first; a jail closed under a live session is a loss. Checked
        // again where the failure is stored: a close may begin after this read.
        if (s && RUNNABLE_STATUSES.includes(s.status)) {
          await this.manager.fail(p.sessionId, `the jail was closed by the shell service (replica ${p.instanceId})`, RUNNABLE_STATUSES, p.lastSeq);
        }
      },
      // Typing in the terminal is activity: the session is not closed as idle (any replica; a later touch wins).
      'shell.terminal.active': async (p: EventPayload<'shell.terminal.active'>) => this.manager.touch(p.sessionId),
      ...this.agentHandlers(),
    } satisfies { [N in EventName]?: (p: EventPayload<N>) => Promise<void> };
  }

  /** The session, when this replica owns it. */
  private async owned(sessionId: string): Promise<SessionRecord | undefined> {
    const s = await this.manager.get(sessionId).catch(() => undefined);
    return s?.ownerInstance === this.manager.self ? s : undefined;
  }

  private agentHandlers() {
    const record = async (sessionId: string, data: AgentDataV1) => {
      const s = await this.owned(sessionId);
      if (!s) return;
      await this.events.append(s, 'agent', data).catch((err: Error) => this.log.warn({ err, sessionId, type: data.type }, 'agent event not logged'));
      if (data.type === 'step' || data.type === 'started') await this.manager.touch(sessionId).catch((err: Error) => this.log.debug({ err }, 'touch failed'));
    };
    return {
      'agent.run.started': async ({ sessionId, ...p }: EventPayload<'agent.run.started'>) => record(sessionId, { type: 'started', ...p }),
      'agent.run.step': async ({ sessionId, ...p }: EventPayload<'agent.run.step'>) => record(sessionId, { type: 'step', ...p }),
      'agent.run.text': async ({ sessionId, ...p }: EventPayload<'agent.run.text'>) => record(sessionId, { type: 'text', ...p }),
      'agent.run.completed': async ({ sessionId, ...p }: EventPayload<'agent.run.completed'>) => record(sessionId, { type: 'completed', ...p }),
    };
  }
}
