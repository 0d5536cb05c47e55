/**
 * Remembers the last `capacity` message ids a consumer finished, so a redelivered message is
 * acknowledged without running its handler twice. In memory: it covers redelivery to the same
 * replica (the common case after a lost ack); consumers that must be exactly-once across replicas
 * keep the id durably (e.g. a unique key in their database).
 */
export class RecentIds {
  private readonly ids = new Set<string>();
  constructor(private readonly capacity = 10_000) {}

  has(id: string): boolean {
    return this.ids.has(id);
  }

  add(id: string): void {
    this.ids.add(id);
    if (this.ids.size > this.capacity) {
      const oldest = this.ids.values().next().value;
      if (oldest !== undefined) this.ids.delete(oldest);
    }
  }
}
