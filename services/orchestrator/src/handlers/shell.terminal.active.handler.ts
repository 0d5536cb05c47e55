import type { EventPayload } from '@codeagent/contracts';
import type { EventIngest } from '../sessions/ingest';

/** `shell.terminal.active`: someone types in the session's terminal, so it is not closed as idle. */
export function terminalActiveHandler(ingest: EventIngest) {
  return (p: EventPayload<'shell.terminal.active'>) => ingest.terminalActive(p);
}
