import { AppError, type ProviderKindV1, type ProviderModelV1 } from '@codeagent/contracts';
import { offsetOf } from '../paging';
import { DEFAULT_BASE_URLS, LOCAL_KINDS } from './kinds';
import type { ProviderConnection } from './registry';

/** Where each cloud kind's own API answers when no base URL is configured (the AI SDK's defaults). */
const CLOUD_BASE_URLS: Partial<Record<ProviderKindV1, string>> = {
  anthropic: 'https://api.anthropic.com/v1',
  openai: 'https://api.openai.com/v1',
  google: 'https://generativelanguage.googleapis.com/v1beta',
  mistral: 'https://api.mistral.ai/v1',
  xai: 'https://api.x.ai/v1',
};

/** Pages of a paged provider list followed at most; a catalog longer than this is a server gone wrong. */
const MAX_UPSTREAM_PAGES = 50;
const TIMEOUT_MS = 15_000;

export function baseUrlOf(c: Pick<ProviderConnection, 'kind' | 'baseURL'>): string {
  return (c.baseURL ?? DEFAULT_BASE_URLS[c.kind] ?? CLOUD_BASE_URLS[c.kind] ?? '').replace(/\/+$/, '');
}

/** GET a provider's JSON; its failures become errors that name the provider and what it said. */
export async function providerJson<T>(c: ProviderConnection, url: string, init: RequestInit = {}): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, headers: { ...authHeaders(c), ...(init.headers as Record<string, string>) }, signal: init.signal ?? AbortSignal.timeout(TIMEOUT_MS) });
  } catch (err) {
    throw new AppError('PROVIDER_FAILED', `provider "${c.name}" did not answer at ${url}: ${(err as Error).cause ?? (err as Error).message}`, { retryable: true, details: { provider: c.name, url } });
  }
  if (!res.ok) {
    const text = (await res.text().catch(() => '')).slice(0, 500);
    const said = upstreamMessage(text);
    if (res.status === 401 || res.status === 403) throw new AppError('PROVIDER_FAILED', `provider "${c.name}" refused the key (HTTP ${res.status})${said ? `: ${said}` : ''}: set it with PUT /api/v1/providers/${c.name}`, { details: { provider: c.name, status: res.status } });
    throw new AppError('PROVIDER_FAILED', `provider "${c.name}" answered HTTP ${res.status} at ${url}${said ? `: ${said}` : ''}`, { details: { provider: c.name, status: res.status, url } });
  }
  return (await res.json()) as T;
}

/** The `error` of a provider's error body (Ollama, LM Studio, OpenAI and Anthropic all name it so), else the text. */
export function upstreamMessage(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: string | { message?: string } };
    if (typeof body.error === 'string') return body.error;
    if (body.error?.message) return body.error.message;
  } catch {
    // Not JSON: the text is the message.
  }
  return text.trim();
}

function authHeaders(c: ProviderConnection): Record<string, string> {
  if (!c.apiKey) return {};
  if (c.kind === 'anthropic') return { 'x-api-key': c.apiKey, 'anthropic-version': '2023-06-01' };
  if (c.kind === 'google') return { 'x-goog-api-key': c.apiKey };
  return { authorization: `Bearer ${c.apiKey}` };
}

/** Every model the provider's own API lists, following its paging. */
async function fetchAll(c: ProviderConnection): Promise<ProviderModelV1[]> {
  const base = baseUrlOf(c);
  if (!base) throw new AppError('VALIDATION_FAILED', `provider "${c.name}" has no base URL: set one with PUT /api/v1/providers/${c.name}`);
  switch (c.kind) {
    case 'ollama': {
      const body = await providerJson<{ models?: { name: string; size?: number; modified_at?: string }[] }>(c, `${base}/tags`);
      return (body.models ?? []).map((m) => ({ id: m.name, sizeBytes: m.size, createdAt: m.modified_at, installed: true }));
    }
    case 'anthropic': {
      const out: ProviderModelV1[] = [];
      let after: string | undefined;
      for (let page = 0; page < MAX_UPSTREAM_PAGES; page++) {
        const q = new URLSearchParams({ limit: '1000', ...(after ? { after_id: after } : {}) });
        const body = await providerJson<{ data: { id: string; display_name?: string; created_at?: string }[]; has_more?: boolean; last_id?: string | null }>(c, `${base}/models?${q}`);
        out.push(...body.data.map((m) => ({ id: m.id, displayName: m.display_name, createdAt: m.created_at })));
        if (!body.has_more || !body.last_id) return out;
        after = body.last_id;
      }
      return out;
    }
    case 'google': {
      const out: ProviderModelV1[] = [];
      let token: string | undefined;
      for (let page = 0; page < MAX_UPSTREAM_PAGES; page++) {
        const q = new URLSearchParams({ pageSize: '1000', ...(token ? { pageToken: token } : {}) });
        const body = await providerJson<{ models?: { name: string; displayName?: string; inputTokenLimit?: number }[]; nextPageToken?: string }>(c, `${base}/models?${q}`);
        out.push(...(body.models ?? []).map((m) => ({ id: m.name.replace(/^models\//, ''), displayName: m.displayName, contextWindow: m.inputTokenLimit || undefined })));
        if (!body.nextPageToken) return out;
        token = body.nextPageToken;
      }
      return out;
    }
    default: {
      // OpenAI's list, which OpenAI, Mistral, xAI, LM Studio, vLLM and llama.cpp's server all speak.
      const body = await providerJson<{ data?: { id: string; created?: number; max_context_length?: number }[] }>(c, `${base}/models`);
      const local = LOCAL_KINDS.includes(c.kind);
      return (body.data ?? []).map((m) => ({
        id: m.id,
        createdAt: m.created ? new Date(m.created * 1000).toISOString() : undefined,
        contextWindow: m.max_context_length || undefined,
        ...(local ? { installed: true } : {}),
      }));
    }
  }
}

/**
 * Seed 003's GetInstalledModels / GetAvailableModels / SearchModels in one: the provider's own list,
 * filtered by `query` and cut into pages. `installed` is only for local servers; their `available`
 * adds the models configured for them that they have not pulled yet (neither Ollama nor LM Studio
 * lists its online library through its local API).
 */
export async function listProviderModels(
  c: ProviderConnection,
  opts: { source: 'installed' | 'available'; query?: string; cursor?: string; limit: number },
): Promise<{ models: ProviderModelV1[]; total: number; nextCursor?: string }> {
  const local = LOCAL_KINDS.includes(c.kind);
  if (opts.source === 'installed' && !local) {
    throw new AppError('VALIDATION_FAILED', `provider "${c.name}" (${c.kind}) is a cloud API: nothing is installed; list its available models instead`, { details: { fields: { source: 'installed is for local servers (ollama, openai-compatible)' } } });
  }
  const offset = offsetOf(opts.cursor);
  let models = await fetchAll(c);
  if (local && opts.source === 'available') {
    const have = new Set(models.map((m) => m.id));
    models = [...models, ...c.models.filter((id) => !have.has(id)).map((id) => ({ id, installed: false }))];
  }
  const q = opts.query?.trim().toLowerCase();
  if (q) models = models.filter((m) => m.id.toLowerCase().includes(q) || m.displayName?.toLowerCase().includes(q));
  models.sort((a, b) => a.id.localeCompare(b.id));
  const page = models.slice(offset, offset + opts.limit);
  const next = offset + page.length;
  return { models: page, total: models.length, nextCursor: next < models.length ? String(next) : undefined };
}
