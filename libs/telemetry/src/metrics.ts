import { constants, PerformanceObserver } from 'node:perf_hooks';
import client from 'prom-client';

export { client as prom };

let started = false;

/** Default Node metrics on the global registry, with the service and replica on every series. */
export function startMetrics(service: string, instanceId: string): client.Registry {
  if (!started) {
    started = true;
    client.register.setDefaultLabels({ service, instance: instanceId });
    client.collectDefaultMetrics();
    replaceGcHistogram();
  }
  return client.register;
}

const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

/**
 * prom-client's `nodejs_gc_duration_seconds` (15.1) records only the first GC of each batch its
 * observer is given, so GCs reported together were missing from it (three full GCs in one tick
 * counted as one). The same series, recording every GC.
 */
function replaceGcHistogram(): void {
  const name = 'nodejs_gc_duration_seconds';
  client.register.removeSingleMetric(name);
  const gc = new client.Histogram({
    name,
    help: 'Garbage collection duration by kind, one of major, minor, incremental or weakcb.',
    labelNames: ['kind'],
    buckets: [0.001, 0.01, 0.1, 1, 2, 5],
  });
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = GC_KINDS[(e as { detail?: { kind?: number } }).detail?.kind ?? -1];
      if (kind) gc.observe({ kind }, e.duration / 1000);
    }
  }).observe({ entryTypes: ['gc'] });
}

/** A metric registered once per process even when the module that wants it is loaded twice (tests). */
export function counter(name: string, help: string, labelNames: string[] = []): client.Counter<string> {
  return (client.register.getSingleMetric(name) as client.Counter<string>) ?? new client.Counter({ name, help, labelNames });
}

export function gauge(name: string, help: string, labelNames: string[] = []): client.Gauge<string> {
  return (client.register.getSingleMetric(name) as client.Gauge<string>) ?? new client.Gauge({ name, help, labelNames });
}

export function histogram(name: string, help: string, labelNames: string[] = [], buckets?: number[]): client.Histogram<string> {
  return (client.register.getSingleMetric(name) as client.Histogram<string>) ?? new client.Histogram({ name, help, labelNames, buckets });
}

/** The bus's own metrics; label `key` is the routing key, of which there are few. */
export const busMetrics = {
  published: () => counter('bus_published_total', 'Messages published and confirmed by the broker', ['key']),
  consumed: () => counter('bus_consumed_total', 'Messages handled successfully', ['key']),
  failed: () => counter('bus_failed_total', 'Handler failures (each retry counts)', ['key']),
  deadLettered: () => counter('bus_dead_lettered_total', 'Messages sent to the dead-letter queue', ['key', 'reason']),
  /** `kind` command, event or reply; `reason` unsigned or bad-signature: fixed label sets whatever a forger sends. */
  unauthenticated: () => counter('bus_unauthenticated_total', 'Messages and replies refused because their signature is missing or wrong', ['kind', 'reason']),
  handlerDuration: () =>
    histogram('bus_handler_duration_seconds', 'Time spent in message handlers', ['key'], [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]),
  requestDuration: () =>
    histogram('bus_request_duration_seconds', 'Request/reply round trips as seen by the caller', ['key', 'outcome'], [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]),
};
