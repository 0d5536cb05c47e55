import { sessionLogHandlers } from '@codeagent/bus';
import type { EventStore } from '../sessions/event-store';

/**
 * `session.event` and `session.event.batch`, from the one queue all replicas share (one consuming at
 * a time, in publish order): the session logs, stored in batches (EventStore), output as the bytes
 * the jail read.
 */
export function sessionLogStoreHandlers(store: EventStore) {
  return sessionLogHandlers((e) => store.store(e));
}
