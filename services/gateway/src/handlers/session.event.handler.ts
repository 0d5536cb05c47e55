import { sessionLogHandlers, type EventHandlers } from '@codeagent/bus';
import type { SessionPlacements } from '../sessions/placement';
import type { SessionHub } from '../sockets/session-hub';

/**
 * `session.event` and `session.event.batch` (each of its events in turn): the events of the sessions
 * this replica follows (the hub binds them) reach it on its own queue. A status change keeps the
 * placement cache true, and the hub hands the event to this replica's sockets, SSH logins and /exec
 * waits that follow the session.
 */
export function sessionEventHandlers(placements: SessionPlacements, hub: SessionHub) {
  return sessionLogHandlers(async (e) => {
    placements.observe(e);
    hub.dispatch(e);
  });
}

/** `session.closed` and `session.failed`, of every session: a cached placement says so at once (commands get 409, not a trip to the shell). */
export function sessionEndHandlers(placements: SessionPlacements): Pick<EventHandlers, 'session.closed' | 'session.failed'> {
  return {
    'session.closed': async (p) => placements.ended(p.sessionId, 'closed'),
    'session.failed': async (p) => placements.ended(p.sessionId, 'failed'),
  };
}
