import { isUniqueViolation } from '@codeagent/db';
import type { Db } from '../repositories/database';

/** Hits of one key over the last window, as the sliding estimate counts them. */
export interface RateLimitHit {
  count: number;
  /** Until the current fixed window ends, ms (when its older neighbour stops counting). */
  resetInMs: number;
}

/**
 * Counts hits per key over a sliding window; shared by HTTP routes and socket commands. Counts are
 * kept per fixed window, and a hit's count is the current window's plus the previous window's
 * weighted by how much of it the last `windowMs` still covers: a client cannot pass twice the limit
 * around a window's end, as with fixed windows alone.
 */
export interface RateLimitCounter {
  hit(key: string, windowMs: number): Promise<RateLimitHit>;
}

type Clock = () => number;

const windowOf = (windowMs: number, now: number) => {
  const start = Math.floor(now / windowMs) * windowMs;
  return { start, resetInMs: start + windowMs - now };
};

/** The sliding estimate: `current` hits in this window, `previous` in the one before, `resetInMs` of this one left. */
const slide = (current: number, previous: number, windowMs: number, resetInMs: number): RateLimitHit => ({
  count: current + Math.floor((previous * resetInMs) / windowMs),
  resetInMs,
});

/** One process's counters (local mode: one user on loopback, one replica). */
export class MemoryRateLimitCounter implements RateLimitCounter {
  private readonly hits = new Map<string, { start: number; count: number; previous: number }>();

  constructor(private readonly now: Clock = Date.now) {}

  async hit(key: string, windowMs: number): Promise<RateLimitHit> {
    const w = windowOf(windowMs, this.now());
    const cur = this.hits.get(key);
    let next: { start: number; count: number; previous: number };
    if (cur?.start === w.start) next = { ...cur, count: cur.count + 1 };
    else next = { start: w.start, count: 1, previous: cur?.start === w.start - windowMs ? cur.count : 0 };
    if (!cur && this.hits.size > 10_000) this.hits.clear(); // bounded: a flood of addresses costs a window's counts
    this.hits.set(key, next);
    return slide(next.count, next.previous, windowMs, w.resetInMs);
  }
}

/**
 * Counters in the gateway's database, so every replica on the same PostgreSQL (or SQLite file) counts
 * against one limit: one upsert per hit (an atomic increment); the previous window's count, final once
 * it has ended, is read once per key and window and kept. Windows that no longer count are deleted
 * once a minute by whichever replica gets there.
 */
export class DbRateLimitCounter implements RateLimitCounter {
  private lastSweep = 0;
  /** Per key, the previous window's count as read when this window began. */
  private readonly previous = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly db: Db,
    private readonly now: Clock = Date.now,
  ) {}

  async hit(key: string, windowMs: number): Promise<RateLimitHit> {
    const w = windowOf(windowMs, this.now());
    const id = { key, windowStart: new Date(w.start) };
    const bump = () => this.db.rateLimitHit.upsert({ where: { key_windowStart: id }, create: { ...id, count: 1 }, update: { count: { increment: 1 } }, select: { count: true } });
    let row: { count: number };
    try {
      row = await bump();
    } catch (err) {
      // Two replicas created the window's row at once: the loser increments the winner's.
      if (!isUniqueViolation(err)) throw err;
      row = await bump();
    }
    const previous = await this.previousCount(key, w.start - windowMs);
    this.sweep(windowMs);
    return slide(row.count, previous, windowMs, w.resetInMs);
  }

  private async previousCount(key: string, start: number): Promise<number> {
    const known = this.previous.get(key);
    if (known?.start === start) return known.count;
    const row = await this.db.rateLimitHit.findUnique({ where: { key_windowStart: { key, windowStart: new Date(start) } }, select: { count: true } });
    if (!known && this.previous.size > 10_000) this.previous.clear(); // bounded, as MemoryRateLimitCounter
    this.previous.set(key, { start, count: row?.count ?? 0 });
    return row?.count ?? 0;
  }

  private sweep(windowMs: number): void {
    const now = this.now();
    if (now - this.lastSweep < 60_000) return;
    this.lastSweep = now;
    // The previous window still counts: only those before it go.
    void this.db.rateLimitHit.deleteMany({ where: { windowStart: { lt: new Date(now - 2 * windowMs) } } }).catch(() => undefined);
  }
}

/**
 * The counter as a store of @fastify/rate-limit (its `incr(key, cb, timeWindow)` contract). As the
 * plugin's own stores do, each route counts apart (`GET /api/v1/sessions/:id` for user X), so a page
 * polling one route does not use up the user's other routes. A counter that fails (the database is
 * down) lets the request through rather than refusing everyone.
 */
export function fastifyStoreOf(counter: RateLimitCounter) {
  return class CounterStore {
    /** The plugin constructs it with its options (unused); child() with a route's prefix. */
    constructor(_options?: unknown, private readonly prefix = '') {}
    incr(key: string, cb: (err: Error | null, res: { current: number; ttl: number }) => void, timeWindow: number): void {
      counter.hit(`${this.prefix}${key}`, timeWindow).then(
        (h) => cb(null, { current: h.count, ttl: h.resetInMs }),
        () => cb(null, { current: 0, ttl: timeWindow }),
      );
    }
    child(routeOptions: object): CounterStore {
      const r = (routeOptions as { routeInfo?: { method?: string | string[]; url?: string } }).routeInfo;
      return new CounterStore(undefined, r ? `${String(r.method)} ${r.url ?? ''} ` : '');
    }
  };
}
