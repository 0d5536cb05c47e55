/**
 * One breaker per provider (per process): after `threshold` consecutive failures the provider is
 * skipped for `cooldownMs`; then one trial call is let through (half-open) and its outcome closes or
 * re-opens the circuit. Kept in memory on purpose: each replica learns for itself, and a restart
 * gives every provider a fresh chance.
 */
export type CircuitState = 'closed' | 'open' | 'half-open';

interface Entry {
  failures: number;
  openedAt?: number;
  trialInFlight: boolean;
}

export class CircuitBreakers {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly threshold = 3,
    private readonly cooldownMs = 30_000,
    private readonly now: () => number = Date.now,
    /** Told when a circuit opens or closes (the service publishes provider.changed). */
    private readonly onChange?: (name: string, state: 'open' | 'closed') => void,
  ) {}

  state(name: string): CircuitState {
    const e = this.entries.get(name);
    if (!e || e.openedAt === undefined) return 'closed';
    return this.now() - e.openedAt >= this.cooldownMs ? 'half-open' : 'open';
  }

  retryAt(name: string): Date | undefined {
    const e = this.entries.get(name);
    return e?.openedAt === undefined ? undefined : new Date(e.openedAt + this.cooldownMs);
  }

  /** Whether a call may go to this provider now; in half-open state only one trial at a time. */
  tryAcquire(name: string): boolean {
    const s = this.state(name);
    if (s === 'closed') return true;
    if (s === 'open') return false;
    const e = this.entries.get(name)!;
    if (e.trialInFlight) return false;
    e.trialInFlight = true;
    return true;
  }

  /** Returns true when this success closed an open circuit. */
  success(name: string): boolean {
    const e = this.entries.get(name);
    this.entries.delete(name);
    const closed = e?.openedAt !== undefined;
    if (closed) this.onChange?.(name, 'closed');
    return closed;
  }

  /** Returns true when this failure opened the circuit. */
  failure(name: string): boolean {
    const e = this.entries.get(name) ?? { failures: 0, trialInFlight: false };
    e.failures++;
    e.trialInFlight = false;
    const wasOpen = e.openedAt !== undefined;
    if (e.failures >= this.threshold || wasOpen) e.openedAt = this.now();
    this.entries.set(name, e);
    const opened = !wasOpen && e.openedAt !== undefined;
    if (opened) this.onChange?.(name, 'open');
    return opened;
  }
}
