import { AppError, type TokenUsage } from '@codeagent/contracts';
import { type ModelMessage, type ToolSet, streamText } from 'ai';
import type { CircuitBreakers } from './circuit-breaker';
import { classifyFailure, describe, failureReason } from './errors';
import { llmCallSpan } from './llm-span';
import { providerMetrics } from './metrics';
import type { ChainLink } from './registry';

export interface ModelToolCall {
  toolCallId: string;
  toolName: string;
  input: unknown;
}

export interface Failover {
  provider: string;
  model: string;
  reason: string;
}

export interface ModelStepRequest {
  system?: string;
  messages: ModelMessage[];
  /** Tools without `execute`: the agent loop runs them itself, so it can record and limit them. */
  tools?: ToolSet;
  abortSignal?: AbortSignal;
  maxOutputTokens?: number;
  temperature?: number;
  /** Streamed text as it arrives. */
  onTextDelta?: (delta: string) => void;
}

export interface ModelStepResult {
  link: ChainLink;
  text: string;
  toolCalls: ModelToolCall[];
  /** The assistant message(s) to append to the conversation. */
  responseMessages: ModelMessage[];
  /** Input tokens include those read from or written to the prompt cache (priced apart: libs/contracts pricing). */
  usage: TokenUsage;
  finishReason: string;
  failovers: Failover[];
  /** Wall time of the answering link's call: to its first streamed part and to the end of its stream (ms). */
  timing: { durationMs: number; firstTokenMs?: number };
}

/** The provider said the prompt does not fit its window: shrink and call the same link again. */
export class ContextTooLongError extends Error {
  constructor(
    readonly link: ChainLink,
    reason: string,
    readonly failovers: Failover[],
  ) {
    super(`context too long for ${link.provider}/${link.model}: ${reason}`);
    this.name = 'ContextTooLongError';
  }
}

// Registered at load, so the orchestrator's /metrics names it before the first failure.
const callFailures = providerMetrics.callFailures();

/**
 * One model step down the chain: the first link whose circuit lets it through and that answers wins.
 * Network errors, 5xx, 429 and 529 open the breaker towards the next link; "context too long" is
 * thrown to the caller (it is the prompt, not the provider, that must change). Retries inside the SDK
 * are off: the chain is the retry policy.
 */
export async function callWithFallback(links: ChainLink[], breakers: CircuitBreakers, req: ModelStepRequest, startAt = 0, failovers: Failover[] = []): Promise<ModelStepResult> {
  for (let i = startAt; i < links.length; i++) {
    const link = links[i]!;
    if (!breakers.tryAcquire(link.provider)) {
      failovers.push({ provider: link.provider, model: link.model, reason: 'circuit open' });
      continue;
    }
    try {
      const result = await llmCallSpan(link, () => streamOnce(link, req));
      breakers.success(link.provider);
      return { ...result, link, failovers };
    } catch (err) {
      const kind = classifyFailure(err);
      if (kind === 'aborted' || req.abortSignal?.aborted) {
        breakers.success(link.provider);
        throw new AppError('INVALID_STATE', 'interrupted', { cause: err });
      }
      // A call the provider failed (an interruption is the user's doing, not the provider's).
      callFailures.inc({ provider: link.provider, model: link.model, reason: failureReason(err) });
      if (kind === 'context-too-long') {
        breakers.success(link.provider);
        throw new ContextTooLongError(link, describe(err), failovers);
      }
      if (kind === 'failover') breakers.failure(link.provider);
      else breakers.success(link.provider);
      failovers.push({ provider: link.provider, model: link.model, reason: describe(err) });
    }
  }
  throw new AppError('PROVIDER_FAILED', `no provider answered (${failovers.map((f) => `${f.provider}: ${f.reason.slice(0, 120)}`).join('; ') || 'no provider configured'})`, {
    details: { failovers },
    retryable: true,
  });
}

/** Parts that mean the model has started answering (the time to first token). */
const FIRST_PARTS = new Set(['text-delta', 'reasoning-delta', 'tool-input-start', 'tool-call']);

async function streamOnce(link: ChainLink, req: ModelStepRequest): Promise<Omit<ModelStepResult, 'link' | 'failovers'>> {
  const started = performance.now();
  let firstTokenMs: number | undefined;
  const result = streamText({
    model: link.languageModel,
    system: req.system,
    messages: req.messages,
    tools: req.tools,
    maxRetries: 0,
    abortSignal: req.abortSignal,
    maxOutputTokens: req.maxOutputTokens,
    temperature: req.temperature,
    // Errors arrive as stream parts and are handled there; the default handler would only print them.
    onError: () => undefined,
  });
  let text = '';
  const toolCalls: ModelToolCall[] = [];
  let usage: TokenUsage = { inputTokens: 0, outputTokens: 0 };
  let finishReason = 'unknown';
  for await (const part of result.fullStream) {
    if (firstTokenMs === undefined && FIRST_PARTS.has(part.type)) firstTokenMs = performance.now() - started;
    switch (part.type) {
      case 'text-delta':
        text += part.text;
        req.onTextDelta?.(part.text);
        break;
      case 'tool-call':
        toolCalls.push({ toolCallId: part.toolCallId, toolName: part.toolName, input: part.input });
        break;
      case 'finish-step':
        usage = { inputTokens: part.usage.inputTokens ?? 0, outputTokens: part.usage.outputTokens ?? 0, ...cacheTokens(part.usage.inputTokenDetails) };
        finishReason = part.finishReason;
        break;
      case 'error':
        throw part.error;
      case 'abort':
        throw Object.assign(new Error('aborted'), { name: 'AbortError' });
      default:
        break;
    }
  }
  const response = await result.response;
  const timing = { durationMs: Math.round(performance.now() - started), firstTokenMs: firstTokenMs === undefined ? undefined : Math.round(firstTokenMs) };
  return { text, toolCalls, responseMessages: response.messages as ModelMessage[], usage, finishReason, timing };
}

/** The prompt-cache part of a call's input tokens, where the provider reports it. */
function cacheTokens(d: { cacheReadTokens?: number; cacheWriteTokens?: number } | undefined): Pick<TokenUsage, 'cacheReadTokens' | 'cacheWriteTokens'> {
  return { ...(d?.cacheReadTokens ? { cacheReadTokens: d.cacheReadTokens } : {}), ...(d?.cacheWriteTokens ? { cacheWriteTokens: d.cacheWriteTokens } : {}) };
}
