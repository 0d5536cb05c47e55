import { AppError, type AppendedKindV1, type ExecResultV1, type SessionEventData, type SessionStatusV1 } from '@codeagent/contracts';
import type { ExecResult, Pty, Sandbox, SandboxState } from '@codeagent/sandbox';
import type { Logger } from '@codeagent/telemetry';
import { shellMetrics } from './metrics';
import { OutputStream } from './output-stream';
import type { RunningCommand } from './store';
import type { DriverName } from './types';

/**
 * How a command's exec ends here when the replica restarts under it: the bus reply says the command
 * goes on (in the kept jail) and where its end will be told.
 */
export function restartingError(instanceId: string): AppError {
  return new AppError(
    'SERVICE_UNAVAILABLE',
    `shell replica ${instanceId} is restarting; the command keeps running in its jail, and its output and completion follow in the session's events`,
    { details: { reason: 'replica_restarting', retryAfterSeconds: 2 } },
  );
}
const isRestarting = (err: unknown) => err instanceof AppError && err.details?.reason === 'replica_restarting';

export interface ExecRequest {
  command: string;
  commandId: string;
  timeoutMs?: number;
  silenceTimeoutMs?: number;
  user?: string;
}

type CommandBase = { sessionId: string; commandId: string; command: string; user?: string };
const commandData = ({ commandId, command, user }: CommandBase) => ({ commandId, command, ...(user ? { user } : {}) });

/**
 * How long a command's first events wait for more of it (OutputStream.hold): most commands an agent
 * runs end within it, and their start, output and end then cost the broker, the gateway and the
 * orchestrator one message instead of three. A watcher sees a command start at most this much later.
 */
const COMMAND_HOLD_MS = 10;

/**
 * One open jail: its sandbox, its ordered event stream and its terminal. Runs one command at a time
 * (the sandbox's rule); a second one while busy is refused with INVALID_STATE so the caller decides
 * whether to wait or interrupt.
 */
export class Jail {
  readonly openedAt = new Date();
  private running?: string;
  /**
   * The session's state as its log last said: the orchestrator appends the lifecycle (ready, closing,
   * failed...) through this stream, and the stream itself logs busy and idle around each command,
   * in their place among its events, so no one has to ask for them on every command.
   */
  private logged: SessionStatusV1 = 'ready';
  private pty?: Pty;
  private openingPty?: Promise<void>;
  private closing?: Promise<number>;

  constructor(
    readonly sessionId: string,
    readonly workspaceDir: string,
    readonly driver: DriverName,
    readonly sandbox: Sandbox,
    readonly stream: OutputStream,
    private readonly log: Logger,
    private readonly maxResultBytes: number,
    /** Where the command in the jail is recorded as it is sent, for a successor to adopt (kept jails only). */
    private readonly keep?: (command: RunningCommand | undefined) => void,
  ) {}

  get busy(): boolean {
    return this.running !== undefined;
  }

  get isClosing(): boolean {
    return this.closing !== undefined;
  }

  /**
   * Runs a command: `command.started`, its output, then `command.completed` in the session's log (with
   * busy and idle, and the audit record `shell.command.completed` beside the log).
   * Replies once all of them are on the broker's channel, ahead of the reply. Their confirms are not
   * awaited (about 2 ms for a persistent message, most of an exec of `true`): the stream republishes
   * whatever the broker fails to take, so a command's events are never lost while the jail lives.
   */
  async exec(req: ExecRequest): Promise<ExecResultV1> {
    this.assertOpen();
    if (this.running) {
      throw new AppError('INVALID_STATE', `session ${this.sessionId} is already running command ${this.running}; wait for it or interrupt it`, {
        details: { sessionId: this.sessionId, running: this.running },
      });
    }
    this.running = req.commandId;
    const base = { sessionId: this.sessionId, commandId: req.commandId, command: req.command, ...(req.user ? { user: req.user } : {}) };
    const startedAt = performance.now();
    let restarting = false;
    try {
      // The start is queued, not awaited: the stream keeps it ahead of the output and of the completion,
      // and its confirm (~4 ms p50 measured under the stack benchmark) overlaps the run instead of preceding it.
      // Held briefly, a short command's start, output and end leave as one message.
      this.stream.hold(COMMAND_HOLD_MS);
      const started = this.started(base);
      started.catch(() => undefined);
      const result = await this.runInSandbox(req, base, startedAt);
      const completed = this.completed(base, { exitCode: result.exitCode, durationMs: result.durationMs, timedOut: result.timedOut });
      // Only a stream closed while the broker was away gives up on them.
      Promise.all([started, completed]).catch((err: Error) =>
        this.log.error({ sessionId: this.sessionId, commandId: req.commandId, err: err.message }, "the command's events were not published: the session closed while the broker was unreachable"),
      );
      await this.stream.sent();
      shellMetrics.commands().inc({ outcome: result.timedOut ? 'timeout' : result.exitCode === 0 ? 'ok' : 'nonzero' });
      shellMetrics.commandDuration().observe(result.durationMs / 1000);
      // The audit line: who ran what, how it ended. The command text is cut so one line stays readable.
      this.log.info(
        { sessionId: this.sessionId, commandId: req.commandId, user: req.user, command: req.command.slice(0, 2000), exitCode: result.exitCode, durationMs: result.durationMs, timedOut: result.timedOut },
        'command completed',
      );
      return { commandId: req.commandId, ...result };
    } catch (err) {
      // The replica is restarting: the command is not over, its end is its successor's to tell.
      if (isRestarting(err)) restarting = true;
      throw err;
    } finally {
      this.running = undefined;
      if (!restarting) this.keep?.(undefined);
    }
  }

  /**
   * Takes on a command that was running when the replica before this one let go of the jail: its
   * output goes on into the log (from the sandbox's resumed run) and its completion, busy/idle and
   * audit record follow as for any command; a `resumed` that fails (the jail was gone) ends it with
   * exit code -1. Resolves once the completion is published.
   */
  resume(command: RunningCommand, resumed: Promise<ExecResult>): Promise<void> {
    this.running = command.commandId;
    this.logged = 'busy';
    const base = { sessionId: this.sessionId, commandId: command.commandId, command: command.command, ...(command.user ? { user: command.user } : {}) };
    // The session takes commands again as its completion is queued, not once the broker confirmed
    // it: whoever sees the completion may send the next command at once (as after an exec's reply).
    const end = (r: { exitCode: number; durationMs: number; timedOut: boolean }) => {
      const published = this.completed(base, r);
      if (this.running === command.commandId) this.running = undefined;
      this.keep?.(undefined);
      return published;
    };
    return resumed
      .then(
        (r) => end({ exitCode: r.exitCode, durationMs: r.durationMs, timedOut: r.timedOut }),
        // Restarting again: the command and its record go on to the next successor.
        (err: Error) => (isRestarting(err) ? undefined : end({ exitCode: -1, durationMs: 0, timedOut: false })),
      )
      .catch((err: Error) => this.log.error({ sessionId: this.sessionId, commandId: command.commandId, err: err.message }, 'the resumed command\'s completion was not published'));
  }

  /**
   * Lets go of the jail for this replica's next start (see Sandbox.detach): a running command's exec
   * answers that the replica restarts, what was read of its output is published, and the answer is
   * what the successor adopts. Undefined for a sandbox that cannot outlive this process.
   */
  async detach(instanceId: string): Promise<{ sandbox: SandboxState; lastSeq: number } | undefined> {
    if (!this.sandbox.detach || this.closing) return undefined;
    this.closing = Promise.resolve(this.stream.lastSeq);
    const pty = this.pty;
    this.pty = undefined;
    // A kept terminal runs on for the successor (what it prints waits in its pipe); any other ends here, and says so.
    if (pty && !this.sandbox.keepsTerminals) {
      await pty.close().catch(() => undefined);
      void this.stream.append('note', { message: 'the terminal ended: the shell service restarted; open it again', terminal: { exitCode: 129 } }).catch(() => undefined);
    }
    const sandbox = await this.sandbox.detach(restartingError(instanceId));
    await this.stream.flush();
    this.stream.close();
    return { sandbox, lastSeq: this.stream.lastSeq };
  }

  /**
   * The sandbox run. Should the sandbox fail instead of answering (its shell vanished mid-command),
   * the audit record still closes the command, with exit code -1, before the error goes back.
   */
  private async runInSandbox(req: ExecRequest, base: CommandBase, startedAt: number) {
    try {
      return await this.sandbox.exec(req.command, {
        timeoutMs: req.timeoutMs,
        silenceTimeoutMs: req.silenceTimeoutMs,
        maxResultBytes: this.maxResultBytes,
        onOutput: (c) => {
          shellMetrics.outputBytes().inc({ stream: c.stream }, c.data.length);
          return this.stream.output(req.commandId, c.stream, c.data);
        },
        ...(this.keep ? { onSent: (sent: unknown) => this.keep!({ ...commandData(base), sent }) } : {}),
      });
    } catch (err) {
      if (isRestarting(err)) throw err;
      const durationMs = performance.now() - startedAt;
      await this.completed(base, { exitCode: -1, durationMs, timedOut: false }).catch(() => undefined);
      shellMetrics.commands().inc({ outcome: 'failed' });
      this.log.warn({ sessionId: this.sessionId, commandId: req.commandId, user: req.user, err: (err as Error).message }, 'command failed in the sandbox');
      throw err;
    }
  }

  /** Appends an event of the orchestrator's to the log (a status among them says what state the session is in). */
  append<K extends AppendedKindV1>(kind: K, data: SessionEventData<K>): Promise<number> {
    if (kind === 'status') this.logged = (data as SessionEventData<'status'>).to;
    return this.stream.append(kind, data);
  }

  // The log event's failure is the status's and the fact's too (they follow it in the stream): reported
  // once, by the last of them, which settles after the others.
  private started(base: CommandBase): Promise<void> {
    const started = this.stream.append('command.started', commandData(base)).then(() => undefined);
    return this.logStatus('busy', started);
  }

  private completed(base: CommandBase, end: { exitCode: number; durationMs: number; timedOut: boolean }): Promise<void> {
    // The last bytes of an unfinished character go before it. Idle right behind the completion, so
    // the two leave as one message; the audit fact after them names the completion's seq.
    this.stream.endOutput(base.commandId);
    let seq = 0;
    const completed = this.stream.append('command.completed', { ...commandData(base), ...end }, (s) => (seq = s)).then(() => undefined);
    const idle = this.logStatus('idle', completed);
    idle.catch(() => undefined);
    const fact = this.stream.event('shell.command.completed', () => ({ ...base, ...end, seq }));
    this.stream.release();
    return fact;
  }

  /**
   * Logs busy when a command starts on a ready or idle session, idle when it ends, never over a
   * closing or failed one; resolves once it is with the broker (after `before`, queued ahead of it).
   */
  private logStatus(to: 'busy' | 'idle', before: Promise<void>): Promise<void> {
    const from = this.logged;
    if (to === 'busy' ? from !== 'ready' && from !== 'idle' : from !== 'busy') return before;
    this.logged = to;
    before.catch(() => undefined);
    return this.stream.append('status', { from, to }).then(() => undefined);
  }

  async interrupt(): Promise<boolean> {
    this.assertOpen();
    return this.sandbox.interrupt();
  }

  /** Opens the terminal, or reattaches to the open one (resizing it only when a size is given). */
  async openPty(cols?: number, rows?: number): Promise<void> {
    this.assertOpen();
    if (this.pty) {
      if (cols && rows) this.pty.resize(cols, rows);
      return;
    }
    // Two clients opening it at once get the same one.
    this.openingPty ??= this.sandbox
      .openPty({ cols: cols ?? 80, rows: rows ?? 24, kept: true })
      .then((pty) => this.useTerminal(pty))
      .finally(() => (this.openingPty = undefined));
    return this.openingPty;
  }

  /**
   * The session's terminal: its output into the log, its end noted there. Called for one this
   * process opened and for one the replica before it left running (adopted with the jail).
   */
  useTerminal(pty: Pty): void {
    this.pty = pty;
    // Past the stream's high-water mark the terminal waits (its programs block), as a command does.
    pty.onData((data) => this.stream.output(undefined, 'pty', data));
    pty.onExit((code) => {
      this.stream.endOutput(undefined);
      if (this.pty === pty) this.pty = undefined;
      this.log.info({ sessionId: this.sessionId, code }, 'terminal exited');
      // In the log, so whoever shows the terminal (an SSH login) can end with it; not when the jail closes.
      if (!this.isClosing) void this.stream.append('note', { message: `the terminal exited (${code})`, terminal: { exitCode: code } }).catch(() => undefined);
    });
  }

  ptyInput(data: string): void {
    this.requirePty().write(data);
  }

  ptyResize(cols: number, rows: number): void {
    this.requirePty().resize(cols, rows);
  }

  /**
   * Ends every process of the session, then publishes `shell.closed`; resolves with the last seq the
   * stream gave (all of them published, unless the broker was gone). Idempotent.
   */
  close(instanceId: string, opts: { publish: boolean }): Promise<number> {
    this.closing ??= (async () => {
      const pty = this.pty;
      this.pty = undefined;
      await pty?.close().catch((err: Error) => this.log.warn({ sessionId: this.sessionId, err: err.message }, 'terminal did not close cleanly'));
      await this.sandbox.close();
      if (opts.publish) await this.stream.event('shell.closed', (lastSeq) => ({ sessionId: this.sessionId, instanceId, lastSeq }));
      this.stream.close();
      return this.stream.lastSeq;
    })();
    return this.closing;
  }

  private requirePty(): Pty {
    this.assertOpen();
    if (!this.pty) throw new AppError('INVALID_STATE', `session ${this.sessionId} has no terminal open; open one with shell.pty.open`);
    return this.pty;
  }

  private assertOpen(): void {
    if (this.closing) throw new AppError('INVALID_STATE', `session ${this.sessionId} is closing`);
  }
}
