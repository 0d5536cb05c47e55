/** What the splitter found in the bytes it was given. */
export type Frame = { kind: 'line'; line: string } | { kind: 'too_long'; limit: number };

/**
 * Newline-delimited framing. A message arrives whole however TCP cuts it (seed 004's `recv(4096)`
 * would cut long replies; this buffers until the newline). A line longer than `maxLineBytes` is
 * reported once and its bytes are dropped up to its newline, so one bad client line cannot exhaust
 * memory and the lines after it still work.
 *
 * Splitting on the 0x0A byte is safe for UTF-8: no multi-byte character contains it.
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  private discarding = false;

  constructor(private readonly maxLineBytes: number) {}

  push(chunk: Buffer): Frame[] {
    const frames: Frame[] = [];
    let start = 0;
    while (start <= chunk.length) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl === -1) {
        const rest = chunk.subarray(start);
        if (!this.discarding && rest.length > 0) {
          this.size += rest.length;
          if (this.size > this.maxLineBytes) {
            frames.push({ kind: 'too_long', limit: this.maxLineBytes });
            this.reset();
            this.discarding = true;
          } else {
            this.parts.push(rest);
          }
        }
        break;
      }
      const piece = chunk.subarray(start, nl);
      if (this.discarding) {
        this.discarding = false;
      } else if (this.size + piece.length > this.maxLineBytes) {
        frames.push({ kind: 'too_long', limit: this.maxLineBytes });
      } else {
        const line = (this.parts.length ? Buffer.concat([...this.parts, piece]) : piece).toString('utf8').replace(/\r$/, '');
        if (line.trim().length > 0) frames.push({ kind: 'line', line });
      }
      this.reset();
      start = nl + 1;
    }
    return frames;
  }

  /** Bytes held for a line not yet ended. */
  get pending(): number {
    return this.size;
  }

  private reset(): void {
    this.parts = [];
    this.size = 0;
  }
}
