import { z } from 'zod';
import { command } from '../define';

// Reports of the analytics service (services/analytics), which consumes every event and owns the
// usage facts. The gateway maps `GET /api/v1/analytics/usage` onto `analytics.usage`: its query
// `groupBy=provider,model` (comma-separated) becomes the array `groupBy: ['provider', 'model']`.
// Days and weeks are UTC; a week starts on Monday (ISO 8601).

const Instant = z.iso.datetime({ offset: true });

/** What usage can be grouped by: `session` is the session id, `project` the project id. */
export const UsageDimensionV1 = z.enum(['provider', 'model', 'role', 'session', 'user', 'project']);
export type UsageDimensionV1 = z.infer<typeof UsageDimensionV1>;

/** A time bucket per row: `none` sums the whole range into each group. */
export const IntervalV1 = z.enum(['none', 'day', 'week']);
export type IntervalV1 = z.infer<typeof IntervalV1>;

/** Only usage matching every given field (of the usage and latency reports). */
const UsageFilterV1 = z
  .object({
    provider: z.string().min(1).max(200),
    model: z.string().min(1).max(200),
    role: z.string().min(1).max(200),
    session: z.string().min(1).max(200),
    user: z.string().min(1).max(200),
    project: z.string().min(1).max(200),
  })
  .partial()
  .default({});

export const AnalyticsUsageV1 = z.object({
  /** Dimensions to group by, several at once; empty: one row with the total. */
  groupBy: z.array(UsageDimensionV1).max(6).default([]),
  /** One row per group and per day or week (`period`), or per group only. */
  interval: IntervalV1.default('none'),
  /** Start of the range, inclusive; default 30 days before `to`. */
  from: Instant.optional(),
  /** End of the range, exclusive; default now. */
  to: Instant.optional(),
  /** Only usage matching every given field. */
  filter: UsageFilterV1,
  /** At most this many rows, the costliest first. */
  limit: z.number().int().min(1).max(10_000).default(1000),
});
export type AnalyticsUsageV1 = z.infer<typeof AnalyticsUsageV1>;

/** Sums of LLM usage. */
export const UsageSumsV1 = z.object({
  /** LLM calls (llm.usage events). */
  calls: z.number().int().nonnegative(),
  inputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
  totalTokens: z.number().int().nonnegative(),
  /** US dollars: the cost the event carried, or the price table's for its model at the time. */
  costUsd: z.number().nonnegative(),
});
export type UsageSumsV1 = z.infer<typeof UsageSumsV1>;

/** One group. A dimension field is present when grouped by it; null when the usage did not say (e.g. no session). */
export const UsageRowV1 = UsageSumsV1.extend({
  /** Start of the day or week (YYYY-MM-DD) when `interval` is not `none`. */
  period: z.string().optional(),
  provider: z.string().nullable().optional(),
  model: z.string().nullable().optional(),
  role: z.string().nullable().optional(),
  session: z.string().nullable().optional(),
  user: z.string().nullable().optional(),
  project: z.string().nullable().optional(),
});
export type UsageRowV1 = z.infer<typeof UsageRowV1>;

export const UsageReportV1 = z.object({
  /** The range actually reported. */
  from: z.string(),
  to: z.string(),
  groupBy: z.array(UsageDimensionV1),
  interval: IntervalV1,
  rows: z.array(UsageRowV1),
  /** Over the whole range and filter, not only the rows returned. */
  totals: UsageSumsV1,
  /** More groups than `limit` matched. */
  truncated: z.boolean(),
  /** Usage events whose model had no price in the table (their cost counts as 0). */
  unpricedCalls: z.number().int().nonnegative(),
});
export type UsageReportV1 = z.infer<typeof UsageReportV1>;

/** What session metrics can be grouped by. */
export const SessionDimensionV1 = z.enum(['user', 'project']);
export type SessionDimensionV1 = z.infer<typeof SessionDimensionV1>;

export const AnalyticsSessionsV1 = z.object({
  groupBy: z.array(SessionDimensionV1).max(2).default([]),
  interval: IntervalV1.default('none'),
  /** Sessions started at or after; default 30 days before `to`. */
  from: Instant.optional(),
  /** Sessions started before; default now. */
  to: Instant.optional(),
  filter: z.object({ user: z.string().min(1).max(200), project: z.string().min(1).max(200) }).partial().default({}),
  limit: z.number().int().min(1).max(10_000).default(1000),
});
export type AnalyticsSessionsV1 = z.infer<typeof AnalyticsSessionsV1>;

/** Counts and durations of sessions started in the range, and of the commands run in them. */
export const SessionSumsV1 = z.object({
  /** Sessions started. */
  started: z.number().int().nonnegative(),
  /** Of those, sessions that have ended (closed or failed). */
  ended: z.number().int().nonnegative(),
  /** Of those, sessions that failed. */
  failed: z.number().int().nonnegative(),
  /** Summed duration of the ended ones, in seconds. */
  durationSeconds: z.number().nonnegative(),
  /** Mean duration of the ended ones, in seconds (0 when none ended). */
  avgDurationSeconds: z.number().nonnegative(),
  /** Longest ended one, in seconds. */
  maxDurationSeconds: z.number().nonnegative(),
  /** Shell commands completed in the range (by when they completed). */
  commands: z.number().int().nonnegative(),
  /** Of those, commands that exited non-zero or timed out. */
  failedCommands: z.number().int().nonnegative(),
  /** Summed command durations, in seconds. */
  commandSeconds: z.number().nonnegative(),
});
export type SessionSumsV1 = z.infer<typeof SessionSumsV1>;

export const SessionRowV1 = SessionSumsV1.extend({
  period: z.string().optional(),
  user: z.string().nullable().optional(),
  project: z.string().nullable().optional(),
});
export type SessionRowV1 = z.infer<typeof SessionRowV1>;

export const SessionsReportV1 = z.object({
  from: z.string(),
  to: z.string(),
  groupBy: z.array(SessionDimensionV1),
  interval: IntervalV1,
  rows: z.array(SessionRowV1),
  totals: SessionSumsV1,
  /** Sessions open right now (started, not ended), whatever the range. */
  active: z.number().int().nonnegative(),
  truncated: z.boolean(),
});
export type SessionsReportV1 = z.infer<typeof SessionsReportV1>;

export const AnalyticsOverviewV1 = z.object({
  from: Instant.optional(),
  to: Instant.optional(),
});
export type AnalyticsOverviewV1 = z.infer<typeof AnalyticsOverviewV1>;

/** Everything at a glance over a range: usage, sessions, agent runs by outcome, tasks, events seen. */
export const OverviewReportV1 = z.object({
  from: z.string(),
  to: z.string(),
  usage: UsageSumsV1,
  sessions: SessionSumsV1.extend({ active: z.number().int().nonnegative() }),
  /** Agent runs that ended in the range, by outcome (e.g. `{ succeeded: 3, failed: 1 }`). */
  agentRuns: z.record(z.string(), z.number().int().nonnegative()),
  /** Tasks that reached done in the range. */
  tasksCompleted: z.number().int().nonnegative(),
  /** Events ingested in the range, by routing key. */
  events: z.record(z.string(), z.number().int().nonnegative()),
});
export type OverviewReportV1 = z.infer<typeof OverviewReportV1>;

/** What LLM latency can be grouped by. */
export const LatencyDimensionV1 = z.enum(['provider', 'model', 'role']);
export type LatencyDimensionV1 = z.infer<typeof LatencyDimensionV1>;

/**
 * Response times over a range, read from raw facts only (a percentile cannot be rebuilt from daily
 * sums): a range reaching before ANALYTICS_RAW_RETENTION_DAYS is cut to what is kept, and the reply's
 * `from` says so. `GET /api/v1/analytics/latency` maps onto it like the usage report.
 */
export const AnalyticsLatencyV1 = z.object({
  /** Dimensions of the LLM rows; default provider and model. */
  groupBy: z.array(LatencyDimensionV1).max(3).default(['provider', 'model']),
  /** Start of the range, inclusive; default 30 days before `to`. */
  from: Instant.optional(),
  /** End of the range, exclusive; default now. */
  to: Instant.optional(),
  /** Only calls (and, for `user` and `session`, commands) matching every given field. */
  filter: UsageFilterV1,
});
export type AnalyticsLatencyV1 = z.infer<typeof AnalyticsLatencyV1>;

/**
 * Percentiles of a set of durations, in ms, by nearest rank: pN is the smallest duration that at
 * least N% of the set is at or under (the ceil(N/100 x count)-th in ascending order), so always a
 * duration that was measured. null when the set is empty.
 */
export const LatencyStatsV1 = z.object({
  /** Durations in the set. */
  count: z.number().int().nonnegative(),
  p50Ms: z.number().nonnegative().nullable(),
  p95Ms: z.number().nonnegative().nullable(),
  maxMs: z.number().nonnegative().nullable(),
});
export type LatencyStatsV1 = z.infer<typeof LatencyStatsV1>;

/** LLM calls of one group: full call time (llm.usage durationMs) and time to first token (firstTokenMs). */
export const LlmLatencyRowV1 = LatencyStatsV1.extend({
  /** Time to the first streamed part, over the calls that reported it. */
  firstToken: LatencyStatsV1,
  provider: z.string().nullable().optional(),
  model: z.string().nullable().optional(),
  role: z.string().nullable().optional(),
});
export type LlmLatencyRowV1 = z.infer<typeof LlmLatencyRowV1>;

export const LatencyReportV1 = z.object({
  /** The range actually reported (from is later than asked when raw facts were pruned). */
  from: z.string(),
  to: z.string(),
  groupBy: z.array(LatencyDimensionV1),
  /** One row per group with at least one timed call, the slowest p95 first. */
  llm: z.array(LlmLatencyRowV1),
  /** Every timed LLM call of the range and filter together. */
  llmTotal: LlmLatencyRowV1,
  /** LLM calls in the range whose event carried no duration (from producers before durationMs). */
  untimedCalls: z.number().int().nonnegative(),
  /** Shell commands completed in the range (shell.command.completed durationMs). */
  commands: LatencyStatsV1,
});
export type LatencyReportV1 = z.infer<typeof LatencyReportV1>;

export const analyticsCommands = {
  'analytics.usage': command('analytics', {
    request: AnalyticsUsageV1,
    reply: UsageReportV1,
    summary: 'tokens and cost grouped by provider, model, role, session, user, project, over a range',
  }),
  'analytics.sessions': command('analytics', {
    request: AnalyticsSessionsV1,
    reply: SessionsReportV1,
    summary: 'session counts and durations and command counts, grouped by user or project, over a range',
  }),
  'analytics.latency': command('analytics', {
    request: AnalyticsLatencyV1,
    reply: LatencyReportV1,
    summary: 'p50/p95 of LLM call times per provider, model or role and of shell command times, over a range',
  }),
  'analytics.overview': command('analytics', {
    request: AnalyticsOverviewV1,
    reply: OverviewReportV1,
    summary: 'usage, sessions, agent runs, tasks and events over a range, at a glance',
  }),
} as const;

export const analyticsEvents = {} as const;
