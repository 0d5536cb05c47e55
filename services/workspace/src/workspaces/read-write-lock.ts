/** Many readers or one writer: snapshots storing or reading blobs, or the collection of unreferenced ones. */
export class ReadWriteLock {
  private readers = 0;
  private writer: Promise<void> | undefined;
  private idle: (() => void) | undefined;

  async read<T>(task: () => Promise<T>): Promise<T> {
    while (this.writer) await this.writer;
    this.readers++;
    try {
      return await task();
    } finally {
      this.readers--;
      if (this.readers === 0) this.idle?.();
    }
  }

  async write<T>(task: () => Promise<T>): Promise<T> {
    while (this.writer) await this.writer;
    let release!: () => void;
    this.writer = new Promise<void>((r) => (release = r));
    try {
      while (this.readers > 0) await new Promise<void>((r) => (this.idle = r));
      return await task();
    } finally {
      this.idle = undefined;
      this.writer = undefined;
      release();
    }
  }
}
