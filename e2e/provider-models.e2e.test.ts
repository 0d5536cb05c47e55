import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startStack, type Stack } from '@codeagent/testing';
import { cli, cliJson } from './cli-runner';

// Providers' models through the gateway's REST routes and the real `codeagent` binary, against a
// local server speaking Ollama's wire format (/api/tags, NDJSON /api/pull): listing searched and
// paged, a pull with its progress shown and streamed, and an unknown model's failure said plainly.

type Rec = Record<string, any>;
let stack: Stack;
let ollama: Server;
let ollamaUrl: string;
let home: string;
let env: Record<string, string>;

beforeAll(async () => {
  const installed = ['llama3.2:1b', 'qwen2.5-coder:7b', 'qwen2.5-coder:14b'].map((name, i) => ({ name, model: name, size: (i + 1) * 1_000_000_000, modified_at: '2026-11-01T10:00:00Z' }));
  ollama = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      if (req.method === 'GET' && req.url === '/api/tags') return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ models: installed }));
      if (req.method === 'POST' && req.url === '/api/pull') {
        const { model } = JSON.parse(raw) as { model: string };
        res.writeHead(200, { 'content-type': 'application/x-ndjson' });
        const lines: object[] =
          model === 'tinyllama:latest'
            ? [
                { status: 'pulling manifest' },
                { status: 'pulling 2af3b81862c6', digest: 'sha256:2af3b81862c6', total: 637_699_456, completed: 318_849_728 },
                { status: 'verifying sha256 digest' },
                { status: 'writing manifest' },
                { status: 'success' },
              ]
            : [{ status: 'pulling manifest' }, { error: 'pull model manifest: file does not exist' }];
        if (model === 'tinyllama:latest') installed.push({ name: model, model, size: 637_699_526, modified_at: '2026-12-04T10:00:00Z' });
        for (const l of lines) res.write(`${JSON.stringify(l)}\n`);
        return res.end();
      }
      res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => ollama.listen(0, '127.0.0.1', resolve));
  ollamaUrl = `http://127.0.0.1:${(ollama.address() as AddressInfo).port}`;
  home = mkdtempSync(path.join(tmpdir(), 'cli-models-home-'));
  stack = await startStack({ label: 'e2e-models' });
  env = { CODEAGENT_HOME: home };
  expect((await cli(['config', 'set', 'gatewayUrl', stack.url], env)).code).toBe(0);
  expect((await cli(['providers', 'set', 'ollama', '--base-url', `${ollamaUrl}/api`, '--model', 'tinyllama:latest'], env)).code).toBe(0);
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  ollama?.close();
  rmSync(home, { recursive: true, force: true });
}, 60_000);

test('GET /api/v1/providers/:name/models: searched and paged; bad input is a 400 that says what is wrong', async () => {
  const get = (q: string) => fetch(`${stack.url}/api/v1/providers/ollama/models?${q}`);
  const page = (await (await get('source=installed&query=QWEN&limit=1')).json()) as Rec;
  expect(page).toEqual({ provider: 'ollama', source: 'installed', total: 2, nextCursor: '1', models: [expect.objectContaining({ id: 'qwen2.5-coder:14b', installed: true, sizeBytes: 3_000_000_000 })] });
  const next = (await (await get(`source=installed&query=qwen&limit=1&cursor=${page.nextCursor}`)).json()) as Rec;
  expect(next.models.map((m: Rec) => m.id)).toEqual(['qwen2.5-coder:7b']);
  expect(next.nextCursor).toBeUndefined();

  const bad = await get('limit=0');
  expect(bad.status).toBe(400);
  expect(bad.headers.get('content-type')).toContain('application/problem+json');
  const unknown = await fetch(`${stack.url}/api/v1/providers/nobody/models`);
  expect(unknown.status).toBe(404);
  const cloud = await fetch(`${stack.url}/api/v1/providers/anthropic/models/pull`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'claude-sonnet-4-5' }) });
  expect(cloud.status).toBe(400);
  expect(((await cloud.json()) as Rec).detail).toContain('need no install');
});

test('codeagent providers models --available / --installed: from the server, with what is not pulled yet', async () => {
  const available = await cliJson<Rec>(['providers', 'models', 'ollama', '--available', '--query', 'llama'], env);
  expect(available.models.map((m: Rec) => [m.id, m.installed])).toEqual([
    ['llama3.2:1b', true],
    ['tinyllama:latest', false],
  ]);
  const human = await cli(['providers', 'models', 'ollama', '--installed', '--limit', '2'], env);
  expect(human.code).toBe(0);
  expect(human.stdout).toMatch(/llama3\.2:1b\s+1\.0 GB\s+yes/);
  expect(human.stdout).toContain('2 of 3; next page: --cursor 2');
  const misuse = await cli(['providers', 'models', 'ollama', '--query', 'x'], env);
  expect(misuse.code).toBe(2);
});

test('codeagent providers pull: progress on stderr, then installed; --json streams every step; an unknown model fails with the reason', async () => {
  const r = await cli(['providers', 'pull', 'ollama', 'tinyllama:latest'], env);
  expect(r.code).toBe(0);
  expect(r.stderr.split('\n').filter(Boolean)).toEqual(expect.arrayContaining(['pulling manifest', 'pulling 2af3b81862c6 318.8 MB/637.7 MB (50%)', 'writing manifest']));
  expect(r.stdout).toBe('Installed tinyllama:latest on ollama (success).\n');
  const installed = await cliJson<Rec>(['providers', 'models', 'ollama', '--installed', '--query', 'tiny'], env);
  expect(installed.models.map((m: Rec) => m.id)).toEqual(['tinyllama:latest']);

  const json = await cli(['--json', 'providers', 'pull', 'ollama', 'tinyllama:latest'], env);
  expect(json.code).toBe(0);
  const steps = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as Rec);
  expect(steps.map((s) => s.seq)).toEqual([...steps.map((s) => s.seq)].sort((a, b) => a - b));
  expect(steps.at(-1)).toMatchObject({ state: 'succeeded', status: 'success', provider: 'ollama', model: 'tinyllama:latest' });

  const bad = await cli(['providers', 'pull', 'ollama', 'no-such-model:13b'], env);
  expect(bad.code).toBe(1);
  expect(bad.stderr).toContain('ollama could not install no-such-model:13b');
  expect(bad.stderr).toContain('pull model manifest: file does not exist');
});
