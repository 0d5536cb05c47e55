import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { startFakeLlm, startStack, waitFor, type FakeLlm, type Stack } from '@codeagent/testing';
import { api as gatewayApi, ok as gatewayOk, type Rec } from './bench/client';

// A user's whole journey through the platform, driven only from outside (HTTP and Socket.IO), against
// the six services running as processes on the real RabbitMQ, Bubblewrap and (second run) PostgreSQL.

/** A tiny OTLP/HTTP receiver: the services export their spans here as JSON. */
async function startTraceSink() {
  const spans: Array<{ service: string; name: string; traceId: string }> = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      try {
        const doc = JSON.parse(body) as { resourceSpans?: Rec[] };
        for (const rs of doc.resourceSpans ?? []) {
          const service = rs.resource?.attributes?.find((a: Rec) => a.key === 'service.name')?.value?.stringValue ?? '?';
          for (const ss of rs.scopeSpans ?? []) for (const s of ss.spans ?? []) spans.push({ service, name: s.name, traceId: s.traceId });
        }
      } catch {
        /* protobuf or garbage: not ours to judge here */
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { spans, url: `http://127.0.0.1:${port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

function postgresDatabase(): { url: string; drop: () => void } | undefined {
  const name = `e2e_${Date.now().toString(36)}`;
  try {
    execFileSync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-c', `CREATE DATABASE ${name}`], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  return {
    url: `postgresql://postgres@127.0.0.1:5432/${name}`,
    drop: () => execFileSync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-c', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`], { stdio: 'ignore' }),
  };
}

describe.each(['sqlite', 'postgres'] as const)('the journey on %s', (db) => {
  let stack: Stack;
  let llm: FakeLlm;
  let traces: Awaited<ReturnType<typeof startTraceSink>>;
  let pg: ReturnType<typeof postgresDatabase>;
  let projectDir: string;

  const api = (method: string, p: string, body?: unknown) => gatewayApi(stack.url, method, p, body);
  const ok = (method: string, p: string, body?: unknown) => gatewayOk(stack.url, method, p, body);

  beforeAll(async () => {
    llm = await startFakeLlm();
    traces = await startTraceSink();
    if (db === 'postgres') {
      pg = postgresDatabase();
      if (!pg) throw new Error('PostgreSQL is not reachable on 127.0.0.1:5432 as postgres (scripts/host-deps.sh starts it)');
    }
    projectDir = mkdtempSync(path.join(tmpdir(), 'e2e-project-'));
    mkdirSync(path.join(projectDir, 'src'));
    writeFileSync(path.join(projectDir, 'README.md'), '# demo\n');
    writeFileSync(path.join(projectDir, 'src', 'main.sh'), 'echo from-main\n');
    // PROJECT_CI_DEFAULT_PROVIDER=auto: project chat uses the model configured for the project
    // (seed 004's default is a local Ollama, which a test machine does not have).
    stack = await startStack({ label: `e2e-${db}`, databaseUrl: pg?.url, env: { OTEL_EXPORTER_OTLP_ENDPOINT: traces.url, PROJECT_CI_DEFAULT_PROVIDER: 'auto' } });
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
    // Stopped, the services leave no mount at all behind (the workspace service's volume pool included).
    if (stack) expect(readFileSync('/proc/mounts', 'utf8')).not.toContain(stack.dataDir);
    await llm?.close();
    await traces?.close();
    pg?.drop();
    rmSync(projectDir, { recursive: true, force: true });
  }, 60_000);

  let projectId: string;
  let sessionId: string;

  test('a project, then a session on it that is ready when created', async () => {
    const project = await api('POST', '/api/v1/projects', { name: `demo-${db}`, source: { path: projectDir } });
    expect(project.status).toBe(201);
    expect(project.body.socketPort).toBeGreaterThanOrEqual(Number(stack.env.PROJECT_CI_PORT_BASE));
    projectId = project.body.id;

    const session = await api('POST', '/api/v1/sessions', { projectId, sandbox: { network: 'none', memoryMb: 512, pids: 256 } });
    expect(session.status).toBe(201);
    expect(session.body.status).toBe('ready');
    sessionId = session.body.id;
  });

  test('exec through REST: results, state that persists, and the jail around it', async () => {
    const r = await ok('POST', `/api/v1/sessions/${sessionId}/exec`, { command: 'cat README.md; sh src/main.sh; echo oops >&2; exit 3' });
    expect(r).toMatchObject({ exitCode: 3, stdout: '# demo\nfrom-main\n', stderr: 'oops\n', timedOut: false });
    await ok('POST', `/api/v1/sessions/${sessionId}/exec`, { command: 'cd src && export GREETING=hi' });
    expect((await ok('POST', `/api/v1/sessions/${sessionId}/exec`, { command: 'pwd; echo $GREETING' })).stdout).toBe('/workspace/src\nhi\n');
    const jail = await ok('POST', `/api/v1/sessions/${sessionId}/exec`, { command: 'cat /etc/shadow; ls /root; echo done' });
    expect(jail.stdout).toBe('done\n');
    await ok('POST', `/api/v1/sessions/${sessionId}/exec`, { command: 'cd /workspace' });
  });

  test('a Socket.IO client that drops mid-stream resumes by sequence number: every line once, in order', async () => {
    const connect = () => io(`${stack.url}/v1`, { transports: ['websocket'], reconnection: false });
    const envelope = (command: string, payload: Rec = {}) => ({
      id: `${command}-${Math.random().toString(36).slice(2)}`,
      type: 'command',
      timestamp: new Date().toISOString(),
      payload: { command, args: [], context: { sessionId }, ...payload },
      metadata: { version: '1', client: 'e2e' },
    });
    const lines: string[] = [];
    let lastSeq = (await ok('GET', `/api/v1/sessions/${sessionId}`)).lastSeq as number;
    const exec = envelope('/exec', { args: ['for i in $(seq 1 200); do echo line-$i; sleep 0.005; done'] });
    // Only this command's output counts: a REST exec answers with the shell's reply, and the session's
    // lastSeq may not count that command's events yet (they are logged as they reach the orchestrator).
    const onMessage = (m: Rec) => {
      if (m.type !== 'stream' || m.payload.commandId !== exec.id || m.payload.seq <= lastSeq) return;
      lastSeq = m.payload.seq;
      lines.push(...String(m.payload.data).split('\n').filter(Boolean));
    };
    const first: Socket = connect();
    first.on('message', onMessage);
    await new Promise<void>((r) => first.once('connect', () => r()));
    first.emit('message', envelope('/subscribe', { since: lastSeq }));
    first.emit('message', exec);
    await waitFor('some output before the drop', () => lines.length >= 20, { timeoutMs: 20_000 });
    first.disconnect();

    const second: Socket = connect();
    second.on('message', onMessage);
    await new Promise<void>((r) => second.once('connect', () => r()));
    const resumedAfter = lastSeq;
    const said: Rec[] = [];
    second.on('message', (m: Rec) => m.type !== 'stream' && said.push(m));
    second.emit('message', envelope('/subscribe', { since: lastSeq }));
    await waitFor('all 200 lines', () => lines.length >= 200, { timeoutMs: 30_000 }).catch(async (err: Error) => {
      // What the resumed socket got, and what the log holds: enough to tell a stalled replay from a lost event.
      const stored = await ok('GET', `/api/v1/sessions/${sessionId}/events?since=${resumedAfter}&limit=10000`);
      const seqs = (stored.events as Rec[]).map((e) => `${e.seq}:${e.kind}`).join(' ');
      throw new Error(`${err.message}: ${lines.length} lines, resumed after seq ${resumedAfter}, last seq seen ${lastSeq}; other messages ${JSON.stringify(said).slice(0, 2000)}; stored after it: ${seqs.slice(0, 3000)}`);
    });
    second.disconnect();
    expect(lines).toEqual(Array.from({ length: 200 }, (_, i) => `line-${i + 1}`));

    const events = await ok('GET', `/api/v1/sessions/${sessionId}/events?since=0&limit=10000`);
    const seqs = (events.events as Rec[]).map((e) => e.seq as number);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    // Longer than its two waits together, so a stall fails with their account of it, not jest's timeout.
  }, 70_000);

  test('files: write, read, list, and no path out of the workspace', async () => {
    const put = await fetch(`${stack.url}/api/v1/sessions/${sessionId}/files?path=notes/todo.txt`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ content: 'write the tests\n' }),
    });
    expect(put.status).toBe(200);
    expect(await ok('GET', `/api/v1/sessions/${sessionId}/files?path=notes/todo.txt`)).toMatchObject({ type: 'file', content: 'write the tests\n' });
    const listing = await ok('GET', `/api/v1/sessions/${sessionId}/files?path=.`);
    expect((listing.entries as Rec[]).map((e) => e.name)).toEqual(expect.arrayContaining(['README.md', 'notes', 'src']));
    const escape = await api('GET', `/api/v1/sessions/${sessionId}/files?path=${encodeURIComponent('../../../../etc/passwd')}`);
    expect(escape.status).toBe(400);
    expect(JSON.stringify(escape.body)).toMatch(/outside/i);
  });

  let forkId: string;
  test('snapshot, change, fork from the snapshot: the fork has the old bytes and its own life', async () => {
    const snap = await api('POST', `/api/v1/sessions/${sessionId}/snapshots`, { label: 'before' });
    expect(snap.status).toBe(201);
    await ok('POST', `/api/v1/sessions/${sessionId}/exec`, { command: 'echo changed > README.md' });
    const fork = await api('POST', `/api/v1/sessions/${sessionId}/fork`, { snapshotId: snap.body.snapshotId });
    expect(fork.status).toBe(201);
    forkId = fork.body.id;
    expect((await ok('POST', `/api/v1/sessions/${forkId}/exec`, { command: 'cat README.md; echo fork-only > mine.txt' })).stdout).toBe('# demo\n');
    expect((await ok('POST', `/api/v1/sessions/${sessionId}/exec`, { command: 'cat README.md; ls mine.txt 2>&1 || true' })).stdout).toMatch(/^changed\n.*No such file/s);
  });

  test('an agent run against the (fake) model edits the workspace; analytics shows its tokens and cost', async () => {
    await ok('PUT', '/api/v1/providers/openai', { projectId, baseURL: llm.openaiBaseURL, apiKey: 'sk-e2e-secret' });
    await ok('PUT', '/api/v1/agents/coding', { projectId, config: { provider: 'openai', model: 'gpt-4.1', fallbacks: [] } });
    llm.push(
      { toolCalls: [{ name: 'write_file', args: { path: 'agent.txt', content: 'written by the agent\n' } }], usage: { inputTokens: 1000, outputTokens: 50 } },
      { text: 'Done.', usage: { inputTokens: 1100, outputTokens: 5 } },
    );
    const started = await api('POST', `/api/v1/sessions/${sessionId}/agent`, { prompt: 'write agent.txt', roles: ['coding'] });
    expect(started.status).toBe(202);
    const run = await waitFor('the run to end', async () => {
      const r = await ok('GET', `/api/v1/agent-runs/${started.body.runId}`);
      return r.status === 'running' ? undefined : r;
    }, { timeoutMs: 60_000 });
    expect(run).toMatchObject({ status: 'completed', usage: { inputTokens: 2100, outputTokens: 55 } });
    expect(await ok('GET', `/api/v1/sessions/${sessionId}/files?path=agent.txt`)).toMatchObject({ content: 'written by the agent\n' });

    const expectedCost = (2100 * 2 + 55 * 8) / 1e6; // gpt-4.1's price in the table
    const usage = await waitFor('analytics to count the run', async () => {
      const u = await ok('GET', '/api/v1/analytics/usage?groupBy=model');
      const row = (u.rows as Rec[] | undefined)?.find((r) => (r.key?.model ?? r.model) === 'gpt-4.1');
      return row && row.inputTokens === 2100 ? row : undefined;
    }, { timeoutMs: 30_000 });
    expect(usage.outputTokens).toBe(55);
    expect(usage.costUsd).toBeCloseTo(expectedCost, 8);
  });

  test('the full pipeline (planning → coding → review → testing → documentation) runs in the session, each role on the model configured for it', async () => {
    const roles = ['planning', 'coding', 'review', 'testing', 'documentation'];
    for (const role of roles) await ok('PUT', `/api/v1/agents/${role}`, { projectId, config: { provider: 'openai', model: role === 'coding' ? 'gpt-4.1' : 'gpt-4.1-mini', fallbacks: [] } });
    llm.push(
      { text: 'Plan: add hello.sh and a test.', usage: { inputTokens: 200, outputTokens: 20 } },
      { toolCalls: [{ name: 'write_file', args: { path: 'hello.sh', content: 'echo hello-pipeline\n' } }], usage: { inputTokens: 300, outputTokens: 30 } },
      { text: 'Wrote hello.sh.', usage: { inputTokens: 320, outputTokens: 5 } },
      { text: 'Looks right.', usage: { inputTokens: 150, outputTokens: 5 } },
      { toolCalls: [{ name: 'run_command', args: { command: 'sh hello.sh' } }], usage: { inputTokens: 250, outputTokens: 15 } },
      { text: 'Tests pass: it prints hello-pipeline.', usage: { inputTokens: 270, outputTokens: 8 } },
      { text: 'Documented hello.sh.', usage: { inputTokens: 180, outputTokens: 12 } },
    );
    const started = await api('POST', `/api/v1/sessions/${sessionId}/agent`, { prompt: 'add a hello script' });
    expect(started.status).toBe(202);
    const run = await waitFor('the pipeline to end', async () => {
      const r = await ok('GET', `/api/v1/agent-runs/${started.body.runId}`);
      return r.status === 'running' ? undefined : r;
    }, { timeoutMs: 90_000 });
    expect(run.status).toBe('completed');
    expect(run.roles).toEqual(roles);
    expect(await ok('GET', `/api/v1/sessions/${sessionId}/files?path=hello.sh`)).toMatchObject({ content: 'echo hello-pipeline\n' });
    // The testing role really ran the script in the jail: the model got its output back as the tool result.
    expect(llm.requests.map((r) => JSON.stringify(r.body)).some((b) => b.includes('hello-pipeline') && b.includes('exitCode'))).toBe(true);
    expect(run.usage).toMatchObject({ inputTokens: 1670, outputTokens: 95 });
  });

  test('project chat answers through the project’s model', async () => {
    await ok('PUT', '/api/v1/agents/planning', { projectId, config: { provider: 'openai', model: 'gpt-4.1', fallbacks: [] } });
    llm.push({ text: 'Hello from the project CI.', usage: { inputTokens: 10, outputTokens: 6 } });
    const r = await ok('POST', '/api/projects/chat', { project_name: `demo-${db}`, message: 'hi' });
    expect(r).toMatchObject({ response: 'Hello from the project CI.', project_name: `demo-${db}` });
    expect(JSON.stringify(llm.requests.at(-1)?.body)).toContain(`[Project: demo-${db}] hi`);
  });

  test('one trace spans gateway → orchestrator → shell for an exec', async () => {
    await ok('POST', `/api/v1/sessions/${sessionId}/exec`, { command: 'echo traced' });
    await waitFor('spans of all three services in one trace', () => {
      const byTrace = new Map<string, Set<string>>();
      for (const s of traces.spans) byTrace.set(s.traceId, (byTrace.get(s.traceId) ?? new Set()).add(s.service));
      return [...byTrace.values()].some((svcs) => svcs.has('gateway') && svcs.has('orchestrator') && svcs.has('shell'));
    }, { timeoutMs: 30_000 });
  });

  test('one trace from the REST request to the model and the jail: HTTP, bus, database, LLM and jail spans share its id', async () => {
    llm.push(
      { toolCalls: [{ name: 'run_command', args: { command: 'echo traced-by-agent' } }], usage: { inputTokens: 300, outputTokens: 20 } },
      { text: 'Ran it.', usage: { inputTokens: 350, outputTokens: 4 } },
    );
    const started = await api('POST', `/api/v1/sessions/${sessionId}/agent`, { prompt: 'run echo', roles: ['coding'] });
    expect(started.status).toBe(202);
    await waitFor('the run to end', async () => ((await ok('GET', `/api/v1/agent-runs/${started.body.runId}`)).status === 'running' ? undefined : true), { timeoutMs: 60_000 });
    const trace = await waitFor('one trace with every kind of span', () => {
      const edge = traces.spans.find((s) => s.service === 'gateway' && s.name === 'POST /api/v1/sessions/:id/agent' && traces.spans.some((t) => t.traceId === s.traceId && t.name === 'jail exec'));
      if (!edge) return undefined;
      const inTrace = traces.spans.filter((s) => s.traceId === edge.traceId);
      const has = (service: string, name: RegExp) => inTrace.some((s) => s.service === service && name.test(s.name));
      return has('orchestrator', /^llm openai\/gpt-4\.1$/) && has('shell', /^jail exec$/) && has('orchestrator', /^db /) ? inTrace : undefined;
    }, { timeoutMs: 30_000 });
    expect([...new Set(trace.map((s) => s.service))]).toEqual(expect.arrayContaining(['gateway', 'orchestrator', 'shell']));
  });

  test('closing leaves nothing behind: no jail processes, no mounts, no workspace folders', async () => {
    for (const id of [forkId, sessionId]) {
      const r = await api('DELETE', `/api/v1/sessions/${id}`);
      expect(r.status).toBe(200);
      expect(r.body.status).toBe('closed');
    }
    // The workspace service keeps a few formatted volumes mounted ahead of need (its pool); a closed
    // session's workspace folders and mounts are gone.
    const workspaces = path.join(stack.dataDir, 'workspace', 'ws');
    await waitFor('no workspace mounts left', () => !readFileSync('/proc/mounts', 'utf8').includes(workspaces), { timeoutMs: 20_000 });
    expect(existsSync(workspaces) ? readdirSync(workspaces) : []).toEqual([]);
    const bwraps = execFileSync('sh', ['-c', `ps -eo args | grep -F -- "${stack.dataDir}" | grep -v grep || true`]).toString();
    expect(bwraps.trim()).toBe('');
  });
});
