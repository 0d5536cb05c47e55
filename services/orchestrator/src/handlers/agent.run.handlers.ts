import type { EventPayload } from '@codeagent/contracts';
import type { EventIngest } from '../sessions/ingest';

/** `agent.run.started`, `.step`, `.text`, `.completed`: an agent run's progress, in the log of the session it runs in. */
export function agentRunHandlers(ingest: EventIngest) {
  return {
    'agent.run.started': ({ sessionId, ...p }: EventPayload<'agent.run.started'>) => ingest.agentEvent(sessionId, { type: 'started', ...p }),
    'agent.run.step': ({ sessionId, ...p }: EventPayload<'agent.run.step'>) => ingest.agentEvent(sessionId, { type: 'step', ...p }),
    'agent.run.text': ({ sessionId, ...p }: EventPayload<'agent.run.text'>) => ingest.agentEvent(sessionId, { type: 'text', ...p }),
    'agent.run.completed': ({ sessionId, ...p }: EventPayload<'agent.run.completed'>) => ingest.agentEvent(sessionId, { type: 'completed', ...p }),
  };
}
