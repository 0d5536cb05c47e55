import type { CommandHandler } from '@codeagent/bus';
import type { ReportStore } from '../reports/ports';
import { rawHorizon } from '../reports/range';
import { sessionsReport } from '../reports/sessions.report';

/** `analytics.sessions`: session counts and durations, command counts. */
export const analyticsSessionsHandler =
  (store: ReportStore, rawRetentionDays = 0, now: () => number = Date.now): CommandHandler<'analytics.sessions'> =>
  (q) => {
    const t = now();
    return sessionsReport(store, q, t, rawHorizon(t, rawRetentionDays));
  };
