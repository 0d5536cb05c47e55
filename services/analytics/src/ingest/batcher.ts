/**
 * Gathers items until `maxItems` are waiting or `maxWaitMs` has passed since the first, then hands
 * them to `flush` in one call. Each `add` resolves when the flush holding its item succeeded and
 * rejects with the flush's error otherwise, so a caller that acks on resolve acks only what is
 * committed (a flush may fail some items and not others). One flush runs at a time: items that arrive meanwhile form the next batch.
 */
export class Batcher<T> {
  private waiting: { item: T; resolve: () => void; reject: (err: unknown) => void }[] = [];
  private timer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    /** Commits a batch; may return one error (or undefined) per item when only some failed. */
    private readonly flush: (items: T[]) => Promise<readonly unknown[] | void>,
    private readonly opts: { maxItems: number; maxWaitMs: number },
  ) {}

  add(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      if (this.waiting.length >= this.opts.maxItems) this.cut();
      else this.timer ??= setTimeout(() => this.cut(), this.opts.maxWaitMs);
    });
  }

  /** Items accepted but not yet flushed. */
  get pending(): number {
    return this.waiting.length;
  }

  /** Flushes what is waiting now and resolves when every flush so far has finished. */
  async drain(): Promise<void> {
    if (this.waiting.length > 0) this.cut();
    await this.flushing;
  }

  private cut(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.waiting;
    this.waiting = [];
    if (batch.length === 0) return;
    this.flushing = this.flushing.then(async () => {
      try {
        const errors = await this.flush(batch.map((b) => b.item));
        batch.forEach((b, i) => (errors?.[i] === undefined ? b.resolve() : b.reject(errors[i])));
      } catch (err) {
        for (const b of batch) b.reject(err);
      }
    });
  }
}
