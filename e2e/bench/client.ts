import { randomUUID } from 'node:crypto';
import { io, type Socket } from 'socket.io-client';

// The stack driven from outside, as a user's program would: plain HTTP and a Socket.IO client. Shared
// by the stack benchmarks and the fault tests (e2e/faults.e2e.test.ts).

export type Rec = Record<string, any>;

export interface ApiAnswer {
  status: number;
  body: Rec;
}

/** One HTTP call to the gateway; JSON in and out. Network errors (connection refused/reset) throw. */
export async function api(base: string, method: string, p: string, body?: unknown): Promise<ApiAnswer> {
  const res = await fetch(`${base}${p}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: Rec = {};
  try {
    parsed = text ? (JSON.parse(text) as Rec) : {};
  } catch {
    parsed = { raw: text };
  }
  return { status: res.status, body: parsed };
}

/** Like api() but anything but 2xx throws with the status and the problem document. */
export async function ok(base: string, method: string, p: string, body?: unknown): Promise<Rec> {
  const r = await api(base, method, p, body);
  if (r.status >= 300) throw new Error(`${method} ${p}: ${r.status} ${JSON.stringify(r.body).slice(0, 600)}`);
  return r.body;
}

/** A session on an empty workspace (the cheapest source), ready when this resolves. */
export async function openSession(base: string, extra: Rec = {}): Promise<Rec> {
  return ok(base, 'POST', '/api/v1/sessions', { source: { kind: 'empty' }, ...extra });
}

export async function closeSession(base: string, id: string): Promise<void> {
  await ok(base, 'DELETE', `/api/v1/sessions/${id}`);
}

export interface ServerMessage {
  id: string;
  type: string;
  payload: Rec;
}

/** A Socket.IO client on the gateway's /v1 namespace speaking the envelope protocol. */
export class SocketClient {
  readonly socket: Socket;
  private pending = new Map<string, { resolve: (m: ServerMessage) => void; reject: (e: Error) => void }>();
  private listeners = new Set<(m: ServerMessage) => void>();

  constructor(base: string, opts: { reconnection?: boolean } = {}) {
    this.socket = io(`${base}/v1`, { transports: ['websocket'], reconnection: opts.reconnection ?? true, forceNew: true });
    this.socket.on('message', (m: ServerMessage) => {
      for (const l of this.listeners) l(m);
      const p = this.pending.get(m.id);
      if (!p) return;
      if (m.type === 'response') {
        this.pending.delete(m.id);
        p.resolve(m);
      } else if (m.type === 'error') {
        this.pending.delete(m.id);
        p.reject(new Error(`socket error: ${JSON.stringify(m.payload)}`));
      }
    });
  }

  connected(timeoutMs = 10_000): Promise<void> {
    if (this.socket.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('socket did not connect')), timeoutMs);
      this.socket.once('connect', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  onMessage(l: (m: ServerMessage) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /** Sends a command envelope; resolves with its `response` (an `error` with the same id rejects). */
  command(command: string, args: Array<string | number>, context: Rec = {}, extra: Rec = {}, id: string = randomUUID()): Promise<ServerMessage> {
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.socket.emit('message', {
        id,
        type: 'command',
        timestamp: new Date().toISOString(),
        payload: { command, args, context, ...extra },
        metadata: { version: '1', client: 'e2e' },
      });
    });
  }

  close(): void {
    this.socket.close();
    for (const p of this.pending.values()) p.reject(new Error('socket closed'));
    this.pending.clear();
  }
}
