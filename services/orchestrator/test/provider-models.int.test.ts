import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AppError, ModelPullProgressV1 } from '@codeagent/contracts';
import { createTestBroker, createTestDatabase, waitFor, type ServiceProcess, type TestBroker, type TestDatabase } from '@codeagent/testing';
import { connectClient, startOrchestrator } from './harness';

// Seed 003's model management through the real orchestrator process over real RabbitMQ, against local
// HTTP servers that speak each provider's own wire format: Ollama (/api/tags, NDJSON /api/pull),
// Anthropic (/v1/models paged by after_id with has_more/first_id/last_id), LM Studio (/v1/models and
// its download job API) and a plain OpenAI-compatible server (/v1/models, no download API).

let broker: TestBroker;
let db: TestDatabase;
let orch: ServiceProcess;
let client: Awaited<ReturnType<typeof connectClient>>;
let dataDir: string;
const servers: Server[] = [];
const pulls: ModelPullProgressV1[] = [];
const anthropicPages: string[] = [];
let anthropicBase: string;
const req = <T>(name: string, payload: unknown) => (client.bus.request as any)(name, payload, { timeoutMs: 20_000 }) as Promise<T>;
const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as AppError);
type Models = { provider: string; source: string; models: { id: string; displayName?: string; installed?: boolean; sizeBytes?: number }[]; total: number; nextCursor?: string };

function serve(handler: (req: IncomingMessage, res: ServerResponse, body: any) => void): Promise<string> {
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => handler(req, res, raw ? JSON.parse(raw) : undefined));
  });
  servers.push(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}
const json = (res: ServerResponse, status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

/** Ollama: what it has installed, and pulls streamed as NDJSON (an unknown model ends in an error line, as Ollama does). */
function ollama(): Promise<string> {
  const installed = [
    { name: 'llama3.2:1b', model: 'llama3.2:1b', size: 1_321_098_329, modified_at: '2026-11-01T10:00:00Z', digest: 'a1' },
    { name: 'qwen2.5-coder:7b', model: 'qwen2.5-coder:7b', size: 4_683_087_332, modified_at: '2026-11-02T10:00:00Z', digest: 'b2' },
    { name: 'nomic-embed-text:latest', model: 'nomic-embed-text:latest', size: 274_302_450, modified_at: '2026-11-03T10:00:00Z', digest: 'c3' },
  ];
  return serve((req, res, body) => {
    if (req.method === 'GET' && req.url === '/api/tags') return json(res, 200, { models: installed });
    if (req.method === 'POST' && req.url === '/api/pull') {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      const lines: object[] = [{ status: 'pulling manifest' }];
      if (body.model !== 'tinyllama:latest') {
        lines.push({ error: 'pull model manifest: file does not exist' });
      } else {
        lines.push(
          { status: 'pulling 2af3b81862c6', digest: 'sha256:2af3b81862c6', total: 637_699_456, completed: 0 },
          { status: 'pulling 2af3b81862c6', digest: 'sha256:2af3b81862c6', total: 637_699_456, completed: 637_699_456 },
          { status: 'pulling af0ddbdaaa26', digest: 'sha256:af0ddbdaaa26', total: 70, completed: 70 },
          { status: 'verifying sha256 digest' },
          { status: 'writing manifest' },
          { status: 'success' },
        );
        installed.push({ name: 'tinyllama:latest', model: 'tinyllama:latest', size: 637_699_526, modified_at: '2026-12-04T10:00:00Z', digest: 'd4' });
      }
      for (const l of lines) res.write(`${JSON.stringify(l)}\n`);
      return res.end();
    }
    json(res, 404, { error: 'not found' });
  });
}

/** Anthropic's GET /v1/models: newest first, at most two a page whatever `limit` says, paged by after_id. */
function anthropic(): Promise<string> {
  const all = ['claude-opus-4-1', 'claude-sonnet-4-5', 'claude-sonnet-4', 'claude-haiku-4-5', 'claude-3-5-haiku'].map((id, i) => ({
    type: 'model',
    id,
    display_name: id.replace(/-/g, ' '),
    created_at: `2026-0${9 - i}-01T00:00:00Z`,
  }));
  return serve((req, res) => {
    if (req.headers['x-api-key'] !== 'sk-ant-test' || !req.headers['anthropic-version']) return json(res, 401, { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } });
    const url = new URL(req.url!, 'http://x');
    if (url.pathname !== '/v1/models') return json(res, 404, { type: 'error', error: { type: 'not_found_error', message: 'not found' } });
    anthropicPages.push(url.search);
    const after = url.searchParams.get('after_id');
    const start = after ? all.findIndex((m) => m.id === after) + 1 : 0;
    const data = all.slice(start, start + Math.min(2, Number(url.searchParams.get('limit') ?? 20)));
    json(res, 200, { data, has_more: start + data.length < all.length, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null });
  });
}

/** LM Studio: OpenAI's model list plus its native download job API (POST, then the job polled). */
function lmStudio(): Promise<string> {
  const jobs = new Map<string, number>();
  return serve((req, res, body) => {
    if (req.method === 'GET' && req.url === '/v1/models') return json(res, 200, { object: 'list', data: [{ id: 'qwen/qwen3-4b-2507', object: 'model', owned_by: 'organization_owner' }, { id: 'google/gemma-3-1b', object: 'model', owned_by: 'organization_owner' }] });
    if (req.method === 'POST' && req.url === '/api/v1/models/download') {
      if (body.model === 'google/gemma-3-1b') return json(res, 200, { status: 'already_downloaded' });
      jobs.set('job_493c7c9ded', 0);
      return json(res, 200, { job_id: 'job_493c7c9ded', status: 'downloading', total_size_bytes: 2000, downloaded_bytes: 0, started_at: '2026-12-04T10:00:00Z' });
    }
    const m = /^\/api\/v1\/models\/download\/status\/(.+)$/.exec(req.url ?? '');
    const job = m?.[1];
    if (req.method === 'GET' && job && jobs.has(job)) {
      const done = Math.min(2000, jobs.get(job)! + 1000);
      jobs.set(job, done);
      return json(res, 200, { job_id: job, status: done === 2000 ? 'completed' : 'downloading', total_size_bytes: 2000, downloaded_bytes: done });
    }
    json(res, 404, { error: 'Unexpected endpoint or method.' });
  });
}

/** vLLM-like: only OpenAI's model list. */
function plainOpenAi(): Promise<string> {
  return serve((req, res) => {
    if (req.method === 'GET' && req.url === '/v1/models') return json(res, 200, { object: 'list', data: [{ id: 'meta-llama/Llama-3.1-8B-Instruct', object: 'model', created: 1_733_000_000, max_context_length: 131072 }] });
    json(res, 404, { object: 'error', message: 'Not Found' });
  });
}

beforeAll(async () => {
  broker = await createTestBroker('orch-models');
  db = await createTestDatabase((process.env.TEST_DATABASES ?? 'sqlite').split(',')[0] as 'sqlite', 'orch-models');
  dataDir = mkdtempSync(path.join(tmpdir(), 'orch-models-'));
  client = await connectClient(broker.url);
  await client.bus.subscribe(`test-pulls-${Date.now()}`, { 'provider.model.pull': async (e) => void pulls.push(e) }, { durable: false, ordered: true });
  const [ollamaUrl, anthropicUrl, lmUrl, plainUrl] = await Promise.all([ollama(), anthropic(), lmStudio(), plainOpenAi()]);
  orch = await startOrchestrator({ RABBITMQ_URL: broker.url, ...db.env, DATA_DIR: dataDir, INSTANCE_ID: 'orch-models', ORCHESTRATOR_RECONCILE_MS: '0', ORCHESTRATOR_TASKS_SYNC_MS: '0' });
  await req('orchestrator.provider.set', { name: 'ollama', baseURL: `${ollamaUrl}/api`, models: ['tinyllama:latest', 'llama3.2:1b'] });
  anthropicBase = `${anthropicUrl}/v1`;
  await req('orchestrator.provider.set', { name: 'anthropic', baseURL: anthropicBase, apiKey: 'sk-ant-test' });
  await req('orchestrator.provider.set', { name: 'lmstudio', kind: 'openai-compatible', baseURL: `${lmUrl}/v1` });
  await req('orchestrator.provider.set', { name: 'vllm', kind: 'openai-compatible', baseURL: `${plainUrl}/v1` });
}, 90_000);

afterAll(async () => {
  await orch?.stop();
  await client?.bus.close(500);
  await broker?.dispose();
  await db?.dispose();
  for (const s of servers) s.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const pullOf = (pullId: string) => pulls.filter((p) => p.pullId === pullId);
const finished = (pullId: string) => waitFor(`pull ${pullId} to finish`, () => pullOf(pullId).some((p) => p.state !== 'running'), { timeoutMs: 20_000 });

test("Anthropic: every page of its own list is followed, then searched and paged by the platform's cursor", async () => {
  const page1 = await req<Models>('orchestrator.provider.models', { name: 'anthropic', limit: 2 });
  // Five models over three upstream pages (the server gives two at a time, chained by after_id = last_id).
  expect(anthropicPages).toEqual(['?limit=1000', '?limit=1000&after_id=claude-sonnet-4-5', '?limit=1000&after_id=claude-haiku-4-5']);
  expect(page1).toMatchObject({ provider: 'anthropic', source: 'available', total: 5, nextCursor: '2' });
  expect(page1.models.map((m) => m.id)).toEqual(['claude-3-5-haiku', 'claude-haiku-4-5']);
  const page2 = await req<Models>('orchestrator.provider.models', { name: 'anthropic', limit: 2, cursor: page1.nextCursor });
  const page3 = await req<Models>('orchestrator.provider.models', { name: 'anthropic', limit: 2, cursor: page2.nextCursor });
  expect([...page2.models, ...page3.models].map((m) => m.id)).toEqual(['claude-opus-4-1', 'claude-sonnet-4', 'claude-sonnet-4-5']);
  expect(page3.nextCursor).toBeUndefined();
  expect(page1.models[0]).toMatchObject({ displayName: 'claude 3 5 haiku', createdAt: '2026-05-01T00:00:00Z' });

  const sonnets = await req<Models>('orchestrator.provider.models', { name: 'anthropic', query: 'SONNET' });
  expect(sonnets.models.map((m) => m.id)).toEqual(['claude-sonnet-4', 'claude-sonnet-4-5']);
  expect(sonnets.total).toBe(2);

  expect(await failure(req('orchestrator.provider.models', { name: 'anthropic', source: 'installed' }))).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining('cloud API') });
  expect(await failure(req('orchestrator.provider.models', { name: 'anthropic', cursor: 'abc' }))).toMatchObject({ code: 'VALIDATION_FAILED' });
  expect(await failure(req('orchestrator.provider.models', { name: 'nobody' }))).toMatchObject({ code: 'NOT_FOUND' });
  expect(await failure(req('orchestrator.provider.pull', { name: 'anthropic', model: 'claude-sonnet-4-5' }))).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining('need no install') });
});

test('Anthropic: a refused key is reported as the provider said it', async () => {
  await req('orchestrator.provider.set', { name: 'anthropic-bad', kind: 'anthropic', baseURL: anthropicBase, apiKey: 'sk-wrong' });
  expect(await failure(req('orchestrator.provider.models', { name: 'anthropic-bad' }))).toMatchObject({ code: 'PROVIDER_FAILED', message: expect.stringContaining('invalid x-api-key') });
});

test("Ollama: installed models from /api/tags; available adds the configured ones it has not pulled; search", async () => {
  const installed = await req<Models>('orchestrator.provider.models', { name: 'ollama', source: 'installed' });
  expect(installed.models.map((m) => m.id)).toEqual(['llama3.2:1b', 'nomic-embed-text:latest', 'qwen2.5-coder:7b']);
  expect(installed.models[0]).toMatchObject({ installed: true, sizeBytes: 1_321_098_329 });
  const available = await req<Models>('orchestrator.provider.models', { name: 'ollama', source: 'available', query: 'llama' });
  expect(available.models.map((m) => [m.id, m.installed])).toEqual([
    ['llama3.2:1b', true],
    ['tinyllama:latest', false],
  ]);
  const paged = await req<Models>('orchestrator.provider.models', { name: 'ollama', source: 'installed', limit: 1, cursor: '1' });
  expect(paged).toMatchObject({ total: 3, nextCursor: '2', models: [{ id: 'nomic-embed-text:latest' }] });
});

test('Ollama: a pull streams its steps as provider.model.pull events, in order, ending in success; the model is then installed', async () => {
  const { pullId, instanceId } = await req<{ pullId: string; instanceId: string }>('orchestrator.provider.pull', { name: 'ollama', model: 'tinyllama:latest' });
  expect(instanceId).toBe('orch-models');
  await finished(pullId);
  const steps = pullOf(pullId);
  expect(steps.map((s) => s.seq)).toEqual(steps.map((_, i) => i + 1));
  // The two reports of the first layer come within the throttle: the first is published, not necessarily the second.
  expect(steps.map((s) => s.status).filter((s, i, all) => all.indexOf(s) === i)).toEqual([
    'starting',
    'pulling manifest',
    'pulling 2af3b81862c6',
    'pulling af0ddbdaaa26',
    'verifying sha256 digest',
    'writing manifest',
    'success',
  ]);
  expect(steps.find((s) => s.digest === 'sha256:2af3b81862c6')).toMatchObject({ total: 637_699_456, completed: 0 });
  expect(steps.at(-1)).toMatchObject({ state: 'succeeded', provider: 'ollama', model: 'tinyllama:latest' });
  expect(steps.slice(0, -1).every((s) => s.state === 'running')).toBe(true);
  // The replica keeps the steps for readers that cannot subscribe (the gateway's streamed response).
  expect(await req('orchestrator.provider.pull.status', { pullId })).toEqual({ steps });
  expect(await req('orchestrator.provider.pull.status', { pullId, afterSeq: steps.length - 1 })).toEqual({ steps: [steps.at(-1)] });

  const after = await req<Models>('orchestrator.provider.models', { name: 'ollama', source: 'available', query: 'tinyllama' });
  expect(after.models).toEqual([expect.objectContaining({ id: 'tinyllama:latest', installed: true })]);
});

test("Ollama: a model it does not know ends the pull failed, with Ollama's own reason", async () => {
  const { pullId } = await req<{ pullId: string }>('orchestrator.provider.pull', { name: 'ollama', model: 'no-such-model:13b' });
  await finished(pullId);
  const last = pullOf(pullId).at(-1)!;
  expect(last).toMatchObject({ state: 'failed', error: expect.stringContaining('pull model manifest: file does not exist') });
  expect(last.error).toContain('no-such-model:13b');
  expect(pullOf(pullId).filter((p) => p.state !== 'running')).toHaveLength(1);
});

test('LM Studio: models from /v1/models; a download job polled to completion; one already there succeeds at once', async () => {
  const models = await req<Models>('orchestrator.provider.models', { name: 'lmstudio', source: 'installed' });
  expect(models.models.map((m) => m.id)).toEqual(['google/gemma-3-1b', 'qwen/qwen3-4b-2507']);

  const { pullId } = await req<{ pullId: string }>('orchestrator.provider.pull', { name: 'lmstudio', model: 'qwen/qwen3-8b' });
  await finished(pullId);
  const steps = pullOf(pullId);
  expect(steps.map((s) => [s.state, s.status, s.completed])).toEqual([
    ['running', 'starting', undefined],
    ['running', 'downloading', 0],
    ['running', 'downloading', 1000],
    ['succeeded', 'completed', 2000],
  ]);

  const again = await req<{ pullId: string }>('orchestrator.provider.pull', { name: 'lmstudio', model: 'google/gemma-3-1b' });
  await finished(again.pullId);
  expect(pullOf(again.pullId).at(-1)).toMatchObject({ state: 'succeeded', status: 'already_downloaded' });
});

test('an OpenAI-compatible server without a download API: listed, and a pull fails saying why', async () => {
  const models = await req<Models>('orchestrator.provider.models', { name: 'vllm' });
  expect(models.models).toEqual([{ id: 'meta-llama/Llama-3.1-8B-Instruct', createdAt: new Date(1_733_000_000_000).toISOString(), contextWindow: 131072, installed: true }]);
  const { pullId } = await req<{ pullId: string }>('orchestrator.provider.pull', { name: 'vllm', model: 'meta-llama/Llama-3.2-1B' });
  await finished(pullId);
  expect(pullOf(pullId).at(-1)).toMatchObject({ state: 'failed', error: expect.stringContaining('has no model download API') });
});
