import { isUniqueViolation } from '@codeagent/db';
import type { Db } from '../repositories/database';

/** Hits of one key in the current fixed window. */
export interface RateLimitHit {
  count: number;
  /** Until the window ends, ms. */
  resetInMs: number;
}

/** Counts hits per key in fixed windows; shared by HTTP routes and socket commands. */
export interface RateLimitCounter {
  hit(key: string, windowMs: number): Promise<RateLimitHit>;
}

const windowOf = (windowMs: number, now = Date.now()) => {
  const start = Math.floor(now / windowMs) * windowMs;
  return { start, resetInMs: start + windowMs - now };
};

/** One process's counters (local mode: one user on loopback, one replica). */
export class MemoryRateLimitCounter implements RateLimitCounter {
  private readonly hits = new Map<string, { start: number; count: number }>();

  async hit(key: string, windowMs: number): Promise<RateLimitHit> {
    const w = windowOf(windowMs);
    const cur = this.hits.get(key);
    const next = cur && cur.start === w.start ? { start: w.start, count: cur.count + 1 } : { start: w.start, count: 1 };
    if (!cur && this.hits.size > 10_000) this.hits.clear(); // bounded: a flood of addresses costs a window's counts
    this.hits.set(key, next);
    return { count: next.count, resetInMs: w.resetInMs };
  }
}

/**
 * Counters in the gateway's database, so every replica on the same PostgreSQL (or SQLite file) counts
 * against one limit: one upsert per hit (an atomic increment), windows past their end deleted once a
 * minute by whichever replica gets there.
 */
export class DbRateLimitCounter implements RateLimitCounter {
  private lastSweep = 0;

  constructor(private readonly db: Db) {}

  async hit(key: string, windowMs: number): Promise<RateLimitHit> {
    const w = windowOf(windowMs);
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
    this.sweep(windowMs);
    return { count: row.count, resetInMs: w.resetInMs };
  }

  private sweep(windowMs: number): void {
    const now = Date.now();
    if (now - this.lastSweep < 60_000) return;
    this.lastSweep = now;
    void this.db.rateLimitHit.deleteMany({ where: { windowStart: { lt: new Date(now - windowMs) } } }).catch(() => undefined);
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
