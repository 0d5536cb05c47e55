import { z } from 'zod';
import { command, event } from '../define';
import { CredentialNameV1, NetworkInForceV1, SandboxNetworkV1 } from './network';
import { SandboxLimitsV1 } from './shell';
import { DiffReplyV1, FileReadReplyV1, FileWriteReplyV1, WorkspaceSourceV1 } from './workspace';

// Sessions. Owned by services/orchestrator (src/sessions). The gateway maps /api/v1/sessions/* onto
// these commands. Every request may carry `actor` (who acts, and whether as an admin): when the actor
// is a member, the orchestrator refuses (FORBIDDEN) what belongs to someone else and lists only their
// own. Without `actor` the caller is trusted (the platform's own services).
// Why `actor` (and the absence of one) can be trusted: libs/bus delivers only messages signed with the
// platform secret (HMAC in the `x-codeagent-signature` header, checked before the body is read), so
// only a platform service can have written it; anything else that reaches the broker is dead-lettered
// as `unauthenticated`. The signer's service name is `ctx.publisher`, for handlers that must know the
// actor came from the gateway (the edge that authenticated the user).

/** Who is acting, as the gateway authenticated them. `metadata.user` carries the same user id. */
export const ActorV1 = z.object({
  /** The user's id (`local` in local mode). */
  userId: z.string().min(1).max(200),
  /** `admin` sees and touches everything; `member` only what they own. */
  role: z.enum(['admin', 'member']),
  /** An admin let this member ask for network `open` (a per-user grant the gateway keeps). */
  allowOpenNetwork: z.boolean().optional(),
});
export type ActorV1 = z.infer<typeof ActorV1>;

/**
 * Where a session's (or project's) code comes from. API.md's short forms `{path}` and `{git, ref?}`
 * are accepted beside the workspace service's `{kind, ...}` and normalised to the latter.
 */
export const SourceInputV1 = z.union([
  WorkspaceSourceV1,
  z.object({ /** A local folder, copied. */ path: z.string().min(1).max(4096) }).strict(),
  z.object({ /** A git URL or path, cloned. */ git: z.string().min(1).max(4096), /** Branch, tag or commit. */ ref: z.string().min(1).max(400).optional() }).strict(),
]);
export type SourceInputV1 = z.infer<typeof SourceInputV1>;

/** The sandbox a session asks for (API.md); absent fields come from the project's defaults, then the shell's. */
export const SandboxSpecV1 = SandboxLimitsV1.extend({
  /**
   * `none` (default): loopback only. `{allow: [...]}`: those hosts only, through the egress proxy.
   * `open`: any public host (team mode: admins, or where an admin's policy allows it). A project's
   * allowlist bounds its members' sessions: a member's own allowlist may only narrow it.
   */
  network: SandboxNetworkV1.optional(),
  /**
   * Configured providers (by name) whose API code in the jail may call: the egress proxy adds the
   * key, which never enters the jail. Needs `allow` or `open`; with no network given they mean
   * `{allow: []}` (only those providers); with `none` they are refused.
   */
  credentials: z.array(CredentialNameV1).max(16, 'at most 16 credentials').optional(),
});
export type SandboxSpecV1 = z.infer<typeof SandboxSpecV1>;

/** creating → ready → busy ⇄ idle → closing → closed; any of them → failed (with `failureReason`). */
export const SessionStatusV1 = z.enum(['creating', 'ready', 'busy', 'idle', 'closing', 'closed', 'failed']);
export type SessionStatusV1 = z.infer<typeof SessionStatusV1>;

export const SessionV1 = z.object({
  /** `ses_…`, unique. */
  id: z.string(),
  /** The user it belongs to. */
  owner: z.string(),
  status: SessionStatusV1,
  /** Why it failed (or why it was closed, e.g. idle timeout), for a person. */
  failureReason: z.string().optional(),
  closeReason: z.string().optional(),
  projectId: z.string().optional(),
  source: WorkspaceSourceV1,
  /** The sandbox as asked (merged with the project's defaults). */
  sandbox: SandboxSpecV1,
  /** On close: `remove` the workspace (default) or `keep` it. */
  workspacePolicy: z.enum(['remove', 'keep']),
  workspaceId: z.string().optional(),
  /** Host path of the workspace. */
  workspacePath: z.string().optional(),
  /** The shell replica that holds the jail. */
  shellInstanceId: z.string().optional(),
  /** What the shell really enforces (from shell.open). */
  limitsInForce: z.record(z.string(), z.string()).optional(),
  /** What the jail can really reach (from shell.open, read back from its network namespace). */
  networkInForce: NetworkInForceV1.optional(),
  /** The session this one was forked from, and the snapshot, if any. */
  forkedFrom: z.object({ sessionId: z.string(), snapshotId: z.string().optional() }).optional(),
  /** The sequence number of the last event in its log (0: none yet). */
  lastSeq: z.number().int().nonnegative(),
  createdAt: z.string(),
  updatedAt: z.string(),
  readyAt: z.string().optional(),
  closedAt: z.string().optional(),
  /** Last command or agent activity; idle sessions are closed after ORCHESTRATOR_SESSION_IDLE_MS. */
  lastActivityAt: z.string(),
});
export type SessionV1 = z.infer<typeof SessionV1>;

const actor = { /** Who acts; see the top of this file. */ actor: ActorV1.optional() };
const ref = { sessionId: z.string().min(1).max(200), ...actor };

export const SessionCreateV1 = z
  .object({
    /** Start from this project (its source and sandbox defaults)... */
    projectId: z.string().min(1).max(200).optional(),
    /** ...or from this source. Exactly one of the two. */
    source: SourceInputV1.optional(),
    sandbox: SandboxSpecV1.optional(),
    /** The owner; defaults to the actor, then metadata.user, then `local`. */
    owner: z.string().min(1).max(200).optional(),
    /** Keep the workspace after close (default: the project's setting, else remove). */
    workspacePolicy: z.enum(['remove', 'keep']).optional(),
    /** Extra environment variables in the jail. */
    env: z.record(z.string(), z.string()).optional(),
    ...actor,
  })
  .refine((b) => Boolean(b.projectId) !== Boolean(b.source), { message: 'give exactly one of projectId or source', path: ['projectId'] });

export const SessionListV1 = z.object({
  /** Only this user's sessions (forced to the actor's own for a member). */
  owner: z.string().max(200).optional(),
  projectId: z.string().max(200).optional(),
  status: z.union([SessionStatusV1, z.array(SessionStatusV1)]).optional(),
  /** Include closed and failed sessions (default: false). */
  includeEnded: z.boolean().optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  /** The `nextCursor` of the previous page. */
  cursor: z.string().max(400).optional(),
  ...actor,
});
export const SessionListReplyV1 = z.object({ sessions: z.array(SessionV1), nextCursor: z.string().optional() });

export const SessionRefRequestV1 = z.object(ref);
export const SessionCloseV1 = z.object({
  ...ref,
  /** Overrides the session's workspace policy for this close. */
  workspacePolicy: z.enum(['remove', 'keep']).optional(),
});

export const SessionExecV1 = z.object({
  ...ref,
  command: z.string().min(1).max(1_000_000),
  /** Id of the command in the session's events; generated when absent. */
  commandId: z.string().min(1).max(200).optional(),
  timeoutMs: z.number().int().min(1).max(86_400_000).optional(),
});
/** API.md's exec result, plus the command's id and whether output was cut (the events carry all of it). */
export const SessionExecReplyV1 = z.object({
  commandId: z.string(),
  exitCode: z.number().int(),
  stdout: z.string(),
  stderr: z.string(),
  durationMs: z.number().nonnegative(),
  timedOut: z.boolean(),
  truncated: z.boolean().optional(),
});

export const SessionInterruptReplyV1 = z.object({ interrupted: z.boolean() });

/** What a session event is about. `output` data: `{commandId?, stream, data, encoding?}`. */
export const SessionEventKindV1 = z.enum([
  'status', // {from, to, reason?}
  'command.started', // {commandId, command, user?}
  'output', // {commandId?, stream: stdout|stderr|pty, data, encoding?}
  'command.completed', // {commandId, command, exitCode, durationMs, timedOut}
  'agent', // an agent run's progress: {type: started|step|text|completed, runId, ...}
  'snapshot', // {snapshotId, label?}
  'shell.crashed', // {reason, restarted}
  'egress.denied', // {host, port, via, reason, count}: the egress proxy refused the jail's traffic
  'note', // anything else worth recording: {message}
  'progress', // an agent's progress report (MCP report_progress): {message, status?, percent?, from?, user?}
  'signal', // an agent asks for a person (MCP signal_user): {message, from?, user?}
]);
export type SessionEventKindV1 = z.infer<typeof SessionEventKindV1>;

/** One entry of a session's event log: the payload of `session.event` and of events replies. */
export const SessionEventV1 = z.object({
  sessionId: z.string(),
  /** Per session, from 1, gapless, in order; the durable log and the live stream share it. */
  seq: z.number().int().positive(),
  /** A SessionEventKindV1 (kept a string so that new kinds do not break old readers). */
  kind: z.string(),
  data: z.unknown(),
  /** When the orchestrator recorded it, ISO 8601. */
  at: z.string(),
});
export type SessionEventV1 = z.infer<typeof SessionEventV1>;

export const SessionEventsV1 = z.object({
  ...ref,
  /** Return events with seq > since. */
  since: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(10_000).default(1000),
});
export const SessionEventsReplyV1 = z.object({
  events: z.array(SessionEventV1),
  /** More events after the last one returned: ask again with since = its seq. */
  hasMore: z.boolean(),
  /** The session's last seq when answering; events after it arrive live as `session.event`. */
  lastSeq: z.number().int().nonnegative(),
});

export const SessionSnapshotV1 = z.object({ ...ref, label: z.string().min(1).max(200).optional() });
export const SessionSnapshotReplyV1 = z.object({
  snapshotId: z.string(),
  sessionId: z.string(),
  workspaceId: z.string(),
  label: z.string().optional(),
  createdAt: z.string(),
  files: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
});
export const SessionSnapshotsReplyV1 = z.object({ snapshots: z.array(SessionSnapshotReplyV1) });
export const SessionDiffV1 = z.object({
  ...ref,
  /** A snapshot of the session's workspace; absent: the state the session started from. */
  from: z.string().min(1).max(200).optional(),
});
export const SessionDiffReplyV1 = DiffReplyV1.extend({
  sessionId: z.string(),
  /** What the diff starts from: "start" or the snapshot id given. */
  from: z.string(),
});

export const SessionForkV1 = z.object({
  ...ref,
  /** Start from this snapshot of the session's workspace; absent: from its live state. */
  snapshotId: z.string().min(1).max(200).optional(),
  /** Owner of the new session; defaults as for create. */
  owner: z.string().min(1).max(200).optional(),
  sandbox: SandboxSpecV1.optional(),
});

export const SessionFileReadV1 = z.object({ ...ref, path: z.string().max(4096).default('.') });
export const SessionFileWriteV1 = z.object({
  ...ref,
  path: z.string().min(1).max(4096),
  content: z.string().max(50 * 1024 * 1024),
  encoding: z.enum(['utf8', 'base64']).default('utf8'),
});
export const SessionInputV1 = z.object({ ...ref, data: z.string().max(1_000_000) });
export const SessionResizeV1 = z.object({ ...ref, cols: z.number().int().min(1).max(1000), rows: z.number().int().min(1).max(1000) });
export const SessionOkV1 = z.object({ ok: z.boolean() });

export const sessionCommands = {
  'orchestrator.session.create': command('orchestrator', { request: SessionCreateV1, reply: SessionV1, summary: 'open a session: prepare the workspace, open the jail; answers once ready (or fails, undoing what was done)' }),
  'orchestrator.session.get': command('orchestrator', { request: SessionRefRequestV1, reply: SessionV1, summary: 'a session' }),
  'orchestrator.session.list': command('orchestrator', { request: SessionListV1, reply: SessionListReplyV1, summary: 'sessions, newest first (a member sees their own)' }),
  'orchestrator.session.close': command('orchestrator', { request: SessionCloseV1, reply: SessionV1, summary: 'close: end the jail, keep or remove the workspace' }),
  'orchestrator.session.exec': command('orchestrator', { request: SessionExecV1, reply: SessionExecReplyV1, summary: 'run a command in the session jail; output streams as session events' }),
  'orchestrator.session.interrupt': command('orchestrator', { request: SessionRefRequestV1, reply: SessionInterruptReplyV1, summary: 'interrupt the running command' }),
  'orchestrator.session.events': command('orchestrator', { request: SessionEventsV1, reply: SessionEventsReplyV1, summary: 'the session events after seq `since`, in order' }),
  'orchestrator.session.snapshot': command('orchestrator', { request: SessionSnapshotV1, reply: SessionSnapshotReplyV1, summary: "snapshot the session's workspace" }),
  'orchestrator.session.snapshots': command('orchestrator', { request: SessionRefRequestV1, reply: SessionSnapshotsReplyV1, summary: "the session workspace's snapshots" }),
  'orchestrator.session.diff': command('orchestrator', { request: SessionDiffV1, reply: SessionDiffReplyV1, summary: "files added, changed and removed in the session's workspace since it started (or a snapshot), with a unified diff" }),
  'orchestrator.session.fork': command('orchestrator', { request: SessionForkV1, reply: SessionV1, summary: 'a new session whose workspace starts from a snapshot or the live state' }),
  'orchestrator.session.file.read': command('orchestrator', { request: SessionFileReadV1, reply: FileReadReplyV1, summary: "a file's content or a folder's listing in the session's workspace" }),
  'orchestrator.session.file.write': command('orchestrator', { request: SessionFileWriteV1, reply: FileWriteReplyV1, summary: "write a file of the session's workspace" }),
  'orchestrator.session.input': command('orchestrator', { request: SessionInputV1, reply: SessionOkV1, summary: "keystrokes to the session's terminal (opened on first use)" }),
  'orchestrator.session.resize': command('orchestrator', { request: SessionResizeV1, reply: SessionOkV1, summary: "resize the session's terminal" }),
} as const;

/** The lifecycle events analytics and others consume; flat, with the session's id and user. */
const SessionFactV1 = z.object({
  sessionId: z.string(),
  /** The owner (analytics groups by it). */
  user: z.string(),
  projectId: z.string().optional(),
  status: SessionStatusV1,
  at: z.string(),
});
export const SessionCreatedV1 = SessionFactV1;
export const SessionReadyV1 = SessionFactV1.extend({ /** From the create request to the jail answering. */ setupMs: z.number().nonnegative() });
export const SessionClosedV1 = SessionFactV1.extend({ reason: z.string().optional(), durationMs: z.number().nonnegative() });
export const SessionFailedV1 = SessionFactV1.extend({ reason: z.string() });

export const sessionEvents = {
  'session.event': event({ schema: SessionEventV1, summary: "an event appended to a session's log (the live stream clients follow)" }),
  'session.created': event({ schema: SessionCreatedV1, summary: 'a session was asked for and is being set up' }),
  'session.ready': event({ schema: SessionReadyV1, summary: 'a session has its workspace and jail' }),
  'session.closed': event({ schema: SessionClosedV1, summary: 'a session ended normally (closed by a user, idle, or its project removed)' }),
  'session.failed': event({ schema: SessionFailedV1, summary: 'a session failed (setup, jail lost, reconciliation)' }),
} as const;
