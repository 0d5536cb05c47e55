import type { AgentDataV1, EventPayload, SessionStatusV1 } from '@codeagent/contracts';
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

  /** A jail's shell died: a session this replica owns whose jail was not replaced fails. */
  async shellCrashed(p: EventPayload<'shell.crashed'>): Promise<void> {
    if (p.restarted || !(await this.owned(p.sessionId))) return;
    await this.manager.fail(p.sessionId, `the jail's shell died: ${p.reason}`, LOSES_ITS_JAIL);
  }

  /** A jail was closed: under a live session this replica owns, that is the session's loss. */
  async shellClosed(p: EventPayload<'shell.closed'>): Promise<void> {
    const s = await this.owned(p.sessionId);
    // Our own close moves to `closing` first; a jail closed under a live session is a loss. Checked
    // again where the failure is stored: a close may begin after this read.
    if (s && RUNNABLE_STATUSES.includes(s.status)) {
      await this.manager.fail(p.sessionId, `the jail was closed by the shell service (replica ${p.instanceId})`, RUNNABLE_STATUSES, p.lastSeq);
    }
  }

  /** Typing in the terminal is activity: the session is not closed as idle (any replica; a later touch wins). */
  async terminalActive(p: EventPayload<'shell.terminal.active'>): Promise<void> {
    await this.manager.touch(p.sessionId);
  }

  /** An agent run's event, appended to the log of a session this replica owns; a step or a start is activity. */
  async agentEvent(sessionId: string, data: AgentDataV1): Promise<void> {
    const s = await this.owned(sessionId);
    if (!s) return;
    await this.events.append(s, 'agent', data).catch((err: Error) => this.log.warn({ err, sessionId, type: data.type }, 'agent event not logged'));
    if (data.type === 'step' || data.type === 'started') await this.manager.touch(sessionId).catch((err: Error) => this.log.debug({ err }, 'touch failed'));
  }

  /** The session, when this replica owns it. */
  private async owned(sessionId: string): Promise<SessionRecord | undefined> {
    const s = await this.manager.get(sessionId).catch(() => undefined);
    return s?.ownerInstance === this.manager.self ? s : undefined;
  }
}
