import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { AppError, type ExternalAgentStartBodyV1, type ExternalAgentV1, type ShellAgentChangedV1 } from '@codeagent/contracts';
import type { JailProcess } from '@codeagent/sandbox';
import type { Logger } from '@codeagent/telemetry';
import { AGENT_EXIT_FILE, CHANNEL_OPTION, newRunChannel, newSessionArgs, respawnArgs, type AgentRun, type JailTmux } from './tmux';

/** How often a supervisor reads its pane's state when no death was signalled. */
const SAFETY_POLL_MS = 10_000;
/** Reads of a dead pane's exit code (and pauses between them) before it counts as unknown (-1). */
const READ_TRIES = 5;
const READ_RETRY_MS = 100;
/** Reads of a pane whose wrapper has written its code and signalled, while it finishes exiting. */
const SETTLE_TRIES = 40;
const SETTLE_MS = 25;

/** The folder of every agent's state folder, relative to the workspace. */
export const AGENTS_FOLDER = '.codeagent/agents';

/** The state folder of agent `name`, relative to the workspace (so it is kept with the session's storage). */
export function stateFolder(name: string): string {
  return path.posix.join(AGENTS_FOLDER, name);
}

/** What a supervisor runs: the start request with its env settled (given, or opened from the sealed copy). */
export type AgentSpec = ExternalAgentStartBodyV1 & { env: Record<string, string> };

/** Supervisor changes go out through this (the bus in the service, an array in tests). */
export type AgentChangeSink = (change: Omit<ShellAgentChangedV1, 'sessionId' | 'at'>) => Promise<void>;

export interface SupervisorDeps {
  tmux: JailTmux;
  publish: AgentChangeSink;
  log: Logger;
}

/**
 * Seed 001's agent supervisor, driven from the shell service: the agent runs in the pane of a tmux
 * session inside the jail; each time it dies the supervisor reads its exit status from tmux. Exit 0
 * ends it; any other is a failure: the n-th straight one restarts it (respawn-pane, same command and
 * environment) after baseDelayMs·2^(n-1) ms, until maxFailures straight ones make it give up. The
 * pane (and its history) stays after the end, so its screen can still be read.
 */
export class AgentSupervisor {
  private status: ExternalAgentV1['status'] = 'running';
  private attempt = 0;
  private failures = 0;
  private lastExitCode: number | null = null;
  private startedAt = new Date();
  private stopped = false;
  /** The `wait-for` on the current run's channel, kept across safety reads (a killed one would take its signal). */
  private waiter?: { channel: string; proc: JailProcess; woken: boolean };
  /** Ends the current pause early: stop(), or the waiter's channel signalled. */
  private wake?: () => void;
  /** The loop; resolves when the supervisor is done (exited, gave up or stopped). */
  done: Promise<void> = Promise.resolve();

  constructor(
    readonly name: string,
    private readonly spec: AgentSpec,
    private readonly deps: SupervisorDeps,
  ) {}

  /** The state folder inside the jail: the agent's HOME, so `claude -c` finds its history after any restart. */
  get stateDir(): string {
    return path.posix.join('/workspace', stateFolder(this.name));
  }

  /** Writes the state folder and tmux.conf, starts tmux with the agent's first run, then supervises it. */
  async start(): Promise<void> {
    await this.deps.tmux.prepare(this.stateDir);
    await this.deps.tmux.must(newSessionArgs(this.nextRun(), `${this.stateDir}/tmux.conf`));
    await this.begun();
    this.done = this.supervise().catch((err: Error) => {
      this.status = 'gave-up';
      this.line('error', { err: err.message }, 'supervisor failed');
    });
  }

  /**
   * Supervises an agent whose tmux session already runs in the jail: one a previous shell process
   * started and left running when it let go of the jail (SHELL_KEEP_JAILS).
   */
  resume(): void {
    this.attempt = 1;
    this.done = this.supervise().catch((err: Error) => {
      this.status = 'gave-up';
      this.line('error', { err: err.message }, 'supervisor failed');
    });
  }

  view(): ExternalAgentV1 {
    return {
      name: this.name,
      command: this.spec.command,
      args: this.spec.args,
      status: this.status,
      restarts: Math.max(0, this.attempt - 1),
      failures: this.failures,
      lastExitCode: this.lastExitCode,
      startedAt: this.startedAt.toISOString(),
      tmuxSession: this.name,
      stateDir: this.stateDir,
      envNames: Object.keys(this.spec.env).sort(),
      restart: { ...this.spec.restart },
    };
  }

  get finished(): boolean {
    return this.status === 'exited' || this.status === 'gave-up';
  }

  /** tmux send-keys: literal text (`-l`), or key names; then Enter when asked. */
  async sendKeys(keys: string | string[], enter: boolean): Promise<void> {
    this.assertRunning();
    const target = ['send-keys', '-t', this.name];
    await this.deps.tmux.must(typeof keys === 'string' ? [...target, '-l', '--', keys] : [...target, ...keys]);
    if (enter) await this.deps.tmux.must([...target, 'Enter']);
  }

  /** Whether its tmux session is there to attach to (it stays after an exit or a give-up, not after a stop). */
  async hasTmux(): Promise<boolean> {
    return (await this.deps.tmux.run(['has-session', '-t', this.name])).code === 0;
  }

  /** The last `lines` lines of the pane, history included, without the blank rows under the cursor. */
  async screen(lines: number): Promise<string> {
    const out = await this.deps.tmux.must(['capture-pane', '-p', '-J', '-t', this.name, '-S', String(-lines)]);
    const rows = out.replace(/\n+$/, '').split('\n');
    return rows.slice(-lines).join('\n');
  }

  /** Stops supervising and ends the agent (its tmux server). `publish: false` when the jail is closing anyway. */
  async stop(opts: { publish: boolean }): Promise<boolean> {
    if (this.stopped) return false;
    this.stopped = true;
    const wasLive = !this.finished;
    this.wake?.();
    if (opts.publish) await this.deps.tmux.run(['kill-server']).catch(() => undefined);
    await this.done;
    this.status = 'exited';
    if (opts.publish) await this.change({ type: 'stopped' }, 'info', 'agent stopped');
    return wasLive;
  }

  private async supervise(): Promise<void> {
    for (;;) {
      const code = await this.nextDeath();
      if (this.stopped) return;
      this.lastExitCode = code;
      if (code === 0) {
        this.status = 'exited';
        await this.change({ type: 'exited', exitCode: code }, 'info', 'agent exited cleanly');
        return;
      }
      this.failures += 1;
      await this.change({ type: 'exited', exitCode: code }, 'warn', 'agent crashed');
      if (this.failures >= this.spec.restart.maxFailures) {
        this.status = 'gave-up';
        await this.change({ type: 'gave-up', exitCode: code }, 'error', 'too many consecutive failures, not restarting');
        return;
      }
      const delayMs = this.spec.restart.baseDelayMs * 2 ** (this.failures - 1);
      this.status = 'backoff';
      await this.change({ type: 'restarting', delayMs }, 'info', 'restarting after a delay');
      await this.pause(delayMs);
      if (this.stopped) return;
      await this.respawn();
      await this.begun();
    }
  }

  /**
   * Waits for the pane to die and reads its exit status (128+N for signal N; -1 when nothing can tell).
   * The pane's state is the truth; the run's channel only wakes the wait early, and the state is read
   * again at least every SAFETY_POLL_MS. The pane's wrapper signals the channel just before it exits, or
   * tmux's pane-died hook when the wrapper could not (agentPaneCommand); a pane tmux never reaped reads
   * dead without a status, and the wrapper's code in the state folder answers then.
   * A read that fails (a tmux client, or the `cat` of the exit file, can fail to run for a moment on a
   * loaded machine) is tried again READ_TRIES times before the death counts as -1.
   */
  private async nextDeath(): Promise<number> {
    try {
      return await this.readDeath();
    } finally {
      // The run is over: its channel's waiter, when the death was read without it, is not needed.
      await this.dropWaiter();
    }
  }

  private async readDeath(): Promise<number> {
    for (let failed = 0, settling = 0, woken = false; ; ) {
      const r = await this.deps.tmux.run(['display-message', '-p', '-t', this.name, `#{pane_dead}|#{pane_dead_status}|#{pane_dead_signal}|#{${CHANNEL_OPTION}}`]);
      if (this.stopped) return -1;
      const [dead, status, signal, channel] = r.code === 0 ? r.stdout.trim().split('|') : [];
      if (dead === '1' && (status || signal)) return status ? Number(status) : 128 + Number(signal);
      if (r.code !== 0 || dead === '1') {
        const written = r.code === 0 ? await this.writtenExitCode() : undefined;
        if (written !== undefined) return written;
        if (++failed < READ_TRIES) {
          await delay(READ_RETRY_MS);
          continue;
        }
        this.deps.log.warn({ agent: this.name, code: r.code, stderr: r.stderr.trim(), pane: r.stdout.trim() }, 'the agent died but tmux could not tell its exit code');
        return -1;
      }
      // Alive, but woken with the code written: the wrapper has signalled and is exiting. Read again shortly.
      if (woken) {
        const written = await this.writtenExitCode();
        if (written !== undefined) {
          if (++settling < SETTLE_TRIES) {
            await delay(SETTLE_MS);
            continue;
          }
          return written;
        }
      }
      // A pane started by a version before channels per run: its wrapper and hook signal `died`.
      woken = await this.deathSignal(channel || 'died');
      if (this.stopped) return -1;
    }
  }

  /** Waits on the run's channel, at most SAFETY_POLL_MS and not past a stop; whether it was signalled. */
  private async deathSignal(channel: string): Promise<boolean> {
    if (this.waiter?.channel !== channel) {
      await this.dropWaiter();
      const proc = await this.deps.tmux.start(['wait-for', channel]);
      proc.stdin.end();
      const waiter = { channel, proc, woken: false };
      void proc.exited.then(() => {
        waiter.woken = true;
        if (this.waiter === waiter) this.wake?.();
      });
      this.waiter = waiter;
    }
    const waiter = this.waiter;
    if (!waiter.woken && !this.stopped) await this.pause(SAFETY_POLL_MS);
    if (waiter.woken) this.waiter = undefined;
    return waiter.woken;
  }

  private async dropWaiter(): Promise<void> {
    const waiter = this.waiter;
    this.waiter = undefined;
    await waiter?.proc.kill().catch(() => undefined);
  }

  /** The exit code the pane's wrapper wrote for this run, if it has. */
  private async writtenExitCode(): Promise<number | undefined> {
    const written = (await this.deps.tmux.readFile(`${this.stateDir}/${AGENT_EXIT_FILE}`))?.trim();
    return written !== undefined && /^\d+$/.test(written) ? Number(written) : undefined;
  }

  /**
   * Runs the agent again in the same pane (-k: a wrapper whose code was read may not have gone yet),
   * with a channel of its own; recreates the tmux session if its server was killed. prepare removes the
   * last run's exit code first, so that it cannot be read as this run's.
   */
  private async respawn(): Promise<void> {
    await this.deps.tmux.prepare(this.stateDir);
    const alive = await this.deps.tmux.run(['has-session', '-t', this.name]);
    if (alive.code === 0) {
      await this.deps.tmux.must(respawnArgs(this.nextRun()));
      return;
    }
    // The jail was replaced (its shell died): its /tmp is new, and prepare made the socket's folder again.
    await this.deps.tmux.must(newSessionArgs(this.nextRun(), `${this.stateDir}/tmux.conf`));
  }

  private async begun(): Promise<void> {
    this.attempt += 1;
    this.status = 'running';
    this.startedAt = new Date();
    await this.change({ type: 'started' }, 'info', 'agent started');
  }

  /** The agent's next run, with a channel of its own. */
  private nextRun(): AgentRun {
    // HOME is the state folder: an agent's history and config (~/.claude...) outlive its runs and the jail.
    const env = { HOME: this.stateDir, CODEAGENT_AGENT_STATE: this.stateDir, CODEAGENT_AGENT: this.name, ...this.spec.env };
    return { name: this.name, env, command: this.spec.command, args: this.spec.args, channel: newRunChannel() };
  }

  /** Waits `ms`, or less when woken (see wake); one pause at a time: the loop's. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wake = wake;
    });
  }

  /** Publishes a change and writes its log line. */
  private async change(c: { type: ShellAgentChangedV1['type']; exitCode?: number; delayMs?: number }, level: 'info' | 'warn' | 'error', msg: string): Promise<void> {
    const fields = { agent: this.name, attempt: this.attempt, failures: this.failures, ...c };
    this.line(level, fields, msg);
    await this.deps.publish({ name: this.name, attempt: Math.max(1, this.attempt), failures: this.failures, ...c }).catch((err: Error) => this.deps.log.error({ agent: this.name, err: err.message }, 'could not publish an agent change'));
  }

  private line(level: 'info' | 'warn' | 'error', fields: Record<string, unknown>, msg: string): void {
    this.deps.log[level](fields, msg);
  }

  private assertRunning(): void {
    if (this.stopped) throw new AppError('INVALID_STATE', `outside agent ${this.name} was stopped`);
  }
}
