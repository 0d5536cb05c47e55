import { priceUsage } from './pricing';

const M = 1_000_000;

test('without cache tokens a call is priced as before: input and output at list price', () => {
  expect(priceUsage('anthropic', 'claude-sonnet-4-5', { inputTokens: M, outputTokens: M })).toBeCloseTo(3 + 15);
});

test('cache reads and writes are priced apart, out of the input tokens that include them', () => {
  // Anthropic: reads at 0.1x input (0.30), 5-minute writes at 1.25x (3.75), the rest at 3.
  expect(priceUsage('anthropic', 'claude-sonnet-4-5', { inputTokens: 3 * M, outputTokens: 0, cacheReadTokens: M, cacheWriteTokens: M })).toBeCloseTo(3 + 0.3 + 3.75);
  // OpenAI: the row's own cached-input price, writes at the input price.
  expect(priceUsage('openai', 'gpt-4.1', { inputTokens: 2 * M, outputTokens: 0, cacheReadTokens: M })).toBeCloseTo(2 + 0.5);
  expect(priceUsage('openai', 'gpt-4.1', { inputTokens: M, outputTokens: 0, cacheWriteTokens: M })).toBeCloseTo(2);
  // A provider without cache prices: the input price; never negative plain input.
  expect(priceUsage('mistral', 'mistral-small-latest', { inputTokens: M, outputTokens: 0, cacheReadTokens: 2 * M })).toBeCloseTo(0.2);
  expect(priceUsage('ollama', 'llama3', { inputTokens: M, outputTokens: M, cacheReadTokens: M })).toBe(0);
});
