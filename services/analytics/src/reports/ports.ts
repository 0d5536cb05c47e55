import type { LatencyDimensionV1, UsageDimensionV1 } from '@codeagent/contracts';
import type { Segment } from './range';

export type Period = 'none' | 'day' | 'week';

/** Usage summed per group of one segment; dimension values are '' when unknown. */
export interface UsageGroup {
  dims: Partial<Record<UsageDimensionV1, string>>;
  /** Day number of the day or the Monday of the week, when a period was asked for. */
  period?: number;
  calls: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  unpriced: number;
}

export interface CommandGroup {
  session: string;
  user: string;
  period?: number;
  commands: number;
  failed: number;
  durationMs: number;
}

export interface SessionRecord {
  session: string;
  user: string;
  project: string;
  startedAtMs?: number;
  endedAtMs?: number;
  outcome?: string;
}

/** What reports read (implemented in repositories/). */
export interface ReportStore {
  usageGroups(segment: Segment, groupBy: readonly UsageDimensionV1[], period: Period, filter: Partial<Record<UsageDimensionV1, string>>): Promise<UsageGroup[]>;
  commandGroups(segment: Segment, period: Period, filter: { user?: string }): Promise<CommandGroup[]>;
  /** Sessions started in [fromMs, toMs). */
  sessionsStarted(fromMs: number, toMs: number, filter: { user?: string; project?: string }): Promise<SessionRecord[]>;
  sessionsById(ids: readonly string[]): Promise<SessionRecord[]>;
  /** Sessions started and not ended, whenever they started. */
  activeSessions(): Promise<number>;
  agentRunOutcomes(fromMs: number, toMs: number): Promise<Record<string, number>>;
  tasksCompleted(fromMs: number, toMs: number): Promise<number>;
  /** Events ingested per routing key over whole days [fromDay, toDay). */
  eventCounts(fromDay: number, toDay: number): Promise<Record<string, number>>;
}

/** The duration sets latency is reported over: an LLM call's full time, its time to first token, a command's time. */
export type DurationSet = 'llm.duration' | 'llm.firstToken' | 'command';

/** Nearest-rank percentiles of one group's durations (ms). */
export interface Percentiles {
  dims: Partial<Record<LatencyDimensionV1, string>>;
  count: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
}

/** What the latency report reads (implemented in repositories/); raw facts only. */
export interface LatencyStore {
  /**
   * Percentiles per group over [fromMs, toMs). For `command` only the `session` and `user` filters
   * apply and groupBy must be empty (commands have no provider, model or role).
   */
  percentiles(set: DurationSet, fromMs: number, toMs: number, groupBy: readonly LatencyDimensionV1[], filter: Partial<Record<UsageDimensionV1, string>>): Promise<Percentiles[]>;
  untimedCalls(fromMs: number, toMs: number, filter: Partial<Record<UsageDimensionV1, string>>): Promise<number>;
}
