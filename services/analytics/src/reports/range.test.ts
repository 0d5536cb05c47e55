import { DAY_MS, dayOf, weekOf } from '../ingest/time';
import { planSegments, rawHorizon, resolveRange, type Segment } from './range';

const at = (iso: string) => Date.parse(iso);

/** Every millisecond of [from, to) is covered by exactly one segment. */
function covered(segs: Segment[]): Array<[number, number]> {
  return segs.map((s) =>
    s.source === 'raw' ? [s.fromMs, s.toMs] : s.source === 'day' ? [s.fromDay * DAY_MS, s.toDay * DAY_MS] : [s.fromWeek * DAY_MS, s.toWeek * DAY_MS],
  );
}

describe('time buckets', () => {
  it('names weeks by their Monday', () => {
    expect(new Date(weekOf(dayOf(at('2026-11-21T12:00:00Z'))) * DAY_MS).toISOString()).toBe('2026-11-16T00:00:00.000Z');
    expect(weekOf(dayOf(at('2026-11-16T00:00:00Z')))).toBe(dayOf(at('2026-11-16T00:00:00Z')));
    expect(new Date(weekOf(dayOf(at('2026-11-22T23:59:59Z'))) * DAY_MS).toISOString()).toBe('2026-11-16T00:00:00.000Z');
  });
});

describe('planSegments', () => {
  it('reads a range inside one day from raw facts only', () => {
    expect(planSegments(at('2026-11-21T01:00:00Z'), at('2026-11-21T05:00:00Z'), false)).toEqual([
      { source: 'raw', fromMs: at('2026-11-21T01:00:00Z'), toMs: at('2026-11-21T05:00:00Z') },
    ]);
  });

  it('reads whole weeks from weekly rollups, whole days from daily ones, edges from raw facts', () => {
    const from = at('2026-09-02T10:00:00Z'); // a Wednesday
    const to = at('2026-11-21T12:00:00Z'); // a Saturday
    const segs = planSegments(from, to, false);
    expect(segs.map((s) => s.source)).toEqual(['raw', 'day', 'week', 'day', 'raw']);
    const spans = covered(segs);
    expect(spans[0]![0]).toBe(from);
    expect(spans.at(-1)![1]).toBe(to);
    for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBe(spans[i - 1]![1]);
    const week = segs.find((s) => s.source === 'week') as Extract<Segment, { source: 'week' }>;
    expect(weekOf(week.fromWeek)).toBe(week.fromWeek);
    expect((week.toWeek - week.fromWeek) % 7).toBe(0);
  });

  it('uses no weekly rollup when rows are per day', () => {
    const segs = planSegments(at('2026-09-02T10:00:00Z'), at('2026-11-21T12:00:00Z'), true);
    expect(segs.map((s) => s.source)).toEqual(['raw', 'day', 'raw']);
  });

  it('needs no raw segment for a range on day boundaries', () => {
    expect(planSegments(at('2026-11-16T00:00:00Z'), at('2026-11-23T00:00:00Z'), false)).toEqual([
      { source: 'week', fromWeek: dayOf(at('2026-11-16T00:00:00Z')), toWeek: dayOf(at('2026-11-23T00:00:00Z')) },
    ]);
  });
});

describe('resolveRange', () => {
  it('defaults to the 30 days before now', () => {
    const now = at('2026-11-21T12:00:00Z');
    expect(resolveRange(undefined, undefined, now)).toEqual({ fromMs: now - 30 * DAY_MS, toMs: now });
  });
  it('widens an edge older than the raw horizon to its whole day, and only such an edge', () => {
    const now = at('2026-11-21T12:00:00Z');
    const horizon = rawHorizon(now, 90);
    expect(new Date(horizon).toISOString()).toBe('2026-08-23T00:00:00.000Z');
    expect(resolveRange('2026-08-01T15:00:00Z', '2026-08-10T06:00:00Z', now, horizon)).toEqual({ fromMs: at('2026-08-01T00:00:00Z'), toMs: at('2026-08-11T00:00:00Z') });
    expect(resolveRange('2026-08-01T15:00:00Z', '2026-11-21T06:00:00Z', now, horizon)).toEqual({ fromMs: at('2026-08-01T00:00:00Z'), toMs: at('2026-11-21T06:00:00Z') });
    expect(resolveRange('2026-08-23T15:00:00Z', undefined, now, horizon)).toEqual({ fromMs: at('2026-08-23T15:00:00Z'), toMs: now });
    expect(rawHorizon(now, 0)).toBe(-Infinity);
  });

  it('refuses a range that ends before it starts', () => {
    expect(() => resolveRange('2026-11-21T00:00:00Z', '2026-11-20T00:00:00Z', 0)).toThrow(/must be before/);
  });
});
