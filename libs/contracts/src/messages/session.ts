import { z } from 'zod';
import { command, event } from '../define';
import { AgentRunCompletedV1, AgentRunStartedV1, AgentRunStepEventV1, AgentRunTextV1 } from './agent';
import { CredentialNameV1, NetworkInForceV1, SandboxNetworkV1 } from './network';
import { ExecResultV1, SandboxLimitsV1 } from './shell';
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
  /** The sandbox driver that runs it (from shell.open). */
  driver: z.enum(['bubblewrap', 'docker']).optional(),
  /** Docker sessions: the container's name on the engine. */
  container: z.string().optional(),
  /** Why the driver differs from the one its project's discovery chose (e.g. a fallback), for a person. */
  driverNote: z.string().optional(),
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
    /** The sandbox driver, overriding the one the project's discovery chose (API.md "Project discovery"). */
    driver: z.enum(['bubblewrap', 'docker']).optional(),
    /** When the discovery chose docker and this host has no engine: run in a jail instead of failing (default false). */
    fallbackToBubblewrap: z.boolean().optional(),
    ...actor,
  })
  .refine((b) => Boolean(b.projectId) !== Boolean(b.source), { message: 'give exactly one of projectId or source', path: ['projectId'] })
  // The same rule for JSON Schema readers (OpenAPI, AsyncAPI), which cannot run the refinement.
  .meta({ oneOf: [{ required: ['projectId'] }, { required: ['source'] }] });

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
export const SessionInterruptReplyV1 = z.object({ interrupted: z.boolean() });

/** What a session event is about: the `kind` its `data` is keyed on (SessionEventV1). */
export const SessionEventKindV1 = z.enum([
  'status',
  'command.started',
  'output',
  'command.completed',
  'agent',
  'snapshot',
  'shell.crashed',
  'egress.denied',
  'note',
  'progress',
  'signal',
  'pruned',
]);
export type SessionEventKindV1 = z.infer<typeof SessionEventKindV1>;

// The data of each kind. Loose objects: a producer may add a field (a compatible change) without
// breaking a reader; a new kind, or a field changing meaning, is a new version of the union.

/** `status`: the session moved from one state to another. */
export const SessionStatusDataV1 = z.looseObject({
  /** The state before (null for the first event, `creating`). */
  from: SessionStatusV1.nullable(),
  to: SessionStatusV1,
  /** Why, for a person (a failure, an idle close, a recovery). */
  reason: z.string().optional(),
});
/** `command.started`: a command began in the jail. */
export const CommandStartedDataV1 = z.looseObject({
  commandId: z.string(),
  /** The command line. */
  command: z.string(),
  /** Who asked, for the audit record. */
  user: z.string().optional(),
});
/** `output`: a chunk of a command's (or the terminal's) output. */
export const OutputDataV1 = z.looseObject({
  /** The command it belongs to; absent for terminal (pty) output. */
  commandId: z.string().optional(),
  stream: z.enum(['stdout', 'stderr', 'pty']),
  /** The bytes, as UTF-8 text, or base64 when `encoding` says so. */
  data: z.string(),
  encoding: z.literal('base64').optional(),
});
/** `command.completed`: the one authoritative completion of a command. */
export const CommandCompletedDataV1 = z.looseObject({
  commandId: z.string(),
  command: z.string(),
  exitCode: z.number().int(),
  durationMs: z.number().nonnegative(),
  timedOut: z.boolean(),
});
/** `agent`: an agent run's progress, the agent.run.* event without its sessionId, keyed on `type`. */
export const AgentDataV1 = z.discriminatedUnion('type', [
  AgentRunStartedV1.omit({ sessionId: true }).extend({ type: z.literal('started') }).loose(),
  AgentRunStepEventV1.omit({ sessionId: true }).extend({ type: z.literal('step') }).loose(),
  AgentRunTextV1.omit({ sessionId: true }).extend({ type: z.literal('text') }).loose(),
  AgentRunCompletedV1.omit({ sessionId: true }).extend({ type: z.literal('completed') }).loose(),
]);
export type AgentDataV1 = z.infer<typeof AgentDataV1>;
/** `snapshot`: the workspace was snapshotted. */
export const SnapshotDataV1 = z.looseObject({ snapshotId: z.string(), label: z.string().optional() });
/**
 * `shell.crashed`: the jail's shell died (and was or was not restarted). When a whole kept jail was gone
 * at a shell replica's start (its host restarted), the new jail says what it restored and what was lost.
 */
export const ShellCrashedDataV1 = z.looseObject({
  reason: z.string(),
  restarted: z.boolean(),
  /** Command lines of the lost jail's processes beside its shell, as last seen. */
  lostProcesses: z.array(z.string()).optional(),
  /** The working folder restored in the new jail's shell. */
  restoredCwd: z.string().optional(),
  /** How many exported variables were restored. */
  restoredExports: z.number().int().nonnegative().optional(),
});
/** `egress.denied`: the egress proxy refused the jail's traffic (ShellEgressDeniedV1 without sessionId). */
export const EgressDeniedDataV1 = z.looseObject({
  host: z.string(),
  port: z.number().int(),
  /** `connect`, `http`, `dns` or `credential`. */
  via: z.string(),
  reason: z.string(),
  /** Attempts it stands for. */
  count: z.number().int().positive(),
  /** When the first was refused. */
  at: z.string().optional(),
});
/** `note`: anything else worth recording. */
export const NoteDataV1 = z.looseObject({ message: z.string() });
/** `progress`: an agent's progress report (MCP report_progress). */
export const ProgressDataV1 = z.looseObject({
  message: z.string(),
  status: z.string().optional(),
  percent: z.number().optional(),
  /** Which agent reported it. */
  from: z.string().optional(),
  user: z.string().optional(),
});
/** `signal`: an agent asks for a person (MCP signal_user). */
export const SignalDataV1 = z.looseObject({ message: z.string(), from: z.string().optional(), user: z.string().optional() });
/**
 * `pruned`: never stored; a replay that asks for events the retention removed gets this first, with
 * the seq of the last one gone (so the next event follows it), naming the range: never a silent gap.
 */
export const PrunedDataV1 = z.looseObject({
  /** The first seq gone. */
  from: z.number().int().nonnegative(),
  /** The last seq gone (this event's seq). */
  to: z.number().int().nonnegative(),
  reason: z.string(),
});

/** The data schema of each kind. */
export const SessionEventDataV1 = {
  status: SessionStatusDataV1,
  'command.started': CommandStartedDataV1,
  output: OutputDataV1,
  'command.completed': CommandCompletedDataV1,
  agent: AgentDataV1,
  snapshot: SnapshotDataV1,
  'shell.crashed': ShellCrashedDataV1,
  'egress.denied': EgressDeniedDataV1,
  note: NoteDataV1,
  progress: ProgressDataV1,
  signal: SignalDataV1,
  pruned: PrunedDataV1,
} as const satisfies Record<SessionEventKindV1, z.ZodType>;
/** The data of one kind of session event. */
export type SessionEventData<K extends SessionEventKindV1> = z.infer<(typeof SessionEventDataV1)[K]>;

const eventOf = <K extends SessionEventKindV1>(kind: K) =>
  z.object({
    sessionId: z.string(),
    /** Per session, from 1, gapless, in order; the durable log and the live stream share it. */
    seq: z.number().int().positive(),
    kind: z.literal(kind),
    data: SessionEventDataV1[kind],
    /** When it was recorded, ISO 8601. */
    at: z.string(),
  });

/** Every kind but `output`: what the Socket.IO `status` message carries. */
export const SessionStatusEventV1 = z.discriminatedUnion('kind', [
  eventOf('status'),
  eventOf('command.started'),
  eventOf('command.completed'),
  eventOf('agent'),
  eventOf('snapshot'),
  eventOf('shell.crashed'),
  eventOf('egress.denied'),
  eventOf('note'),
  eventOf('progress'),
  eventOf('signal'),
  eventOf('pruned'),
]);
export type SessionStatusEventV1 = z.infer<typeof SessionStatusEventV1>;
/** An `output` event: what the Socket.IO `stream` message carries. */
export const SessionOutputEventV1 = eventOf('output');
export type SessionOutputEventV1 = z.infer<typeof SessionOutputEventV1>;

/**
 * One entry of a session's event log: the payload of `session.event` and of events replies, a union
 * keyed on `kind` (narrow on it: `if (e.kind === 'output') e.data.stream ...`). A reader that meets a
 * kind it does not know (a newer producer) fails the parse: new kinds are a new version.
 */
export const SessionEventV1 = z.discriminatedUnion('kind', [SessionOutputEventV1, ...SessionStatusEventV1.options]);
export type SessionEventV1 = z.infer<typeof SessionEventV1>;

/**
 * A session event as the bus carries it (`session.event`, `session.event.batch`): output may be the
 * bytes the jail read, as they were read (libs/bus sends them beside the JSON, not inside it), so
 * the shell neither decodes nor escapes them and the gateway hands them to a binary subscriber as
 * they came. Readers that store or show it as text use libs/bus's `outputText`; as bytes, `outputBytes`.
 */
export const SessionBusOutputEventV1 = SessionOutputEventV1.extend({
  data: OutputDataV1.extend({
    /** UTF-8 text, base64 when `encoding` says so, or the bytes themselves. */
    data: z.union([z.string(), z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'bytes')]),
  }),
});
export const SessionBusEventV1 = z.discriminatedUnion('kind', [SessionBusOutputEventV1, ...SessionStatusEventV1.options]);
export type SessionBusEventV1 = z.infer<typeof SessionBusEventV1>;
export type SessionBusOutputDataV1 = z.infer<typeof SessionBusOutputEventV1>['data'];

/**
 * Consecutive events of one session's log in one message: what the jail's stream had queued together
 * (a command's start and its busy, its completion and its idle, output read meanwhile), so each costs
 * the broker and every consumer one message instead of several. Read as the same events one by one.
 */
export const SessionEventBatchV1 = z
  .object({ sessionId: z.string().min(1), events: z.array(SessionBusEventV1).min(1).max(1024) })
  .refine((b) => b.events.every((e, i) => e.sessionId === b.sessionId && (i === 0 || e.seq === b.events[i - 1]!.seq + 1)), {
    message: "every event is the batch's session's, in consecutive seqs",
    path: ['events'],
  });
export type SessionEventBatchV1 = z.infer<typeof SessionEventBatchV1>;
/** The event of one kind. */
export type SessionEventOf<K extends SessionEventKindV1> = Extract<SessionEventV1, { kind: K }>;

/** The kinds an orchestrator appends through the jail's stream (output is the shell's own; pruned is never stored). */
export type AppendedKindV1 = Exclude<SessionEventKindV1, 'output' | 'pruned'>;
const appendOf = <K extends AppendedKindV1>(kind: K) => z.object({ sessionId: z.string().min(1), kind: z.literal(kind), data: SessionEventDataV1[kind] });
/**
 * `shell.session.append`: an event the orchestrator adds to a session's log while its jail lives,
 * sent to the shell replica holding the jail: the jail's stream gives it the next seq, so it takes its
 * place among the output in the one order every reader sees.
 */
export const ShellSessionAppendV1 = z.discriminatedUnion('kind', [
  appendOf('status'),
  appendOf('command.started'),
  appendOf('command.completed'),
  appendOf('agent'),
  appendOf('snapshot'),
  appendOf('shell.crashed'),
  appendOf('egress.denied'),
  appendOf('note'),
  appendOf('progress'),
  appendOf('signal'),
]);
export type ShellSessionAppendV1 = z.infer<typeof ShellSessionAppendV1>;
/** The seq the event was given (published and confirmed by the broker when this answers). */
export const ShellSessionAppendedV1 = z.object({ seq: z.number().int().positive() });

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

export const SessionRestoreV1 = z.object({
  ...ref,
  /** One of the session's snapshots: the workspace is put back to it, in place, while the session runs. */
  snapshotId: z.string().min(1).max(200),
});
export const SessionRestoreReplyV1 = z.object({
  sessionId: z.string(),
  snapshotId: z.string(),
  /** When the workspace was back to the snapshot. */
  restoredAt: z.string(),
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
export const SessionResizeV1 = z.object({ ...ref, cols: z.number().int().min(1).max(1000), rows: z.number().int().min(1).max(1000) });
export const SessionOkV1 = z.object({ ok: z.boolean() });

export const sessionCommands = {
  'orchestrator.session.create': command('orchestrator', { request: SessionCreateV1, reply: SessionV1, summary: 'open a session: prepare the workspace, open the jail; answers once ready (or fails, undoing what was done)' }),
  'orchestrator.session.get': command('orchestrator', { request: SessionRefRequestV1, reply: SessionV1, summary: 'a session' }),
  'orchestrator.session.list': command('orchestrator', { request: SessionListV1, reply: SessionListReplyV1, summary: 'sessions, newest first (a member sees their own)' }),
  'orchestrator.session.close': command('orchestrator', { request: SessionCloseV1, reply: SessionV1, summary: 'close: end the jail, keep or remove the workspace' }),
  'orchestrator.session.exec': command('orchestrator', { request: SessionExecV1, reply: ExecResultV1, summary: 'run a command in the session jail; output streams as session events' }),
  'orchestrator.session.interrupt': command('orchestrator', { request: SessionRefRequestV1, reply: SessionInterruptReplyV1, summary: 'interrupt the running command' }),
  'orchestrator.session.events': command('orchestrator', { request: SessionEventsV1, reply: SessionEventsReplyV1, summary: 'the session events after seq `since`, in order' }),
  'orchestrator.session.snapshot': command('orchestrator', { request: SessionSnapshotV1, reply: SessionSnapshotReplyV1, summary: "snapshot the session's workspace" }),
  'orchestrator.session.snapshots': command('orchestrator', { request: SessionRefRequestV1, reply: SessionSnapshotsReplyV1, summary: "the session workspace's snapshots" }),
  'orchestrator.session.diff': command('orchestrator', { request: SessionDiffV1, reply: SessionDiffReplyV1, summary: "files added, changed and removed in the session's workspace since it started (or a snapshot), with a unified diff" }),
  'orchestrator.session.restore': command('orchestrator', { request: SessionRestoreV1, reply: SessionRestoreReplyV1, summary: "put the session's workspace back to one of its snapshots, in place (the jail sees it at once)" }),
  'orchestrator.session.fork': command('orchestrator', { request: SessionForkV1, reply: SessionV1, summary: 'a new session whose workspace starts from a snapshot or the live state' }),
  'orchestrator.session.file.read': command('orchestrator', { request: SessionFileReadV1, reply: FileReadReplyV1, summary: "a file's content or a folder's listing in the session's workspace" }),
  'orchestrator.session.file.write': command('orchestrator', { request: SessionFileWriteV1, reply: FileWriteReplyV1, summary: "write a file of the session's workspace" }),
  'orchestrator.session.resize': command('orchestrator', { request: SessionResizeV1, reply: SessionOkV1, summary: "resize the session's terminal" }),
  // Answered by the shell (sent to the replica holding the jail); declared here beside the union it carries.
  'shell.session.append': command('shell', { request: ShellSessionAppendV1, reply: ShellSessionAppendedV1, summary: "append an event to a session's log through its jail's stream (the jail numbers it)" }),
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
  'session.event': event({ schema: SessionBusEventV1, perSession: true, summary: "an event appended to a session's log (the live stream clients follow)" }),
  'session.event.batch': event({ schema: SessionEventBatchV1, perSession: true, summary: "consecutive events of a session's log in one message (read as session.event each)" }),
  'session.created': event({ schema: SessionCreatedV1, summary: 'a session was asked for and is being set up' }),
  'session.ready': event({ schema: SessionReadyV1, summary: 'a session has its workspace and jail' }),
  'session.closed': event({ schema: SessionClosedV1, summary: 'a session ended normally (closed by a user, idle, or its project removed)' }),
  'session.failed': event({ schema: SessionFailedV1, summary: 'a session failed (setup, jail lost, reconciliation)' }),
} as const;
