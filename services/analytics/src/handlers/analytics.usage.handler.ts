import type { CommandHandler } from '@codeagent/bus';
import type { ReportStore } from '../reports/ports';
import { rawHorizon } from '../reports/range';
import { usageReport } from '../reports/usage.report';

/** `analytics.usage`: what `GET /api/v1/analytics/usage` shows. */
export const analyticsUsageHandler =
  (store: ReportStore, rawRetentionDays = 0, now: () => number = Date.now): CommandHandler<'analytics.usage'> =>
  (q) => {
    const t = now();
    return usageReport(store, q, t, rawHorizon(t, rawRetentionDays));
  };
