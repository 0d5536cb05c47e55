import { createAnthropic } from '@ai-sdk/anthropic';
import { createGoogleGenerativeAI } from '@ai-sdk/google';
import { createMistral } from '@ai-sdk/mistral';
import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { createXai } from '@ai-sdk/xai';
import type { ProviderKindV1 } from '@codeagent/contracts';
import type { LanguageModel } from 'ai';
import { createOllama } from 'ollama-ai-provider-v2';

/** Kinds that run on the user's machine: no key needed, models listed by asking the server. */
export const LOCAL_KINDS: readonly ProviderKindV1[] = ['ollama', 'openai-compatible'];

/** Where each kind answers by default (cloud SDKs know their own; local servers' usual ports). */
export const DEFAULT_BASE_URLS: Partial<Record<ProviderKindV1, string>> = {
  ollama: 'http://127.0.0.1:11434/api',
  'openai-compatible': 'http://127.0.0.1:1234/v1',
};

export interface ModelTarget {
  name: string;
  kind: ProviderKindV1;
  model: string;
  baseURL?: string;
  apiKey?: string;
}

/**
 * An AI SDK model for a provider entry. OpenAI goes through chat completions (not the Responses API)
 * so that OpenAI, xAI-compatible gateways and local servers share one wire format.
 */
export function createLanguageModel(t: ModelTarget): LanguageModel {
  const baseURL = t.baseURL ?? DEFAULT_BASE_URLS[t.kind];
  const common = { apiKey: t.apiKey, baseURL };
  switch (t.kind) {
    case 'anthropic':
      return createAnthropic(common)(t.model);
    case 'openai':
      return createOpenAI(common).chat(t.model);
    case 'google':
      return createGoogleGenerativeAI(common)(t.model);
    case 'mistral':
      return createMistral(common)(t.model);
    case 'xai':
      return createXai(common)(t.model);
    case 'ollama':
      return createOllama({ baseURL })(t.model);
    case 'openai-compatible':
      return createOpenAICompatible({ name: t.name, baseURL: baseURL!, apiKey: t.apiKey, includeUsage: true })(t.model);
  }
}

/** Models a local server has installed (Ollama /api/tags, OpenAI-compatible /models). */
export async function listInstalledModels(kind: ProviderKindV1, baseURL: string | undefined, apiKey: string | undefined, timeoutMs = 3000): Promise<string[]> {
  const base = (baseURL ?? DEFAULT_BASE_URLS[kind] ?? '').replace(/\/$/, '');
  if (!base) return [];
  const url = kind === 'ollama' ? `${base}/tags` : `${base}/models`;
  const res = await fetch(url, { headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {}, signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`${url} answered HTTP ${res.status}`);
  const body = (await res.json()) as { models?: { name: string }[]; data?: { id: string }[] };
  return kind === 'ollama' ? (body.models ?? []).map((m) => m.name) : (body.data ?? []).map((m) => m.id);
}
