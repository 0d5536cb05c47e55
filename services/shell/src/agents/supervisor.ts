import path from 'node:path';
import { AppError, type ExternalAgentStartBodyV1, type ExternalAgentV1, type ShellAgentChangedV1 } from '@codeagent/contracts';
import type { JailProcess } from '@codeagent/sandbox';
import type { Logger } from '@codeagent/telemetry';
import type { JailTmux } from './tmux';

/** How often a supervisor reads its pane's state when no death was signalled. */
const SAFETY_POLL_MS = 10_000;
/** Reads of a dead pane's exit code (and pauses between them) before it counts as unknown (-1). */
const READ_TRIES = 5;
const READ_RETRY_MS = 100;

/** Where the pane's wrapper writes the agent's exit code, in its state folder. */
const EXIT_FILE = '.exit-code';

/** The state folder of agent `name`, relative to the workspace (so it is kept with the session's storage). */
export function stateFolder(name: string): string {
  return path.posix.join('.codeagent', 'agents', name);
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
  private waiter?: JailProcess;
  private backoff?: { timer: NodeJS.Timeout; wake: () => void };
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
    await this.deps.tmux.must(['-f', `${this.stateDir}/tmux.conf`, 'new-session', '-d', '-s', this.name, '-x', '200', '-y', '50', '-c', '/workspace', ...this.envArgs(), '--', ...this.paneCommand()]);
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
    if (this.backoff) this.backoff.wake();
    if (opts.publish) await this.deps.tmux.run(['kill-server']).catch(() => undefined);
    await this.waiter?.kill().catch(() => undefined);
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
      await this.sleep(delayMs);
      if (this.stopped) return;
      await this.respawn();
      await this.begun();
    }
  }

  /**
   * Waits for the pane to die and reads its exit status (128+N for signal N; -1 when tmux cannot
   * tell). The pane's state is the truth; the `died` channel only wakes the wait early (a pane that
   * dies while tmux is still creating its session may not fire the hook), so the state is read again
   * at least every SAFETY_POLL_MS. A read that fails (a tmux client, or the `cat` of the exit file,
   * can fail to run for a moment on a loaded machine) is tried again READ_TRIES times before the
   * death counts as -1; a CI run once saw a crash reported as -1 instead of its exit code 3.
   */
  private async nextDeath(): Promise<number> {
    for (let failed = 0; ; ) {
      const r = await this.deps.tmux.run(['display-message', '-p', '-t', this.name, '#{pane_dead}|#{pane_dead_status}|#{pane_dead_signal}']);
      if (this.stopped) return -1;
      const [dead, status, signal] = r.code === 0 ? r.stdout.trim().split('|') : [];
      if (dead === '1' && (status || signal)) return status ? Number(status) : 128 + Number(signal);
      if (r.code !== 0 || dead === '1') {
        // Dead without a status: tmux saw the terminal close before it reaped the process, and the
        // wrapper wrote the code before it exited.
        const written = r.code === 0 ? await this.deps.tmux.readFile(`${this.stateDir}/${EXIT_FILE}`) : undefined;
        if (written !== undefined && /^\d+$/.test(written.trim())) return Number(written.trim());
        if (++failed < READ_TRIES) {
          await new Promise((resolve) => setTimeout(resolve, READ_RETRY_MS));
          continue;
        }
        this.deps.log.warn({ agent: this.name, code: r.code, stderr: r.stderr.trim(), pane: r.stdout.trim(), written }, 'the agent died but tmux could not tell its exit code');
        return -1;
      }
      this.waiter = await this.deps.tmux.start(['wait-for', 'died']);
      this.waiter.stdin.end();
      let timer: NodeJS.Timeout | undefined;
      const waiter = this.waiter;
      await Promise.race([waiter.exited, new Promise((resolve) => (timer = setTimeout(resolve, SAFETY_POLL_MS)))]);
      clearTimeout(timer);
      await waiter.kill();
      this.waiter = undefined;
      if (this.stopped) return -1;
    }
  }

  /** Runs the agent again in the same pane; recreates the tmux session if its server was killed. */
  private async respawn(): Promise<void> {
    const alive = await this.deps.tmux.run(['has-session', '-t', this.name]);
    if (alive.code === 0) {
      await this.deps.tmux.must(['respawn-pane', '-t', this.name]);
      return;
    }
    // The jail was replaced (its shell died): its /tmp is new, so the socket's folder is made again.
    await this.deps.tmux.prepare(this.stateDir);
    await this.deps.tmux.must(['-f', `${this.stateDir}/tmux.conf`, 'new-session', '-d', '-s', this.name, '-x', '200', '-y', '50', '-c', '/workspace', ...this.envArgs(), '--', ...this.paneCommand()]);
  }

  private async begun(): Promise<void> {
    this.attempt += 1;
    this.status = 'running';
    this.startedAt = new Date();
    await this.change({ type: 'started' }, 'info', 'agent started');
  }

  /**
   * The agent under a small sh that records its exit code in the state folder (tmux may report a pane
   * dead before it has its status). The sh traps SIGINT (C-c goes to the agent, not to it); the
   * agent itself gets the default handlers back.
   */
  private paneCommand(): string[] {
    const script = `f="$CODEAGENT_AGENT_STATE/${EXIT_FILE}"; rm -f "$f"; trap : INT QUIT; "$@"; c=$?; echo $c > "$f"; exit $c`;
    return ['sh', '-c', script, 'sh', this.spec.command, ...this.spec.args];
  }

  private envArgs(): string[] {
    // HOME is the state folder: an agent's history and config (~/.claude...) outlive its runs and the jail.
    const env = { HOME: this.stateDir, CODEAGENT_AGENT_STATE: this.stateDir, CODEAGENT_AGENT: this.name, ...this.spec.env };
    return Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.backoff = undefined;
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.backoff = { timer, wake };
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
