import { CliError, ExitCode, fromProblem } from './errors';

export interface ApiOptions {
  baseUrl: string;
  token?: string;
}

/** The gateway's REST API, with problem+json answers turned into CliErrors. */
export class Api {
  constructor(readonly opts: ApiOptions) {}

  async call<T = unknown>(method: string, path: string, body?: unknown, query?: Record<string, string | number | undefined>): Promise<T> {
    const url = new URL(path, this.opts.baseUrl);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: {
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(this.opts.token ? { authorization: `Bearer ${this.opts.token}` } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new CliError(
        `cannot reach the gateway at ${this.opts.baseUrl} (${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message})`,
        ExitCode.unavailable,
        'start the platform (`npm start`) or point the CLI at it: `codeagent config set gatewayUrl <url>`',
      );
    }
    const text = await res.text();
    const data = text ? safeJson(text) : undefined;
    if (!res.ok) throw fromProblem(res.status, (data as object) ?? { title: text }, this.opts.baseUrl);
    return data as T;
  }

  /** A route that answers NDJSON (a long operation's progress): each line as it arrives, parsed; `signal` ends it. */
  async *lines<T = unknown>(method: string, path: string, body?: unknown, signal?: AbortSignal): AsyncGenerator<T> {
    let res: Response;
    try {
      res = await fetch(new URL(path, this.opts.baseUrl), {
        method,
        headers: {
          accept: 'application/x-ndjson, application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(this.opts.token ? { authorization: `Bearer ${this.opts.token}` } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
    } catch (err) {
      if (signal?.aborted) return;
      throw new CliError(`cannot reach the gateway at ${this.opts.baseUrl} (${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message})`, ExitCode.unavailable);
    }
    if (!res.ok || !res.body) {
      const text = await res.text();
      throw fromProblem(res.status, (text ? (safeJson(text) as object) : undefined) ?? { title: text }, this.opts.baseUrl);
    }
    let buffered = '';
    const decoder = new TextDecoder();
    const chunks = res.body[Symbol.asyncIterator]();
    for (;;) {
      let next: IteratorResult<unknown>;
      try {
        next = await chunks.next();
      } catch (err) {
        if (signal?.aborted) return;
        throw err;
      }
      if (next.done) return;
      buffered += decoder.decode(next.value as Uint8Array, { stream: true });
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (line) yield JSON.parse(line) as T;
      }
    }
  }

  get<T>(path: string, query?: Record<string, string | number | undefined>) {
    return this.call<T>('GET', path, undefined, query);
  }
  post<T>(path: string, body: unknown = {}) {
    return this.call<T>('POST', path, body);
  }
  patch<T>(path: string, body: unknown) {
    return this.call<T>('PATCH', path, body);
  }
  delete<T>(path: string) {
    return this.call<T>('DELETE', path);
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { detail: text };
  }
}

/** Lists come back as an array or as `{ <key>: [...] }` / `{ items: [...] }`. */
export function listOf<T>(body: unknown, key: string): T[] {
  if (Array.isArray(body)) return body as T[];
  const o = body as Record<string, unknown> | undefined;
  const v = o?.[key] ?? o?.items ?? o?.data;
  return Array.isArray(v) ? (v as T[]) : [];
}
