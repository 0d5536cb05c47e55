import type { EventName, EventPayload } from '@codeagent/contracts';

/**
 * Where the session logic publishes its events. The bus satisfies it; unit tests pass a fake.
 * Resolves once the event is safely with the broker (publisher confirm).
 */
export interface EventSink {
  publish<N extends EventName>(name: N, payload: EventPayload<N>): Promise<void>;
}

export type DriverName = 'bubblewrap' | 'docker';

export type OutputStreamName = 'stdout' | 'stderr' | 'pty';
