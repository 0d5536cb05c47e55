import { AppError } from '@codeagent/contracts';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Sandbox } from '@codeagent/sandbox';

/** Pane options of the death signal (see agentPaneCommand): the run's channel, and whether its wrapper signalled it. */
export const CHANNEL_OPTION = '@codeagent-channel';
const SIGNALLED_OPTION = '@codeagent-signalled';

/** Where an agent's tmux server listens inside the jail (its /tmp is the jail's own tmpfs). */
export function tmuxSocketPath(name: string): string {
  return `/tmp/codeagent-agents/${name}.sock`;
}

/**
 * Seed 001's tmux settings, plus what the supervisor needs: a pane that dies stays (remain-on-exit)
 * so its exit status can be read and its screen captured, and every death signals its run's channel
 * once (see agentPaneCommand): the pane-died hook signals only when the pane's wrapper has not.
 */
export const TMUX_CONF = [
  'set -g history-limit 100000',
  'set -g mouse on',
  "set -g terminal-overrides 'xterm*:smcup@:rmcup@'",
  'set -g base-index 1',
  'setw -g mode-keys vi',
  'unbind c',
  'unbind &',
  'unbind s',
  'set -g status off',
  'set -g default-terminal tmux-256color',
  'set -g remain-on-exit on',
  `set-hook -g pane-died "if -F '#{!=:#{${SIGNALLED_OPTION}},1}' 'run-shell -C \\"wait-for -S #{${CHANNEL_OPTION}}\\"'"`,
  '',
].join('\n');

/** Where the pane's wrapper writes the agent's exit code, in its state folder. */
export const AGENT_EXIT_FILE = '.exit-code';

/**
 * The agent under a small sh that records its exit code in the state folder and signals the run's
 * channel, because tmux below 3.5 built with utempter (Debian 12's 3.3a) loses the SIGCHLD of many panes
 * (tmux#311, #4559): it never reaps them, the pane reads dead without a status and the pane-died hook
 * never fires. The hook still signals for a wrapper that was killed before it could.
 *
 * A supervisor must see each death at once, and tmux's channels lose signals: tmux remembers one signal
 * nobody waits for, a second one cancels it, and a killed `wait-for` client stays a waiter that takes
 * the next signal. So each run has a channel of its own (runChannelArgs, with the respawn or new
 * session that starts it), signalled exactly once: the wrapper marks its pane in the same tmux command
 * that signals, and the hook, which runs after tmux reaps the wrapper, signals an unmarked pane only.
 *
 * The sh traps SIGINT (C-c goes to the agent, not to it); the agent itself gets the default handlers
 * back. $TMUX names the pane's server, $TMUX_PANE the pane.
 */
export function agentPaneCommand(channel: string, command: string, args: string[]): string[] {
  const script = `ch=$1; shift; f="$CODEAGENT_AGENT_STATE/${AGENT_EXIT_FILE}"; rm -f "$f"; trap : INT QUIT; "$@"; c=$?; echo $c > "$f"; tmux set-option -p -t "$TMUX_PANE" ${SIGNALLED_OPTION} 1 \\; wait-for -S "$ch"; exit $c`;
  return ['sh', '-c', script, 'sh', channel, command, ...args];
}

/** One run of an agent in the tmux session `name`: its environment, its command, and its own channel. */
export interface AgentRun {
  name: string;
  env: Record<string, string>;
  command: string;
  args: string[];
  channel: string;
}

/** A wait channel for one run of an agent (see agentPaneCommand). */
export function newRunChannel(): string {
  return `died-${randomBytes(6).toString('hex')}`;
}

/** tmux arguments that start `run` as the first of a new session, configured by the file `conf`. */
export function newSessionArgs(run: AgentRun, conf: string): string[] {
  const session = ['-f', conf, 'new-session', '-d', '-s', run.name, '-x', '200', '-y', '50', '-c', '/workspace', ...envArgs(run.env)];
  return [...session, '--', ...agentPaneCommand(run.channel, run.command, run.args), ';', ...runChannelArgs(run)];
}

/** tmux arguments that start `run` in the session's pane again (-k: the last run's wrapper may not have gone yet). */
export function respawnArgs(run: AgentRun): string[] {
  return [...runChannelArgs(run), ';', 'respawn-pane', '-k', '-t', run.name, '-c', '/workspace', ...envArgs(run.env), ...agentPaneCommand(run.channel, run.command, run.args)];
}

/** Gives the pane the channel of the run starting in it, not yet signalled: in the same tmux command as the start. */
function runChannelArgs(run: AgentRun): string[] {
  return ['set-option', '-p', '-t', run.name, CHANNEL_OPTION, run.channel, ';', 'set-option', '-p', '-u', '-t', run.name, SIGNALLED_OPTION];
}

function envArgs(env: Record<string, string>): string[] {
  return Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
}

/** How a process run in a jail ended, and what it printed. */
export interface JailRunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `argv` in the jail to its end (as the jail's user, in its namespaces and cgroups), `input` on its stdin. */
export async function runInJail(sandbox: Sandbox, argv: string[], opts: { env?: Record<string, string>; input?: string } = {}): Promise<JailRunResult> {
  const proc = await spawnInSandbox(sandbox, argv, opts.env);
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  proc.stdout.on('data', (c: Buffer) => stdout.push(c));
  proc.stderr.on('data', (c: Buffer) => stderr.push(c));
  proc.stdin.end(opts.input);
  const code = await proc.exited;
  return { code, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') };
}

function spawnInSandbox(sandbox: Sandbox, argv: string[], env?: Record<string, string>) {
  if (!sandbox.spawn) throw new AppError('SANDBOX_UNAVAILABLE', `the ${sandbox.driver} driver cannot start processes beside the shell, so it cannot run outside agents`);
  return sandbox.spawn(argv, env ? { env } : {});
}

/**
 * The tmux of one agent, run inside the session's jail: every call is a `tmux -S <socket> ...` process
 * joined to the jail (same namespaces, cgroups and limits), so the server it starts, and the agent in
 * its pane, live in the jail and die with it.
 */
export class JailTmux {
  readonly socket: string;

  constructor(
    private readonly sandbox: Sandbox,
    name: string,
  ) {
    this.socket = tmuxSocketPath(name);
  }

  /**
   * Makes the socket's folder and the agent's state folder in the jail and writes its tmux.conf
   * there, as the jail's user (so the agent owns its state folder); removes the last run's exit code.
   */
  async prepare(stateDir: string): Promise<void> {
    const script = 'mkdir -p "$1" "$2" && rm -f "$2/$3" && cat > "$2/tmux.conf"';
    const r = await runInJail(this.sandbox, ['sh', '-c', script, 'sh', path.posix.dirname(this.socket), stateDir, AGENT_EXIT_FILE], { input: TMUX_CONF });
    if (r.code !== 0) throw new AppError('INTERNAL', `could not prepare ${stateDir} in the jail (exit ${String(r.code)}): ${r.stderr.trim()}`);
  }

  /** Writes a small file in the jail (as the jail's user), replacing it. */
  async writeFile(file: string, content: string): Promise<void> {
    const r = await runInJail(this.sandbox, ['sh', '-c', 'cat > "$1.tmp" && mv "$1.tmp" "$1"', 'sh', file], { input: content });
    if (r.code !== 0) throw new AppError('INTERNAL', `could not write ${file} in the jail (exit ${String(r.code)})`);
  }

  /** Makes an empty file in the jail (and its folder), or removes it. */
  async mark(file: string, present: boolean): Promise<void> {
    const script = present ? 'mkdir -p "$(dirname "$1")" && : > "$1"' : 'rm -f "$1"';
    const r = await runInJail(this.sandbox, ['sh', '-c', script, 'sh', file]);
    if (r.code !== 0) throw new AppError('INTERNAL', `could not ${present ? 'make' : 'remove'} ${file} in the jail (exit ${String(r.code)})`);
  }

  /** A small file in the jail, or undefined when it cannot be read. */
  async readFile(file: string): Promise<string | undefined> {
    const r = await runInJail(this.sandbox, ['cat', file]);
    return r.code === 0 ? r.stdout : undefined;
  }

  /** Runs one tmux command to its end; `env` is the environment of the client (and of a server it starts). */
  run(args: string[], env?: Record<string, string>): Promise<JailRunResult> {
    return runInJail(this.sandbox, ['tmux', '-S', this.socket, ...args], { env });
  }

  /** Like run, but a non-zero exit is an error naming what tmux said. */
  async must(args: string[], env?: Record<string, string>): Promise<string> {
    const r = await this.run(args, env);
    if (r.code !== 0) throw new AppError('INTERNAL', `tmux ${args[0]} failed in the jail (exit ${String(r.code)}): ${r.stderr.trim() || r.stdout.trim()}`);
    return r.stdout;
  }

  /** A long-running tmux client (e.g. `wait-for died`): the caller awaits or kills it. */
  start(args: string[], env?: Record<string, string>) {
    return spawnInSandbox(this.sandbox, ['tmux', '-S', this.socket, ...args], env);
  }
}
