import type { Socket } from 'node:net';
import { LineSplitter, type Frame } from './line-splitter';
import { AppError } from '@codeagent/contracts';
import { errorLine, idOf, parseClientLine, toErrorLine } from './protocol';

/** What a CI does with a client's line; the socket layer knows nothing of models or the bus. */
export interface CiLineHandler {
  /** The project's current name (it may be renamed while the CI runs). */
  projectName(): string;
  /** Answers one chat message; the text is the model's reply. */
  chat(content: string): Promise<string>;
  /**
   * Team mode: whose token this is, if they may talk to this project (UNAUTHENTICATED or NOT_FOUND
   * otherwise). When present, a connection must send `{"auth": token}` before chatting, and the token
   * is checked again with every message (a revoked key or a project made private stops it at once).
   */
  authorize?(token: string): Promise<{ userId: string }>;
  /** Called whenever the CI answered something, for the registry's "last response" time. */
  answered?(): void;
  /** Called with what went wrong when a line is answered with an error (the edge logs it, once). */
  failed?(err: unknown): void;
}

/** Lines queued on one connection before reading from it pauses (TCP backpressure does the rest). */
const MAX_QUEUED = 16;

/**
 * One client of a CI socket. Lines are answered in the order they came, one at a time per connection
 * (clients at other connections are served concurrently); reading pauses while too many wait, and
 * each answer waits for the socket to drain, so neither side buffers without bound.
 */
export class CiConnection {
  private readonly splitter: LineSplitter;
  private readonly queue: Frame[] = [];
  private busy = false;
  /** Why the connection is closing, once it is. */
  private closing: string | undefined;
  private readonly idleWaiters: Array<() => void> = [];
  /** Set when a refused credential must close the connection once its answer is written. */
  private endAfterAnswer = false;
  /** The token this connection authenticated with (team mode). */
  private token: string | undefined;

  constructor(
    private readonly socket: Socket,
    private readonly handler: CiLineHandler,
    maxLineBytes: number,
  ) {
    this.splitter = new LineSplitter(maxLineBytes);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    // A client that goes away mid-answer is normal; its error must not crash the service.
    socket.on('error', () => undefined);
    socket.on('close', () => this.wake());
  }

  /** Stops taking lines; the one being answered finishes, queued ones get an error, then the socket ends. */
  shutdown(reason: string): Promise<void> {
    this.closing = reason;
    this.refuse(this.queue.splice(0));
    // Keep reading: a paused socket with unread bytes would never see the client's end and linger.
    this.socket.resume();
    return this.whenIdle().then(() => {
      this.socket.end();
    });
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.closing !== undefined) return this.refuse(this.splitter.push(chunk));
    this.queue.push(...this.splitter.push(chunk));
    if (this.queue.length >= MAX_QUEUED) this.socket.pause();
    void this.pump();
  }

  /** Lines that will not be answered because the CI is closing each get an error saying so. */
  private refuse(frames: Frame[]): void {
    for (const f of frames) void this.write(errorLine('SERVICE_UNAVAILABLE', this.closing ?? 'closing', f.kind === 'line' ? idOf(f.line) : undefined));
  }

  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.queue.length > 0 && !this.socket.destroyed) {
        const frame = this.queue.shift()!;
        const answer =
          frame.kind === 'line'
            ? await this.answer(frame.line)
            : errorLine('PAYLOAD_TOO_LARGE', `line longer than ${frame.limit} bytes; it was dropped (the connection stays open)`);
        await this.write(answer);
        if (this.endAfterAnswer) {
          this.queue.splice(0);
          this.socket.end();
          break;
        }
        if (this.queue.length < MAX_QUEUED / 2 && this.closing === undefined) this.socket.resume();
      }
    } finally {
      this.busy = false;
      this.wake();
    }
  }

  private async answer(line: string): Promise<Record<string, unknown>> {
    let id: string | number | undefined;
    try {
      const msg = parseClientLine(line);
      id = msg.id;
      const project = this.handler.projectName();
      const authorize = this.handler.authorize?.bind(this.handler);
      if (msg.kind === 'ping') {
        this.handler.answered?.();
        // Alive or not is no secret (the health monitor asks); whose project it is, is.
        return { pong: true, ...(authorize && !this.token ? {} : { project }), ...(id === undefined ? {} : { id }) };
      }
      if (msg.kind === 'auth') {
        if (!authorize) return { authenticated: true, project, ...(id === undefined ? {} : { id }) };
        try {
          const who = await authorize(msg.auth);
          this.token = msg.auth;
          return { authenticated: true, user: who.userId, project, ...(id === undefined ? {} : { id }) };
        } catch (err) {
          // A wrong credential ends the connection: no guessing keys on an open line.
          this.token = undefined;
          this.handler.failed?.(err);
          this.endAfterAnswer = true;
          return toErrorLine(err, id);
        }
      }
      if (authorize) {
        if (!this.token) throw new AppError('UNAUTHENTICATED', 'send {"auth": "<API key or access token>"} first: this platform runs in team mode');
        await authorize(this.token);
      }
      const content = await this.handler.chat(msg.content);
      this.handler.answered?.();
      return { content, project: this.handler.projectName(), ...(id === undefined ? {} : { id }) };
    } catch (err) {
      this.handler.failed?.(err);
      return toErrorLine(err, id ?? idOf(line));
    }
  }

  private write(obj: Record<string, unknown>): Promise<void> {
    if (this.socket.destroyed || !this.socket.writable) return Promise.resolve();
    return new Promise((resolve) => {
      const flushed = this.socket.write(JSON.stringify(obj) + '\n');
      if (flushed) return resolve();
      const done = () => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  private whenIdle(): Promise<void> {
    if (!this.busy || this.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private wake(): void {
    if (this.busy && !this.socket.destroyed) return;
    for (const w of this.idleWaiters.splice(0)) w();
  }
}
