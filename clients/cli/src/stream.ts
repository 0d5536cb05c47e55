import { randomUUID } from 'node:crypto';
import { io, type Socket } from 'socket.io-client';
import { CliError, ExitCode } from './errors';

/** Seed 003's envelope, as the gateway sends and receives it on the `/v1` namespace. */
export interface Envelope<P = Record<string, unknown>> {
  id: string;
  type: 'command' | 'response' | 'stream' | 'status' | 'error';
  timestamp: string;
  payload: P;
  metadata: { version: string; client?: string; user?: string };
}

export interface SessionMessage extends Envelope {
  payload: Record<string, any> & { seq?: number; sessionId?: string; stream?: string; kind?: string };
}

/**
 * One session's live stream over Socket.IO. It subscribes from a sequence number and, when the
 * connection drops and Socket.IO reconnects, subscribes again from the last number it saw: nothing
 * is lost and nothing is shown twice.
 */
export class SessionStream {
  private socket?: Socket;
  private lastSeq: number;
  private readonly waiters = new Map<string, { resolve: (p: Record<string, unknown>) => void; reject: (e: Error) => void }>();

  constructor(
    private readonly opts: {
      baseUrl: string;
      token?: string;
      sessionId: string;
      since: number;
      onEvent: (m: SessionMessage) => void;
      onReconnect?: (since: number) => void;
    },
  ) {
    this.lastSeq = opts.since;
  }

  get seq(): number {
    return this.lastSeq;
  }

  async connect(): Promise<void> {
    const socket = io(new URL('/v1', this.opts.baseUrl).toString(), {
      auth: this.opts.token ? { token: this.opts.token } : {},
      transports: ['websocket'],
      reconnectionDelay: 200,
      reconnectionDelayMax: 2_000,
    });
    this.socket = socket;
    socket.on('message', (m: SessionMessage) => this.onMessage(m));
    socket.io.on('reconnect', () => {
      this.opts.onReconnect?.(this.lastSeq);
      this.subscribe();
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', (err) =>
        reject(
          /unauthor|401|token/i.test(err.message)
            ? new CliError(`the gateway refused the connection: ${err.message}`, ExitCode.auth, 'run `codeagent login`')
            : new CliError(`cannot open a stream to ${this.opts.baseUrl}: ${err.message}`, ExitCode.unavailable),
        ),
      );
    });
    await this.subscribe();
  }

  /** Sends a command envelope; resolves with the `response` payload that carries the same id. */
  request(command: string, args: unknown[] = [], extra: Record<string, unknown> = {}): { id: string; done: Promise<Record<string, unknown>> } {
    const id = randomUUID();
    const done = new Promise<Record<string, unknown>>((resolve, reject) => this.waiters.set(id, { resolve, reject }));
    this.send(id, command, args, extra);
    return { id, done };
  }

  /** Sends a command without waiting for its answer (keystrokes, resizes). */
  fire(command: string, args: unknown[] = []): void {
    this.send(randomUUID(), command, args, {});
  }

  close(): void {
    this.socket?.close();
  }

  /** Drops the connection without closing the client, so Socket.IO reconnects (for tests and flaky links). */
  dropConnection(): void {
    this.socket?.io.engine?.close();
  }

  private subscribe(): Promise<Record<string, unknown>> {
    const { done } = this.request('/subscribe', [], { since: this.lastSeq });
    done.catch(() => undefined);
    return done;
  }

  private send(id: string, command: string, args: unknown[], extra: Record<string, unknown>): void {
    const envelope: Envelope = {
      id,
      type: 'command',
      timestamp: new Date().toISOString(),
      payload: { command, args, context: { sessionId: this.opts.sessionId }, ...extra },
      metadata: { version: '1', client: 'cli' },
    };
    this.socket?.emit('message', envelope);
  }

  private onMessage(m: SessionMessage): void {
    if (m.type === 'response' || m.type === 'error') {
      const w = this.waiters.get(m.id);
      if (w) {
        this.waiters.delete(m.id);
        if (m.type === 'response') w.resolve(m.payload);
        else w.reject(new CliError(String(m.payload.message ?? 'error'), codeToExit(String(m.payload.code ?? '')), undefined, String(m.payload.code ?? '')));
        return;
      }
      if (m.type === 'error') this.opts.onEvent(m);
      return;
    }
    const seq = typeof m.payload.seq === 'number' ? m.payload.seq : undefined;
    if (seq !== undefined) {
      if (seq <= this.lastSeq) return; // already shown before a reconnect
      this.lastSeq = seq;
    }
    this.opts.onEvent(m);
  }
}

function codeToExit(code: string): number {
  if (code === 'NOT_FOUND') return ExitCode.notFound;
  if (code === 'FORBIDDEN' || code === 'UNAUTHENTICATED') return ExitCode.auth;
  if (code.startsWith('SERVICE_')) return ExitCode.unavailable;
  if (code === 'VALIDATION_FAILED') return ExitCode.usage;
  return ExitCode.error;
}
