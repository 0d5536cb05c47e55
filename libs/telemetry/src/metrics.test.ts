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
  const before = await gcCount('major');
  // Three full GCs in one tick: the observer is given them in one batch.
  gc();
  gc();
  gc();
  await new Promise((r) => setTimeout(r, 100));
  expect((await gcCount('major')) - before).toBe(3);
  expect(await prom.register.getSingleMetricAsString('nodejs_gc_duration_seconds')).toContain('service="telemetry-test"');
});
