import type { NetworkInForceV1, SandboxSpecV1, SessionStatusV1, SessionV1, WorkspaceSourceV1 } from '@codeagent/contracts';

/** A session as stored: the public view (SessionV1) plus the replica that owns it. */
export interface SessionRecord {
  id: string;
  owner: string;
  status: SessionStatusV1;
  failureReason?: string;
  closeReason?: string;
  projectId?: string;
  source: WorkspaceSourceV1;
  sandbox: SandboxSpecV1;
  workspacePolicy: 'remove' | 'keep';
  workspaceId?: string;
  workspacePath?: string;
  shellInstanceId?: string;
  limitsInForce?: Record<string, string>;
  /** What the jail can really reach, as the shell read it back. */
  networkInForce?: NetworkInForceV1;
  /** The sandbox driver that runs it, the container (docker) and why the driver is not the project's. */
  driver?: 'bubblewrap' | 'docker';
  container?: string;
  driverNote?: string;
  forkedFrom?: { sessionId: string; snapshotId?: string };
  /** The orchestrator replica that assigns this session's seqs and runs its commands. */
  ownerInstance: string;
  /** Highest seq in the durable log (the owner's memory may be ahead by an unflushed batch). */
  lastSeq: number;
  createdAt: string;
  updatedAt: string;
  readyAt?: string;
  closedAt?: string;
  lastActivityAt: string;
  /** The command the shell reported started and not yet completed; null once it completed. */
  runningCommandId?: string | null;
  /** The command whose completion was applied last (a start of it arriving afterwards is stale). */
  lastCompletedCommandId?: string;
}

/** States in which the session holds resources and counts against the limits. */
export const LIVE_STATUSES = ['creating', 'ready', 'busy', 'idle', 'closing'] as const satisfies readonly SessionStatusV1[];
/** States in which commands may run. */
export const RUNNABLE_STATUSES: readonly SessionStatusV1[] = ['ready', 'busy', 'idle'];
export const isEnded = (s: SessionStatusV1) => s === 'closed' || s === 'failed';

/**
 * The owner of the warm pool's sessions (pool.ts): made ahead, ready, and nobody's until a create takes
 * one. No user can be called this (SessionService refuses it); lists, counts and facts leave them out.
 */
export const POOL_OWNER = '@pool';
export const isPooled = (s: Pick<SessionRecord, 'owner'>) => s.owner === POOL_OWNER;

/** The public view; `lastSeq` is the live one when the owner knows better than the database. */
export function toSessionV1(r: SessionRecord, liveLastSeq?: number): SessionV1 {
  const { ownerInstance: _owner, runningCommandId: _running, lastCompletedCommandId: _completed, ...rest } = r;
  return { ...rest, lastSeq: Math.max(r.lastSeq, liveLastSeq ?? 0) };
}
