// Team mode's credentials: a JWT and its refresh token from POST /api/v1/auth/token, kept in this
// browser's localStorage so a reload stays logged in. Local mode has none.

export interface Tokens {
  accessToken: string;
  refreshToken: string;
  /** ms since the epoch. */
  expiresAt: number;
}

const KEY = 'codeagent.tokens';
type Listener = (t: Tokens | undefined) => void;
const listeners = new Set<Listener>();
let tokens: Tokens | undefined = load();

function load(): Tokens | undefined {
  try {
    const raw = localStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as Tokens) : undefined;
  } catch {
    return undefined;
  }
}

export function currentTokens(): Tokens | undefined {
  return tokens;
}

export function setTokens(t: Tokens | undefined): void {
  tokens = t;
  if (t) localStorage.setItem(KEY, JSON.stringify(t));
  else localStorage.removeItem(KEY);
  for (const l of listeners) l(t);
}

export function onTokens(l: Listener): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

interface TokenReply {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
}

async function tokenCall(body: Record<string, string>): Promise<Tokens> {
  const res = await fetch('/api/v1/auth/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const data = (await res.json().catch(() => ({}))) as Partial<TokenReply> & { detail?: string; title?: string };
  if (!res.ok || !data.accessToken || !data.refreshToken) throw new Error(data.detail ?? data.title ?? `login failed (${res.status})`);
  return { accessToken: data.accessToken, refreshToken: data.refreshToken, expiresAt: Date.now() + (data.expiresIn ?? 900) * 1000 };
}

export async function login(how: { apiKey: string } | { username: string; password: string }): Promise<void> {
  setTokens(await tokenCall('apiKey' in how ? { grantType: 'api_key', apiKey: how.apiKey } : { grantType: 'password', ...how }));
}

let refreshing: Promise<boolean> | undefined;

/** Trades the refresh token for new tokens (once at a time); false when there is none or it was refused. */
export function refreshTokens(): Promise<boolean> {
  const t = tokens;
  if (!t) return Promise.resolve(false);
  refreshing ??= tokenCall({ grantType: 'refresh_token', refreshToken: t.refreshToken })
    .then((n) => (setTokens(n), true))
    .catch(() => (setTokens(undefined), false))
    .finally(() => (refreshing = undefined));
  return refreshing;
}

export function logout(): void {
  setTokens(undefined);
}
