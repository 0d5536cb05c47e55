import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { startFakeLlm, startStack, waitFor, type FakeLlm, type Stack } from '@codeagent/testing';
import { ok as gatewayOk, type Rec } from './bench/client';

// Tracing from a Socket.IO command (issue 23): `/exec` and `/code` sent over the socket each start a
// SERVER span on the gateway that the bus, the jail and the model spans join (one trace id, collected
// by a local OTLP receiver as the compose stack's collector would), and the workspace and analytics
// services' database work is a span of the request that caused it. The shell service owns no database.

/** A tiny OTLP/HTTP receiver: the services export their spans here as JSON. */
async function startTraceSink() {
  const spans: Array<{ service: string; name: string; traceId: string; parentSpanId?: string; spanId: string }> = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      try {
        const doc = JSON.parse(body) as { resourceSpans?: Rec[] };
        for (const rs of doc.resourceSpans ?? []) {
          const service = rs.resource?.attributes?.find((a: Rec) => a.key === 'service.name')?.value?.stringValue ?? '?';
          for (const ss of rs.scopeSpans ?? []) for (const s of ss.spans ?? []) spans.push({ service, name: s.name, traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId || undefined });
        }
      } catch {
        /* not JSON: not ours to judge here */
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { spans, url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

let stack: Stack;
let llm: FakeLlm;
let traces: Awaited<ReturnType<typeof startTraceSink>>;
let projectDir: string;
let projectId: string;
let sessionId: string;
let socket: Socket;
const ok = (method: string, p: string, body?: unknown) => gatewayOk(stack.url, method, p, body);

beforeAll(async () => {
  llm = await startFakeLlm();
  traces = await startTraceSink();
  projectDir = mkdtempSync(path.join(tmpdir(), 'socket-trace-'));
  writeFileSync(path.join(projectDir, 'README.md'), '# traced\n');
  stack = await startStack({ label: 'e2e-socket-trace', env: { OTEL_EXPORTER_OTLP_ENDPOINT: traces.url } });
  projectId = (await ok('POST', '/api/v1/projects', { name: 'traced', source: { path: projectDir } })).id;
  await ok('PUT', '/api/v1/providers/openai', { projectId, baseURL: llm.openaiBaseURL, apiKey: 'sk-trace' });
  await ok('PUT', '/api/v1/agents/coding', { projectId, config: { provider: 'openai', model: 'gpt-4.1', fallbacks: [] } });
  sessionId = (await ok('POST', '/api/v1/sessions', { projectId })).id;
  socket = io(`${stack.url}/v1`, { transports: ['websocket'], reconnection: false });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
}, 180_000);

afterAll(async () => {
  socket?.close();
  await stack?.stop();
  await llm?.close();
  await traces?.close();
  rmSync(projectDir, { recursive: true, force: true });
}, 60_000);

/** Sends one command; resolves with its `response` (rejects on its `error`). */
function command(name: string, args: string[], metadata: Rec = {}): Promise<Rec> {
  const id = `${name}-${Math.random().toString(36).slice(2)}`;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer to ${name} in 60 s`)), 60_000);
    const on = (m: Rec) => {
      if (m.id !== id || (m.type !== 'response' && m.type !== 'error')) return;
      clearTimeout(timer);
      socket.off('message', on);
      if (m.type === 'error') reject(new Error(JSON.stringify(m.payload)));
      else resolve(m);
    };
    socket.on('message', on);
    socket.emit('message', { id, type: 'command', timestamp: new Date().toISOString(), payload: { command: name, args, context: { sessionId } }, metadata: { version: '1', client: 'e2e', ...metadata } });
  });
}

const inTrace = (traceId: string) => traces.spans.filter((s) => s.traceId === traceId);

test('a socket /exec is one trace: the gateway’s socket span, the bus hops and the shell’s jail exec', async () => {
  const reply = await command('/exec', ['echo traced-over-socket']);
  expect(reply.payload.exitCode).toBe(0);
  const trace = await waitFor(
    'the /exec span and the jail span in one trace',
    () => {
      const edge = traces.spans.find((s) => s.service === 'gateway' && s.name === 'socket /exec');
      const spans = edge ? inTrace(edge.traceId) : [];
      return spans.some((s) => s.service === 'shell' && s.name === 'jail exec') ? { edge: edge!, spans } : undefined;
    },
    { timeoutMs: 30_000 },
  );
  expect(trace.edge.parentSpanId).toBeUndefined(); // the trace starts at the socket command
  expect([...new Set(trace.spans.map((s) => s.service))]).toEqual(expect.arrayContaining(['gateway', 'shell']));
});

test('a client’s traceparent in the envelope’s metadata makes the socket span its child', async () => {
  const traceId = 'a'.repeat(32);
  await command('/exec', ['true'], { traceparent: `00-${traceId}-${'b'.repeat(16)}-01` });
  // Both spans, whichever service's exporter sends first: the socket span ends after the jail's.
  const has = (name: string) => inTrace(traceId).some((s) => s.name === name);
  const spans = await waitFor('the socket and jail spans in the caller’s trace', () => (has('jail exec') && has('socket /exec') ? inTrace(traceId) : undefined), { timeoutMs: 30_000 });
  expect(spans.find((s) => s.name === 'socket /exec')?.parentSpanId).toBe('b'.repeat(16));
});

test('a socket /code is one trace from the socket to the model and the jail, with database spans', async () => {
  llm.push(
    { toolCalls: [{ name: 'run_command', args: { command: 'echo traced-by-socket-agent' } }], usage: { inputTokens: 200, outputTokens: 10 } },
    { text: 'Done.', usage: { inputTokens: 220, outputTokens: 2 } },
  );
  const started = await command('/code', ['run', 'echo']);
  const runId = started.payload.runId as string;
  await waitFor('the run to end', async () => ((await ok('GET', `/api/v1/agent-runs/${runId}`)).status === 'running' ? undefined : true), { timeoutMs: 60_000 });
  const spans = await waitFor(
    'socket, LLM, jail and database spans in one trace',
    () => {
      const edge = traces.spans.find((s) => s.service === 'gateway' && s.name === 'socket /code' && inTrace(s.traceId).some((t) => t.name === 'jail exec'));
      if (!edge) return undefined;
      const all = inTrace(edge.traceId);
      const has = (service: string, name: RegExp) => all.some((s) => s.service === service && name.test(s.name));
      return has('orchestrator', /^llm openai\/gpt-4\.1$/) && has('shell', /^jail exec$/) && has('orchestrator', /^db /) ? all : undefined;
    },
    { timeoutMs: 30_000 },
  );
  // The bus hops between them: the gateway's request and the orchestrator's handling of it.
  expect(spans.some((s) => s.service === 'gateway' && s.name === 'orchestrator.agent.run request')).toBe(true);
  expect(spans.some((s) => s.service === 'orchestrator' && /^orchestrator\.agent\.run/.test(s.name))).toBe(true);
  expect(spans.filter((s) => s.name === 'jail exec').length).toBeGreaterThanOrEqual(1);
});

test('the workspace and analytics services’ database work is a span of the request that caused it', async () => {
  await ok('POST', '/api/v1/sessions', { projectId });
  await ok('GET', '/api/v1/analytics/usage?groupBy=model');
  const workspace = await waitFor(
    'a workspace db span under POST /api/v1/sessions',
    () => {
      const edge = traces.spans.filter((s) => s.service === 'gateway' && s.name === 'POST /api/v1/sessions');
      return edge.some((e) => inTrace(e.traceId).some((s) => s.service === 'workspace' && /^db /.test(s.name))) ? true : undefined;
    },
    { timeoutMs: 30_000 },
  );
  expect(workspace).toBe(true);
  const analytics = await waitFor(
    'an analytics db span under GET /api/v1/analytics/usage',
    () => {
      const edge = traces.spans.filter((s) => s.service === 'gateway' && s.name === 'GET /api/v1/analytics/usage');
      return edge.some((e) => inTrace(e.traceId).some((s) => s.service === 'analytics' && /^db \$queryRaw/.test(s.name))) ? true : undefined;
    },
    { timeoutMs: 30_000 },
  );
  expect(analytics).toBe(true);
});
