import type {
  EgressCredentialV1,
  EventName,
  EventPayload,
  ExecResultV1,
  NetworkInForceV1,
  SandboxSpecV1,
  SessionBusEventV1,
  SessionEventV1,
  SessionStatusV1,
  ShellSessionAppendV1,
  WorkspaceSourceV1,
} from '@codeagent/contracts';
import type { ShellPlacement } from './placement';
import type { SessionRecord } from './session';

// What the session logic needs from the outside world. Adapters (src/adapters, src/repositories)
// implement these over the bus and Prisma; unit tests use fakes.

/** A list's filter; without an owner, every user's sessions (never the warm pool's). */
export interface SessionFilter {
  owner?: string;
  projectId?: string;
  statuses?: SessionStatusV1[];
  limit: number;
  cursor?: string;
}

/** What a compare-and-set update expects of the stored session (absent fields: anything). */
export interface SessionExpectation {
  statuses?: readonly SessionStatusV1[];
  owner?: string;
  ownerInstance?: string;
  /** The running command as last read (null: none). */
  runningCommandId?: string | null;
}

/** What a command fact reads of a session to settle busy/idle. */
export type CommandState = Pick<SessionRecord, 'id' | 'status' | 'runningCommandId' | 'lastCompletedCommandId'>;

export interface SessionsRepository {
  insert(s: SessionRecord): Promise<void>;
  get(id: string): Promise<SessionRecord | undefined>;
  /**
   * Applies `patch` if the session still matches `expect` (compare-and-set); returns the updated
   * record, or undefined when it does not match (or does not exist).
   */
  update(id: string, patch: Partial<SessionRecord>, expect?: SessionExpectation): Promise<SessionRecord | undefined>;
  remove(id: string): Promise<void>;
  list(filter: SessionFilter): Promise<{ sessions: SessionRecord[]; nextCursor?: string }>;
  /** Sessions in a live state, overall (the warm pool's left out) or of one owner. */
  countLive(owner?: string): Promise<number>;
  /** The warm pool's ready sessions that a replica holds, oldest first. */
  listPooled(ownerInstance: string): Promise<SessionRecord[]>;
  /** Every session in a live state (for recovery). */
  listLive(): Promise<SessionRecord[]>;
  /** A replica's ready and idle sessions (not the pool's) with no activity since `quietSince`: the idle check's candidates. */
  listIdle(ownerInstance: string, quietSince: Date): Promise<SessionRecord[]>;
  /** The command columns of a session: read twice per command, so only what settling needs. */
  commandState(id: string): Promise<CommandState | undefined>;
  /** Compare-and-set of the command columns: applied only while status and running command are still `from`'s. */
  setCommandState(
    id: string,
    from: { status: SessionStatusV1; runningCommandId: string | null },
    to: { status: SessionStatusV1; runningCommandId: string | null; lastCompletedCommandId?: string; lastActivityAt: string },
  ): Promise<boolean>;
}

export interface EventsPage {
  events: SessionEventV1[];
  hasMore: boolean;
}

export interface EventsRepository {
  /**
   * Stores a batch (any sessions) and raises each session's lastSeq. An event whose (session, seq) is
   * stored already (a redelivery) is skipped; it is returned when the stored one has other content
   * (a seq given twice: see EventLog.append).
   */
  append(events: SessionBusEventV1[]): Promise<Array<{ sessionId: string; seq: number }>>;
  /**
   * Retention: deletes events recorded before `olderThan`, and each session's oldest events beyond
   * `maxBytesPerSession` of data (0: no byte cap). Returns how many rows went.
   */
  prune(opts: { olderThan?: Date; maxBytesPerSession?: number }): Promise<number>;
  /**
   * Stored events with seq > since, in order: at most `limit`, and no more once they hold `maxBytes`
   * of data (at least one event, however large). `hasMore` when either bound cut the page.
   */
  since(sessionId: string, since: number, limit: number, maxBytes?: number): Promise<EventsPage>;
  /** The highest stored seq (0 when none). */
  maxSeq(sessionId: string): Promise<number>;
}

export interface PreparedWorkspace {
  workspaceId: string;
  path: string;
}

export interface WorkspacePort {
  /** `owner` absent: a workspace made for nobody yet (the warm pool's). */
  prepare(source: WorkspaceSourceV1, opts: { quotaMb?: number; owner?: string }): Promise<PreparedWorkspace>;
  fork(from: { workspaceId?: string; snapshotId?: string }, owner: string): Promise<PreparedWorkspace>;
  remove(workspaceId: string): Promise<void>;
  /** The ids of a workspace's snapshots. */
  snapshotIds(workspaceId: string): Promise<string[]>;
}

export interface ShellOpenResult {
  instanceId: string;
  limitsInForce: Record<string, string>;
  networkInForce?: NetworkInForceV1;
  /** The driver that runs it (absent from fakes that predate drivers: a jail). */
  driver?: 'bubblewrap' | 'docker';
  /** Docker: the container's name. */
  container?: string;
  /** Why the driver is not the one the placement asked for (a fallback). */
  driverNote?: string;
}

export interface ShellPort {
  /** `credentials`: built for this open only (they hold provider keys), never stored. */
  /** `firstSeq`: the seq the jail's stream starts the session's log at (after the events logged before it). */
  open(req: { sessionId: string; workspaceDir: string; sandbox: SandboxSpecV1; credentials?: EgressCredentialV1[]; placement?: ShellPlacement; env?: Record<string, string>; firstSeq: number }): Promise<ShellOpenResult>;
  /** Resolves with the last seq the jail's stream gave (undefined when the replica did not hold it). */
  close(instanceId: string, sessionId: string): Promise<number | undefined>;
  /** Appends an event to the session's log through its jail's stream; resolves with the seq given. */
  append(instanceId: string, req: ShellSessionAppendV1): Promise<number>;
  exec(instanceId: string, req: { sessionId: string; command: string; commandId: string; timeoutMs?: number; user?: string }): Promise<ExecResultV1>;
  interrupt(instanceId: string, sessionId: string): Promise<boolean>;
  /** The sessions the replica holds, or 'gone' when the replica does not exist any more. */
  list(instanceId: string): Promise<string[] | 'gone'>;
}

/** Provider keys for a jail's egress proxy, from the provider registry (keys unsealed only here). */
export interface CredentialsPort {
  /** One credential per name; VALIDATION_FAILED naming the first unknown provider or one without a key. */
  resolve(names: string[], projectId?: string): Promise<EgressCredentialV1[]>;
}

/** Other orchestrator replicas. */
export interface PeersPort {
  readonly self: string;
  /** Whether a replica still consumes its own queue. */
  isAlive(instanceId: string): Promise<boolean>;
}

export interface Publisher {
  publish<N extends EventName>(name: N, payload: EventPayload<N>): Promise<void>;
}

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
