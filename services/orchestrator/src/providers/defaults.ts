import type { AgentRoleV1, ProviderKindV1, RoleConfigV1 } from '@codeagent/contracts';

/** Every kind is known to the registry by its own name, so a key is all a user must give. */
export const BUILTIN_PROVIDERS: readonly ProviderKindV1[] = ['anthropic', 'openai', 'google', 'mistral', 'xai', 'ollama', 'openai-compatible'];

/**
 * Seed 003's per-role defaults brought up to current models; a project (or the global config)
 * overrides any role with orchestrator.agents.set.
 */
export const DEFAULT_ROLES: Record<AgentRoleV1, RoleConfigV1> = {
  planning: { provider: 'anthropic', model: 'claude-opus-4-1', fallbacks: [{ provider: 'openai', model: 'gpt-5' }, { provider: 'google', model: 'gemini-2.5-pro' }] },
  coding: { provider: 'openai', model: 'gpt-4.1', fallbacks: [{ provider: 'anthropic', model: 'claude-sonnet-4-5' }, { provider: 'ollama', model: 'qwen2.5-coder' }] },
  review: { provider: 'anthropic', model: 'claude-sonnet-4-5', fallbacks: [{ provider: 'openai', model: 'gpt-5' }, { provider: 'google', model: 'gemini-2.5-pro' }] },
  testing: { provider: 'google', model: 'gemini-2.5-flash', fallbacks: [{ provider: 'openai', model: 'gpt-5-mini' }, { provider: 'mistral', model: 'mistral-small-latest' }] },
  documentation: { provider: 'mistral', model: 'mistral-large-latest', fallbacks: [{ provider: 'xai', model: 'grok-3-mini' }, { provider: 'openai', model: 'gpt-5-mini' }] },
};
