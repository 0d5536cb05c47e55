import { EventEmitter } from 'node:events';
import { outputText } from '@codeagent/bus';
import { AppError, type EventName, type EventPayload, type SessionBusEventV1, type SessionEventOf, type SessionEventV1 } from '@codeagent/contracts';
import type { CrashInfo, EgressDecision, ExecOptions, ExecResult, NetworkInForce, OpenOptions, Pty, Sandbox, SandboxDriver } from '@codeagent/sandbox';
import type { EventSink } from '../src/jails/types';

/** A session event as a replay gives it back: output as text (the bus carries the bytes the jail read). */
export function asStored(e: SessionBusEventV1): SessionEventV1 {
  return (e.kind === 'output' ? { ...e, data: outputText(e.data) } : e) as SessionEventV1;
}

/** Records what was published, optionally slowly or failing, for unit tests of the session logic. */
export class FakeSink implements EventSink {
  /** Confirmed publishes, in order. */
  readonly events: Array<{ name: EventName; payload: unknown }> = [];
  /** Names of the publishes begun (handed to the broker), in order, confirmed or not. */
  readonly begun: EventName[] = [];
  /** Makes the next N publishes fail (a broker outage). */
  failNext = 0;
  /** Awaited before each publish resolves (a slow broker). */
  gate?: () => Promise<void>;

  async publish<N extends EventName>(name: N, payload: EventPayload<N>): Promise<void> {
    this.begun.push(name);
    if (this.gate) await this.gate();
    if (this.failNext > 0) {
      this.failNext -= 1;
      throw new Error('broker unreachable');
    }
    this.events.push({ name, payload });
  }

  of<N extends EventName>(name: N): EventPayload<N>[] {
    return this.events.filter((e) => e.name === name).map((e) => e.payload as EventPayload<N>);
  }

  /** The session log events published (`session.event`, and each of a `session.event.batch`), of one kind or all, output as text (as stored). */
  logged<K extends SessionEventV1['kind']>(kind?: K): SessionEventOf<K>[] {
    const all = this.events
      .flatMap((e) => (e.name === 'session.event' ? [e.payload as EventPayload<'session.event'>] : e.name === 'session.event.batch' ? (e.payload as EventPayload<'session.event.batch'>).events : []))
      .map(asStored);
    return all.filter((e) => kind === undefined || e.kind === kind) as SessionEventOf<K>[];
  }

  /** What was published, in order, a log event by its kind (`session.event.batch` as its events' kinds in brackets), a fact by its name. */
  messages(): string[] {
    return this.events.map((e) =>
      e.name === 'session.event' ? (e.payload as SessionEventV1).kind : e.name === 'session.event.batch' ? `[${(e.payload as EventPayload<'session.event.batch'>).events.map((x) => x.kind).join(' ')}]` : e.name,
    );
  }

  /** The output events, flattened: seq and the chunk's fields. */
  output(): Array<{ seq: number; sessionId: string } & SessionEventOf<'output'>['data']> {
    return this.logged('output').map((e) => ({ seq: e.seq, sessionId: e.sessionId, ...e.data }));
  }
}

/**
 * A sandbox whose commands are scripts: `out:<text>` / `err:<text>` lines are emitted as output,
 * `exit:<n>` sets the status, `hang` waits for interrupt().
 */
export class FakeSandbox implements Sandbox {
  readonly driver = 'bubblewrap' as const;
  readonly limitsInForce = { memory: 'fake 64 MiB' };
  readonly networkInForce: NetworkInForce;
  closed = false;
  running = false;
  private readonly emitter = new EventEmitter();
  private release?: () => void;

  constructor(readonly id: string, readonly opts: OpenOptions) {
    const n = opts.network ?? 'none';
    this.networkInForce =
      n === 'none'
        ? { mode: 'none', interfaces: ['lo'], routes: 0 }
        : { mode: n === 'open' ? 'open' : 'allow', interfaces: ['lo'], routes: 0, proxy: 'http://127.0.0.1:3128', ...(n !== 'open' ? { allow: n.allow } : {}), ...(opts.credentials?.length ? { credentials: opts.credentials.map((c) => c.name) } : {}) };
  }

  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    if (this.closed) throw new AppError('INVALID_STATE', 'closed');
    if (this.running) throw new AppError('INVALID_STATE', 'busy');
    this.running = true;
    let stdout = '';
    let stderr = '';
    let exitCode = 0;
    let seq = 0;
    try {
      for (const line of command.split(';').map((l) => l.trim())) {
        const [op, ...rest] = line.split(':');
        const arg = rest.join(':');
        if (op === 'out' || op === 'err') {
          const stream = op === 'out' ? 'stdout' : 'stderr';
          if (stream === 'stdout') stdout += arg;
          else stderr += arg;
          await opts.onOutput?.({ stream, data: Buffer.from(arg), seq: seq++ });
        } else if (op === 'exit') exitCode = Number(arg);
        else if (op === 'vanish') throw new AppError('INVALID_STATE', 'the shell vanished');
        else if (op === 'hang') {
          await new Promise<void>((r) => (this.release = r));
          exitCode = 130;
        }
      }
      return { exitCode, stdout, stderr, durationMs: 1, timedOut: false, truncated: false };
    } finally {
      this.running = false;
    }
  }

  async interrupt(): Promise<boolean> {
    if (!this.release) return false;
    this.release();
    this.release = undefined;
    return true;
  }

  async openPty(): Promise<Pty> {
    throw new AppError('INVALID_STATE', 'no terminals in the fake');
  }

  on(event: 'crash', cb: (info: CrashInfo) => void): void;
  on(event: 'egress', cb: (decision: EgressDecision) => void): void;
  on(event: 'crash' | 'egress', cb: ((info: CrashInfo) => void) | ((decision: EgressDecision) => void)): void {
    this.emitter.on(event, cb as (...args: unknown[]) => void);
  }

  /** What the egress proxy would report. */
  egress(d: EgressDecision): void {
    this.emitter.emit('egress', d);
  }

  crash(info: CrashInfo): void {
    this.emitter.emit('crash', info);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.release?.();
  }
}

export class FakeDriver implements SandboxDriver {
  readonly opened: FakeSandbox[] = [];
  ok = true;
  constructor(readonly name: 'bubblewrap' | 'docker' = 'bubblewrap') {}
  async available() {
    return this.ok ? { ok: true } : { ok: false, reason: 'no engine in this test' };
  }
  async open(opts: OpenOptions): Promise<Sandbox> {
    const sb = new FakeSandbox(opts.id ?? 'x', opts);
    this.opened.push(sb);
    return sb;
  }
}
