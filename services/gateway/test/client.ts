import { randomUUID } from 'node:crypto';
import { io, type Socket } from 'socket.io-client';

export interface Msg {
  id: string;
  type: string;
  timestamp: string;
  payload: any;
  metadata: Record<string, unknown>;
}

/** A Socket.IO client of namespace /v1 that records every message it gets. */
export class TestClient {
  readonly messages: Msg[] = [];
  readonly socket: Socket;

  constructor(base: string, opts: { token?: string; extraHeaders?: Record<string, string> } = {}) {
    this.socket = io(`${base}/v1`, { transports: ['websocket'], reconnection: false, auth: opts.token ? { token: opts.token } : {}, forceNew: true, extraHeaders: opts.extraHeaders });
    this.socket.on('message', (m: Msg) => this.messages.push(m));
  }

  connected(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.socket.connected) return resolve();
      this.socket.once('connect', () => resolve());
      this.socket.once('connect_error', reject);
    });
  }

  /** Sends a command envelope; returns its id. */
  command(command: string, args: unknown[] = [], context: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): string {
    const id = randomUUID();
    this.socket.emit('message', { id, type: 'command', timestamp: new Date().toISOString(), payload: { command, args, context, ...extra }, metadata: { version: '1', client: 'test' } });
    return id;
  }

  /** The response or error to a command, once it arrives. */
  reply(id: string): Msg | undefined {
    return this.messages.find((m) => m.id === id && (m.type === 'response' || m.type === 'error'));
  }

  close(): void {
    this.socket.close();
  }
}
