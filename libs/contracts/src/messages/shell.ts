import { z } from 'zod';
import { command, event } from '../define';
import { EgressCredentialV1, NetworkInForceV1, SandboxNetworkV1, ShellEgressDeniedV1 } from './network';

// The jailed shell. Owned by services/shell; the orchestrator is its main caller. Commands about an
// open jail (exec, interrupt, pty.*, close) are sent to the replica that holds it (`instanceId`
// returned by shell.open) with `bus.request(name, payload, { instanceId })`.

/** Resource limits of a sandbox; absent fields use the shell service's defaults. */
export const SandboxLimitsV1 = z.object({
  /** Memory (RAM + swap) in MiB. */
  memoryMb: z.number().int().min(16).max(1_048_576).optional(),
  /** Maximum number of processes and threads. */
  pids: z.number().int().min(8).max(1_000_000).optional(),
  /** CPU time in seconds, summed over the sandbox's processes. */
  cpuSeconds: z.number().int().min(1).max(31_536_000).optional(),
  /** Disk quota of the workspace in MiB (enforced by the workspace service's volume). */
  diskMb: z.number().int().min(1).max(10_485_760).optional(),
});
export type SandboxLimitsV1 = z.infer<typeof SandboxLimitsV1>;

export const ShellOpenV1 = z.object({
  /** The session the jail belongs to; one jail per session. */
  sessionId: z.string().min(1),
  /** Host path of the prepared workspace, mounted read-write at /workspace. */
  workspaceDir: z.string().min(1),
  /** `none` (default): a network namespace with only loopback; `{allow}` and `open` go out through the egress proxy. */
  network: SandboxNetworkV1.default('none'),
  /**
   * SECRET (headers hold provider keys; redacted in logs). Keys the egress proxy adds for code in
   * the jail; needs `allow` or `open` (each credential's upstream host is allowed implicitly).
   */
  credentials: z.array(EgressCredentialV1).max(16).optional(),
  limits: SandboxLimitsV1.default({}),
  /** Extra environment variables inside the jail. */
  env: z.record(z.string(), z.string()).default({}),
  /**
   * The seq the jail's first session event carries (the session's last seq + 1): from then on the
   * jail's stream numbers every event of the session's log, its own and those appended through it.
   * Absent: 1 (a jail opened outside a session's life, as in tests and benchmarks).
   */
  firstSeq: z.number().int().positive().optional(),
  /** `bubblewrap` (default) or `docker` (projects with a Dockerfile, where an engine answers). */
  driver: z.enum(['bubblewrap', 'docker']).default('bubblewrap'),
  /** Image for the docker driver. */
  image: z.string().optional(),
  /** For the docker driver when `image` is absent: a Dockerfile in the workspace (relative path) to build the image from. */
  dockerfile: z.string().min(1).max(1000).optional(),
  /** Docker driver: the image's user the shell and terminals run as (a devcontainer's `remoteUser`) instead of the workspace's owner. */
  user: z.string().min(1).max(200).optional(),
  /** Docker driver: run once after the container starts, before the reply (a devcontainer's `postCreateCommand`); a failure fails the open. */
  postCreateCommand: z.string().min(1).max(100_000).optional(),
});
export const ShellOpenedV1 = z.object({
  sessionId: z.string(),
  /** The replica that holds the jail: send the session's later commands there. */
  instanceId: z.string(),
  driver: z.enum(['bubblewrap', 'docker']),
  /** Which limits are really enforced, and how (cgroup v1/v2, rlimit, docker). */
  limitsInForce: z.record(z.string(), z.string()),
  /** What the jail can really reach, read back from its network namespace (absent from older replicas). */
  networkInForce: NetworkInForceV1.optional(),
  /** Docker driver: the container's name on the engine. */
  container: z.string().optional(),
});

export const ShellExecV1 = z.object({
  sessionId: z.string().min(1),
  /** A shell command line, run by the session's persistent shell (`cd` and `export` persist). */
  command: z.string().min(1).max(1_000_000),
  /** Id of this command in output events; generated when absent. */
  commandId: z.string().min(1).max(200).optional(),
  /** Overall timeout. */
  timeoutMs: z.number().int().min(1).max(86_400_000).optional(),
  /** Timeout on silence: no output for this long ends the command. */
  silenceTimeoutMs: z.number().int().min(1).max(86_400_000).optional(),
  /** Who asked (for the audit record). */
  user: z.string().optional(),
});
export const ExecResultV1 = z.object({
  commandId: z.string(),
  exitCode: z.number().int(),
  stdout: z.string(),
  stderr: z.string(),
  durationMs: z.number().nonnegative(),
  timedOut: z.boolean(),
  /** stdout or stderr was cut at the result cap; the output events carried all of it. */
  truncated: z.boolean(),
});
export type ExecResultV1 = z.infer<typeof ExecResultV1>;

export const SessionRefV1 = z.object({ /** The session whose jail is meant. */ sessionId: z.string().min(1) });
/** `interrupted: false` when no command was running. */
export const ShellInterruptedV1 = z.object({ interrupted: z.boolean() });
/**
 * `closed: false` when this replica held no such session (closing twice is not an error). `lastSeq`:
 * the last seq the jail's stream gave (every event up to it published), so whoever logs the session's
 * later events continues after it; absent when nothing was closed.
 */
export const ShellClosedReplyV1 = z.object({ closed: z.boolean(), lastSeq: z.number().int().nonnegative().optional() });

export const PtyOpenV1 = z.object({
  sessionId: z.string().min(1),
  /** The size; when absent a new terminal is 80x24 and an open one keeps its size. */
  cols: z.number().int().min(1).max(1000).optional(),
  rows: z.number().int().min(1).max(1000).optional(),
});
export const PtyInputV1 = z.object({ sessionId: z.string().min(1), /** Keystrokes, UTF-8. */ data: z.string().max(1_000_000) });
export const PtyResizeV1 = z.object({ sessionId: z.string().min(1), cols: z.number().int().min(1).max(1000), rows: z.number().int().min(1).max(1000) });
export const OkV1 = z.object({ ok: z.boolean() });

export const ShellListReplyV1 = z.object({
  /** The sessions whose jail this replica holds. */
  sessions: z.array(
    z.object({
      sessionId: z.string(),
      busy: z.boolean(),
      openedAt: z.string(),
      driver: z.enum(['bubblewrap', 'docker']).optional(),
      /** Docker sessions: the container's name. */
      container: z.string().optional(),
    }),
  ),
  instanceId: z.string(),
});

/** The audit record of a command: who, what, exit code, duration. */
export const ShellCommandCompletedV1 = z.object({
  sessionId: z.string(),
  commandId: z.string(),
  command: z.string(),
  user: z.string().optional(),
  exitCode: z.number().int(),
  durationMs: z.number().nonnegative(),
  timedOut: z.boolean(),
  /** The seq of the command's `command.completed` in the session's log. */
  seq: z.number().int().nonnegative(),
});
export const ShellCrashedV1 = z.object({
  sessionId: z.string(),
  /** What happened, for a person. */
  reason: z.string(),
  /** Whether a new shell replaced it (state such as `cd` and variables is lost). */
  restarted: z.boolean(),
});
/** Someone is typing in the session's terminal: published at most once per window while they type (SHELL_TERMINAL_ACTIVITY_MS). */
export const ShellTerminalActiveV1 = z.object({
  sessionId: z.string().min(1),
  /** When the window's first keystroke arrived. */
  at: z.string().datetime(),
});
export const ShellClosedV1 = z.object({
  sessionId: z.string(),
  instanceId: z.string(),
  /** The last seq the jail's stream gave: the session's later events continue after it. */
  lastSeq: z.number().int().nonnegative().optional(),
});

export const shellCommands = {
  'shell.open': command('shell', { request: ShellOpenV1, reply: ShellOpenedV1, summary: 'open a jail for a session on a prepared workspace' }),
  // One command at a time per session: another while one runs is refused with INVALID_STATE; a
  // session this replica does not hold is NOT_FOUND. The reply comes after every output event is published.
  'shell.exec': command('shell', { request: ShellExecV1, reply: ExecResultV1, summary: 'run a command in the session shell; output streams as session.event' }),
  'shell.interrupt': command('shell', { request: SessionRefV1, reply: ShellInterruptedV1, summary: 'interrupt the running command' }),
  'shell.close': command('shell', { request: SessionRefV1, reply: ShellClosedReplyV1, summary: 'end every process of the session' }),
  'shell.pty.open': command('shell', { request: PtyOpenV1, reply: OkV1, summary: 'open (or reattach) an interactive terminal in the jail' }),
  'shell.pty.input': command('shell', { request: PtyInputV1, reply: OkV1, summary: 'keystrokes to the terminal' }),
  'shell.pty.resize': command('shell', { request: PtyResizeV1, reply: OkV1, summary: 'resize the terminal' }),
  'shell.list': command('shell', { request: z.object({}).strict(), reply: ShellListReplyV1, summary: 'the jails this replica holds (for reconciliation)' }),
} as const;

export const shellEvents = {
  'shell.command.completed': event({ schema: ShellCommandCompletedV1, summary: 'a command ended: the audit record' }),
  'shell.crashed': event({ schema: ShellCrashedV1, summary: 'a session shell died' }),
  'shell.closed': event({ schema: ShellClosedV1, summary: 'a jail was closed' }),
  'shell.terminal.active': event({ schema: ShellTerminalActiveV1, summary: "keystrokes reached the session's terminal (coalesced: at most one per window), so the orchestrator does not close it as idle" }),
  'shell.egress.denied': event({ schema: ShellEgressDeniedV1, summary: "the egress proxy refused a jail's connection, request or DNS question (a flood is coalesced, with a count)" }),
} as const;
