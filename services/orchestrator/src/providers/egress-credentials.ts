import { AppError, type EgressCredentialV1, type ProviderKindV1 } from '@codeagent/contracts';
import type { ProviderConfig } from './config-store';

// How code in a jail calls a configured provider without its key (`sandbox.credentials`): the egress
// proxy forwards `http://<name>.credentials.internal/...` to the provider's API with the key added.
// The jail gets the in-jail base URL in the variables its SDKs and CLIs read (`baseUrlEnv`) and a
// placeholder in the key variables (`placeholderKeyEnv`), since many tools refuse to start without one.

interface KindEgress {
  /** The API base URL tools in the jail expect (their SDK appends the rest). */
  upstream: string;
  /** A configured `baseURL` is in the AI SDK's form; this turns it into what the tools' SDKs expect. */
  fromBaseUrl?: (baseURL: string) => string;
  headers: (key: string) => Record<string, string>;
  baseUrlEnv: string[];
  placeholderKeyEnv: string[];
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const stripSuffix = (re: RegExp) => (u: string) => u.replace(/\/+$/, '').replace(re, '');

/**
 * Per kind. Anthropic: only `x-api-key` is added, not `anthropic-version`: every client sends its own,
 * and the proxy replaces headers it adds, so adding one would pin clients to it.
 */
const KINDS: Record<ProviderKindV1, KindEgress> = {
  anthropic: {
    upstream: 'https://api.anthropic.com',
    // The AI SDK's base ends in /v1; Anthropic's SDKs (and Claude Code) add /v1 themselves.
    fromBaseUrl: stripSuffix(/\/v1$/),
    headers: (key) => ({ 'x-api-key': key }),
    baseUrlEnv: ['ANTHROPIC_BASE_URL'],
    placeholderKeyEnv: ['ANTHROPIC_API_KEY'],
  },
  openai: { upstream: 'https://api.openai.com/v1', headers: bearer, baseUrlEnv: ['OPENAI_BASE_URL'], placeholderKeyEnv: ['OPENAI_API_KEY'] },
  google: {
    upstream: 'https://generativelanguage.googleapis.com',
    fromBaseUrl: stripSuffix(/\/v1(beta)?$/),
    headers: (key) => ({ 'x-goog-api-key': key }),
    baseUrlEnv: ['GOOGLE_GEMINI_BASE_URL'],
    placeholderKeyEnv: ['GEMINI_API_KEY', 'GOOGLE_API_KEY'],
  },
  mistral: { upstream: 'https://api.mistral.ai/v1', headers: bearer, baseUrlEnv: ['MISTRAL_BASE_URL'], placeholderKeyEnv: ['MISTRAL_API_KEY'] },
  xai: { upstream: 'https://api.x.ai/v1', headers: bearer, baseUrlEnv: ['XAI_BASE_URL'], placeholderKeyEnv: ['XAI_API_KEY'] },
  ollama: { upstream: 'http://127.0.0.1:11434', fromBaseUrl: stripSuffix(/\/api$/), headers: bearer, baseUrlEnv: ['OLLAMA_HOST'], placeholderKeyEnv: [] },
  'openai-compatible': { upstream: 'http://127.0.0.1:1234/v1', headers: bearer, baseUrlEnv: ['OPENAI_BASE_URL'], placeholderKeyEnv: ['OPENAI_API_KEY'] },
};

/** The credential of one provider, with its unsealed key. SECRET: the result holds the key. */
export function egressCredential(p: Pick<ProviderConfig, 'name' | 'kind' | 'baseURL'>, key: string): EgressCredentialV1 {
  const k = KINDS[p.kind];
  const upstream = p.baseURL ? (k.fromBaseUrl ?? ((u: string) => u.replace(/\/+$/, '')))(p.baseURL) : k.upstream;
  return {
    name: p.name,
    upstream,
    headers: k.headers(key),
    ...(k.baseUrlEnv.length ? { baseUrlEnv: k.baseUrlEnv } : {}),
    ...(k.placeholderKeyEnv.length ? { placeholderKeyEnv: k.placeholderKeyEnv } : {}),
  };
}

/** Why a provider cannot be a jail's credential (VALIDATION_FAILED naming `sandbox.credentials[i]`), or undefined. */
export function credentialRefusal(name: string, index: number, p: ProviderConfig | undefined, projectId?: string): AppError | undefined {
  const path = `sandbox.credentials[${index}]`;
  let why: string | undefined;
  if (!p) why = `no provider "${name}" is configured${projectId ? ' for this project' : ''}; see GET /api/v1/providers`;
  else if (!p.enabled) why = `provider "${name}" is disabled`;
  else if (!p.sealedKey) why = `provider "${name}" has no API key to add: an admin sets one with PUT /api/v1/providers/${name}`;
  if (!why) return undefined;
  return new AppError('VALIDATION_FAILED', `invalid request: ${path}: ${why}`, { details: { fields: [{ path, message: why }], provider: name } });
}
