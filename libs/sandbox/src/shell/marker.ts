/** A scanner's progress through one command's output, carried to another process by a detached channel. */
export interface ScannerState {
  held: string;
  found: boolean;
  tail: string;
}

/**
 * Finds the end-of-command sentinel in a byte stream without holding back more than it must.
 *
 * The sentinel is `<marker><tail>\n` where the marker carries a random nonce chosen per command, so
 * output that imitates an earlier or guessed sentinel never matches. Bytes that might be the start of
 * the marker split across two reads are held back until the next read decides; everything else is
 * released at once so streaming is not delayed.
 */
export class MarkerScanner {
  private held: Buffer | null = null;
  private found = false;
  private tail: Buffer[] = [];

  constructor(private readonly marker: Buffer) {}

  /** What a detached channel must carry over to go on scanning in another process (base64). */
  state(): ScannerState {
    return { held: this.held?.toString('base64') ?? '', found: this.found, tail: Buffer.concat(this.tail).toString('base64') };
  }

  static restore(marker: Buffer, s: ScannerState): MarkerScanner {
    const m = new MarkerScanner(marker);
    if (s.held) m.held = Buffer.from(s.held, 'base64');
    m.found = s.found;
    if (s.tail) m.tail = [Buffer.from(s.tail, 'base64')];
    return m;
  }

  /**
   * Feeds one read. Returns the bytes that are certainly output (possibly empty) and whether the
   * whole sentinel, up to and including its newline, has been seen.
   */
  push(chunk: Buffer): { data: Buffer; done: boolean; tail?: string } {
    if (this.found) return this.collectTail(chunk, Buffer.alloc(0));
    const buf = this.held ? Buffer.concat([this.held, chunk]) : chunk;
    this.held = null;
    const at = buf.indexOf(this.marker);
    if (at >= 0) {
      this.found = true;
      return this.collectTail(buf.subarray(at + this.marker.length), buf.subarray(0, at));
    }
    const keep = partialSuffix(buf, this.marker);
    if (keep > 0) this.held = Buffer.from(buf.subarray(buf.length - keep));
    return { data: keep > 0 ? buf.subarray(0, buf.length - keep) : buf, done: false };
  }

  /** Bytes held back when the stream ended without a sentinel (they were output after all). */
  flush(): Buffer {
    const h = this.held ?? Buffer.alloc(0);
    this.held = null;
    return h;
  }

  private collectTail(rest: Buffer, data: Buffer): { data: Buffer; done: boolean; tail?: string } {
    const nl = rest.indexOf(10);
    if (nl < 0) {
      this.tail.push(rest);
      return { data, done: false };
    }
    this.tail.push(rest.subarray(0, nl));
    // Anything after the sentinel's newline is output of a process the command left in the background;
    // it is dropped rather than attributed to this command or the next.
    return { data, done: true, tail: Buffer.concat(this.tail).toString('latin1') };
  }
}

/** Length of the longest suffix of `buf` that is a proper prefix of `marker`. */
export function partialSuffix(buf: Buffer, marker: Buffer): number {
  const max = Math.min(marker.length - 1, buf.length);
  const first = marker[0]!;
  for (let k = max; k > 0; k--) {
    const start = buf.length - k;
    if (buf[start] !== first) continue;
    if (buf.compare(marker, 0, k, start, buf.length) === 0) return k;
  }
  return 0;
}
