import { io, type Socket } from 'socket.io-client';
import { currentTokens, refreshTokens } from './auth';
import type { SessionEvent } from './types';

/** Seed 003's envelope, as the gateway sends and receives it on the Socket.IO namespace `/v1`. */
export interface Envelope<P = Record<string, unknown>> {
  id: string;
  type: 'command' | 'response' | 'stream' | 'status' | 'error';
  timestamp: string;
  payload: P;
  metadata: { version: string; client?: string; user?: string };
}

export type LinkState = 'connecting' | 'connected' | 'reconnecting' | 'refused';

type Payload = Record<string, unknown>;

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
  private readonly waiters = new Map<string, { resolve: (p: Payload) => void; reject: (e: Error) => void }>();
  private readonly feeds = new Map<string, SessionFeed>();

  constructor() {
    this.socket = io('/v1', {
      transports: ['websocket'],
      reconnectionDelay: 250,
      reconnectionDelayMax: 3_000,
      // Read at every (re)connection, so a refreshed token is used.
      auth: (cb) => {
        const t = currentTokens()?.accessToken;
        cb(t ? { token: t } : {});
      },
    });
    this.socket.on('message', (m: Envelope) => this.onMessage(m));
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

  /** Sends a command; resolves with its `response` payload, rejects with its `error` message. */
  request(command: string, args: unknown[] = [], context: Payload = {}, extra: Payload = {}): { id: string; done: Promise<Payload> } {
    const id = crypto.randomUUID();
    const done = new Promise<Payload>((resolve, reject) => this.waiters.set(id, { resolve, reject }));
    const envelope: Envelope = {
      id,
      type: 'command',
      timestamp: new Date().toISOString(),
      payload: { command, args, context, ...extra },
      metadata: { version: '1', client: 'web' },
    };
    this.socket.emit('message', envelope);
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

  private onMessage(m: Envelope): void {
    if (m.type === 'response' || m.type === 'error') {
      const w = this.waiters.get(m.id);
      if (w) {
        this.waiters.delete(m.id);
        if (m.type === 'response') w.resolve(m.payload);
        else w.reject(new Error(String(m.payload.message ?? 'error')));
      }
      return;
    }
    const sessionId = typeof m.payload.sessionId === 'string' ? m.payload.sessionId : undefined;
    if (sessionId) this.feeds.get(sessionId)?.deliver(m);
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

  deliver(m: Envelope): void {
    const p = m.payload;
    const seq = typeof p.seq === 'number' ? p.seq : undefined;
    if (seq === undefined || seq <= this.lastSeq) return; // seen before a reconnect
    this.lastSeq = seq;
    const event: SessionEvent =
      m.type === 'stream'
        ? { seq, kind: 'output', data: { stream: p.stream, data: p.data, commandId: p.commandId, encoding: p.encoding } }
        : { seq, kind: String(p.kind), data: (p.data ?? {}) as Record<string, unknown>, at: typeof p.at === 'string' ? p.at : undefined };
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
