import { currentTokens, refreshTokens } from './auth';

/** RFC 9457 problem details, as the gateway sends every error. */
export interface Problem {
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
  errors?: Array<{ in?: string; path: string; message: string }>;
}

/** An error answer of the API, with its reason as the gateway gave it. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    const fields = problem.errors?.map((e) => `${e.path}: ${e.message}`).join('; ');
    super([problem.detail ?? problem.title ?? `HTTP ${status}`, fields].filter(Boolean).join(' — '));
  }
}

type Query = Record<string, string | number | undefined>;

async function send(method: string, path: string, body: unknown, query: Query | undefined): Promise<Response> {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
  const token = currentTokens()?.accessToken;
  try {
    return await fetch(url, {
      method,
      headers: {
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(0, { title: 'network error', detail: `cannot reach the gateway (${(err as Error).message})` });
  }
}

/** One REST call; a 401 with a refresh token is retried once with fresh tokens. */
export async function apiCall<T>(method: string, path: string, body?: unknown, query?: Query): Promise<T> {
  let res = await send(method, path, body, query);
  if (res.status === 401 && currentTokens() && (await refreshTokens())) res = await send(method, path, body, query);
  const text = await res.text();
  let data: unknown;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = { detail: text };
  }
  if (!res.ok) throw new ApiError(res.status, (data as Problem) ?? {});
  return data as T;
}

export const api = {
  get: <T>(path: string, query?: Query) => apiCall<T>('GET', path, undefined, query),
  post: <T>(path: string, body: unknown = {}) => apiCall<T>('POST', path, body),
  put: <T>(path: string, body: unknown, query?: Query) => apiCall<T>('PUT', path, body, query),
  patch: <T>(path: string, body: unknown) => apiCall<T>('PATCH', path, body),
  delete: <T>(path: string) => apiCall<T>('DELETE', path),
};
