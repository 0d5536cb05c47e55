import { AppError } from '@codeagent/contracts';
import { DAY_MS, weekOf } from '../ingest/time';

/** Where one piece of a range is read from: raw facts (ms), daily rollups or weekly rollups (day numbers). */
export type Segment =
  | { source: 'raw'; fromMs: number; toMs: number }
  | { source: 'day'; fromDay: number; toDay: number }
  | { source: 'week'; fromWeek: number; toWeek: number };

export const DEFAULT_RANGE_DAYS = 30;
/** Reports cover at most ten years: a bound on the work one request can ask for. */
const MAX_RANGE_MS = 3660 * DAY_MS;

/**
 * The range of a report: `to` defaults to now, `from` to 30 days before `to`; from must be before to.
 * Raw facts exist from `rawSinceMs` on (a UTC midnight, see rawHorizon); an edge before it is widened
 * to its whole day, read from the daily rollup, and the reply says so in its `from`/`to`.
 */
export function resolveRange(from: string | undefined, to: string | undefined, now: number, rawSinceMs = -Infinity): { fromMs: number; toMs: number } {
  let toMs = to ? Date.parse(to) : now;
  let fromMs = from ? Date.parse(from) : toMs - DEFAULT_RANGE_DAYS * DAY_MS;
  if (!(fromMs < toMs)) throw new AppError('VALIDATION_FAILED', `"from" (${new Date(fromMs).toISOString()}) must be before "to" (${new Date(toMs).toISOString()})`);
  if (toMs - fromMs > MAX_RANGE_MS) throw new AppError('VALIDATION_FAILED', 'the range is longer than ten years; ask for a shorter one');
  if (fromMs < rawSinceMs) fromMs = Math.floor(fromMs / DAY_MS) * DAY_MS;
  if (toMs < rawSinceMs) toMs = Math.ceil(toMs / DAY_MS) * DAY_MS;
  return { fromMs, toMs };
}

/** The first instant whose raw facts are kept (a UTC midnight); -Infinity when they are kept forever (0 days). */
export function rawHorizon(now: number, rawRetentionDays: number): number {
  return rawRetentionDays > 0 ? (Math.floor(now / DAY_MS) - rawRetentionDays) * DAY_MS : -Infinity;
}

/**
 * Splits [fromMs, toMs) so that whole weeks are read from weekly rollups, the remaining whole days
 * from daily rollups and only the partial days at the edges from raw facts: a report over months
 * reads a few hundred rollup rows per group instead of every event. With `byDay` no weekly rollup is
 * used (a week row cannot be split into days).
 */
export function planSegments(fromMs: number, toMs: number, byDay: boolean): Segment[] {
  const firstWholeDay = Math.ceil(fromMs / DAY_MS);
  const endWholeDay = Math.floor(toMs / DAY_MS);
  if (firstWholeDay >= endWholeDay) return [{ source: 'raw', fromMs, toMs }];
  const out: Segment[] = [];
  if (fromMs < firstWholeDay * DAY_MS) out.push({ source: 'raw', fromMs, toMs: firstWholeDay * DAY_MS });
  if (byDay) {
    out.push({ source: 'day', fromDay: firstWholeDay, toDay: endWholeDay });
  } else {
    // Whole weeks: from the first Monday at or after firstWholeDay to the last Monday at or before endWholeDay.
    const firstWeek = weekOf(firstWholeDay) === firstWholeDay ? firstWholeDay : weekOf(firstWholeDay) + 7;
    const endWeek = weekOf(endWholeDay);
    if (firstWeek < endWeek) {
      if (firstWholeDay < firstWeek) out.push({ source: 'day', fromDay: firstWholeDay, toDay: firstWeek });
      out.push({ source: 'week', fromWeek: firstWeek, toWeek: endWeek });
      if (endWeek < endWholeDay) out.push({ source: 'day', fromDay: endWeek, toDay: endWholeDay });
    } else {
      out.push({ source: 'day', fromDay: firstWholeDay, toDay: endWholeDay });
    }
  }
  if (endWholeDay * DAY_MS < toMs) out.push({ source: 'raw', fromMs: endWholeDay * DAY_MS, toMs });
  return out;
}
