import type { EventPayload } from '@codeagent/contracts';
import type { EventIngest } from '../sessions/ingest';

/** `shell.closed`: a jail closed under a live session of this replica's is the session's failure. */
export function shellClosedHandler(ingest: EventIngest) {
  return (p: EventPayload<'shell.closed'>) => ingest.shellClosed(p);
}
