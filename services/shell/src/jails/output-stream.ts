import type { AppendedKindV1, EventName, EventPayload, SessionBusEventV1, SessionEventData, SessionEventV1 } from '@codeagent/contracts';
import type { Logger } from '@codeagent/telemetry';
import type { EventSink, OutputStreamName } from './types';

export interface OutputStreamOptions {
  /** A queued chunk stops growing at this size; bigger output becomes several events. */
  maxChunkBytes: number;
  /** Output waiting to be published beyond which the producer is paused (backpressure). */
  highWaterBytes: number;
  /**
   * Publishes awaiting the broker's confirm at once (default 8). One channel with publisher confirms
   * keeps them in order on the wire; the window only removes the confirm round trip from each event.
   */
  maxInFlight?: number;
  /**
   * Hears the last seq given, synchronously, before the events up to it are published: a kept jail's
   * successor numbers on from what was given, so a seq is never given twice.
   */
  onNumbered?: (lastSeq: number) => void;
}

type OutputItem = { kind: 'output'; commandId?: string; stream: OutputStreamName; chunks: Buffer[]; bytes: number };
/** An event of the log: takes the next seq; `settle` hears whether the broker took it. */
type LogItem = { kind: 'log'; build: (seq: number) => SessionEventV1; settle: (seq: number, err?: Error) => void };
/** A fact beside the log (takes no seq): `publish` is given the next seq. */
type FactItem = { kind: 'fact'; publish: (nextSeq: number) => Sent };
type Item = OutputItem | LogItem | FactItem;

/** One publish on its way: `done` settles with true (confirmed) or the error; `settle` reports it to whoever queued it. */
interface Sent {
  again: () => Promise<void>;
  done: Promise<true | Error>;
  settle: (err?: Error) => void;
  /** A chunk of terminal output. */
  terminal?: boolean;
}

/** Events of the log in one message at most (the batch's other bound is maxChunkBytes of data). */
const MAX_BATCH_EVENTS = 256;
/** What a log event other than output counts for against a batch's bytes. */
const EVENT_BYTES = 200;

const RETRY_DELAYS_MS = [100, 250, 500, 1000, 2000, 5000];

/**
 * One session's ordered event stream, and the sequencer of its log while the jail lives. Everything
 * the session publishes goes through here in order: its log as `session.event` (output chunks, command
 * started/completed, crashes, refused egress, and what the orchestrator appends through the jail),
 * each given the session seq here, once: from `firstSeq`, gapless (a failed publish is retried, never
 * skipped); and a few facts beside the log (the audit record, shell.closed) that take no seq.
 *
 * Batching: log events queued together leave as one `session.event.batch` message (consecutive seqs, up
 * to maxChunkBytes of data), so a command's start and busy, or its completion and idle, cost one
 * message each instead of two; a lone event is a `session.event`. The pump starts a microtask after
 * the first item is queued, so what one call queues (an event and its status) leaves together.
 *
 * Pipelining: up to `maxInFlight` publishes wait for their confirms at once (they leave on one
 * channel, so the broker receives them in order). Should one fail (the broker went away), nothing new
 * is sent: the stream waits for every publish in flight to settle, then publishes the failed ones
 * again, oldest first, retrying until they are confirmed, and only then carries on. A broker drops a
 * channel's unconfirmed messages together, so what was sent after a failed message failed with it.
 *
 * Holding: a command's events wait up to `hold(ms)` for more of it before they leave (its start, busy,
 * output, completion and idle), so a short command costs one message, not three, in the broker and in
 * every service that reads the log. The hold ends early when the command completes (`release`), when
 * its output reaches maxChunkBytes, and whenever someone waits on the stream (`sent`, `flush`).
 *
 * Coalescing: while publishes are in flight, later output of the same command and stream is appended
 * to the last queued chunk (up to maxChunkBytes), so a fast producer makes few large events instead of
 * one per pipe read; terminal output leaves one chunk at a time (its reads join the queued chunk while
 * one awaits its confirm), so an echo never waits behind a window of tiny events. When more than
 * highWaterBytes wait, `output()` returns a promise that resolves once half of it has gone: the sandbox
 * stops reading, and the command blocks on its full pipe.
 */
export class OutputStream {
  private readonly queue: Item[] = [];
  private readonly inFlight: Sent[] = [];
  private nextSeq: number;
  private queuedBytes = 0;
  private pumping = false;
  /** Set while the pump waits with nothing queued: queuing wakes it so the new item joins the window. */
  private wakePump?: () => void;
  private closed = false;
  private drainWaiters: Array<() => void> = [];
  private idleWaiters: Array<() => void> = [];
  /** Per command and stream (the terminal's: no command), the first bytes of a character not yet whole. */
  private readonly partial = new Map<string, { commandId?: string; stream: OutputStreamName; bytes: Buffer }>();
  private sentWaiters: Array<() => void> = [];
  /** Set while held (see hold): the pump sends nothing until it is cleared. */
  private holdTimer?: NodeJS.Timeout;

  constructor(
    private readonly sessionId: string,
    private readonly sink: EventSink,
    private readonly opts: OutputStreamOptions,
    private readonly log: Logger,
    /** The seq of the first event (the session's log before the jail ended at firstSeq - 1). */
    firstSeq = 1,
  ) {
    this.nextSeq = firstSeq;
  }

  /** The last seq given (firstSeq - 1 before any); once flushed, every event up to it is with the broker. */
  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  /**
   * Queues output; returns a promise when the producer should wait before giving more. Each event of a
   * stream ends on a UTF-8 character boundary, so output that is UTF-8 goes as text however its reads
   * fell (a character split between two events made both base64, and clients decode event by event):
   * the first bytes of an unfinished character wait for the next output, or for endOutput.
   */
  output(commandId: string | undefined, stream: OutputStreamName, data: Buffer): Promise<void> | undefined {
    if (data.length === 0 || this.closed) return undefined;
    const key = `${commandId ?? ''}\0${stream}`;
    const held = this.partial.get(key);
    if (held) {
      this.partial.delete(key);
      data = Buffer.concat([held.bytes, data]);
    }
    const cut = incompleteUtf8Tail(data);
    if (cut > 0) {
      this.partial.set(key, { ...(commandId === undefined ? {} : { commandId }), stream, bytes: data.subarray(data.length - cut) });
      data = data.subarray(0, data.length - cut);
    }
    return this.queueOutput(commandId, stream, data);
  }

  /** Queues what output() held back of a command's streams (undefined: the terminal's), as it is: the command or the terminal ended. */
  endOutput(commandId: string | undefined): void {
    for (const [key, held] of this.partial) if (held.commandId === commandId) this.endHeld(key);
  }

  private endHeld(key: string): void {
    const held = this.partial.get(key)!;
    this.partial.delete(key);
    void this.queueOutput(held.commandId, held.stream, held.bytes);
  }

  private queueOutput(commandId: string | undefined, stream: OutputStreamName, data: Buffer): Promise<void> | undefined {
    if (data.length === 0) return undefined;
    const tail = this.queue[this.queue.length - 1];
    if (tail?.kind === 'output' && tail.commandId === commandId && tail.stream === stream && tail.bytes < this.opts.maxChunkBytes) {
      tail.chunks.push(data);
      tail.bytes += data.length;
    } else {
      this.queue.push({ kind: 'output', commandId, stream, chunks: [data], bytes: data.length });
    }
    this.queuedBytes += data.length;
    // A full chunk ends the hold (release kicks the pump); otherwise the pump sends it unless held.
    if (this.holdTimer && this.queuedBytes >= this.opts.maxChunkBytes) this.release();
    else this.kick();
    if (this.queuedBytes <= this.opts.highWaterBytes) return undefined;
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /**
   * Appends an event to the session's log behind what is queued; resolves with its seq once the broker
   * has it. `numbered` hears the seq as soon as it is given (before anything queued later is built).
   */
  append<K extends AppendedKindV1>(kind: K, data: SessionEventData<K>, numbered?: (seq: number) => void): Promise<number> {
    // When it happened, not when it left (a hold may keep it a few ms).
    const at = new Date().toISOString();
    return new Promise((resolve, reject) => {
      this.queue.push({
        kind: 'log',
        build: (seq) => {
          numbered?.(seq);
          return { sessionId: this.sessionId, seq, kind, data, at } as SessionEventV1;
        },
        settle: (seq, err) => (err ? reject(err) : resolve(seq)),
      });
      this.kick();
    });
  }

  /** Publishes a fact beside the log (no seq of its own) behind what is queued; `build` gets the last seq given. */
  event<N extends EventName>(name: N, build: (lastSeq: number) => EventPayload<N>): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ kind: 'fact', publish: (next) => this.send(name, build(next - 1), (err) => (err ? reject(err) : resolve())) });
      this.kick();
    });
  }

  /**
   * Keeps what is queued from now on for at most `ms` (see Holding above), in order, then sends it
   * all together; `release` ends the hold sooner.
   */
  hold(ms: number): void {
    clearTimeout(this.holdTimer);
    this.holdTimer = setTimeout(() => this.release(), ms);
  }

  release(): void {
    if (!this.holdTimer) return;
    clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    this.kick();
  }

  /** Resolves when everything given so far is published, held bytes of unfinished characters too. */
  async flush(): Promise<void> {
    this.release();
    for (const key of [...this.partial.keys()]) this.endHeld(key);
    if (!this.pumping && this.queue.length === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Resolves once everything queued so far has been handed to the broker's channel, in order, without
   * waiting for its confirms (the stream still retries what fails): a reply sent after it leaves behind
   * these events. Waits only while the window of publishes in flight is full.
   */
  sent(): Promise<void> {
    this.release();
    if (this.queue.length === 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.sentWaiters.push(resolve));
  }

  /** Stops retrying; what is still queued is dropped (logged). Output given afterwards is ignored. */
  close(): void {
    clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    this.closed = true;
    this.releaseDrainWaiters(true);
    this.releaseSentWaiters();
  }

  private kick(): void {
    if (this.holdTimer) return;
    this.wakePump?.();
    if (this.pumping) return;
    this.pumping = true;
    void Promise.resolve()
      .then(() => this.pump())
      .finally(() => {
        this.pumping = false;
        // Something queued between the loop's last check and this callback would otherwise wait forever.
        if (this.queue.length > 0) return this.kick();
        for (const w of this.idleWaiters.splice(0)) w();
      });
  }

  private async pump(): Promise<void> {
    const window = Math.max(1, this.opts.maxInFlight ?? 8);
    for (;;) {
      const head = this.queue[0];
      if (head?.kind === 'output' && head.stream === 'pty' && this.inFlight.some((s) => s.terminal)) {
        // One terminal chunk on its way at a time: reads meanwhile join the queued one, so a
        // keystroke's echo waits behind one event, not behind a window of tiny ones.
        await this.settleOldest();
        continue;
      }
      // While held, nothing queued is sent: the window settles, then the pump waits for the release's kick.
      const item = this.holdTimer ? undefined : this.queue.shift();
      if (!item) {
        // Nothing more to send: wait for the oldest confirm, or for more to send (which may join the window).
        if (this.inFlight.length === 0) return;
        const queued = new Promise<false>((resolve) => (this.wakePump = () => resolve(false)));
        const confirmed = await Promise.race([this.inFlight[0]!.done.then(() => true), queued]);
        this.wakePump = undefined;
        if (confirmed) await this.settleOldest();
        continue;
      }
      this.inFlight.push(item.kind === 'fact' ? item.publish(this.nextSeq) : this.sendLog(item));
      if (this.queue.length === 0) this.releaseSentWaiters();
      if (this.inFlight.length >= window) await this.settleOldest();
    }
  }

  /**
   * Publishes a log item and the log items queued right behind it (not terminal output, which leaves
   * one chunk at a time) as one message, each given its seq.
   */
  private sendLog(first: OutputItem | LogItem): Sent {
    const batch = [this.logEvent(first)];
    let bytes = first.kind === 'output' ? first.bytes : EVENT_BYTES;
    if (!(first.kind === 'output' && first.stream === 'pty')) {
      for (let next = this.queue[0]; next && next.kind !== 'fact' && !(next.kind === 'output' && next.stream === 'pty'); next = this.queue[0]) {
        const size = next.kind === 'output' ? next.bytes : EVENT_BYTES;
        if (batch.length >= MAX_BATCH_EVENTS || bytes + size > this.opts.maxChunkBytes) break;
        this.queue.shift();
        batch.push(this.logEvent(next));
        bytes += size;
      }
    }
    this.opts.onNumbered?.(this.nextSeq - 1);
    const settle = (err?: Error) => batch.forEach((b) => b.settle(err));
    const sent =
      batch.length === 1
        ? this.send('session.event', batch[0]!.event, settle)
        : this.send('session.event.batch', { sessionId: this.sessionId, events: batch.map((b) => b.event) }, settle);
    sent.terminal = first.kind === 'output' && first.stream === 'pty';
    return sent;
  }

  /** The log event of an item, given the next seq, and what to tell once the broker has it (or not). */
  private logEvent(item: OutputItem | LogItem): { event: SessionBusEventV1; settle: (err?: Error) => void } {
    const seq = this.nextSeq++;
    if (item.kind === 'log') return { event: item.build(seq), settle: (err) => item.settle(seq, err) };
    // The bytes as read: the bus carries them beside the JSON, and readers decode them only if they show text.
    const data = item.chunks.length === 1 ? item.chunks[0]! : Buffer.concat(item.chunks, item.bytes);
    const event: SessionBusEventV1 = {
      sessionId: this.sessionId,
      seq,
      kind: 'output',
      data: { ...(item.commandId !== undefined ? { commandId: item.commandId } : {}), stream: item.stream, data },
      at: new Date().toISOString(),
    };
    // Bytes count against the high-water mark until the broker has confirmed them.
    const bytes = data.length;
    return {
      event,
      settle: (err) => {
        this.queuedBytes -= bytes;
        if (this.queuedBytes <= this.opts.highWaterBytes / 2) this.releaseDrainWaiters(false);
        // Only reached when the stream was closed while retrying.
        if (err) this.log.error({ sessionId: this.sessionId, seq, err: err.message }, 'output dropped: session closed while the broker was unreachable');
      },
    };
  }

  private send<N extends EventName>(name: N, payload: EventPayload<N>, settle: (err?: Error) => void): Sent {
    const attempt = () => this.sink.publish(name, payload);
    return {
      done: attempt().then(
        () => true as const,
        (err: Error) => err,
      ),
      again: () => this.publishRetrying(name, attempt),
      settle,
    };
  }

  /** Waits for the oldest publish; on a failure, drains the window and republishes the failed ones in order. */
  private async settleOldest(): Promise<void> {
    const first = this.inFlight.shift()!;
    const outcome = await first.done;
    if (outcome === true) return first.settle();
    const rest = this.inFlight.splice(0);
    const outcomes = await Promise.all(rest.map((r) => r.done));
    for (const [sent, result] of [[first, outcome] as const, ...rest.map((r, i) => [r, outcomes[i]!] as const)]) {
      if (result === true) {
        sent.settle();
        continue;
      }
      try {
        await sent.again();
        sent.settle();
      } catch (err) {
        sent.settle(err as Error);
      }
    }
  }

  /** Publishes, retrying while the broker is unreachable, until it succeeds or the stream is closed. */
  private async publishRetrying(name: EventName, attempt: () => Promise<void>): Promise<void> {
    for (let n = 0; ; n += 1) {
      if (this.closed) throw new Error('the stream was closed while the broker was unreachable');
      const delay = RETRY_DELAYS_MS[Math.min(n, RETRY_DELAYS_MS.length - 1)]!;
      this.log.warn({ sessionId: this.sessionId, event: name, attempt: n + 1, delayMs: delay }, 'publish failed; retrying');
      await new Promise((r) => setTimeout(r, delay));
      try {
        await attempt();
        return;
      } catch (err) {
        if (this.closed) throw err;
      }
    }
  }

  private releaseSentWaiters(): void {
    for (const w of this.sentWaiters.splice(0)) w();
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
