import { AppError, type SessionStatusV1 } from '@codeagent/contracts';

// The session state machine. `ready` is "jail open, nothing run yet"; `busy` while at least one
// command runs; `idle` when none does. Every state may fail; `failed` and `closed` are final.
const NEXT: Record<SessionStatusV1, readonly SessionStatusV1[]> = {
  creating: ['ready', 'failed'],
  ready: ['busy', 'closing', 'failed'],
  busy: ['busy', 'idle', 'closing', 'failed'],
  idle: ['busy', 'closing', 'failed'],
  closing: ['closed', 'failed'],
  closed: [],
  failed: [],
};

export function canMove(from: SessionStatusV1, to: SessionStatusV1): boolean {
  return NEXT[from].includes(to);
}

/** Throws INVALID_STATE, naming both states, when the move is not allowed. */
export function assertMove(sessionId: string, from: SessionStatusV1, to: SessionStatusV1): void {
  if (!canMove(from, to)) {
    throw new AppError('INVALID_STATE', `session ${sessionId} is ${from}; it cannot become ${to}`, { details: { sessionId, from, to } });
  }
}
