import { z } from 'zod';
import { command, event } from '../define';

// The LLM providers, their models, which provider and model serves each agent role, and one-shot
// completions. Owned by services/orchestrator (providers/). The gateway maps /api/v1/providers →
// orchestrator.provider.*, /api/v1/agents → orchestrator.agents.*; project-ci asks
// orchestrator.llm.complete. Analytics consumes llm.usage (one per model call).

/** The five agent roles of seed 003's multi-agency coordinator, in pipeline order. */
export const AgentRoleV1 = z.enum(['planning', 'coding', 'review', 'testing', 'documentation']);
export type AgentRoleV1 = z.infer<typeof AgentRoleV1>;

/** Kinds of provider the registry knows; `openai-compatible` covers LM Studio, vLLM and llama.cpp's server. */
export const ProviderKindV1 = z.enum(['anthropic', 'openai', 'google', 'mistral', 'xai', 'ollama', 'openai-compatible']);
export type ProviderKindV1 = z.infer<typeof ProviderKindV1>;

/** A provider's registry name: a kind, or a user-chosen name for a second server of a kind (`lmstudio`). */
const ProviderName = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'lower-case letters, digits, . _ -');

export const ChatMessageV1 = z.object({
  /** Who said it. */
  role: z.enum(['system', 'user', 'assistant']),
  /** Plain text. */
  content: z.string().max(2_000_000),
});
export type ChatMessageV1 = z.infer<typeof ChatMessageV1>;

export const TokenUsageV1 = z.object({
  inputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
});
export type TokenUsageV1 = z.infer<typeof TokenUsageV1>;

/** One link of a role's chain: a provider and the model to ask it for. */
export const ModelRefV1 = z.object({
  provider: ProviderName,
  model: z.string().min(1).max(200),
});
export type ModelRefV1 = z.infer<typeof ModelRefV1>;

/** How one role is served: the first choice, then fallbacks in order. */
export const RoleConfigV1 = ModelRefV1.extend({
  /** Tried in order when a call fails (network error, 5xx, rate limit, overload). */
  fallbacks: z.array(ModelRefV1).max(10).default([]),
});
export type RoleConfigV1 = z.infer<typeof RoleConfigV1>;

// ---- commands: providers and roles ----

export const ModelInfoV1 = z.object({
  id: z.string(),
  /** Context window in tokens, when known. */
  contextWindow: z.number().int().positive().optional(),
  /** Dollars per million tokens, from libs/contracts pricing (absent: unknown or free/local). */
  inputUsdPerMTok: z.number().nonnegative().optional(),
  outputUsdPerMTok: z.number().nonnegative().optional(),
  /** For local servers: installed on the server (true) or only known to be available. */
  installed: z.boolean().optional(),
});
export type ModelInfoV1 = z.infer<typeof ModelInfoV1>;

export const ProviderInfoV1 = z.object({
  name: ProviderName,
  kind: ProviderKindV1,
  baseURL: z.string().optional(),
  enabled: z.boolean(),
  /** A key is stored (never the key itself). */
  hasKey: z.boolean(),
  /** Last four characters of the key, for recognising it. */
  keyHint: z.string().optional(),
  /** `closed` (healthy), `open` (skipped after failures until `retryAt`), `half-open` (one trial call allowed). */
  circuit: z.enum(['closed', 'open', 'half-open']),
  retryAt: z.string().optional(),
  models: z.array(ModelInfoV1),
  /** Where the provider's config comes from: the project's own or the global default. */
  scope: z.enum(['project', 'global']),
});
export type ProviderInfoV1 = z.infer<typeof ProviderInfoV1>;

export const ProviderListV1 = z.object({
  projectId: z.string().optional(),
  /** Ask local servers (Ollama, OpenAI-compatible) which models they have installed. */
  refreshModels: z.boolean().default(false),
});
export const ProviderSetV1 = z.object({
  /** Absent: the global default every project inherits. */
  projectId: z.string().optional(),
  name: ProviderName,
  /** Required when the name is not itself a kind. */
  kind: ProviderKindV1.optional(),
  /** Stored encrypted at rest (AES-256-GCM); an empty string removes the stored key. */
  apiKey: z.string().max(4096).optional(),
  baseURL: z.url().optional(),
  enabled: z.boolean().optional(),
  /** Extra model ids this provider serves (beyond the built-in price table). */
  models: z.array(z.string().min(1).max(200)).max(200).optional(),
});

// ---- commands: a provider's own models (seed 003's GetInstalledModels, GetAvailableModels, SearchModels, InstallModel) ----

/** One model as the provider's own API describes it. */
export const ProviderModelV1 = z.object({
  id: z.string(),
  displayName: z.string().optional(),
  /** On disk, for local servers. */
  sizeBytes: z.number().nonnegative().optional(),
  /** When the provider created (cloud) or the server last changed (local) it, ISO 8601. */
  createdAt: z.string().optional(),
  contextWindow: z.number().int().positive().optional(),
  /** Local servers: on the server (true); false for a configured model that is not pulled yet. */
  installed: z.boolean().optional(),
});
export type ProviderModelV1 = z.infer<typeof ProviderModelV1>;

export const ProviderModelsV1 = z.object({
  projectId: z.string().optional(),
  name: ProviderName,
  /** `installed`: what a local server has; `available`: what the provider offers (cloud: its model list). */
  source: z.enum(['installed', 'available']).default('available'),
  /** Case-insensitive substring of the id or display name. */
  query: z.string().max(200).optional(),
  /** `nextCursor` of the previous page. */
  cursor: z.string().max(100).optional(),
  limit: z.number().int().min(1).max(200).default(50),
});
export const ProviderModelsReplyV1 = z.object({
  provider: z.string(),
  source: z.enum(['installed', 'available']),
  models: z.array(ProviderModelV1),
  /** Matching models in all pages. */
  total: z.number().int().nonnegative(),
  /** Absent on the last page. */
  nextCursor: z.string().optional(),
});

export const ProviderPullV1 = z.object({
  projectId: z.string().optional(),
  name: ProviderName,
  model: z.string().min(1).max(500),
  /** Chosen by the caller, so it can listen for the progress events before the pull starts. */
  pullId: z.string().min(1).max(100).optional(),
});
/** One step of a model install: every `provider.model.pull` event and each step of `orchestrator.provider.pull.status`. */
export const ModelPullProgressV1 = z.object({
  pullId: z.string(),
  projectId: z.string().optional(),
  provider: z.string(),
  model: z.string(),
  /** Counts up from 1 per pull, so a reader can order and spot missed events. */
  seq: z.number().int().positive(),
  state: z.enum(['running', 'succeeded', 'failed']),
  /** The server's own words (Ollama's `status`: "pulling manifest", "downloading …", "success"). */
  status: z.string(),
  digest: z.string().optional(),
  /** Bytes of the current layer (Ollama) or of the whole download (LM Studio). */
  total: z.number().nonnegative().optional(),
  completed: z.number().nonnegative().optional(),
  /** Why it failed, in the server's words. */
  error: z.string().optional(),
  at: z.string(),
});
export type ModelPullProgressV1 = z.infer<typeof ModelPullProgressV1>;
export const ProviderPullReplyV1 = z.object({
  pullId: z.string(),
  /** The orchestrator replica running the pull: ask it for `orchestrator.provider.pull.status`. */
  instanceId: z.string(),
});
export const ProviderPullStatusV1 = z.object({
  pullId: z.string().min(1).max(100),
  /** Only the steps after this `seq` (0: all the replica still holds). */
  afterSeq: z.number().int().nonnegative().default(0),
});
export const ProviderPullStatusReplyV1 = z.object({ steps: z.array(ModelPullProgressV1) });

export const AgentsGetV1 = z.object({ projectId: z.string().optional() });
export const AgentsConfigV1 = z.object({
  projectId: z.string().optional(),
  roles: z.record(AgentRoleV1, RoleConfigV1),
});
export const AgentsSetV1 = z.object({
  projectId: z.string().optional(),
  role: AgentRoleV1,
  config: RoleConfigV1,
});

// ---- commands: one-shot completion ----

export const LlmCompleteV1 = z.object({
  /** Use this project's providers and role config (else the global default). */
  projectId: z.string().optional(),
  /** Pick a provider; absent: the role's chain (with its fallbacks). */
  provider: ProviderName.optional(),
  /** Pick a model; absent: the provider's (or role's) configured model. */
  model: z.string().min(1).max(200).optional(),
  /** Which role's chain to use when no provider is given; default `coding`. */
  role: AgentRoleV1.optional(),
  messages: z.array(ChatMessageV1).min(1).max(1000),
  maxOutputTokens: z.number().int().min(1).max(200_000).optional(),
  temperature: z.number().min(0).max(2).optional(),
  /** For usage accounting. */
  sessionId: z.string().optional(),
  user: z.string().optional(),
});
export const LlmCompleteReplyV1 = z.object({
  text: z.string(),
  provider: z.string(),
  model: z.string(),
  usage: TokenUsageV1,
  costUsd: z.number().nonnegative(),
  finishReason: z.string(),
});

// ---- events ----

export const LlmUsageV1 = z.object({
  /** The registry name of the provider (a kind, or a user's name such as `lmstudio`). */
  provider: z.string(),
  /** Its kind (`anthropic`, `openai`, ..., `ollama`, `openai-compatible`): the key of pricing.ts. */
  providerKind: z.string().optional(),
  model: z.string(),
  /** The agent role, or `completion` for orchestrator.llm.complete without a role. */
  role: z.string(),
  sessionId: z.string().optional(),
  runId: z.string().optional(),
  projectId: z.string().optional(),
  user: z.string().optional(),
  inputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
  /** Priced from libs/contracts pricing.ts; 0 for local or unknown models. */
  costUsd: z.number().nonnegative(),
  at: z.string().optional(),
  /** Wall time of the call that answered, from the request to the end of its stream, in ms (failed links before it not included). */
  durationMs: z.number().nonnegative().optional(),
  /** From the request to the first streamed part of the answer (text, reasoning or tool call), in ms. */
  firstTokenMs: z.number().nonnegative().optional(),
});
export type LlmUsageV1 = z.infer<typeof LlmUsageV1>;
export const ProviderChangedV1 = z.object({
  projectId: z.string().optional(),
  name: z.string(),
  change: z.enum(['set', 'circuit-open', 'circuit-closed']),
  at: z.string(),
});

export const llmCommands = {
  'orchestrator.provider.list': command('orchestrator', { request: ProviderListV1, reply: z.object({ providers: z.array(ProviderInfoV1) }), summary: 'providers and their models' }),
  'orchestrator.provider.set': command('orchestrator', { request: ProviderSetV1, reply: ProviderInfoV1, summary: 'configure a provider (its key is stored encrypted)' }),
  'orchestrator.provider.models': command('orchestrator', { request: ProviderModelsV1, reply: ProviderModelsReplyV1, summary: "a provider's installed or available models, from its own API, searched and paged" }),
  'orchestrator.provider.pull': command('orchestrator', { request: ProviderPullV1, reply: ProviderPullReplyV1, summary: 'start installing a model on a local server (Ollama pull, LM Studio download); progress as provider.model.pull' }),
  'orchestrator.provider.pull.status': command('orchestrator', { request: ProviderPullStatusV1, reply: ProviderPullStatusReplyV1, summary: "a model install's steps after a seq, as published (sent to the replica running it)" }),
  'orchestrator.agents.get': command('orchestrator', { request: AgentsGetV1, reply: AgentsConfigV1, summary: 'provider, model and fallbacks of each role' }),
  'orchestrator.agents.set': command('orchestrator', { request: AgentsSetV1, reply: AgentsConfigV1, summary: "set one role's provider, model and fallbacks" }),
  'orchestrator.llm.complete': command('orchestrator', { request: LlmCompleteV1, reply: LlmCompleteReplyV1, summary: 'one completion through the provider registry (with fallbacks)' }),
} as const;

export const llmEvents = {
  'llm.usage': event({ schema: LlmUsageV1, summary: 'tokens and cost of one model call' }),
  'provider.changed': event({ schema: ProviderChangedV1, summary: 'a provider was configured or its circuit opened/closed' }),
  'provider.model.pull': event({ schema: ModelPullProgressV1, summary: 'progress of a model install on a local server, in order, ending with state succeeded or failed' }),
} as const;
