import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type FakeTurn, type RecordedRequest, isFailure } from './script';
import { anthropicJson, anthropicSse, failureBody, ollamaLines, openaiJson, openaiSse, type ToolCallOut } from './wire';

export interface FakeLlmOptions {
  /** Turns played in order, one per completion request. */
  script?: FakeTurn[];
  /** Played when the script is exhausted (e.g. for benchmarks); without it an exhausted script is an HTTP 500. */
  fallbackTurn?: FakeTurn;
  /** Model ids listed by GET /v1/models and /api/tags. */
  models?: string[];
}

export interface FakeLlm {
  /** e.g. http://127.0.0.1:41234 */
  readonly url: string;
  /** Base URL for OpenAI-style SDK clients (`${url}/v1`). */
  readonly openaiBaseURL: string;
  /** Base URL for the Anthropic SDK client (`${url}/v1`). */
  readonly anthropicBaseURL: string;
  /** Every completion request received, in order. */
  readonly requests: RecordedRequest[];
  /** Appends turns to the script. */
  push(...turns: FakeTurn[]): void;
  /** Turns not played yet. */
  remaining(): number;
  close(): Promise<void>;
}

let nextId = 0;

/** Rough token count of a request body, used when a turn gives no usage. */
const estimate = (s: string): number => Math.max(1, Math.ceil(s.length / 4));

/**
 * A real HTTP server on 127.0.0.1 (port 0) speaking OpenAI chat completions (`/v1/chat/completions`),
 * Anthropic messages (`/v1/messages`) and Ollama chat (`/api/chat`), streaming or not, playing a script.
 */
export async function startFakeLlm(options: FakeLlmOptions = {}): Promise<FakeLlm> {
  const script: FakeTurn[] = [...(options.script ?? [])];
  const requests: RecordedRequest[] = [];
  const models = options.models ?? ['fake-model'];

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `fake-llm: ${err.message}` } }));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (req.method === 'GET' && path.endsWith('/models')) return json(res, 200, { object: 'list', data: models.map((id) => ({ id, object: 'model', created: 0, owned_by: 'fake' })) });
    if (req.method === 'GET' && path === '/api/tags') return json(res, 200, { models: models.map((name) => ({ name, model: name, modified_at: new Date().toISOString(), size: 1 })) });
    if (req.method !== 'POST') return json(res, 404, { error: { message: `no route ${req.method} ${path}` } });
    const format = path.endsWith('/chat/completions') ? 'openai' : path.endsWith('/messages') ? 'anthropic' : path === '/api/chat' ? 'ollama' : undefined;
    if (!format) return json(res, 404, { error: { message: `no route POST ${path}` } });

    const raw = await readBody(req);
    const body = JSON.parse(raw) as Record<string, unknown>;
    const turn = script.shift() ?? options.fallbackTurn;
    requests.push({ format, path, headers: req.headers, body, bytes: raw.length, turn });
    if (!turn) return json(res, 500, { error: { message: 'fake-llm: script exhausted' } });

    if (isFailure(turn)) {
      if (turn.fail === 'drop') {
        req.socket.destroy();
        return;
      }
      const f = failureBody(format, turn);
      return json(res, f.status, f.body);
    }

    const model = typeof body.model === 'string' ? body.model : 'fake-model';
    const calls: ToolCallOut[] = (turn.toolCalls ?? []).map((c) => ({ id: c.id ?? `call_${++nextId}`, name: c.name, args: c.args }));
    const usage = turn.usage ?? { inputTokens: estimate(raw), outputTokens: estimate((turn.text ?? '') + JSON.stringify(calls)) };
    const stream = body.stream === true || (format === 'ollama' && body.stream !== false);

    if (format === 'ollama') {
      res.writeHead(200, { 'content-type': stream ? 'application/x-ndjson' : 'application/json' });
      for (const line of ollamaLines(model, turn, calls, usage, stream)) res.write(line);
      res.end();
      return;
    }
    if (!stream) return json(res, 200, format === 'openai' ? openaiJson(model, turn, calls, usage) : anthropicJson(model, turn, calls, usage));
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    for (const event of format === 'openai' ? openaiSse(model, turn, calls, usage) : anthropicSse(model, turn, calls, usage)) res.write(event);
    res.end();
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    openaiBaseURL: `${url}/v1`,
    anthropicBaseURL: `${url}/v1`,
    requests,
    push: (...turns) => void script.push(...turns),
    remaining: () => script.length,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}
