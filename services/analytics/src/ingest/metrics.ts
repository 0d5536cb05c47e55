import { counter, gauge, histogram } from '@codeagent/telemetry';
import { commandFailed, type Writes } from './rollup';

// Prometheus metrics of the platform's use, counted from committed facts only (a redelivered event
// adds nothing). Counters are per replica; Prometheus sums them. Label values stay few: provider and
// model (tens), outcome and status (a handful); never session or user ids.

const m = {
  tokens: () => counter('analytics_llm_tokens_total', 'LLM tokens used, by provider, model and direction (input/output)', ['provider', 'model', 'direction']),
  cost: () => counter('analytics_llm_cost_usd_total', 'LLM cost in US dollars, by provider and model', ['provider', 'model']),
  calls: () => counter('analytics_llm_calls_total', 'LLM calls, by provider and model', ['provider', 'model']),
  unpriced: () => counter('analytics_llm_unpriced_calls_total', 'LLM calls of a paid model the price table does not know (counted as free), by provider and model', ['provider', 'model']),
  sessionsStarted: () => counter('analytics_sessions_started_total', 'Sessions started'),
  sessionsEnded: () => counter('analytics_sessions_ended_total', 'Sessions ended, by outcome (closed/failed)', ['outcome']),
  commands: () => counter('analytics_commands_total', 'Shell commands completed, by outcome (ok/failed)', ['outcome']),
  commandDuration: () =>
    histogram('analytics_command_duration_seconds', 'Duration of completed shell commands', ['outcome'], [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800]),
  agentRuns: () => counter('analytics_agent_runs_total', 'Agent runs ended, by status', ['status']),
  tasks: () => counter('analytics_tasks_completed_total', 'Tasks completed'),
  events: () => counter('analytics_events_ingested_total', 'Events recorded (duplicates excluded)'),
  duplicates: () => counter('analytics_events_duplicate_total', 'Redelivered events recognised by id and not counted again'),
  batch: () => histogram('analytics_ingest_batch_events', 'Events per committed batch', [], [1, 10, 50, 100, 250, 500, 1000, 2000, 5000]),
  active: () => gauge('analytics_sessions_active', 'Sessions started and not ended (from the database)'),
};

/** Creates the metrics up front so /metrics lists them from the start. */
export function registerPlatformMetrics(activeSessions: () => Promise<number>): void {
  for (const make of Object.values(m)) make();
  const g = m.active();
  // prom-client calls collect on every scrape: the gauge is read from the facts, so every replica reports the same truth.
  (g as unknown as { collect: () => Promise<void> }).collect = async () => {
    try {
      g.set(await activeSessions());
    } catch {
      /* database unavailable: keep the last value; /health reports the database */
    }
  };
}

/** Counts what a committed batch recorded. */
export function countCommitted(w: Writes, batchEvents: number, freshEvents: number): void {
  m.batch().observe(batchEvents);
  m.events().inc(freshEvents);
  if (batchEvents > freshEvents) m.duplicates().inc(batchEvents - freshEvents);
  for (const u of w.usage) {
    m.tokens().inc({ provider: u.provider, model: u.model, direction: 'input' }, u.inputTokens);
    m.tokens().inc({ provider: u.provider, model: u.model, direction: 'output' }, u.outputTokens);
    m.cost().inc({ provider: u.provider, model: u.model }, u.costUsd);
    m.calls().inc({ provider: u.provider, model: u.model });
    if (!u.priced) m.unpriced().inc({ provider: u.provider, model: u.model });
  }
  for (const c of w.commands) {
    const outcome = commandFailed(c) ? 'failed' : 'ok';
    m.commands().inc({ outcome });
    m.commandDuration().observe({ outcome }, c.durationMs / 1000);
  }
  for (const s of w.sessions) {
    if (s.startedAtMs !== undefined) m.sessionsStarted().inc();
    if (s.outcome) m.sessionsEnded().inc({ outcome: s.outcome });
  }
  for (const r of w.agentRuns) m.agentRuns().inc({ status: r.status });
  if (w.tasks.length) m.tasks().inc(w.tasks.length);
}
