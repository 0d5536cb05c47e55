import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { createUser, REPO_ROOT, startFakeLlm, startStack, waitFor, type FakeLlm, type Stack } from '@codeagent/testing';
import { ok as gatewayOk, type Rec } from './bench/client';
import { CODEAGENT_BIN } from './cli-runner';

// MCP both ways (issue 20), through the six services running as processes: the SDK's own client
// against /mcp (Streamable HTTP) and against `codeagent mcp` (stdio); then a project's own stdio MCP
// server, started inside a session's jail, whose tool an agent driven by the fake LLM calls.

/** The tools API.md ("MCP") promises, at least. */
const API_TOOLS = ['create_session', 'run_command', 'read_file', 'write_file', 'list_files', 'search_files', 'snapshot_session', 'fork_session', 'close_session', 'list_tasks', 'update_task', 'run_agent', 'report_progress', 'signal_user'];

const call = async (c: Client, name: string, args: Rec, opts?: Parameters<Client['callTool']>[2]) => (await c.callTool({ name, arguments: args }, undefined, opts)) as CallToolResult & { structuredContent?: Rec };
const textOf = (r: CallToolResult) => r.content.map((p) => (p.type === 'text' ? p.text : '')).join('\n');

async function httpClient(url: string, token?: string): Promise<Client> {
  const c = new Client({ name: 'e2e-http', version: '1' });
  await c.connect(new StreamableHTTPClientTransport(new URL('/mcp', url), { requestInit: { headers: token ? { authorization: `Bearer ${token}` } : {} } }));
  return c;
}

/** The session's log, read through the MCP resource. */
async function eventsOf(c: Client, sessionId: string): Promise<Rec[]> {
  const r = await c.readResource({ uri: `codeagent://sessions/${sessionId}/events` });
  return (JSON.parse(String((r.contents[0] as { text: string }).text)) as { events: Rec[] }).events;
}

describe('MCP against a local-mode platform', () => {
  let stack: Stack;
  let llm: FakeLlm;
  let projectDir: string;
  let home: string;
  const ok = (method: string, p: string, body?: unknown) => gatewayOk(stack.url, method, p, body);

  beforeAll(async () => {
    llm = await startFakeLlm();
    projectDir = mkdtempSync(path.join(tmpdir(), 'e2e-mcp-project-'));
    home = mkdtempSync(path.join(tmpdir(), 'e2e-mcp-home-'));
    mkdirSync(path.join(projectDir, 'tools'));
    writeFileSync(path.join(projectDir, 'README.md'), '# mcp demo\n');
    // The fixture MCP server, built with the SDK and bundled into one file the jail's node can run.
    const esbuild = require('esbuild') as typeof import('esbuild');
    esbuild.buildSync({ entryPoints: [path.join(__dirname, 'mcp-fixture-server.ts')], bundle: true, platform: 'node', target: 'node20', format: 'cjs', outfile: path.join(projectDir, 'tools', 'mcp-server.js'), logLevel: 'error' });
    stack = await startStack({ label: 'e2e-mcp' });
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
    await llm?.close();
    rmSync(projectDir, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  }, 60_000);

  test('Streamable HTTP: tools, a session, a command with its exit code and streams apart, files, progress, fork, close', async () => {
    const c = await httpClient(stack.url);
    const names = (await c.listTools()).tools.map((t) => t.name);
    for (const t of API_TOOLS) expect(names).toContain(t);

    const created = await call(c, 'create_session', { path: projectDir });
    expect(created.isError).toBeFalsy();
    const sessionId = String(created.structuredContent!.id);
    expect(created.structuredContent).toMatchObject({ status: 'ready', owner: 'local' });

    const r = await call(c, 'run_command', { sessionId, command: 'cat README.md; echo oops >&2; exit 3' });
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent).toMatchObject({ exitCode: 3, stdout: '# mcp demo\n', stderr: 'oops\n', timedOut: false, truncated: false });
    expect(textOf(r)).toContain('exit code 3');

    // Output beyond the MCP cut is said plainly, in the result and its text.
    const big = await call(c, 'run_command', { sessionId, command: 'head -c 150000 /dev/zero | tr "\\0" x' });
    expect(big.structuredContent).toMatchObject({ exitCode: 0, truncated: true });
    expect(String(big.structuredContent!.stdout)).toContain('characters cut');
    expect(textOf(big)).toContain('output truncated');

    expect((await call(c, 'write_file', { sessionId, path: 'notes/a.txt', content: 'hello from mcp\n' })).isError).toBeFalsy();
    expect((await call(c, 'read_file', { sessionId, path: 'notes/a.txt' })).structuredContent).toMatchObject({ content: 'hello from mcp\n' });
    expect((await call(c, 'run_command', { sessionId, command: 'cat notes/a.txt' })).structuredContent).toMatchObject({ stdout: 'hello from mcp\n' });
    expect(JSON.stringify((await call(c, 'list_files', { sessionId, path: 'notes' })).structuredContent)).toContain('a.txt');
    const file = await c.readResource({ uri: `codeagent://sessions/${sessionId}/files/notes/a.txt` });
    expect((file.contents[0] as { text: string }).text).toBe('hello from mcp\n');

    // A long command reports progress while it runs.
    const progress: string[] = [];
    const slow = await call(c, 'run_command', { sessionId, command: 'for i in 1 2 3 4; do echo step-$i; sleep 0.7; done' }, { onprogress: (p) => void progress.push(String(p.message)) });
    expect(slow.structuredContent).toMatchObject({ exitCode: 0, stdout: 'step-1\nstep-2\nstep-3\nstep-4\n' });
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress.some((m) => /last line: step-\d/.test(m))).toBe(true);

    // report_progress and signal_user land in the session's stream, which the CLI and dashboard follow.
    expect((await call(c, 'report_progress', { sessionId, message: 'tests pass', status: 'working', percent: 60 })).isError).toBeFalsy();
    expect((await call(c, 'signal_user', { sessionId, message: 'which database?' })).isError).toBeFalsy();
    const events = await waitFor('progress and signal in the log', async () => {
      const e = await eventsOf(c, sessionId);
      return e.some((x) => x.kind === 'signal') ? e : undefined;
    }, { timeoutMs: 10_000 });
    expect(events.find((e) => e.kind === 'progress')?.data).toMatchObject({ message: 'tests pass', status: 'working', percent: 60, from: 'e2e-http', user: 'local' });
    expect(events.find((e) => e.kind === 'signal')?.data).toMatchObject({ message: 'which database?' });
    expect(events.some((e) => e.kind === 'command.completed' && e.data.exitCode === 3)).toBe(true);

    const fork = await call(c, 'fork_session', { sessionId });
    const forkId = String(fork.structuredContent!.id);
    expect(forkId).not.toBe(sessionId);
    expect((await call(c, 'read_file', { sessionId: forkId, path: 'notes/a.txt' })).structuredContent).toMatchObject({ content: 'hello from mcp\n' });
    await call(c, 'write_file', { sessionId: forkId, path: 'notes/a.txt', content: 'fork only\n' });
    expect((await call(c, 'read_file', { sessionId, path: 'notes/a.txt' })).structuredContent).toMatchObject({ content: 'hello from mcp\n' });

    for (const id of [forkId, sessionId]) expect((await call(c, 'close_session', { sessionId: id })).structuredContent).toMatchObject({ status: 'closed' });
    // A closed session's tools answer with the platform's reason.
    const closed = await call(c, 'run_command', { sessionId, command: 'true' });
    expect(closed.isError).toBe(true);
    expect(textOf(closed)).toMatch(/^INVALID_STATE: .*closed/);
    await c.close();
  }, 120_000);

  test('bad arguments and unknown sessions are MCP errors with the reason', async () => {
    const c = await httpClient(stack.url);
    const missing = await call(c, 'run_command', { sessionId: 'ses_nope' });
    expect(missing.isError).toBe(true);
    expect(textOf(missing)).toMatch(/command/);
    const unknown = await call(c, 'run_command', { sessionId: 'ses_nope', command: 'true' });
    expect(unknown.isError).toBe(true);
    expect(textOf(unknown)).toMatch(/^NOT_FOUND: /);
    await expect(c.readResource({ uri: 'codeagent://sessions/ses_nope/events' })).rejects.toThrow(/NOT_FOUND/);
    expect(textOf(await call(c, 'create_session', { path: '/tmp', git: 'x' }))).toMatch(/exactly one of projectId, path or git/);
    await c.close();
  }, 60_000);

  test('stdio: `codeagent mcp` serves the same tools with the CLI settings', async () => {
    const c = new Client({ name: 'e2e-stdio', version: '1' });
    await c.connect(new StdioClientTransport({ command: process.execPath, args: [CODEAGENT_BIN, 'mcp'], cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', CODEAGENT_HOME: home, CODEAGENT_URL: stack.url }, stderr: 'pipe' }));
    const names = (await c.listTools()).tools.map((t) => t.name);
    for (const t of API_TOOLS) expect(names).toContain(t);
    const created = await call(c, 'create_session', { path: projectDir });
    const sessionId = String(created.structuredContent!.id);
    const r = await call(c, 'run_command', { sessionId, command: 'echo via-stdio; echo e >&2; exit 7' });
    expect(r.structuredContent).toMatchObject({ exitCode: 7, stdout: 'via-stdio\n', stderr: 'e\n' });
    await call(c, 'write_file', { sessionId, path: 'x.txt', content: 'stdio file' });
    expect((await call(c, 'read_file', { sessionId, path: 'x.txt' })).structuredContent).toMatchObject({ content: 'stdio file' });
    const fork = await call(c, 'fork_session', { sessionId });
    expect((await call(c, 'read_file', { sessionId: String(fork.structuredContent!.id), path: 'x.txt' })).structuredContent).toMatchObject({ content: 'stdio file' });
    await call(c, 'close_session', { sessionId: String(fork.structuredContent!.id) });
    expect((await call(c, 'close_session', { sessionId })).structuredContent).toMatchObject({ status: 'closed' });
    await c.close();
  }, 120_000);

  test("a project's stdio MCP server runs in the session's jail; an agent calls its allowed tool (a step) and is refused the other", async () => {
    const project = await ok('POST', '/api/v1/projects', {
      name: 'mcp-demo',
      source: { path: projectDir },
      settings: { mcpServers: [{ name: 'fx', transport: 'stdio', command: ['node', 'tools/mcp-server.js'], allow: { coding: ['whereami'] } }] },
    });
    await ok('PUT', '/api/v1/providers/openai', { projectId: project.id, baseURL: llm.openaiBaseURL, apiKey: 'sk-e2e' });
    await ok('PUT', '/api/v1/agents/coding', { projectId: project.id, config: { provider: 'openai', model: 'gpt-4.1', fallbacks: [] } });
    const session = await ok('POST', '/api/v1/sessions', { projectId: project.id });
    const before = llm.requests.length;
    llm.push(
      { toolCalls: [{ name: 'mcp__fx__whereami', args: { marker: 'called-by-agent' } }] },
      { toolCalls: [{ name: 'mcp__fx__secret', args: {} }] },
      { text: 'Done.' },
    );
    const { runId } = await ok('POST', `/api/v1/sessions/${session.id}/agent`, { prompt: 'where do MCP tools run?', roles: ['coding'] });
    const run = await waitFor('the run to end', async () => {
      const r = await ok('GET', `/api/v1/agent-runs/${runId}`);
      return r.status === 'running' ? undefined : r;
    }, { timeoutMs: 60_000 });
    expect(run.status).toBe('completed');

    // The model was offered the allowlisted tool beside the built-in ones, and not the other.
    const offered = ((llm.requests[before]!.body.tools ?? []) as Rec[]).map((t) => t.function?.name ?? t.name);
    expect(offered).toEqual(expect.arrayContaining(['mcp__fx__whereami', 'run_command', 'read_file']));
    expect(offered).not.toContain('mcp__fx__secret');

    // The call is a step like a built-in tool's, and it ran inside the jail: cwd /workspace, the
    // jail's unprivileged uid, and its marker file in the session's workspace (not the project folder).
    const calls = (run.steps as Rec[]).flatMap((s) => s.toolCalls as Rec[]);
    const where = calls.find((t) => t.tool === 'mcp__fx__whereami');
    expect(where?.error).toBeUndefined();
    expect(where?.output).toMatchObject({ cwd: '/workspace', uid: 1000 });
    expect(await ok('GET', `/api/v1/sessions/${session.id}/files?path=mcp-marker.txt`)).toMatchObject({ content: 'called-by-agent' });
    expect(() => execFileSync('cat', [path.join(projectDir, 'mcp-marker.txt')], { stdio: 'pipe' })).toThrow();

    const refused = calls.find((t) => t.tool === 'mcp__fx__secret');
    expect(refused?.error).toMatch(/refused: tool "secret" of MCP server "fx" is not in the coding role's allowlist \(whereami\)/);
    expect(refused?.output).toBeUndefined();

    // The steps reached the session's log, as built-in tool calls do (stored a moment after they are live).
    await waitFor('the step in the stored log', async () => {
      const log = await ok('GET', `/api/v1/sessions/${session.id}/events?since=0`);
      return (log.events as Rec[]).some((e) => e.kind === 'agent' && e.data.type === 'step' && JSON.stringify(e.data.toolCalls).includes('mcp__fx__whereami'));
    }, { timeoutMs: 20_000 });
    await ok('DELETE', `/api/v1/sessions/${session.id}`);
  }, 120_000);
});

describe('MCP against a team-mode platform', () => {
  let stack: Stack;
  let projectDir: string;
  /** A member and an API key, made by the gateway's admin tool in the store the running gateway reads. */
  const member = (name: string) =>
    createUser(stack, name);

  beforeAll(async () => {
    projectDir = mkdtempSync(path.join(tmpdir(), 'e2e-mcp-team-'));
    writeFileSync(path.join(projectDir, 'a.txt'), 'team\n');
    stack = await startStack({ label: 'e2e-mcp-team', env: { GATEWAY_AUTH_MODE: 'team', GATEWAY_JWT_SECRET: 's'.repeat(40) } });
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
    rmSync(projectDir, { recursive: true, force: true });
  }, 60_000);

  test("no token is a 401; a member's MCP session cannot touch another member's session", async () => {
    const init = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };
    const bare = await fetch(`${stack.url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: JSON.stringify(init) });
    expect(bare.status).toBe(401);
    await expect(httpClient(stack.url)).rejects.toThrow(/401/);

    const a = member('alice');
    const alice = await httpClient(stack.url, a.apiKey);
    const bobKey = member('bob').apiKey;
    const bob = await httpClient(stack.url, bobKey);
    const mine = await call(alice, 'create_session', { path: projectDir });
    const sessionId = String(mine.structuredContent!.id);
    expect(mine.structuredContent).toMatchObject({ owner: a.user.id });
    expect((await call(alice, 'run_command', { sessionId, command: 'cat a.txt' })).structuredContent).toMatchObject({ stdout: 'team\n' });

    for (const [tool, args] of [['run_command', { sessionId, command: 'echo bob was here > pwned' }], ['read_file', { sessionId, path: 'a.txt' }], ['write_file', { sessionId, path: 'b', content: 'x' }], ['fork_session', { sessionId }], ['close_session', { sessionId }], ['report_progress', { sessionId, message: 'x' }]] as const) {
      const r = await call(bob, tool, args);
      expect(r.isError).toBe(true);
      expect(textOf(r)).toMatch(/^FORBIDDEN: session .* belongs to another user/);
    }
    await expect(bob.readResource({ uri: `codeagent://sessions/${sessionId}/events` })).rejects.toThrow(/FORBIDDEN/);
    expect(((await call(bob, 'list_sessions', {})).structuredContent!.sessions as Rec[]).map((s) => s.id)).not.toContain(sessionId);

    // Bob cannot use Alice's MCP session id with his own token either.
    const aliceSessionId = (alice.transport as StreamableHTTPClientTransport).sessionId!;
    const hijack = await fetch(`${stack.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${bobKey}`, 'mcp-session-id': aliceSessionId, 'mcp-protocol-version': '2025-06-18' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
    });
    expect(hijack.status).toBe(403);

    // Alice's session is untouched: nothing Bob ran reached it.
    expect((await call(alice, 'run_command', { sessionId, command: 'ls' })).structuredContent).toMatchObject({ stdout: 'a.txt\n' });
    await call(alice, 'close_session', { sessionId });
    await alice.close();
    await bob.close();
  }, 120_000);
});
