import { outputBytes, outputText } from '@codeagent/bus';
import { eventToServerMessage, makeEnvelope, SOCKET_EVENT, type ClientCommandName, type ErrorPayload, type SessionBusEventV1, type SessionBusOutputDataV1, type SocketResponseOf } from '@codeagent/contracts';
import type { Socket } from 'socket.io';
import { gatewayMetrics } from '../http/metrics';

/** The metadata of every message the gateway sends on a socket. */
const META = { version: '1', client: 'gateway' } as const;

/** An `error` message (libs/contracts socket.ts), answering the command with `id` if given. */
export function errorMessage(error: ErrorPayload, id?: string) {
  return makeEnvelope('error', error, META, id);
}

interface EngineConn {
  writeBuffer: unknown[];
  on(event: 'flush', fn: () => void): void;
  once(event: 'drain' | 'close', fn: () => void): void;
  off(event: 'drain' | 'close', fn: () => void): void;
  close(discard?: boolean): void;
  transport?: { name?: string; socket?: { terminate?: () => void } };
}

/** How long a dropped client has to read why it was dropped before its transport is ended. */
const DROP_GRACE_MS = 5_000;

/**
 * Output the bus brought as bytes is decoded once for every text socket that follows it (the same event
 * object is handed to each).
 */
const texts = new WeakMap<SessionBusOutputDataV1, { data: string; encoding?: 'base64' }>();
function textOf(d: SessionBusOutputDataV1): { data: string; encoding?: 'base64' } {
  let t = texts.get(d);
  if (!t) texts.set(d, (t = outputText(d)));
  return t;
}
const TEXT = { toText: textOf };
/** Output as a binary attachment (a `/subscribe` with `binary: true`): Socket.IO sends a Buffer as its own frame, here the bytes the bus brought. */
const BINARY = { toBytes: outputBytes };

/** Bytes of envelope around a message's data (id, timestamp, metadata, framing): an estimate. */
const ENVELOPE_BYTES = 256;

/** What an event takes in the write buffer (an estimate). */
export function eventBytes(e: SessionBusEventV1): number {
  return ENVELOPE_BYTES + (e.kind === 'output' ? e.data.data.length : 1024);
}

/**
 * The way out to one socket, with a bound: when more than `maxBytes` wait unsent in engine.io's
 * write buffer the client is too slow, and it is dropped with a reason instead of letting the
 * gateway's memory grow. Engine.io hands the transport one batch at a time (the next only once the
 * previous is written), so a slow client's backlog accumulates in the write buffer; `pending` counts
 * the bytes put there since the last flush, so at most one batch plus `maxBytes` is held per socket.
 */
export class SocketSink {
  private dropped = false;
  private pending = 0;
  /** Per session, the last event put in the write buffer, and the last one handed to the transport (the client gets it if it reads). */
  private readonly queuedSeq = new Map<string, number>();
  private readonly flushedSeq = new Map<string, number>();

  constructor(
    private readonly socket: Socket,
    readonly maxBytes: number,
  ) {
    this.conn.on('flush', () => {
      this.pending = 0;
      for (const [sessionId, seq] of this.queuedSeq) this.flushedSeq.set(sessionId, seq);
    });
  }

  private get conn(): EngineConn {
    return this.socket.conn as unknown as EngineConn;
  }

  /** Bytes waiting in the write buffer (an upper-bound estimate). */
  get buffered(): number {
    return this.conn.writeBuffer.length === 0 ? 0 : this.pending;
  }

  get closed(): boolean {
    return this.dropped || this.socket.disconnected;
  }

  /** Whether `e` can be sent now without going over the bound. */
  fits(e: SessionBusEventV1): boolean {
    return this.buffered + eventBytes(e) <= this.maxBytes;
  }

  /** Sends one session event; false when the socket is gone or was just dropped for being slow. */
  sendEvent(e: SessionBusEventV1, lastSeqForResume: number, binary = false): boolean {
    if (this.closed) return false;
    const size = eventBytes(e);
    if (this.buffered + size > this.maxBytes) {
      this.drop(e.sessionId, `you were reading too slowly (more than ${this.maxBytes} bytes waiting)`, lastSeqForResume);
      return false;
    }
    const msg = eventToServerMessage(e, META, binary ? BINARY : TEXT);
    this.pending += size;
    this.queuedSeq.set(e.sessionId, e.seq);
    this.socket.emit(SOCKET_EVENT, msg);
    gatewayMetrics.eventsDelivered().inc({ type: msg.type });
    return true;
  }

  /** The `response` to the command with envelope id `id`, its payload typed by the command. */
  respond<C extends ClientCommandName>(_command: C, id: string, payload: SocketResponseOf<C>): void {
    this.sendMessage(makeEnvelope('response', payload, META, id));
  }

  /** An `error` message, answering the command with `id` if given. */
  error(error: ErrorPayload, id?: string): void {
    this.sendMessage(errorMessage(error, id));
  }

  private sendMessage(msg: ReturnType<typeof makeEnvelope>): void {
    if (this.closed) return;
    this.pending += ENVELOPE_BYTES;
    this.socket.emit(SOCKET_EVENT, msg);
  }

  /** Resolves true once the write buffer is below half the bound, false if that takes longer than `timeoutMs`. */
  waitDrain(timeoutMs: number): Promise<boolean> {
    if (this.buffered < this.maxBytes / 2) return Promise.resolve(true);
    return new Promise((resolve) => {
      const conn = this.conn;
      const done = (ok: boolean) => {
        clearTimeout(timer);
        conn.off('drain', onDrain);
        conn.off('close', onClose);
        resolve(ok);
      };
      const onDrain = () => done(true);
      const onClose = () => done(false);
      const timer = setTimeout(() => done(false), timeoutMs);
      conn.once('drain', onDrain);
      conn.once('close', onClose);
    });
  }

  /**
   * Cuts the client off with a reason: what waits unsent is let go of (the client resumes it from the
   * log by sequence number), the `error` message takes its place, and the connection closes once that
   * message is handed to the transport (a websocket sends its close frame after it). A client that
   * still reads nothing gets DROP_GRACE_MS to read the reason, then its transport is ended.
   */
  drop(sessionId: string, why: string, lastSeqBefore: number): void {
    if (this.dropped) return;
    this.dropped = true;
    const reason = 'slow_consumer';
    gatewayMetrics.socketDrops().inc({ reason });
    const conn = this.conn;
    conn.writeBuffer.length = 0;
    // What the client gets if it reads: its last event before what was let go of.
    const lastSeq = this.flushedSeq.get(sessionId) ?? lastSeqBefore;
    const message = `${why}; reconnect and /subscribe with since=${lastSeq}`;
    this.socket.emit(SOCKET_EVENT, errorMessage({ code: 'LIMIT_REACHED', message, details: { reason, sessionId, lastSeq }, retryable: true }));
    const ws = conn.transport?.socket;
    conn.close();
    setTimeout(() => {
      conn.close(true);
      // A websocket whose peer does not read never finishes its closing handshake: end it now.
      ws?.terminate?.();
    }, DROP_GRACE_MS).unref();
  }
}
