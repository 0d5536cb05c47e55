import type { EventPayload } from '@codeagent/contracts';
import type { AttachOutputs } from '../ssh/attach-outputs';

/** `shell.agent.attach.output`: what an outside agent's attach terminal printed, to the SSH login on this replica that opened it. */
export function attachOutputHandler(outputs: AttachOutputs) {
  return async (e: EventPayload<'shell.agent.attach.output'>): Promise<void> => outputs.dispatch(e);
}
