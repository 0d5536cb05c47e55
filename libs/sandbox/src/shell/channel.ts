import { randomBytes } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import { AppError } from '@codeagent/contracts';
import type { ExecOptions, ExecResult } from '../types';
import { Delivery } from './delivery';
import { MarkerScanner, type ScannerState } from './marker';
import { shQuote } from './quote';

const DEFAULT_MAX_RESULT = 1 << 20;
const FRESH_SCANNERS = { stdout: { held: '', found: false, tail: '' }, stderr: { held: '', found: false, tail: '' } };

/** The pipes of a shell running somewhere (inside bwrap, a container...). */
export interface ShellPipes {
  stdin: Writable;
  stdout: Readable;
  stderr: Readable;
}

/** A command that was running when its channel was detached: what another process needs to go on reading it. JSON. */
export interface RunningState {
  nonce: string;
  /** Epoch milliseconds. */
  startedAt: number;
  /** Epoch milliseconds after which the command is timed out, if it has a timeout. */
  deadline?: number;
  silenceTimeoutMs?: number;
  timedOut: boolean;
  done: { stdout: boolean; stderr: boolean };
  scanners: { stdout: ScannerState; stderr: ScannerState };
  status?: string;
}

/** A detached channel: the running command (if any) and the background jobs earlier commands left. */
export interface ChannelState {
  running?: RunningState;
  backgroundPids: number[];
}

/**
 * A detached channel's state, with the command `sent` (what onSent gave) as the running one when the
 * state was taken before it was sent: its process died without detaching.
 */
export function withSent(state: ChannelState, sent: unknown): ChannelState {
  return state.running || !sent ? state : { ...state, running: sent as RunningState };
}

interface Running {
  nonce: string;
  /** Epoch milliseconds, carried over a detach (durations are measured against it). */
  startedEpoch: number;
  deadline?: number;
  silenceTimeoutMs?: number;
  scanners: { stdout: MarkerScanner; stderr: MarkerScanner };
  done: { stdout: boolean; stderr: boolean };
  status?: string;
  result: { stdout: Buffer[]; stderr: Buffer[]; sizes: { stdout: number; stderr: number } };
  truncated: boolean;
  max: number;
  delivery?: Delivery;
  started: number;
  timedOut: boolean;
  timers: NodeJS.Timeout[];
  silence?: NodeJS.Timeout;
  finish: (exitCode?: number) => void;
  /** Ends the run with an error instead of a result (its channel was detached). */
  fail: (err: Error) => void;
  stopTimers: () => void;
}

/**
 * The command protocol over a persistent shell's stdio, independent of how the shell is jailed.
 *
 * Each command is sent as `eval '<command>' </dev/null` followed by two printf's of a sentinel that
 * carries a fresh random nonce (and, on stdout, the exit status). The command is complete when both
 * sentinels are seen; because the nonce is unknown until the line is sent, output that imitates a
 * sentinel cannot end a command early. Completion is event-driven: there is no polling.
 *
 * The shell must be bash with `set -m; trap : INT` run first (send it as the first exec): job control
 * gives each command its own process group to signal, and the trap keeps a non-interactive bash alive
 * when its foreground job dies of SIGINT. The sentinel line reports `$!`, kept in backgroundPids.
 */
export class ShellChannel {
  private current: Running | null = null;
  private idle: (() => void)[] = [];
  /** Set by detach(): nothing is read or written any more, and a paused delivery never resumes reading. */
  private detached = false;

  constructor(
    private readonly pipes: ShellPipes,
    /** Called when a command overruns its timeout or silence timeout (the caller interrupts it). */
    private readonly onTimeout: () => void,
    private readonly opts: {
      /**
       * Shell code run after each command, before its sentinels (the exit status is kept across it):
       * the bubblewrap driver saves the working folder and exports there, for a jail restored after a reboot.
       */
      afterEach?: string;
      /** Called when a command left a new background job behind. */
      onBackground?: () => void;
    } = {},
  ) {
    pipes.stdout.on('data', (b: Buffer) => this.onData('stdout', b));
    pipes.stderr.on('data', (b: Buffer) => this.onData('stderr', b));
    // EPIPE when the shell died is reported through the process exit, not here.
    pipes.stdin.on('error', () => undefined);
  }

  get busy(): boolean {
    return this.current !== null;
  }

  /** Pids (inside the shell's pid namespace) of background jobs started by finished commands; bounded. */
  readonly backgroundPids = new Set<number>();

  private rememberBackground(pid: number): void {
    this.backgroundPids.delete(pid);
    this.backgroundPids.add(pid);
    if (this.backgroundPids.size > 256) this.backgroundPids.delete(this.backgroundPids.values().next().value!);
  }

  /** Identifies the running command (0 when idle), so late signals never hit the next command. */
  get runId(): number {
    return this.current ? this.runs : 0;
  }
  private runs = 0;

  /** performance.now() when the running command was sent, if one is running. */
  get startedAt(): number | undefined {
    return this.current?.started;
  }

  /** Resolves when no command is running (at once if none is). */
  whenIdle(): Promise<void> {
    return this.current ? new Promise((r) => this.idle.push(r)) : Promise.resolve();
  }

  exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    if (this.detached) throw new AppError('INVALID_STATE', 'this shell channel was detached');
    if (this.current) throw new AppError('INVALID_STATE', 'another command is running in this sandbox; wait for it or interrupt it');
    for (const k of ['timeoutMs', 'silenceTimeoutMs', 'maxResultBytes'] as const) {
      const v = opts[k];
      if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v >= 0)) {
        throw new AppError('VALIDATION_FAILED', `${k} must be a non-negative number of ${k === 'maxResultBytes' ? 'bytes' : 'milliseconds'}`);
      }
    }
    if (opts.onOutput !== undefined && typeof opts.onOutput !== 'function') throw new AppError('VALIDATION_FAILED', 'onOutput must be a function');
    const nonce = randomBytes(12).toString('hex');
    const now = Date.now();
    const done = this.begin(
      { nonce, startedAt: now, ...(opts.timeoutMs !== undefined ? { deadline: now + opts.timeoutMs } : {}), silenceTimeoutMs: opts.silenceTimeoutMs },
      opts,
    );
    const f = `\\036CA:${nonce}:`;
    // $! (the last background job, in the jail's pid namespace) lets interrupts spare earlier jobs.
    // The sentinels go on lines of their own: an interrupt (SIGINT with the INT trap set by the
    // driver) abandons the rest of the line being run, and the sentinel must still be printed.
    const sentinels = `printf '${f}%d:%s\\n' "$__ca_status" "$!"; printf '${f}\\n' >&2; unset __ca_status`;
    const after = this.opts.afterEach ? `${this.opts.afterEach}; ` : '';
    this.pipes.stdin.write(`eval ${shQuote(command)} </dev/null\n__ca_status=$?; ${after}${sentinels}\n`);
    opts.onSent?.({ nonce, startedAt: now, ...(opts.timeoutMs !== undefined ? { deadline: now + opts.timeoutMs } : {}), silenceTimeoutMs: opts.silenceTimeoutMs, timedOut: false, done: { stdout: false, stderr: false }, scanners: FRESH_SCANNERS } satisfies RunningState);
    return done;
  }

  /**
   * Goes on reading a command that was running when another process detached this channel's shell
   * (ChannelState.running): its remaining output reaches `opts.onOutput`, its result resolves as exec's
   * would (stdout and stderr hold only what is read from here on). Call before any data is read.
   */
  resume(state: ChannelState, opts: Pick<ExecOptions, 'onOutput' | 'maxResultBytes'> = {}): Promise<ExecResult> | undefined {
    for (const pid of state.backgroundPids) this.rememberBackground(pid);
    if (!state.running) return undefined;
    return this.begin(state.running, opts);
  }

  /**
   * Stops reading and writing without disturbing the shell: whatever was read is delivered first,
   * the rest stays in the pipes for the process that adopts the shell. A running command's exec
   * rejects with `reason` (its state is in the answer, for resume()).
   */
  async detach(reason: Error): Promise<ChannelState> {
    this.detached = true;
    const { stdout, stderr } = this.pipes;
    // Paused streams still hold what they read ahead: hand it to the scanners before letting go.
    for (const [name, pipe] of [['stdout', stdout], ['stderr', stderr]] as const) {
      pipe.pause();
      for (let b = pipe.read() as Buffer | null; b !== null; b = pipe.read() as Buffer | null) this.onData(name, b);
    }
    const run = this.current;
    if (run?.delivery) await run.delivery.drained().catch(() => undefined);
    const state: ChannelState = { backgroundPids: [...this.backgroundPids] };
    if (run && this.current === run) {
      state.running = {
        nonce: run.nonce,
        startedAt: run.startedEpoch,
        ...(run.deadline !== undefined ? { deadline: run.deadline } : {}),
        ...(run.silenceTimeoutMs !== undefined ? { silenceTimeoutMs: run.silenceTimeoutMs } : {}),
        timedOut: run.timedOut,
        done: { ...run.done },
        scanners: { stdout: run.scanners.stdout.state(), stderr: run.scanners.stderr.state() },
        ...(run.status !== undefined ? { status: run.status } : {}),
      };
      run.fail(reason);
    }
    return state;
  }

  /** Registers a command (new, or resumed from a detached channel) as the running one. */
  private begin(r: Omit<RunningState, 'done' | 'scanners' | 'timedOut'> & Partial<Pick<RunningState, 'done' | 'scanners' | 'timedOut' | 'status'>>, opts: Pick<ExecOptions, 'onOutput' | 'maxResultBytes'>): Promise<ExecResult> {
    const marker = Buffer.from(`\x1eCA:${r.nonce}:`);
    const scanner = (s?: ScannerState) => (s ? MarkerScanner.restore(marker, s) : new MarkerScanner(marker));
    const elapsed = Date.now() - r.startedAt;
    return new Promise<ExecResult>((resolve, reject) => {
      const run: Running = {
        nonce: r.nonce,
        startedEpoch: r.startedAt,
        deadline: r.deadline,
        silenceTimeoutMs: r.silenceTimeoutMs,
        scanners: { stdout: scanner(r.scanners?.stdout), stderr: scanner(r.scanners?.stderr) },
        done: r.done ? { ...r.done } : { stdout: false, stderr: false },
        status: r.status,
        result: { stdout: [], stderr: [], sizes: { stdout: 0, stderr: 0 } },
        truncated: false,
        max: opts.maxResultBytes ?? DEFAULT_MAX_RESULT,
        started: performance.now() - elapsed,
        timedOut: r.timedOut ?? false,
        timers: [],
        fail: (err) => {
          if (this.current !== run) return;
          this.current = null;
          run.stopTimers();
          for (const w of this.idle.splice(0)) w();
          reject(err);
        },
        stopTimers: () => {
          for (const t of run.timers) clearTimeout(t);
          if (run.silence) clearTimeout(run.silence);
        },
        finish: (forced) => {
          if (this.current !== run) return;
          this.current = null;
          run.stopTimers();
          for (const w of this.idle.splice(0)) w();
          const m = run.status !== undefined ? /^(\d+):(\d*)$/.exec(run.status) : null;
          const exitCode = forced ?? (m ? Number(m[1]) : -1);
          if (m?.[2] && !this.backgroundPids.has(Number(m[2]))) {
            this.rememberBackground(Number(m[2]));
            this.opts.onBackground?.();
          }
          const out: ExecResult = {
            exitCode,
            stdout: Buffer.concat(run.result.stdout).toString('utf8'),
            stderr: Buffer.concat(run.result.stderr).toString('utf8'),
            durationMs: performance.now() - run.started,
            timedOut: run.timedOut,
            truncated: run.truncated,
          };
          if (!run.delivery) return resolve(out);
          run.delivery.drained().then(() => resolve(out), reject);
        },
      };
      if (opts.onOutput) {
        const { stdout, stderr } = this.pipes;
        run.delivery = new Delivery(opts.onOutput, {
          pause: () => (stdout.pause(), stderr.pause()),
          resume: () => {
            if (!this.detached) stdout.resume(), stderr.resume();
          },
        });
      }
      const expire = (): void => {
        if (this.current !== run || run.timedOut) return;
        run.timedOut = true;
        this.onTimeout();
      };
      if (r.deadline !== undefined) run.timers.push(setTimeout(expire, Math.max(0, r.deadline - Date.now())));
      if (r.silenceTimeoutMs !== undefined) run.silence = setTimeout(expire, r.silenceTimeoutMs);
      this.current = run;
      this.runs++;
    });
  }

  /** Ends the running command with what it printed so far (the shell died or is being replaced). */
  abort(exitCode: number): void {
    const run = this.current;
    if (!run) return;
    for (const s of ['stdout', 'stderr'] as const) this.keep(run, s, run.scanners[s].flush());
    run.finish(exitCode);
  }

  private onData(stream: 'stdout' | 'stderr', chunk: Buffer): void {
    const run = this.current;
    // Output while idle comes from background processes of an earlier command: nobody asked for it.
    if (!run || run.done[stream]) return;
    run.silence?.refresh();
    const r = run.scanners[stream].push(chunk);
    this.keep(run, stream, r.data);
    if (!r.done) return;
    run.done[stream] = true;
    if (stream === 'stdout') run.status = r.tail;
    if (run.done.stdout && run.done.stderr) run.finish();
  }

  private keep(run: Running, stream: 'stdout' | 'stderr', data: Buffer): void {
    if (data.length === 0) return;
    run.delivery?.push(stream, data);
    const room = run.max - run.result.sizes[stream];
    if (room <= 0) {
      run.truncated = true;
      return;
    }
    // Copy: the read buffer may be a view that node reuses, and a capped slice must not pin it.
    const part = data.length <= room ? data : data.subarray(0, room);
    if (part.length < data.length) run.truncated = true;
    run.result[stream].push(Buffer.from(part));
    run.result.sizes[stream] += part.length;
  }
}
