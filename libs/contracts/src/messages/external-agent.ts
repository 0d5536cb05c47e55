import { z } from 'zod';
import { command, event } from '../define';

// Outside agents (seed 001): any CLI agent (Claude Code, Codex, Aider...) run in a session's jail, in
// a tmux session of its own, under a supervisor in the shell service that restarts it on crashes. The
// gateway sends shell.agent.* straight to the shell replica holding the jail (its placement cache),
// as it does exec, after checking the caller.

/** An agent's name: part of tmux's session name, of its state folder and of the SSH user `<sessionId>+<name>`. */
export const ExternalAgentNameV1 = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, 'an agent name is 1-40 characters of a-z, 0-9, "_" and "-", starting with a letter or digit');

/** How crashes are handled: restart after baseDelayMs·2^(n-1) for the n-th straight failure, give up after maxFailures. */
export const ExternalAgentRestartV1 = z.object({
  /** Straight failures (exit code other than 0) before the supervisor gives up. Default 5. */
  maxFailures: z.number().int().min(1).max(100).default(5),
  /** The first restart's delay; each further straight failure doubles it. Default 2000 (seed 001: 2, 4, 8, 16 s). */
  baseDelayMs: z.number().int().min(0).max(3_600_000).default(2000),
});
export type ExternalAgentRestartV1 = z.infer<typeof ExternalAgentRestartV1>;

/** `POST /api/v1/sessions/:id/agents/external`. */
export const ExternalAgentStartBodyV1 = z
  .object({
    name: ExternalAgentNameV1,
    /** The program, looked up on the jail's PATH (e.g. `claude`); no shell parses it. */
    command: z.string().min(1).max(4096),
    args: z.array(z.string().max(65_536)).max(256).default([]),
    /**
     * SECRET: extra environment (e.g. an API key), never returned. Stored sealed (AES-256-GCM, the shell's
     * key) in the agent's state folder; when absent, the env stored by the last start of this agent
     * with the same command is used again (so a reopened session needs no key handed over again).
     */
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name'), z.string().max(65_536)).optional(),
    restart: ExternalAgentRestartV1.default({ maxFailures: 5, baseDelayMs: 2000 }),
  })
  .strict();
export type ExternalAgentStartBodyV1 = z.infer<typeof ExternalAgentStartBodyV1>;

export const ExternalAgentStatusNameV1 = z.enum(['running', 'backoff', 'exited', 'gave-up']);

/** An outside agent as the API shows it (never its env). */
export const ExternalAgentV1 = z.object({
  name: z.string(),
  command: z.string(),
  args: z.array(z.string()),
  /** `running`: in its tmux pane; `backoff`: crashed, restarting after a delay; `exited`: ended with 0 or was stopped; `gave-up`: too many straight failures. */
  status: ExternalAgentStatusNameV1,
  /** Restarts so far (not counting the first start). */
  restarts: z.number().int().nonnegative(),
  /** Straight failures now (0 after a run that was not a crash). */
  failures: z.number().int().nonnegative(),
  /** The last run's exit code; null before any run ended (128+N for signal N). */
  lastExitCode: z.number().int().nullable(),
  /** When the current (or last) run started, ISO 8601. */
  startedAt: z.string(),
  /** The tmux session in the jail (`tmux -S <socket> attach -t <tmuxSession>`). */
  tmuxSession: z.string(),
  /** The agent's state folder in the jail (its HOME: conversation history and config); kept in the workspace. */
  stateDir: z.string(),
  /** Names of the env variables it was given (never their values). */
  envNames: z.array(z.string()),
  restart: z.object({ maxFailures: z.number().int(), baseDelayMs: z.number().int() }),
});
export type ExternalAgentV1 = z.infer<typeof ExternalAgentV1>;

/** `POST .../keys`: literal text, or tmux key names (`["C-c"]`, `["Enter"]`, `["Up"]`); `enter` adds Enter after them. */
export const ExternalAgentKeysBodyV1 = z
  .object({
    keys: z.union([z.string().min(1).max(100_000), z.array(z.string().min(1).max(100)).min(1).max(1000)]),
    enter: z.boolean().default(false),
  })
  .strict();
export const ExternalAgentScreenQueryV1 = z.object({ lines: z.coerce.number().int().min(1).max(100_000).default(50) });
export const ExternalAgentScreenV1 = z.object({
  name: z.string(),
  /** The last `lines` lines of the pane (history included), trailing blank lines removed. */
  text: z.string(),
  lines: z.number().int(),
});
export const ExternalAgentStoppedV1 = z.object({ name: z.string(), stopped: z.boolean() });
export const ExternalAgentListV1 = z.object({ agents: z.array(ExternalAgentV1) });

const sref = { sessionId: z.string().min(1).max(200) };
const named = { ...sref, name: ExternalAgentNameV1 };

export const ShellAgentStartV1 = z.object({ ...sref, ...ExternalAgentStartBodyV1.shape });
export const ShellAgentRefV1 = z.object(named);
export const ShellAgentKeysV1 = z.object({ ...named, ...ExternalAgentKeysBodyV1.shape });
export const ShellAgentScreenV1 = z.object({ ...named, ...ExternalAgentScreenQueryV1.shape });

/** What a supervisor did: `started` (a run began), `exited` (a run ended), `restarting` (after delayMs), `gave-up`, `stopped` (asked to). */
export const ShellAgentChangedV1 = z.object({
  sessionId: z.string(),
  name: z.string(),
  type: z.enum(['started', 'exited', 'restarting', 'gave-up', 'stopped']),
  /** The run it is about, from 1. */
  attempt: z.number().int().positive(),
  exitCode: z.number().int().optional(),
  /** Straight failures so far. */
  failures: z.number().int().nonnegative(),
  /** `restarting`: the wait before the next run. */
  delayMs: z.number().int().nonnegative().optional(),
  at: z.string(),
});
export type ShellAgentChangedV1 = z.infer<typeof ShellAgentChangedV1>;

/**
 * A terminal of its own attached to an agent (`ssh <sessionId>+<agent>@host`): a PTY in the jail running
 * `tmux attach` to the agent's session, apart from the session's terminal. The caller names it
 * (`attachId`) and follows its `shell.agent.attach.output` events, which may begin before the reply.
 */
const AttachIdV1 = z.string().regex(/^[A-Za-z0-9_-]{8,80}$/);
export const ShellAgentAttachV1 = z.object({
  ...named,
  attachId: AttachIdV1,
  cols: z.number().int().min(1).max(1000).default(80),
  rows: z.number().int().min(1).max(1000).default(24),
});
/** Keystrokes to an attach terminal, and/or its new size. */
export const ShellAgentAttachInputV1 = z.object({
  ...sref,
  attachId: AttachIdV1,
  data: z.string().max(1_000_000).optional(),
  cols: z.number().int().min(1).max(1000).optional(),
  rows: z.number().int().min(1).max(1000).optional(),
});
export const ShellAgentAttachCloseV1 = z.object({ ...sref, attachId: AttachIdV1 });
/** What an attach terminal printed (in order, per attachId), or its end (tmux detached, or the agent's tmux ended). */
export const ShellAgentAttachOutputV1 = z.object({
  sessionId: z.string(),
  attachId: z.string(),
  /** The bytes, base64; empty with `ended`. */
  data: z.string(),
  /** Set on the last event of the terminal: the tmux client's exit code (0 after a detach). */
  ended: z.object({ exitCode: z.number().int() }).optional(),
});
export type ShellAgentAttachOutputV1 = z.infer<typeof ShellAgentAttachOutputV1>;

export const externalAgentCommands = {
  'shell.agent.start': command('shell', { request: ShellAgentStartV1, reply: ExternalAgentV1, summary: "start a command in the jail under a tmux session and a supervisor" }),
  'shell.agent.status': command('shell', { request: ShellAgentRefV1, reply: ExternalAgentV1, summary: "an outside agent's state" }),
  'shell.agent.list': command('shell', { request: z.object(sref), reply: ExternalAgentListV1, summary: "the session's outside agents" }),
  'shell.agent.keys': command('shell', { request: ShellAgentKeysV1, reply: z.object({ ok: z.boolean() }), summary: 'tmux send-keys to the agent' }),
  'shell.agent.screen': command('shell', { request: ShellAgentScreenV1, reply: ExternalAgentScreenV1, summary: "the agent's pane (tmux capture-pane)" }),
  'shell.agent.stop': command('shell', { request: ShellAgentRefV1, reply: ExternalAgentStoppedV1, summary: 'stop the supervisor and the agent' }),
  'shell.agent.attach': command('shell', { request: ShellAgentAttachV1, reply: z.object({ ok: z.boolean() }), summary: "a terminal of its own attached to the agent's tmux (its output: shell.agent.attach.output)" }),
  'shell.agent.attach.input': command('shell', { request: ShellAgentAttachInputV1, reply: z.object({ ok: z.boolean() }), summary: 'keystrokes to (or a new size of) an attach terminal' }),
  'shell.agent.attach.close': command('shell', { request: ShellAgentAttachCloseV1, reply: z.object({ closed: z.boolean() }), summary: 'ends an attach terminal (the agent runs on)' }),
};

export const externalAgentEvents = {
  'shell.agent.changed': event({ schema: ShellAgentChangedV1, summary: "an outside agent's supervisor started, saw an exit, restarts, gave up or stopped" }),
  'shell.agent.attach.output': event({ schema: ShellAgentAttachOutputV1, summary: 'what an attach terminal printed, or its end' }),
};
