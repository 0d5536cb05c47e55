import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ServiceNames, type ServiceName } from '@codeagent/contracts';
import { createUser, freePort, startStack, waitFor, type Stack } from '@codeagent/testing';
import { io } from 'socket.io-client';

// Ownership on a team-mode platform (issue 23), every service a real process: member ben tries every
// route and socket command on member ana's project, session, task, run, usage and chat. A private
// project is, to him, no project (404); her session and what hangs off it are a 403 (FORBIDDEN on
// the socket), as is changing what he can see but does not own; once ana makes the project the
// team's he sees it and works on it, still without changing it; the admin sees all.
type Rec = Record<string, any>;
let stack: Stack;
let dir: string;
let opsPort: number;
const keys: Record<'admin' | 'ana' | 'ben', string> = { admin: '', ana: '', ben: '' };
const ids: Record<'ana' | 'ben', string> = { ana: '', ben: '' };

async function api(who: keyof typeof keys, method: string, url: string, body?: unknown): Promise<{ status: number; body: Rec }> {
  const res = await fetch(stack.url + url, {
    method,
    headers: { authorization: `Bearer ${keys[who]}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json().catch(() => ({}))) as Rec };
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'ownership-project-'));
  opsPort = await freePort();
  stack = await startStack({ label: 'e2e-ownership', env: { GATEWAY_AUTH_MODE: 'team', GATEWAY_JWT_SECRET: 'o'.repeat(40), GATEWAY_RATE_LIMIT_PER_MINUTE: '100000', GATEWAY_OPS_PORT: String(opsPort) } });
  const made = createUser(stack, 'root', 'admin');
  keys.admin = made.apiKey;
  for (const name of ['ana', 'ben'] as const) {
    const u = await api('admin', 'POST', '/api/v1/users', { name, role: 'member' });
    expect(u.status).toBe(201);
    ids[name] = u.body.id;
    keys[name] = (await api('admin', 'POST', `/api/v1/users/${u.body.id}/api-keys`, { label: 'e2e' })).body.key;
  }
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

/** One Socket.IO command as ben; resolves with the first `error` or `response` answering it. */
async function benOverSocket(command: string, sessionId: string, args: string[] = []): Promise<Rec> {
  const socket = io(`${stack.url}/v1`, { transports: ['websocket'], reconnection: false, auth: { token: keys.ben } });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    const id = `${command}-${Math.random().toString(36).slice(2)}`;
    const answer = new Promise<Rec>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to ${command} in 10 s`)), 10_000);
      socket.on('message', (m: Rec) => {
        if (m.type === 'error' || (m.type === 'response' && m.id === id)) {
          clearTimeout(timer);
          resolve(m);
        }
      });
    });
    socket.emit('message', { id, type: 'command', timestamp: new Date().toISOString(), payload: { command, args, context: { sessionId } }, metadata: { version: '1', client: 'e2e' } });
    return await answer;
  } finally {
    socket.close();
  }
}

test("a private project is no project to another member: every route on it, its session, task, run, usage and chat", async () => {
  const p = await api('ana', 'POST', '/api/v1/projects', { name: 'anas-app', source: { path: dir } });
  expect(p.status).toBe(201);
  expect(p.body).toMatchObject({ owner: ids.ana, visibility: 'private' });
  const projectId = p.body.id as string;

  // The project, by id and by name.
  expect((await api('ben', 'GET', '/api/v1/projects')).body.projects.map((x: Rec) => x.id)).not.toContain(projectId);
  for (const ref of [projectId, 'anas-app']) {
    expect((await api('ben', 'GET', `/api/v1/projects/${ref}`)).status).toBe(404);
    expect((await api('ben', 'PATCH', `/api/v1/projects/${ref}`, { name: 'mine-now' })).status).toBe(404);
    expect((await api('ben', 'PATCH', `/api/v1/projects/${ref}`, { visibility: 'team' })).status).toBe(404);
    expect((await api('ben', 'DELETE', `/api/v1/projects/${ref}`)).body).toEqual({ deleted: false });
    expect((await api('ben', 'POST', '/api/v1/sessions', { projectId: ref })).status).toBe(404);
    expect((await api('ben', 'POST', '/api/v1/tasks', { title: 'sneak', projectId: ref })).status).toBe(404);
    expect((await api('ben', 'GET', `/api/v1/agents?projectId=${ref}`)).status).toBe(404);
    expect((await api('ben', 'GET', `/api/v1/providers?projectId=${ref}`)).status).toBe(404);
    expect((await api('ben', 'GET', `/api/v1/providers/ollama/models?projectId=${ref}`)).status).toBe(404);
    // Configuring providers, agent roles and local models is an admin's, for any project: refused before the project is looked at.
    const adminOnly: Array<[string, string, unknown]> = [
      ['PUT', '/api/v1/providers/openai', { projectId: ref, apiKey: 'sk-bens-own-key', baseURL: 'http://127.0.0.1:9/v1' }],
      ['PUT', '/api/v1/agents/coding', { projectId: ref, config: { provider: 'openai', model: 'bens-model' } }],
      ['POST', '/api/v1/providers/ollama/models/pull', { projectId: ref, model: 'llama3' }],
    ];
    for (const [method, url, body] of adminOnly) {
      const r = await api('ben', method, url, body);
      expect([method, url, r.status, r.body.code]).toEqual([method, url, 403, 'FORBIDDEN']);
    }
  }
  expect(JSON.stringify((await api('ana', 'GET', `/api/v1/agents?projectId=${projectId}`)).body)).not.toContain('bens-model');
  const chat = await api('ben', 'POST', '/api/projects/chat', { project_name: 'anas-app', message: 'what is in it?' });
  expect(chat.status).toBe(404);
  expect(chat.body.detail).toBe('no project anas-app');
  expect((await api('ben', 'POST', '/api/projects/chat', { project_name: 'ANAS-APP', message: 'and now?' })).status).toBe(404);
  expect((await api('ana', 'GET', `/api/v1/projects/${projectId}`)).body).toMatchObject({ name: 'anas-app', visibility: 'private' });
  expect((await api('admin', 'GET', '/api/v1/projects')).body.projects.map((x: Rec) => x.id)).toContain(projectId);

  // Ana's session on it, and what hangs off it.
  const s = await api('ana', 'POST', '/api/v1/sessions', { projectId });
  expect(s.status).toBe(201);
  const sessionId = s.body.id as string;
  const task = await api('ana', 'POST', '/api/v1/tasks', { title: 'Write the README', projectId, sessionId });
  expect(task.status).toBe(201);
  const run = await api('ana', 'POST', `/api/v1/sessions/${sessionId}/agent`, { prompt: 'hello', roles: ['coding'] });
  expect(run.status).toBe(202);
  // A command of hers, for the latency report below to have something of hers to leave out.
  expect((await api('ana', 'POST', `/api/v1/sessions/${sessionId}/exec`, { command: 'true' })).body).toMatchObject({ exitCode: 0 });
  const agents = `/api/v1/sessions/${sessionId}/agents/external`;
  const refused: Array<[string, string, unknown?]> = [
    ['GET', `/api/v1/sessions/${sessionId}`],
    ['POST', `/api/v1/sessions/${sessionId}/exec`, { command: 'cat README* || true' }],
    ['POST', `/api/v1/sessions/${sessionId}/interrupt`, {}],
    ['GET', `/api/v1/sessions/${sessionId}/events?since=0`],
    ['GET', `/api/v1/sessions/${sessionId}/files?path=.`],
    ['PUT', `/api/v1/sessions/${sessionId}/files?path=x.txt`, { content: 'x' }],
    ['GET', `/api/v1/sessions/${sessionId}/snapshots`],
    ['POST', `/api/v1/sessions/${sessionId}/snapshots`, {}],
    ['POST', `/api/v1/sessions/${sessionId}/fork`, {}],
    ['POST', `/api/v1/sessions/${sessionId}/agent`, { prompt: 'mine' }],
    ['GET', `/api/v1/sessions/${sessionId}/diff`],
    ['POST', `/api/v1/sessions/${sessionId}/restore`, { snapshotId: 'any-snapshot' }],
    ['POST', agents, { name: 'sneak', command: 'sh', args: ['-c', 'cat README*'] }],
    ['GET', agents],
    ['GET', `${agents}/sneak`],
    ['POST', `${agents}/sneak/keys`, { keys: 'id', enter: true }],
    ['GET', `${agents}/sneak/screen?lines=10`],
    ['DELETE', `${agents}/sneak`],
    ['DELETE', `/api/v1/sessions/${sessionId}`],
    ['GET', `/api/v1/tasks/${task.body.id}`],
    ['PATCH', `/api/v1/tasks/${task.body.id}`, { status: 'done' }],
    ['DELETE', `/api/v1/tasks/${task.body.id}`],
    ['GET', `/api/v1/agent-runs/${run.body.runId}`],
    ['POST', `/api/v1/agent-runs/${run.body.runId}/interrupt`, {}],
  ];
  for (const [method, url, body] of refused) {
    const r = await api('ben', method, url, body);
    expect([method, url, r.status]).toEqual([method, url, 403]);
  }
  expect((await api('ben', 'GET', '/api/v1/sessions')).body.sessions.map((x: Rec) => x.id)).not.toContain(sessionId);
  expect((await api('ben', 'GET', `/api/v1/sessions?owner=${ids.ana}`)).body.sessions).toEqual([]);
  expect((await api('ben', 'GET', `/api/v1/tasks?projectId=${projectId}`)).body.tasks).toEqual([]);
  const usage = await api('ben', 'GET', `/api/v1/analytics/usage?groupBy=user&user=${ids.ana}`);
  expect(usage.status).toBe(200);
  expect(JSON.stringify(usage.body)).not.toContain(ids.ana);
  // Response times of her session and project: the admin sees her command; to ben, filtered to them, there is nothing.
  await waitFor('her command in the latency report', async () => (await api('admin', 'GET', `/api/v1/analytics/latency?session=${sessionId}`)).body.commands?.count >= 1, { timeoutMs: 30_000, intervalMs: 250 });
  for (const filter of [`session=${sessionId}`, `project=${projectId}`, `session=${sessionId}&user=${ids.ana}`]) {
    const latency = await api('ben', 'GET', `/api/v1/analytics/latency?${filter}`);
    expect([filter, latency.status, latency.body.commands.count, latency.body.llmTotal.count, latency.body.llm]).toEqual([filter, 200, 0, 0, []]);
  }

  // The same over Socket.IO.
  const commands = [
    ['/subscribe', []],
    ['/exec', ['id']],
    ['/interrupt', []],
    ['/input', ['cat README*\n']],
    ['/resize', ['120', '40']],
    ['/agent-keys', ['sneak', 'id']],
    ['/agent-screen', ['sneak']],
    ['/agent-status', ['sneak']],
    ['/code', ['hello']],
  ] as const;
  for (const [command, args] of commands) {
    const m = await benOverSocket(command, sessionId, [...args]);
    expect([command, m.type, m.payload?.code]).toEqual([command, 'error', 'FORBIDDEN']);
  }

  // Still all there for ana.
  expect((await api('ana', 'GET', `/api/v1/sessions/${sessionId}`)).body).toMatchObject({ id: sessionId, owner: ids.ana });
  expect((await api('ana', 'GET', `/api/v1/tasks/${task.body.id}`)).body).toMatchObject({ status: 'todo' });
  expect((await api('admin', 'GET', `/api/v1/sessions/${sessionId}`)).status).toBe(200);
  expect((await api('ana', 'DELETE', `/api/v1/sessions/${sessionId}`)).status).toBe(200);
}, 180_000);

test("a team project: every member sees it and works on it; only its owner or an admin changes it", async () => {
  const p = await api('ana', 'POST', '/api/v1/projects', { name: 'shared-app', source: { path: dir } });
  const projectId = p.body.id as string;
  expect((await api('ben', 'PATCH', `/api/v1/projects/${projectId}`, { visibility: 'team' })).status).toBe(404);
  expect((await api('ana', 'PATCH', `/api/v1/projects/${projectId}`, { visibility: 'team' })).body).toMatchObject({ visibility: 'team' });

  expect((await api('ben', 'GET', '/api/v1/projects')).body.projects.map((x: Rec) => x.id)).toContain(projectId);
  expect((await api('ben', 'GET', '/api/v1/projects/shared-app')).body).toMatchObject({ id: projectId, owner: ids.ana, visibility: 'team' });
  const rename = await api('ben', 'PATCH', `/api/v1/projects/${projectId}`, { name: 'bens-now' });
  expect(rename.status).toBe(403);
  expect(rename.body.detail).toBe('project shared-app belongs to another user');
  expect((await api('ben', 'PATCH', `/api/v1/projects/${projectId}`, { visibility: 'private' })).status).toBe(403);
  expect((await api('ben', 'DELETE', `/api/v1/projects/${projectId}`)).status).toBe(403);

  const s = await api('ben', 'POST', '/api/v1/sessions', { projectId });
  expect(s.status).toBe(201);
  expect(s.body).toMatchObject({ owner: ids.ben, projectId });
  const t = await api('ben', 'POST', '/api/v1/tasks', { title: 'Ben helps', projectId: 'shared-app' });
  expect(t.status).toBe(201);
  // His session stays his: ana sees the project, not his session.
  expect((await api('ana', 'GET', `/api/v1/sessions/${s.body.id}`)).status).toBe(403);
  expect((await api('ben', 'DELETE', `/api/v1/sessions/${s.body.id}`)).status).toBe(200);

  // Back to private: gone from ben's view again; the admin changes any project.
  expect((await api('admin', 'PATCH', `/api/v1/projects/${projectId}`, { visibility: 'private' })).body).toMatchObject({ visibility: 'private' });
  expect((await api('ben', 'GET', `/api/v1/projects/${projectId}`)).status).toBe(404);
  expect((await api('admin', 'DELETE', `/api/v1/projects/${projectId}`)).body).toMatchObject({ deleted: true });
}, 180_000);

test("Prometheus scrapes the team-mode gateway on its ops port without a token; the API port's /metrics still wants one", async () => {
  expect((await fetch(`${stack.url}/metrics`)).status).toBe(401);
  const res = await fetch(`http://127.0.0.1:${opsPort}/metrics`);
  expect(res.status).toBe(200);
  const text = await res.text();
  expect(text).toContain('gateway_http_requests_total');
  expect(text).toContain('bus_published_total');
});

// What Prometheus sees of a team-mode platform: each service's ops port answers /metrics without a
// token, in the Prometheus text format, with the service's own series (and its name on every series).
const OWN_METRICS: Record<ServiceName, RegExp> = {
  gateway: /^gateway_http_requests_total\{/m,
  orchestrator: /^# TYPE orchestrator_llm_call_failures_total counter$/m,
  // No metrics of its own beyond the bus's: the workspace commands it handled.
  workspace: /^bus_consumed_total\{[^}]*key="workspace\.prepare"/m,
  shell: /^shell_commands_total\{/m,
  analytics: /^analytics_events_ingested_total\{/m,
  'project-ci': /^project_ci_cis\{/m,
};
/** A sample line of the text format 0.0.4: name, optional labels, a value, an optional timestamp. */
const SAMPLE = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? (-?[0-9.]+(e[+-]?[0-9]+)?|NaN|[+-]Inf)( -?[0-9]+)?$/;

test('Prometheus text from every one of the six services with team-mode auth on: no token on the ops ports, each with its own metrics', async () => {
  // Something for each to count: a project (its CI), a session (prepared by the workspace, jailed by the shell) and a command in it.
  const p = await api('ana', 'POST', '/api/v1/projects', { name: 'metered-app', source: { path: dir } });
  const s = await api('ana', 'POST', '/api/v1/sessions', { projectId: p.body.id });
  expect((await api('ana', 'POST', `/api/v1/sessions/${s.body.id}/exec`, { command: 'true' })).body).toMatchObject({ exitCode: 0 });

  expect(ServiceNames).toHaveLength(6);
  for (const service of ServiceNames) {
    const port = stack.opsPort(service);
    expect([service, typeof port]).toEqual([service, 'number']);
    const text = await waitFor(`${service}'s own metrics on its ops port`, async () => {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect([service, res.status, res.headers.get('content-type')]).toEqual([service, 200, expect.stringMatching(/^text\/plain; version=0\.0\.4/)]);
      const t = await res.text();
      return OWN_METRICS[service].test(t) ? t : undefined;
    }, { timeoutMs: 30_000, intervalMs: 250 });
    const lines = text.split('\n').filter((l) => l && !l.startsWith('#'));
    expect(lines.length).toBeGreaterThan(20);
    expect({ service, malformed: lines.filter((l) => !SAMPLE.test(l)) }).toEqual({ service, malformed: [] });
    expect(text).toMatch(new RegExp(`^process_cpu_user_seconds_total\\{[^}]*service="${service}"`, 'm'));
  }
  await api('ana', 'DELETE', `/api/v1/sessions/${s.body.id}`);
}, 120_000);

