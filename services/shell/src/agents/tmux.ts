import { AppError } from '@codeagent/contracts';
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

/** tmux arguments that give `target`'s pane the channel of the run about to start in it, not yet signalled. */
export function runChannelArgs(target: string, channel: string): string[] {
  return ['set-option', '-p', '-t', target, CHANNEL_OPTION, channel, ';', 'set-option', '-p', '-u', '-t', target, SIGNALLED_OPTION];
}

export interface TmuxResult {
  code: number | null;
  stdout: string;
  stderr: string;
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
    const proc = await this.spawn(['sh', '-c', script, 'sh', path.posix.dirname(this.socket), stateDir, AGENT_EXIT_FILE]);
    const stderr: Buffer[] = [];
    proc.stderr.on('data', (c: Buffer) => stderr.push(c));
    proc.stdout.resume();
    proc.stdin.end(TMUX_CONF);
    const code = await proc.exited;
    if (code !== 0) throw new AppError('INTERNAL', `could not prepare ${stateDir} in the jail (exit ${String(code)}): ${Buffer.concat(stderr).toString('utf8').trim()}`);
  }

  /** Writes a small file in the jail (as the jail's user), replacing it. */
  async writeFile(file: string, content: string): Promise<void> {
    const proc = await this.spawn(['sh', '-c', 'cat > "$1.tmp" && mv "$1.tmp" "$1"', 'sh', file]);
    proc.stdout.resume();
    proc.stderr.resume();
    proc.stdin.end(content);
    const code = await proc.exited;
    if (code !== 0) throw new AppError('INTERNAL', `could not write ${file} in the jail (exit ${String(code)})`);
  }

  /** Makes an empty file in the jail (and its folder), or removes it. */
  async mark(file: string, present: boolean): Promise<void> {
    const script = present ? 'mkdir -p "$(dirname "$1")" && : > "$1"' : 'rm -f "$1"';
    const proc = await this.spawn(['sh', '-c', script, 'sh', file]);
    proc.stdout.resume();
    proc.stderr.resume();
    proc.stdin.end();
    const code = await proc.exited;
    if (code !== 0) throw new AppError('INTERNAL', `could not ${present ? 'make' : 'remove'} ${file} in the jail (exit ${String(code)})`);
  }

  /** A small file in the jail, or undefined when it cannot be read. */
  async readFile(file: string): Promise<string | undefined> {
    const proc = await this.spawn(['cat', file]);
    const out: Buffer[] = [];
    proc.stdout.on('data', (c: Buffer) => out.push(c));
    proc.stderr.resume();
    proc.stdin.end();
    return (await proc.exited) === 0 ? Buffer.concat(out).toString('utf8') : undefined;
  }

  /** Runs one tmux command to its end; `env` is the environment of the client (and of a server it starts). */
  async run(args: string[], env?: Record<string, string>): Promise<TmuxResult> {
    const proc = await this.start(args, env);
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    proc.stdout.on('data', (c: Buffer) => stdout.push(c));
    proc.stderr.on('data', (c: Buffer) => stderr.push(c));
    proc.stdin.end();
    const code = await proc.exited;
    return { code, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') };
  }

  /** Like run, but a non-zero exit is an error naming what tmux said. */
  async must(args: string[], env?: Record<string, string>): Promise<string> {
    const r = await this.run(args, env);
    if (r.code !== 0) throw new AppError('INTERNAL', `tmux ${args[0]} failed in the jail (exit ${String(r.code)}): ${r.stderr.trim() || r.stdout.trim()}`);
    return r.stdout;
  }

  /** A long-running tmux client (e.g. `wait-for died`): the caller awaits or kills it. */
  start(args: string[], env?: Record<string, string>) {
    return this.spawn(['tmux', '-S', this.socket, ...args], env);
  }

  private async spawn(argv: string[], env?: Record<string, string>) {
    if (!this.sandbox.spawn) throw new AppError('SANDBOX_UNAVAILABLE', `the ${this.sandbox.driver} driver cannot start processes beside the shell, so it cannot run outside agents`);
    return this.sandbox.spawn(argv, env ? { env } : {});
  }
}
