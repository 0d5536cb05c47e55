import type { CommandHandler } from '@codeagent/bus';
import { latencyReport } from '../reports/latency.report';
import type { LatencyStore } from '../reports/ports';
import { rawHorizon } from '../reports/range';

/** `analytics.latency`: what `GET /api/v1/analytics/latency` shows. */
export const analyticsLatencyHandler =
  (store: LatencyStore, rawRetentionDays = 0, now: () => number = Date.now): CommandHandler<'analytics.latency'> =>
  (q) => {
    const t = now();
    return latencyReport(store, q, t, rawHorizon(t, rawRetentionDays));
  };
