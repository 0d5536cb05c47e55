import type { EventPayload } from '@codeagent/contracts';
import type { EventIngest } from '../sessions/ingest';

/** `shell.crashed`: a jail's shell died; a session of this replica's whose jail was not replaced fails. */
export function shellCrashedHandler(ingest: EventIngest) {
  return (p: EventPayload<'shell.crashed'>) => ingest.shellCrashed(p);
}
