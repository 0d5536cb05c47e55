import type { CommandHandler } from '@codeagent/bus';
import { overviewReport } from '../reports/overview.report';
import type { ReportStore } from '../reports/ports';
import { rawHorizon } from '../reports/range';

/** `analytics.overview`: everything at a glance over a range. */
export const analyticsOverviewHandler =
  (store: ReportStore, rawRetentionDays = 0, now: () => number = Date.now): CommandHandler<'analytics.overview'> =>
  (q) => {
    const t = now();
    return overviewReport(store, q, t, rawHorizon(t, rawRetentionDays));
  };
