import { constants, PerformanceObserver } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Histogram } from 'prom-client';
import { prom, startMetrics } from './metrics';

/** The count of one kind in `nodejs_gc_duration_seconds`. */
async function gcCount(kind: string): Promise<number> {
  const values = (await (prom.register.getSingleMetric('nodejs_gc_duration_seconds') as Histogram | undefined)?.get())?.values ?? [];
  return values.find((v) => v.metricName === 'nodejs_gc_duration_seconds_count' && v.labels.kind === kind)?.value ?? 0;
}

test('nodejs_gc_duration_seconds counts every GC, also several reported together', async () => {
  startMetrics('telemetry-test', 'telemetry-test-1');
  // A gc() of this process, without starting it with --expose-gc.
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  // V8 may run a full GC of its own meanwhile (it did, on a busy CI machine): the metric must count
  // what an observer of every entry sees, whatever that is, and at least the three below.
  let seen = 0;
  const observer = new PerformanceObserver((list) => void (seen += list.getEntries().filter((e) => (e.detail as { kind?: number } | undefined)?.kind === constants.NODE_PERFORMANCE_GC_MAJOR).length));
  observer.observe({ entryTypes: ['gc'] });
  const before = await gcCount('major');
  // Three full GCs in one tick: the observers are given them in one batch.
  gc();
  gc();
  gc();
  await new Promise((r) => setTimeout(r, 100));
  observer.disconnect();
  expect(seen).toBeGreaterThanOrEqual(3);
  expect((await gcCount('major')) - before).toBe(seen);
  expect(await prom.register.getSingleMetricAsString('nodejs_gc_duration_seconds')).toContain('service="telemetry-test"');
});
