import {
  clientMessage,
  serverMessageToEvent,
  ServerMessageV1,
  SOCKET_EVENT,
  SOCKET_NAMESPACE,
  SocketResponsesV1,
  type ClientCommandInputV1,
  type ClientCommandName,
  type SocketResponseOf,
  type StatusMessageV1,
  type StreamMessageV1,
} from '@codeagent/contracts';
import { io, type Socket } from 'socket.io-client';
import { currentTokens, refreshTokens } from './auth';
import type { SessionEvent } from './types';

// The Socket.IO protocol is libs/contracts/src/socket.ts: commands are built and every message the
// gateway sends is parsed with its schemas, so nothing here guesses at a payload's shape.

export type LinkState = 'connecting' | 'connected' | 'reconnecting' | 'refused';

/** The payload a command takes, by its name. */
type InputOf<C extends ClientCommandName> = ClientCommandInputV1 extends infer U ? (U extends { command: infer K } ? (C extends K ? U : never) : never) : never;
type Extra<C extends ClientCommandName> = Omit<InputOf<C>, 'command' | 'args' | 'context'>;

/**
 * The page's one Socket.IO connection. Commands are envelopes whose answer (`response` or `error`)
 * carries the same id; session events go to the feed of their session. When the link drops,
 * Socket.IO reconnects by itself and every feed subscribes again from the last sequence number it
 * delivered, so nothing is missed or shown twice.
 */
export class Live {
  readonly socket: Socket;
  private state: LinkState = 'connecting';
  private reason = '';
  private readonly stateListeners = new Set<(s: LinkState, reason: string) => void>();
  private readonly waiters = new Map<string, { command: ClientCommandName; resolve: (p: unknown) => void; reject: (e: Error) => void }>();
  private readonly feeds = new Map<string, SessionFeed>();

  constructor() {
    this.socket = io(SOCKET_NAMESPACE, {
      transports: ['websocket'],
      reconnectionDelay: 250,
      reconnectionDelayMax: 3_000,
      // Read at every (re)connection, so a refreshed token is used.
      auth: (cb) => {
        const t = currentTokens()?.accessToken;
        cb(t ? { token: t } : {});
      },
    });
    this.socket.on(SOCKET_EVENT, (raw: unknown) => this.onMessage(raw));
    this.socket.on('connect', () => {
      this.setState('connected');
      for (const f of this.feeds.values()) f.resubscribe();
    });
    this.socket.on('disconnect', (reason) => {
      this.setState('reconnecting', reason);
      for (const [id, w] of this.waiters) {
        w.reject(new Error('the connection to the gateway dropped'));
        this.waiters.delete(id);
      }
      // The server ends the link itself when a token expires: come back with a fresh one.
      if (reason === 'io server disconnect') void this.reconnectWithFreshToken();
    });
    this.socket.on('connect_error', (err: Error & { data?: { code?: string } }) => {
      if (err.data?.code === 'UNAUTHENTICATED' || /unauthor|token/i.test(err.message)) {
        this.setState('refused', err.message);
        void this.reconnectWithFreshToken();
      } else this.setState('reconnecting', err.message);
    });
  }

  private async reconnectWithFreshToken(): Promise<void> {
    if (!currentTokens()) return;
    if (await refreshTokens()) this.socket.connect();
  }

  get linkState(): LinkState {
    return this.state;
  }

  onState(l: (s: LinkState, reason: string) => void): () => void {
    this.stateListeners.add(l);
    l(this.state, this.reason);
    return () => this.stateListeners.delete(l);
  }

  private setState(s: LinkState, reason = ''): void {
    this.state = s;
    this.reason = reason;
    for (const l of this.stateListeners) l(s, reason);
  }

  /** Sends a command; resolves with its `response` payload (typed by the command), rejects with its `error` message. */
  request<C extends ClientCommandName>(command: C, args: InputOf<C>['args'], context: { sessionId: string; since?: number }, extra?: Extra<C>): { id: string; done: Promise<SocketResponseOf<C>> } {
    const id = crypto.randomUUID();
    const done = new Promise<SocketResponseOf<C>>((resolve, reject) => this.waiters.set(id, { command, resolve: resolve as (p: unknown) => void, reject }));
    const payload = { command, args, context, ...extra } as ClientCommandInputV1;
    this.socket.emit(SOCKET_EVENT, clientMessage(payload, { version: '1', client: 'web' }, id));
    return { id, done };
  }

  /** The live event feed of one session; the same object for every caller until it is released. */
  feed(sessionId: string): SessionFeed {
    let f = this.feeds.get(sessionId);
    if (!f) {
      f = new SessionFeed(this, sessionId, () => this.feeds.delete(sessionId));
      this.feeds.set(sessionId, f);
    }
    return f;
  }

  close(): void {
    this.socket.close();
  }

  private onMessage(raw: unknown): void {
    const parsed = ServerMessageV1.safeParse(raw);
    if (!parsed.success) {
      // A newer gateway's message this page does not know: skipped, said in the console.
      console.warn('codeagent: ignored a socket message this page does not understand', parsed.error.issues[0]);
      return;
    }
    const m = parsed.data;
    if (m.type === 'response' || m.type === 'error') {
      const w = this.waiters.get(m.id);
      if (w) {
        this.waiters.delete(m.id);
        if (m.type === 'error') return w.reject(new Error(m.payload.message));
        const answer = SocketResponsesV1[w.command].safeParse(m.payload);
        if (answer.success) w.resolve(answer.data);
        else w.reject(new Error(`the gateway's answer to ${w.command} was not understood`));
      }
      return;
    }
    this.feeds.get(m.payload.sessionId)?.deliver(m);
  }
}

/**
 * One session's events in order, from sequence number `since` (0: the whole log), then live.
 * Delivers each sequence number once, whatever reconnections happen in between.
 */
export class SessionFeed {
  private lastSeq = 0;
  private refs = 0;
  private started = false;
  private readonly listeners = new Set<(e: SessionEvent) => void>();

  constructor(
    private readonly live: Live,
    readonly sessionId: string,
    private readonly onRelease: () => void,
  ) {}

  get seq(): number {
    return this.lastSeq;
  }

  listen(l: (e: SessionEvent) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /** Subscribes (once, however many holders) from the start of the session's log. */
  acquire(): () => void {
    this.refs++;
    if (!this.started) {
      this.started = true;
      if (this.live.socket.connected) this.resubscribe();
    }
    return () => {
      if (--this.refs > 0) return;
      this.started = false;
      this.live.request('/unsubscribe', [], { sessionId: this.sessionId }).done.catch(() => undefined);
      this.onRelease();
    };
  }

  resubscribe(): void {
    if (!this.started) return;
    this.live.request('/subscribe', [], { sessionId: this.sessionId, since: this.lastSeq }).done.catch(() => undefined);
  }

  deliver(m: StreamMessageV1 | StatusMessageV1): void {
    const seq = m.payload.seq;
    if (seq <= this.lastSeq) return; // seen before a reconnect
    this.lastSeq = seq;
    const event: SessionEvent = serverMessageToEvent(m);
    for (const l of this.listeners) l(event);
  }
}

let shared: Live | undefined;

/** The page's connection, opened on first use (after login in team mode). */
export function live(): Live {
  shared ??= new Live();
  return shared;
}

export function closeLive(): void {
  shared?.close();
  shared = undefined;
}
