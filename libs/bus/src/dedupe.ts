/**
 * Remembers the last `capacity / 2` to `capacity` message ids a consumer finished, so a redelivered message is
 * acknowledged without running its handler twice. In memory: it covers redelivery to the same
 * replica (the common case after a lost ack); consumers that must be exactly-once across replicas
 * keep the id durably (e.g. a unique key in their database).
 */
export class RecentIds {
  /** Two generations, each up to half the capacity: the older is dropped whole when the newer fills. */
  private current = new Set<string>();
  private previous = new Set<string>();
  constructor(private readonly capacity = 10_000) {}

  has(id: string): boolean {
    return this.current.has(id) || this.previous.has(id);
  }

  add(id: string): void {
    this.current.add(id);
    // Dropping a generation at once, rather than the oldest id each time: taking a Set's first entry
    // after many deletes walks the deleted ones, and showed in profiles.
    if (this.current.size >= this.capacity / 2) {
      this.previous = this.current;
      this.current = new Set();
    }
  }
}
