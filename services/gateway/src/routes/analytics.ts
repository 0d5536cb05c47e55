import { IntervalV1, LatencyDimensionV1, LatencyReportV1, UsageDimensionV1, UsageReportV1 } from '@codeagent/contracts';
import { z } from 'zod';
import type { RouteDeps, ZApp } from './deps';
import { isAdmin } from '../auth/principal';

const Instant = z.iso.datetime({ offset: true });
/** The usage filters, one query parameter each (the usage and latency reports take the same). */
const FilterFields = {
  provider: z.string().min(1).max(200).optional(),
  model: z.string().min(1).max(200).optional(),
  role: z.string().min(1).max(200).optional(),
  session: z.string().min(1).max(200).optional(),
  user: z.string().min(1).max(200).optional(),
  project: z.string().min(1).max(200).optional(),
};

const UsageQuery = z.object({
  /** Comma-separated: provider,model,role,session,user,project. */
  groupBy: z
    .string()
    .max(200)
    .optional()
    .transform((s) => (s ? s.split(',').map((x) => x.trim()).filter(Boolean) : []))
    .pipe(z.array(UsageDimensionV1).max(6)),
  interval: IntervalV1.optional(),
  from: Instant.optional(),
  to: Instant.optional(),
  ...FilterFields,
  limit: z.coerce.number().int().min(1).max(10_000).optional(),
});

const LatencyQuery = z.object({
  /** Comma-separated: provider,model,role; default provider,model. */
  groupBy: z
    .string()
    .max(100)
    .optional()
    .transform((s) => (s === undefined ? ['provider', 'model'] : s.split(',').map((x) => x.trim()).filter(Boolean)))
    .pipe(z.array(LatencyDimensionV1).max(3)),
  from: Instant.optional(),
  to: Instant.optional(),
  ...FilterFields,
});

const FILTERS = ['provider', 'model', 'role', 'session', 'user', 'project'] as const;

/** Usage reports of services/analytics. A member's report is always filtered to their own usage. */
export function analyticsRoutes(app: ZApp, deps: RouteDeps): void {
  app.get(
    '/api/v1/analytics/usage',
    { schema: { summary: 'tokens and cost grouped by provider, model, role, session, user or project over from/to', tags: ['analytics'], querystring: UsageQuery, response: { 200: UsageReportV1 } } },
    async (req) => {
      const q = req.query;
      const filter = Object.fromEntries(
        FILTERS.flatMap((k) => (q[k] ? [[k, q[k]]] : [])),
      ) as Record<string, string>;
      if (!isAdmin(req.principal)) filter.user = req.principal.userId;
      return deps.services.call(
        'analytics.usage',
        { groupBy: q.groupBy, interval: q.interval ?? 'none', from: q.from, to: q.to, filter, limit: q.limit ?? 1000 },
        req.principal,
      );
    },
  );

  app.get(
    '/api/v1/analytics/latency',
    {
      schema: {
        summary: 'response times: p50/p95/max of LLM calls by provider, model or role (full call and first token) and of shell commands, over from/to',
        description:
          'Nearest-rank percentiles in milliseconds, from raw facts only: a range reaching past ANALYTICS_RAW_RETENTION_DAYS starts where they are kept, and `from` in the reply says so. ' +
          'The provider, model, role and project filters apply to LLM calls; user and session to both. A member sees only their own calls and commands.',
        tags: ['analytics'],
        querystring: LatencyQuery,
        response: { 200: LatencyReportV1 },
      },
    },
    async (req) => {
      const q = req.query;
      const filter = Object.fromEntries(FILTERS.flatMap((k) => (q[k] ? [[k, q[k]]] : []))) as Record<string, string>;
      if (!isAdmin(req.principal)) filter.user = req.principal.userId;
      return deps.services.call('analytics.latency', { groupBy: q.groupBy, from: q.from, to: q.to, filter }, req.principal);
    },
  );
}
