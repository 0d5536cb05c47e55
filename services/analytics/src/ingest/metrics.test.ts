import { readFileSync } from 'node:fs';
import path from 'node:path';
import { busMetrics, prom } from '@codeagent/telemetry';
import { toFacts } from './facts';
import { countCommitted, registerPlatformMetrics } from './metrics';
import { buildWrites } from './rollup';

const DASHBOARD = path.resolve(__dirname, '../../../../deploy/grafana/dashboards/codeagent.json');
const GATEWAY_METRICS = path.resolve(__dirname, '../../../gateway/src/http/metrics.ts');
const ORCHESTRATOR_METRICS = path.resolve(__dirname, '../../../orchestrator/src/providers/metrics.ts');

describe('platform metrics', () => {
  beforeAll(() => {
    registerPlatformMetrics(async () => 7);
    for (const make of Object.values(busMetrics)) make();
  });

  it('counts tokens, cost and command durations of a committed batch', async () => {
    const w = buildWrites([
      toFacts({ id: '1', name: 'llm.usage', receivedAt: 0, payload: { provider: 'openai', model: 'gpt-5', role: 'coding', inputTokens: 100, outputTokens: 7, costUsd: 0.25 } }),
      toFacts({ id: '3', name: 'llm.usage', receivedAt: 0, payload: { provider: 'openai', model: 'gpt-99', role: 'coding', inputTokens: 5, outputTokens: 5, costUsd: 0 } }),
      toFacts({ id: '2', name: 'shell.command.completed', receivedAt: 0, payload: { sessionId: 's', exitCode: 1, durationMs: 1500, timedOut: false } }),
    ]);
    countCommitted(w, 4, 3);
    const text = await prom.register.metrics();
    expect(text).toMatch(/analytics_llm_tokens_total\{provider="openai",model="gpt-5",direction="input"\} 100/);
    expect(text).toMatch(/analytics_llm_cost_usd_total\{provider="openai",model="gpt-5"\} 0.25/);
    expect(text).toMatch(/analytics_command_duration_seconds_count\{outcome="failed"\} 1/);
    expect(text).toMatch(/analytics_llm_unpriced_calls_total\{provider="openai",model="gpt-99"\} 1/);
    expect(text).not.toMatch(/analytics_llm_unpriced_calls_total\{provider="openai",model="gpt-5"\}/);
    expect(text).toMatch(/analytics_events_duplicate_total 1/);
    expect(text).toMatch(/analytics_sessions_active 7/);
  });

  it('the Grafana dashboard only uses metrics that exist', () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Array<{ id: number; type: string; targets?: Array<{ expr: string }> }> };
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
    const exprs = dashboard.panels.flatMap((p) => p.targets ?? []).map((t) => t.expr);
    expect(exprs.length).toBeGreaterThan(10);
    // Analytics' and the bus's metrics are registered here; the gateway's and the orchestrator's are named in their sources.
    const known = new Set(prom.register.getMetricsAsArray().map((m) => m.name));
    const sources: Record<string, string> = { gateway_: readFileSync(GATEWAY_METRICS, 'utf8'), orchestrator_: readFileSync(ORCHESTRATOR_METRICS, 'utf8') };
    const used = new Set(exprs.flatMap((e) => e.match(/\b(analytics|bus|gateway|orchestrator)_[a-z_]+/g) ?? []).map((n) => n.replace(/_(bucket|sum|count)$/, '')));
    for (const name of used) {
      const source = Object.entries(sources).find(([prefix]) => name.startsWith(prefix))?.[1];
      const exists = source ? source.includes(`'${name}'`) : known.has(name);
      expect({ name, exists }).toEqual({ name, exists: true });
    }
    for (const name of ['bus_published_total', 'bus_consumed_total', 'bus_failed_total', 'bus_dead_lettered_total', 'gateway_http_requests_total', 'analytics_command_duration_seconds', 'analytics_sessions_active', 'orchestrator_llm_call_failures_total']) {
      expect({ name, used: used.has(name) }).toEqual({ name, used: true });
    }
  });
});
