import { isUtf8 } from 'node:buffer';
import type { EventName, EventPayload } from '@codeagent/contracts';
import type { Logger } from '@codeagent/telemetry';
import type { EventSink, OutputStreamName } from './types';

export interface OutputStreamOptions {
  /** A queued chunk stops growing at this size; bigger output becomes several events. */
  maxChunkBytes: number;
  /** Output waiting to be published beyond which the producer is paused (backpressure). */
  highWaterBytes: number;
}

type OutputItem = { kind: 'output'; commandId?: string; stream: OutputStreamName; chunks: Buffer[]; bytes: number };
type EventItem = { kind: 'event'; run: (seq: number) => Promise<void>; resolve: () => void; reject: (err: Error) => void };
type Item = OutputItem | EventItem;

const RETRY_DELAYS_MS = [100, 250, 500, 1000, 2000, 5000];

/**
 * One session's ordered event stream. Everything a session publishes (output chunks and the
 * command/crash/close events) goes through here, one publish at a time, each awaited until the broker
 * confirms it, so consumers see them in order. `shell.output` events carry `seq`: per session, starting
 * at 0, gapless (a failed publish is retried, never skipped).
 *
 * Coalescing: while one publish is in flight, later output of the same command and stream is appended
 * to the last queued chunk (up to maxChunkBytes), so a fast producer makes few large events instead of
 * one per pipe read. When more than highWaterBytes wait, `output()` returns a promise that resolves once
 * half of it has gone: the sandbox stops reading, and the command blocks on its full pipe.
 */
export class OutputStream {
  private readonly queue: Item[] = [];
  private nextSeq = 0;
  private queuedBytes = 0;
  private pumping = false;
  private closed = false;
  private drainWaiters: Array<() => void> = [];
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly sessionId: string,
    private readonly sink: EventSink,
    private readonly opts: OutputStreamOptions,
    private readonly log: Logger,
  ) {}

  /** The seq the next output chunk will carry. */
  get seq(): number {
    return this.nextSeq;
  }

  /** Queues output; returns a promise when the producer should wait before giving more. */
  output(commandId: string | undefined, stream: OutputStreamName, data: Buffer): Promise<void> | undefined {
    if (data.length === 0 || this.closed) return undefined;
    const tail = this.queue[this.queue.length - 1];
    if (tail?.kind === 'output' && tail.commandId === commandId && tail.stream === stream && tail.bytes < this.opts.maxChunkBytes) {
      tail.chunks.push(data);
      tail.bytes += data.length;
    } else {
      this.queue.push({ kind: 'output', commandId, stream, chunks: [data], bytes: data.length });
    }
    this.queuedBytes += data.length;
    this.kick();
    if (this.queuedBytes <= this.opts.highWaterBytes) return undefined;
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /**
   * Queues an event behind the output already queued; `build` receives the seq the next output chunk
   * will carry. Resolves once the broker has it.
   */
  event<N extends EventName>(name: N, build: (seq: number) => EventPayload<N>): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ kind: 'event', run: (seq) => this.publish(name, build(seq)), resolve, reject });
      this.kick();
    });
  }

  /** Resolves when everything queued so far is published. */
  async flush(): Promise<void> {
    if (!this.pumping && this.queue.length === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops retrying; what is still queued is dropped (logged). Output given afterwards is ignored. */
  close(): void {
    this.closed = true;
    this.releaseDrainWaiters(true);
  }

  private kick(): void {
    if (this.pumping) return;
    this.pumping = true;
    void this.pump().finally(() => {
      this.pumping = false;
      // Something queued between the loop's last check and this callback would otherwise wait forever.
      if (this.queue.length > 0) return this.kick();
      for (const w of this.idleWaiters.splice(0)) w();
    });
  }

  private async pump(): Promise<void> {
    while (this.queue.length > 0) {
      const item = this.queue.shift()!;
      if (item.kind === 'event') {
        try {
          await item.run(this.nextSeq);
          item.resolve();
        } catch (err) {
          item.reject(err as Error);
        }
        continue;
      }
      let data = item.chunks.length === 1 ? item.chunks[0]! : Buffer.concat(item.chunks, item.bytes);
      this.queuedBytes -= item.bytes;
      // A multi-byte character cut at the chunk boundary would force base64 on both halves: move its
      // first bytes to the next chunk when that chunk continues the same stream.
      const next = this.queue[0];
      const cut = incompleteUtf8Tail(data);
      if (cut > 0 && next?.kind === 'output' && next.commandId === item.commandId && next.stream === item.stream) {
        next.chunks.unshift(data.subarray(data.length - cut));
        next.bytes += cut;
        this.queuedBytes += cut;
        data = data.subarray(0, data.length - cut);
      }
      const text = isUtf8(data);
      const payload: EventPayload<'shell.output'> = {
        sessionId: this.sessionId,
        ...(item.commandId !== undefined ? { commandId: item.commandId } : {}),
        seq: this.nextSeq,
        stream: item.stream,
        data: text ? data.toString('utf8') : data.toString('base64'),
        encoding: text ? 'utf8' : 'base64',
      };
      try {
        await this.publish('shell.output', payload);
        this.nextSeq += 1;
      } catch (err) {
        // Only reached when the stream was closed while retrying: the seq is not consumed.
        this.log.error({ sessionId: this.sessionId, seq: payload.seq, err: (err as Error).message }, 'output dropped: session closed while the broker was unreachable');
      }
      if (this.queuedBytes <= this.opts.highWaterBytes / 2) this.releaseDrainWaiters(false);
    }
  }

  /** Publishes, retrying while the broker is unreachable, until it succeeds or the stream is closed. */
  private async publish<N extends EventName>(name: N, payload: EventPayload<N>): Promise<void> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        await this.sink.publish(name, payload);
        return;
      } catch (err) {
        if (this.closed) throw err;
        const delay = RETRY_DELAYS_MS[Math.min(attempt, RETRY_DELAYS_MS.length - 1)]!;
        this.log.warn({ sessionId: this.sessionId, event: name, attempt: attempt + 1, delayMs: delay, err: (err as Error).message }, 'publish failed; retrying');
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  private releaseDrainWaiters(all: boolean): void {
    if (!all && this.drainWaiters.length === 0) return;
    for (const w of this.drainWaiters.splice(0)) w();
  }
}

/** How many bytes at the end of `buf` start a UTF-8 character that is not complete (0 to 3). */
export function incompleteUtf8Tail(buf: Buffer): number {
  const n = buf.length;
  for (let back = 1; back <= Math.min(3, n); back += 1) {
    const b = buf[n - back]!;
    if ((b & 0xc0) === 0x80) continue; // continuation byte: keep looking for the lead byte
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return need > back ? back : 0;
  }
  return 0;
}
