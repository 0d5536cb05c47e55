import { connect, type Socket } from 'node:net';
import { LineSplitter } from '../src/socket/line-splitter';

/**
 * A real node:net client of a CI socket for tests: sends JSON lines, collects whole answer lines
 * (however TCP cut them) and waits for the next one with a timeout.
 */
export class NdjsonClient {
  private readonly lines: unknown[] = [];
  private readonly waiters: Array<(v: unknown) => void> = [];
  private closed = false;

  private constructor(readonly socket: Socket) {
    const splitter = new LineSplitter(64 * 1024 * 1024);
    socket.on('data', (chunk: Buffer) => {
      for (const f of splitter.push(chunk)) if (f.kind === 'line') this.deliver(JSON.parse(f.line));
    });
    socket.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w(undefined);
    });
    socket.on('error', () => undefined);
  }

  static open(port: number, host = '127.0.0.1'): Promise<NdjsonClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ host, port });
      s.once('connect', () => resolve(new NdjsonClient(s)));
      s.once('error', reject);
    });
  }

  send(obj: unknown): void {
    this.socket.write(JSON.stringify(obj) + '\n');
  }

  sendRaw(text: string): void {
    this.socket.write(text);
  }

  /** The next answer line; rejects after `timeoutMs`, or resolves undefined if the server closed. */
  next(timeoutMs = 15_000): Promise<any> {
    const ready = this.lines.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer line within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push((v) => {
        clearTimeout(timer);
        resolve(v);
      });
    });
  }

  async ask(obj: unknown, timeoutMs?: number): Promise<any> {
    this.send(obj);
    return this.next(timeoutMs);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    this.socket.destroy();
  }

  private deliver(v: unknown): void {
    const w = this.waiters.shift();
    if (w) w(v);
    else this.lines.push(v);
  }
}

/** Whether something accepts connections on 127.0.0.1:port. */
export function isListening(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
