import { z } from 'zod';
import { command, event } from '../define';
import { AgentRoleV1, TokenUsageV1 } from './llm';

// The agent runs: one role or the whole pipeline in a session's workspace and jail. Owned by
// services/orchestrator (agents/). The gateway maps: POST /api/v1/sessions/:id/agent →
// orchestrator.agent.run, GET /api/v1/agent-runs/:id → orchestrator.agent.get. The providers and
// models the roles run on are in llm.ts.

// ---- commands ----

export const AgentRunRequestV1 = z.object({
  sessionId: z.string().min(1),
  prompt: z.string().min(1).max(200_000),
  /** Roles to run, in this order; absent: the full pipeline planning → coding → review → testing → documentation. */
  roles: z.array(AgentRoleV1).min(1).max(5).optional(),
  /** Stop after this many model steps in total (default: ORCHESTRATOR_AGENT_MAX_STEPS). */
  maxSteps: z.number().int().min(1).max(1000).optional(),
  /** Stop when the run has cost this many dollars (default: ORCHESTRATOR_AGENT_BUDGET_USD). */
  budgetUsd: z.number().positive().max(10_000).optional(),
  /** Stop after this much wall time (default: ORCHESTRATOR_AGENT_TIMEOUT_MS). */
  timeoutMs: z.number().int().min(1000).max(86_400_000).optional(),
  /** Who asked (for usage accounting); the gateway fills it from the envelope's user when absent. */
  user: z.string().optional(),
});
export const AgentRunReplyV1 = z.object({ runId: z.string() });

export const AgentRunStatusV1 = z.enum(['running', 'completed', 'failed', 'interrupted', 'budget_exceeded', 'step_limit', 'timed_out']);
export type AgentRunStatusV1 = z.infer<typeof AgentRunStatusV1>;

export const ToolCallRecordV1 = z.object({
  toolCallId: z.string(),
  /** The tool's name (read_file, write_file, list_files, search_files, run_command, apply_patch, update_task). */
  tool: z.string(),
  input: z.unknown(),
  /** What the tool returned to the model (possibly cut). */
  output: z.unknown().optional(),
  /** The tool failed; the model was told this message. */
  error: z.string().optional(),
  durationMs: z.number().nonnegative(),
});
export type ToolCallRecordV1 = z.infer<typeof ToolCallRecordV1>;

export const AgentStepV1 = z.object({
  /** 0-based index over the whole run. */
  index: z.number().int().nonnegative(),
  role: AgentRoleV1,
  /** Which provider and model answered (after fallbacks). */
  provider: z.string(),
  model: z.string(),
  /** The model's text in this step. */
  text: z.string(),
  toolCalls: z.array(ToolCallRecordV1),
  usage: TokenUsageV1,
  costUsd: z.number().nonnegative(),
  /** Providers that failed before this one answered, with the reason. */
  failovers: z.array(z.object({ provider: z.string(), model: z.string(), reason: z.string() })).default([]),
  /** The context was shrunk this many times before the provider accepted it. */
  contextShrinks: z.number().int().nonnegative().default(0),
  finishReason: z.string(),
  at: z.string(),
});
export type AgentStepV1 = z.infer<typeof AgentStepV1>;

export const RoleResultV1 = z.object({
  role: AgentRoleV1,
  status: AgentRunStatusV1,
  /** The role's final text, handed to the next role. */
  output: z.string(),
  provider: z.string().optional(),
  model: z.string().optional(),
  steps: z.number().int().nonnegative(),
});
export type RoleResultV1 = z.infer<typeof RoleResultV1>;

export const AgentRunV1 = z.object({
  runId: z.string(),
  sessionId: z.string(),
  projectId: z.string().optional(),
  prompt: z.string(),
  roles: z.array(AgentRoleV1),
  status: AgentRunStatusV1,
  /** Why it ended other than completed. */
  error: z.string().optional(),
  steps: z.array(AgentStepV1),
  /** Per role, in order; the run's result aggregates them. */
  results: z.array(RoleResultV1),
  /** The aggregated result (each role's output under its heading). */
  result: z.string().optional(),
  usage: TokenUsageV1,
  costUsd: z.number().nonnegative(),
  budgetUsd: z.number().nonnegative(),
  /** Providers that answered, in order of first use. */
  providers: z.array(z.string()),
  user: z.string().optional(),
  /** The orchestrator replica executing the run (interrupts are routed to it). */
  instanceId: z.string().optional(),
  /** When the run's time limit ends it, whatever happens to its replica. */
  deadline: z.string().optional(),
  startedAt: z.string(),
  endedAt: z.string().optional(),
});
export type AgentRunV1 = z.infer<typeof AgentRunV1>;

export const AgentRunRefV1 = z.object({ runId: z.string().min(1) });
export const AgentInterruptReplyV1 = z.object({ interrupted: z.boolean(), status: AgentRunStatusV1 });
export const AgentRunListV1 = z.object({ sessionId: z.string().min(1) });

// ---- events ----

export const AgentRunStartedV1 = z.object({
  runId: z.string(),
  sessionId: z.string(),
  projectId: z.string().optional(),
  roles: z.array(AgentRoleV1),
  prompt: z.string(),
  user: z.string().optional(),
  at: z.string(),
});
export const AgentRunStepEventV1 = AgentStepV1.extend({
  runId: z.string(),
  sessionId: z.string(),
});
export const AgentRunTextV1 = z.object({
  runId: z.string(),
  sessionId: z.string(),
  role: AgentRoleV1,
  /** The step this text belongs to. */
  step: z.number().int().nonnegative(),
  /** Streamed text, in order; several model deltas may be batched into one event. */
  delta: z.string(),
});
export const AgentRunCompletedV1 = z.object({
  runId: z.string(),
  sessionId: z.string(),
  projectId: z.string().optional(),
  status: AgentRunStatusV1,
  error: z.string().optional(),
  result: z.string().optional(),
  results: z.array(RoleResultV1),
  steps: z.number().int().nonnegative(),
  usage: TokenUsageV1,
  costUsd: z.number().nonnegative(),
  providers: z.array(z.string()),
  at: z.string(),
});
export const agentCommands = {
  'orchestrator.agent.run': command('orchestrator', { request: AgentRunRequestV1, reply: AgentRunReplyV1, summary: "start an agent run (one role or the full pipeline) in a session's workspace and jail" }),
  'orchestrator.agent.get': command('orchestrator', { request: AgentRunRefV1, reply: AgentRunV1, summary: 'a run: status, steps, tool calls, tokens, cost, providers' }),
  'orchestrator.agent.list': command('orchestrator', { request: AgentRunListV1, reply: z.object({ runs: z.array(AgentRunV1) }), summary: "a session's runs" }),
  'orchestrator.agent.interrupt': command('orchestrator', { request: AgentRunRefV1, reply: AgentInterruptReplyV1, summary: 'stop a run' }),
} as const;

export const agentEvents = {
  'agent.run.started': event({ schema: AgentRunStartedV1, summary: 'an agent run began' }),
  'agent.run.step': event({ schema: AgentRunStepEventV1, summary: 'one model step of a run, with its tool calls and usage' }),
  'agent.run.text': event({ schema: AgentRunTextV1, summary: 'streamed model text of a run' }),
  'agent.run.completed': event({ schema: AgentRunCompletedV1, summary: 'a run ended (any status)' }),
} as const;
