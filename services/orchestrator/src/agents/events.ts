import type { EventName, EventPayload } from '@codeagent/contracts';

/** Where the agents publish (the bus in the service; an array in unit tests). */
export interface AgentEventSink {
  publish<N extends EventName>(name: N, payload: EventPayload<N>): Promise<void>;
}
