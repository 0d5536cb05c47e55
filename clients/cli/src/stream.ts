import { randomUUID } from 'node:crypto';
import {
  clientMessage,
  ServerMessageV1,
  SOCKET_EVENT,
  SOCKET_NAMESPACE,
  SocketResponsesV1,
  type ClientCommandInputV1,
  type ClientCommandName,
  type ErrorPayload,
  type SocketResponseOf,
  type StreamMessageV1,
} from '@codeagent/contracts';
import { io, type Socket } from 'socket.io-client';
import { CliError, ExitCode } from './errors';

/** What a stream delivers: the session's events (`stream`, `status`) and errors not tied to a command. */
export type SessionMessage = Exclude<ServerMessageV1, { type: 'response' }>;
export type StreamMessage = StreamMessageV1;

/** The payload a command takes, by its name (libs/contracts socket.ts). */
type InputOf<C extends ClientCommandName> = ClientCommandInputV1 extends infer U ? (U extends { command: infer K } ? (C extends K ? U : never) : never) : never;
type Extra<C extends ClientCommandName> = Omit<InputOf<C>, 'command' | 'args' | 'context'>;

/**
 * One session's live stream over Socket.IO. It subscribes from a sequence number and, when the
 * connection drops and Socket.IO reconnects, subscribes again from the last number it saw: nothing
 * is lost and nothing is shown twice.
 */
export class SessionStream {
  private socket?: Socket;
  private lastSeq: number;
  private readonly waiters = new Map<string, { command: ClientCommandName; resolve: (p: unknown) => void; reject: (e: Error) => void }>();

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
    const socket = io(new URL(SOCKET_NAMESPACE, this.opts.baseUrl).toString(), {
      auth: this.opts.token ? { token: this.opts.token } : {},
      transports: ['websocket'],
      reconnectionDelay: 200,
      reconnectionDelayMax: 2_000,
    });
    this.socket = socket;
    socket.on(SOCKET_EVENT, (raw: unknown) => this.onMessage(raw));
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

  /** Sends a command envelope; resolves with the `response` payload that carries the same id, typed by the command. */
  request<C extends ClientCommandName>(command: C, args: InputOf<C>['args'], extra?: Extra<C>): { id: string; done: Promise<SocketResponseOf<C>> } {
    const id = randomUUID();
    const done = new Promise<SocketResponseOf<C>>((resolve, reject) => this.waiters.set(id, { command, resolve: resolve as (p: unknown) => void, reject }));
    this.send(id, command, args, extra);
    return { id, done };
  }

  /** Sends a command without waiting for its answer (keystrokes, resizes). */
  fire<C extends ClientCommandName>(command: C, args: InputOf<C>['args']): void {
    this.send(randomUUID(), command, args, undefined);
  }

  close(): void {
    this.socket?.close();
  }

  /** Drops the connection without closing the client, so Socket.IO reconnects (for tests and flaky links). */
  dropConnection(): void {
    this.socket?.io.engine?.close();
  }

  private subscribe(): Promise<unknown> {
    const { done } = this.request('/subscribe', [], { since: this.lastSeq });
    done.catch(() => undefined);
    return done;
  }

  private send(id: string, command: ClientCommandName, args: unknown, extra: object | undefined): void {
    const payload = { command, args, context: { sessionId: this.opts.sessionId }, ...extra } as ClientCommandInputV1;
    this.socket?.emit(SOCKET_EVENT, clientMessage(payload, { version: '1', client: 'cli' }, id));
  }

  private onMessage(raw: unknown): void {
    const parsed = ServerMessageV1.safeParse(raw);
    if (!parsed.success) {
      // A newer gateway's message this client does not know: said once per message, never fatal.
      process.stderr.write(`codeagent: ignored a message this client does not understand (${parsed.error.issues[0]?.message ?? 'invalid'})\n`);
      return;
    }
    const m = parsed.data;
    if (m.type === 'response' || m.type === 'error') {
      const w = this.waiters.get(m.id);
      if (w) {
        this.waiters.delete(m.id);
        if (m.type === 'response') {
          // The payload's exact shape follows from the command it answers.
          const answer = SocketResponsesV1[w.command].safeParse(m.payload);
          if (answer.success) w.resolve(answer.data);
          else w.reject(new CliError(`the gateway's answer to ${w.command} was not understood: ${answer.error.issues[0]?.message ?? ''}`, ExitCode.error));
        } else w.reject(errorOf(m.payload));
        return;
      }
      if (m.type === 'error') this.opts.onEvent(m);
      return;
    }
    if (m.payload.seq <= this.lastSeq) return; // already shown before a reconnect
    this.lastSeq = m.payload.seq;
    this.opts.onEvent(m);
  }
}

function errorOf(p: ErrorPayload): CliError {
  return new CliError(p.message, codeToExit(p.code), undefined, p.code);
}

function codeToExit(code: string): number {
  if (code === 'NOT_FOUND') return ExitCode.notFound;
  if (code === 'FORBIDDEN' || code === 'UNAUTHENTICATED') return ExitCode.auth;
  if (code.startsWith('SERVICE_')) return ExitCode.unavailable;
  if (code === 'VALIDATION_FAILED') return ExitCode.usage;
  return ExitCode.error;
}
