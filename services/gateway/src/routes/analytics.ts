import { IntervalV1, UsageDimensionV1, UsageReportV1 } from '@codeagent/contracts';
import { z } from 'zod';
import type { RouteDeps, ZApp } from '../app';
import { isAdmin } from '../auth/principal';

const Instant = z.iso.datetime({ offset: true });
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
  provider: z.string().min(1).max(200).optional(),
  model: z.string().min(1).max(200).optional(),
  role: z.string().min(1).max(200).optional(),
  session: z.string().min(1).max(200).optional(),
  user: z.string().min(1).max(200).optional(),
  project: z.string().min(1).max(200).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).optional(),
});

/** Usage reports of services/analytics. A member's report is always filtered to their own usage. */
export function analyticsRoutes(app: ZApp, deps: RouteDeps): void {
  app.get(
    '/api/v1/analytics/usage',
    { schema: { summary: 'tokens and cost grouped by provider, model, role, session, user or project over from/to', tags: ['analytics'], querystring: UsageQuery, response: { 200: UsageReportV1 } } },
    async (req) => {
      const q = req.query;
      const filter = Object.fromEntries(
        (['provider', 'model', 'role', 'session', 'user', 'project'] as const).flatMap((k) => (q[k] ? [[k, q[k]]] : [])),
      ) as Record<string, string>;
      if (!isAdmin(req.principal)) filter.user = req.principal.userId;
      return deps.services.call(
        'analytics.usage',
        { groupBy: q.groupBy, interval: q.interval ?? 'none', from: q.from, to: q.to, filter, limit: q.limit ?? 1000 },
        req.principal,
      );
    },
  );
}
