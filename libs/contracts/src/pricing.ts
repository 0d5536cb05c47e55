// The one price table of the platform. The orchestrator prices every model call with it (budgets,
// llm.usage.costUsd) and analytics uses it for reports, so a price changes here and only here.
// Prices are list prices in US dollars per million tokens, standard tier, no caching/batch discounts,
// as published by the provider on `since`; prompt-cache reads and writes have their own prices (below). Add a new row (with a new `since`) rather than editing an
// old one when a provider changes a price, so that past usage can be re-priced at its own date.

export interface ModelPrice {
  /** Provider kind (anthropic, openai, google, mistral, xai); local kinds are free. */
  provider: string;
  /** Model id as sent to the provider's API. */
  model: string;
  /** Dollars per million input tokens. */
  inputUsdPerMTok: number;
  /** Dollars per million output tokens. */
  outputUsdPerMTok: number;
  /** Context window in tokens. */
  contextWindow: number;
  /** Dollars per million input tokens read from the provider's prompt cache; default: CACHE_PRICES. */
  cacheReadUsdPerMTok?: number;
  /** Dollars per million input tokens written to the prompt cache; default: CACHE_PRICES. */
  cacheWriteUsdPerMTok?: number;
  /** ISO date (YYYY-MM-DD) from which this price applies. */
  since: string;
}

export const MODEL_PRICES: readonly ModelPrice[] = [
  // Anthropic — https://www.anthropic.com/pricing
  { provider: 'anthropic', model: 'claude-opus-4-1', inputUsdPerMTok: 15, outputUsdPerMTok: 75, contextWindow: 200_000, since: '2025-08-05' },
  { provider: 'anthropic', model: 'claude-opus-4-0', inputUsdPerMTok: 15, outputUsdPerMTok: 75, contextWindow: 200_000, since: '2025-05-22' },
  { provider: 'anthropic', model: 'claude-sonnet-4-5', inputUsdPerMTok: 3, outputUsdPerMTok: 15, contextWindow: 200_000, since: '2025-09-29' },
  { provider: 'anthropic', model: 'claude-sonnet-4-0', inputUsdPerMTok: 3, outputUsdPerMTok: 15, contextWindow: 200_000, since: '2025-05-22' },
  { provider: 'anthropic', model: 'claude-haiku-4-5', inputUsdPerMTok: 1, outputUsdPerMTok: 5, contextWindow: 200_000, since: '2025-10-15' },
  { provider: 'anthropic', model: 'claude-3-5-haiku-latest', inputUsdPerMTok: 0.8, outputUsdPerMTok: 4, contextWindow: 200_000, since: '2024-11-04' },
  // OpenAI — https://openai.com/api/pricing
  // (cached input as listed there per model; OpenAI charges nothing extra for writing the cache)
  { provider: 'openai', model: 'gpt-5', inputUsdPerMTok: 1.25, outputUsdPerMTok: 10, cacheReadUsdPerMTok: 0.125, contextWindow: 400_000, since: '2025-08-07' },
  { provider: 'openai', model: 'gpt-5-mini', inputUsdPerMTok: 0.25, outputUsdPerMTok: 2, cacheReadUsdPerMTok: 0.025, contextWindow: 400_000, since: '2025-08-07' },
  { provider: 'openai', model: 'gpt-5-nano', inputUsdPerMTok: 0.05, outputUsdPerMTok: 0.4, cacheReadUsdPerMTok: 0.005, contextWindow: 400_000, since: '2025-08-07' },
  { provider: 'openai', model: 'gpt-4.1', inputUsdPerMTok: 2, outputUsdPerMTok: 8, cacheReadUsdPerMTok: 0.5, contextWindow: 1_047_576, since: '2025-04-14' },
  { provider: 'openai', model: 'gpt-4.1-mini', inputUsdPerMTok: 0.4, outputUsdPerMTok: 1.6, cacheReadUsdPerMTok: 0.1, contextWindow: 1_047_576, since: '2025-04-14' },
  { provider: 'openai', model: 'gpt-4o', inputUsdPerMTok: 2.5, outputUsdPerMTok: 10, cacheReadUsdPerMTok: 1.25, contextWindow: 128_000, since: '2024-10-01' },
  { provider: 'openai', model: 'gpt-4o-mini', inputUsdPerMTok: 0.15, outputUsdPerMTok: 0.6, cacheReadUsdPerMTok: 0.075, contextWindow: 128_000, since: '2024-07-18' },
  { provider: 'openai', model: 'o3', inputUsdPerMTok: 2, outputUsdPerMTok: 8, cacheReadUsdPerMTok: 0.5, contextWindow: 200_000, since: '2025-06-10' },
  { provider: 'openai', model: 'o4-mini', inputUsdPerMTok: 1.1, outputUsdPerMTok: 4.4, cacheReadUsdPerMTok: 0.275, contextWindow: 200_000, since: '2025-04-16' },
  // Google — https://ai.google.dev/gemini-api/docs/pricing (prompts up to 200k tokens)
  { provider: 'google', model: 'gemini-2.5-pro', inputUsdPerMTok: 1.25, outputUsdPerMTok: 10, contextWindow: 1_048_576, since: '2025-06-17' },
  { provider: 'google', model: 'gemini-2.5-flash', inputUsdPerMTok: 0.3, outputUsdPerMTok: 2.5, contextWindow: 1_048_576, since: '2025-06-17' },
  { provider: 'google', model: 'gemini-2.0-flash', inputUsdPerMTok: 0.1, outputUsdPerMTok: 0.4, contextWindow: 1_048_576, since: '2025-02-05' },
  // Mistral — https://mistral.ai/pricing
  { provider: 'mistral', model: 'mistral-large-latest', inputUsdPerMTok: 2, outputUsdPerMTok: 6, contextWindow: 128_000, since: '2024-11-18' },
  { provider: 'mistral', model: 'mistral-medium-latest', inputUsdPerMTok: 0.4, outputUsdPerMTok: 2, contextWindow: 128_000, since: '2025-05-07' },
  { provider: 'mistral', model: 'mistral-small-latest', inputUsdPerMTok: 0.1, outputUsdPerMTok: 0.3, contextWindow: 128_000, since: '2025-03-17' },
  { provider: 'mistral', model: 'codestral-latest', inputUsdPerMTok: 0.3, outputUsdPerMTok: 0.9, contextWindow: 256_000, since: '2025-01-13' },
  // xAI — https://docs.x.ai/docs/models
  { provider: 'xai', model: 'grok-4', inputUsdPerMTok: 3, outputUsdPerMTok: 15, contextWindow: 256_000, since: '2025-07-09' },
  { provider: 'xai', model: 'grok-3', inputUsdPerMTok: 3, outputUsdPerMTok: 15, contextWindow: 131_072, since: '2025-04-09' },
  { provider: 'xai', model: 'grok-3-mini', inputUsdPerMTok: 0.3, outputUsdPerMTok: 0.5, contextWindow: 131_072, since: '2025-04-09' },
  { provider: 'xai', model: 'grok-code-fast-1', inputUsdPerMTok: 0.2, outputUsdPerMTok: 1.5, contextWindow: 256_000, since: '2025-08-28' },
];

/** Provider kinds that run on the user's own hardware: their tokens cost nothing. */
export const LOCAL_PROVIDER_KINDS: readonly string[] = ['ollama', 'openai-compatible'];

/**
 * The price of a model on a date (default: today): the newest row whose `since` is not after it.
 * Undefined when the model is unknown (callers treat unknown as free and say so in their reports).
 */
export function findPrice(provider: string, model: string, at: Date = new Date()): ModelPrice | undefined {
  const day = at.toISOString().slice(0, 10);
  let best: ModelPrice | undefined;
  for (const row of MODEL_PRICES) {
    if (row.provider !== provider || row.model !== model || row.since > day) continue;
    if (!best || row.since > best.since) best = row;
  }
  return best;
}

/**
 * Prompt-cache prices as multiples of the input price, where a row gives none: Anthropic bills cache
 * reads at 0.1x and (5-minute) cache writes at 1.25x; Google's context-cache reads are 0.25x; OpenAI
 * rows carry their own read price and writes cost nothing extra. Anything else: the input price.
 */
export const CACHE_PRICES: Readonly<Record<string, { read: number; write: number }>> = {
  anthropic: { read: 0.1, write: 1.25 },
  google: { read: 0.25, write: 1 },
  openai: { read: 0.5, write: 1 },
};

/** What one call used. `inputTokens` counts every input token, those read from or written to the cache included. */
export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  /** Of the input tokens, those read from the provider's prompt cache. */
  cacheReadTokens?: number;
  /** Of the input tokens, those written to the prompt cache. */
  cacheWriteTokens?: number;
}

/** Cost in dollars of one call (cache reads and writes at their own prices); 0 for local providers and unknown models. */
export function priceUsage(provider: string, model: string, usage: TokenUsage, at?: Date): number {
  if (LOCAL_PROVIDER_KINDS.includes(provider)) return 0;
  const p = findPrice(provider, model, at);
  if (!p) return 0;
  const factor = CACHE_PRICES[provider] ?? { read: 1, write: 1 };
  const read = Math.max(0, usage.cacheReadTokens ?? 0);
  const write = Math.max(0, usage.cacheWriteTokens ?? 0);
  const plain = Math.max(0, usage.inputTokens - read - write);
  const readPrice = p.cacheReadUsdPerMTok ?? p.inputUsdPerMTok * factor.read;
  const writePrice = p.cacheWriteUsdPerMTok ?? p.inputUsdPerMTok * factor.write;
  return (plain * p.inputUsdPerMTok + read * readPrice + write * writePrice + usage.outputTokens * p.outputUsdPerMTok) / 1_000_000;
}
