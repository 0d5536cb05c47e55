// Time buckets of the facts. Days are UTC days counted from 1970-01-01 (day 0, a Thursday); a week is
// named by the day number of its Monday (ISO 8601 weeks), so a week bucket is also a day number.

export const DAY_MS = 86_400_000;

/** The UTC day (days since 1970-01-01) an instant falls in. */
export function dayOf(ms: number): number {
  return Math.floor(ms / DAY_MS);
}

/** The Monday that starts the week of a day; day 0 was a Thursday, so Monday is 3 days before it. */
export function weekOf(day: number): number {
  return day - (((day + 3) % 7) + 7) % 7;
}

/** YYYY-MM-DD of a day number. */
export function dayLabel(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/** The time an event happened: its payload's `at` (every timed event of the catalog has one) when valid, else `fallback`. */
export function eventTime(payload: unknown, fallback: number): number {
  const at = payload && typeof payload === 'object' ? (payload as { at?: unknown }).at : undefined;
  const t = typeof at === 'string' ? Date.parse(at) : NaN;
  return Number.isFinite(t) ? t : fallback;
}
