import { latencyReport } from './latency.report';
import type { DurationSet, LatencyStore, Percentiles } from './ports';

const DAY = 86_400_000;

/** Records what was asked; answers fixed percentiles per set. */
function fakeStore(answers: Partial<Record<DurationSet, Percentiles[]>>) {
  const asked: { set: DurationSet; fromMs: number; toMs: number; groupBy: readonly string[]; filter: object }[] = [];
  const store: LatencyStore = {
    percentiles: async (set, fromMs, toMs, groupBy, filter) => {
      asked.push({ set, fromMs, toMs, groupBy, filter });
      return groupBy.length ? (answers[set] ?? []) : (answers[set] ?? []).slice(0, 1).map((p) => ({ ...p, dims: {} }));
    },
    untimedCalls: async () => 2,
  };
  return { store, asked };
}

test('a range older than the raw facts starts where they are kept, and the reply says so', async () => {
  const now = 100 * DAY + 3_600_000;
  const { store, asked } = fakeStore({});
  const r = await latencyReport(store, { groupBy: ['provider'], filter: {}, from: new Date(10 * DAY).toISOString(), to: new Date(now).toISOString() }, now, 90 * DAY);
  expect(r.from).toBe(new Date(90 * DAY).toISOString());
  expect(asked.every((a) => a.fromMs === 90 * DAY && a.toMs === now)).toBe(true);
  expect(r).toMatchObject({ llm: [], untimedCalls: 2, llmTotal: { count: 0, p50Ms: null, firstToken: { count: 0 } }, commands: { count: 0, maxMs: null } });
});

test('rows join the first-token figures of the same group, slowest p95 first; commands see only the user and session filters', async () => {
  const { store, asked } = fakeStore({
    'llm.duration': [
      { dims: { provider: 'openai', model: 'gpt-5' }, count: 4, p50Ms: 100.04, p95Ms: 200, maxMs: 210 },
      { dims: { provider: 'ollama', model: '' }, count: 1, p50Ms: 900, p95Ms: 900, maxMs: 900 },
    ],
    'llm.firstToken': [{ dims: { provider: 'openai', model: 'gpt-5' }, count: 3, p50Ms: 20, p95Ms: 30, maxMs: 31 }],
    command: [{ dims: {}, count: 7, p50Ms: 5, p95Ms: 50, maxMs: 60 }],
  });
  const r = await latencyReport(store, { groupBy: ['provider', 'model', 'provider'], filter: { provider: 'openai', user: 'ada' } }, Date.now());
  expect(r.groupBy).toEqual(['provider', 'model']);
  expect(r.llm).toEqual([
    { provider: 'ollama', model: null, count: 1, p50Ms: 900, p95Ms: 900, maxMs: 900, firstToken: { count: 0, p50Ms: null, p95Ms: null, maxMs: null } },
    { provider: 'openai', model: 'gpt-5', count: 4, p50Ms: 100, p95Ms: 200, maxMs: 210, firstToken: { count: 3, p50Ms: 20, p95Ms: 30, maxMs: 31 } },
  ]);
  expect(r.commands).toEqual({ count: 7, p50Ms: 5, p95Ms: 50, maxMs: 60 });
  expect(asked.find((a) => a.set === 'command')?.filter).toEqual({ session: undefined, user: 'ada' });
});
