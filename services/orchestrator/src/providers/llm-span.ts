import { priceUsage, type TokenUsage } from '@codeagent/contracts';
import { SpanKind, withSpan } from '@codeagent/telemetry';
import type { ChainLink } from './registry';

/**
 * One model call as a CLIENT span (`llm <provider>/<model>`), in the trace of the request that caused
 * it: OpenTelemetry's gen_ai attributes (provider, model, input and output tokens, cache reads and
 * writes, finish reason) plus the call's cost, cache tokens at their own prices (libs/contracts
 * pricing). A failed call is a span with the error, so a fallback down the chain shows as siblings.
 */
export function llmCallSpan<T extends { usage: TokenUsage; finishReason: string; timing?: { durationMs: number; firstTokenMs?: number } }>(
  link: Pick<ChainLink, 'provider' | 'kind' | 'model'>,
  call: () => Promise<T>,
): Promise<T> {
  return withSpan(
    `llm ${link.provider}/${link.model}`,
    { kind: SpanKind.CLIENT, attributes: { 'gen_ai.system': link.kind, 'gen_ai.provider.name': link.provider, 'gen_ai.request.model': link.model } },
    async (span) => {
      const r = await call();
      span.setAttributes({
        'gen_ai.usage.input_tokens': r.usage.inputTokens,
        'gen_ai.usage.output_tokens': r.usage.outputTokens,
        'gen_ai.usage.cache_read_input_tokens': r.usage.cacheReadTokens ?? 0,
        'gen_ai.usage.cache_creation_input_tokens': r.usage.cacheWriteTokens ?? 0,
        'gen_ai.response.finish_reasons': [r.finishReason],
        'codeagent.llm.cost_usd': priceUsage(link.kind, link.model, r.usage),
        ...(r.timing ? { 'codeagent.llm.duration_ms': r.timing.durationMs, ...(r.timing.firstTokenMs !== undefined ? { 'codeagent.llm.first_token_ms': r.timing.firstTokenMs } : {}) } : {}),
      });
      return r;
    },
  );
}
