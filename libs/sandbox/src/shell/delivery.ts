import type { OutputChunk } from '../types';

/** Bytes queued for a slow onOutput before the shell's pipes stop being read. */
const HIGH_WATER = 1 << 20;
/** Largest chunk made by merging queued reads. */
const MAX_COALESCED = 4 << 20;

/**
 * Hands output to the caller in order, one chunk at a time, with backpressure: while an async
 * onOutput is pending, later reads are merged into one chunk per stream run, and past HIGH_WATER the
 * pipes are paused (the kernel pipe then fills and blocks the writer inside the jail).
 */
export class Delivery {
  private readonly queue: { stream: OutputChunk['stream']; bufs: Buffer[]; size: number }[] = [];
  private queued = 0;
  private seq = 0;
  private busy = false;
  private paused = false;
  private error: unknown;
  private idle: (() => void)[] = [];

  constructor(
    private readonly onOutput: (c: OutputChunk) => void | Promise<void>,
    private readonly flow: { pause(): void; resume(): void },
  ) {}

  push(stream: OutputChunk['stream'], data: Buffer): void {
    if (data.length === 0 || this.error !== undefined) return;
    const last = this.queue[this.queue.length - 1];
    if (last && last.stream === stream && last.size + data.length <= MAX_COALESCED) {
      last.bufs.push(data);
      last.size += data.length;
    } else {
      this.queue.push({ stream, bufs: [data], size: data.length });
    }
    this.queued += data.length;
    if (this.queued > HIGH_WATER && !this.paused) {
      this.paused = true;
      this.flow.pause();
    }
    if (!this.busy) void this.pump();
  }

  /** Resolves once everything pushed so far was delivered; rejects with onOutput's first error. */
  async drained(): Promise<void> {
    if (this.busy) await new Promise<void>((r) => this.idle.push(r));
    if (this.error !== undefined) throw this.error;
  }

  private async pump(): Promise<void> {
    this.busy = true;
    try {
      while (this.queue.length > 0) {
        const item = this.queue.shift()!;
        this.queued -= item.size;
        const data = item.bufs.length === 1 ? item.bufs[0]! : Buffer.concat(item.bufs, item.size);
        const r = this.onOutput({ stream: item.stream, data, seq: this.seq++ });
        if (r && typeof (r as Promise<void>).then === 'function') await r;
        if (this.paused && this.queued <= HIGH_WATER / 2) {
          this.paused = false;
          this.flow.resume();
        }
      }
    } catch (err) {
      // A failing consumer must not wedge the shell: stop delivering, keep reading, report at the end.
      this.error = err;
      this.queue.length = 0;
      this.queued = 0;
      if (this.paused) {
        this.paused = false;
        this.flow.resume();
      }
    } finally {
      this.busy = false;
      for (const r of this.idle.splice(0)) r();
    }
  }
}
