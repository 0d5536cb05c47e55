import { sessionLogHandlers } from '@codeagent/bus';
import type { SessionPlacements } from '../sessions/placement';
import type { SessionHub } from '../sockets/session-hub';

/**
 * `session.event` and `session.event.batch` (each of its events in turn): every event of every
 * session reaches every replica on its own queue. A status change keeps the placement cache true
 * (where the session's jail is), and the hub hands the event to this replica's sockets, SSH logins
 * and /exec waits that follow the session.
 */
export function sessionEventHandlers(placements: SessionPlacements, hub: SessionHub) {
  return sessionLogHandlers(async (e) => {
    placements.observe(e);
    hub.dispatch(e);
  });
}
