import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createUser, startFakeLlm, startStack, waitFor, type FakeLlm, type Stack } from '@codeagent/testing';
import { cli, cliJson, startCli, startCliInPty } from './cli-runner';

// The real `codeagent` binary, run as a subprocess against the six services running as processes
// (startStack): what a person sees, what a script gets with --json, and the exit codes.

type Rec = Record<string, any>;

describe('codeagent against a local-mode platform', () => {
  let stack: Stack;
  let llm: FakeLlm;
  let home: string;
  let projectDir: string;
  /** The CLI's environment: its own home (config, credentials, cache), no URL: `config set` gives it. */
  let env: Record<string, string>;
  let sessionId: string;

  beforeAll(async () => {
    llm = await startFakeLlm({ fallbackTurn: { text: 'Hello from the fake model.', usage: { inputTokens: 100, outputTokens: 10 } } });
    home = mkdtempSync(path.join(tmpdir(), 'cli-home-'));
    projectDir = mkdtempSync(path.join(tmpdir(), 'cli-project-'));
    writeFileSync(path.join(projectDir, 'README.md'), '# demo\n');
    // project-ci asks the orchestrator for the project's configured model instead of a local Ollama.
    stack = await startStack({ label: 'e2e-cli', env: { PROJECT_CI_DEFAULT_PROVIDER: 'auto' } });
    env = { CODEAGENT_HOME: home };
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
    await llm?.close();
    rmSync(home, { recursive: true, force: true });
    rmSync(projectDir, { recursive: true, force: true });
  }, 60_000);

  test('config: the gateway URL is kept in the home folder; a bad URL is a usage error', async () => {
    const bad = await cli(['config', 'set', 'gatewayUrl', 'not a url'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('is not a URL');
    const set = await cli(['config', 'set', 'gatewayUrl', stack.url], env);
    expect(set.code).toBe(0);
    expect(set.stdout).toBe(`gatewayUrl = ${stack.url}\n`);
    expect(JSON.parse(readFileSync(path.join(home, 'config.json'), 'utf8')).gatewayUrl).toBe(stack.url);
    expect(await cliJson(['config'], env)).toMatchObject({ gatewayUrl: stack.url });
    expect((await cli(['config', 'show'], env)).stdout).toContain(`gatewayUrl  ${stack.url}`);
  });

  test('status: every service, as a table and as JSON; an unreachable gateway says what to do (exit 5)', async () => {
    const human = await cli(['status'], env);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`codeagent at ${stack.url}: ok`);
    for (const s of ['gateway', 'orchestrator', 'workspace', 'shell', 'analytics', 'project-ci']) expect(human.stdout).toMatch(new RegExp(`\\b${s}\\s+ok\\b`));
    const json = await cliJson(['status'], env);
    expect(json.status).toBe('ok');
    expect(Object.keys(json.services).sort()).toEqual(['analytics', 'gateway', 'orchestrator', 'project-ci', 'shell', 'workspace']);
    const down = await cli(['--url', 'http://127.0.0.1:9', 'status'], env);
    expect(down.code).toBe(5);
    expect(down.stderr).toContain('cannot reach the gateway at http://127.0.0.1:9');
    expect(down.stderr).toContain('hint:');
  });

  test('projects: add, list, show, rm; a missing one is exit 3 with a JSON error', async () => {
    const added = await cli(['projects', 'add', projectDir, '--name', 'demo'], env);
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(/^Added project demo \(prj_\w+\)\./);
    const extra = await cliJson(['projects', 'add', projectDir, '--name', 'scratch'], env);
    expect(extra).toMatchObject({ name: 'scratch', source: { path: projectDir } });

    const list = await cli(['projects', 'list'], env);
    expect(list.stdout).toMatch(/\bid\s+name\s+source/);
    expect(list.stdout).toMatch(new RegExp(`prj_\\w+\\s+demo\\s+${projectDir}`));
    expect((await cliJson<Rec[]>(['projects', 'list'], env)).map((p) => p.name).sort()).toEqual(['demo', 'scratch']);
    expect(await cliJson(['projects', 'show', 'demo'], env)).toMatchObject({ name: 'demo', source: { kind: 'path', path: projectDir }, discovery: { tier: 'default', driver: 'bubblewrap', languages: [] } });
    const shown = (await cli(['projects', 'show', 'demo'], env)).stdout;
    expect(shown).toMatch(/^id\s+prj_/);
    // Where its sessions run, and why (issue 22): a README alone asks for nothing, so the default jail.
    expect(shown).toMatch(/^runs in\s+a Bubblewrap jail \(default\)$/m);

    expect((await cli(['projects', 'rm', 'scratch'], env)).stdout).toBe('Deleted project scratch.\n');
    const gone = await cli(['--json', 'projects', 'show', 'scratch'], env);
    expect(gone.code).toBe(3);
    expect(JSON.parse(gone.stdout)).toEqual({ error: expect.objectContaining({ message: 'no project "scratch"' }) });
    const missingDir = await cli(['projects', 'add', path.join(projectDir, 'nope')], env);
    expect(missingDir.code).toBe(2);
    expect(missingDir.stderr).toContain('does not exist');
  });

  test('sessions: new (with sandbox options), list, show; a session without a project is a usage error', async () => {
    const none = await cli(['sessions', 'new'], env);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('--project P or --path FOLDER');
    const s = await cliJson(['sessions', 'new', '--project', 'demo', '--network', 'open', '--memory', '512'], env);
    expect(s).toMatchObject({ status: 'ready', sandbox: { network: 'open', memoryMb: 512 } });
    sessionId = s.id;
    expect((await cli(['sessions', 'list'], env)).stdout).toMatch(new RegExp(`${sessionId}\\s+ready`));
    expect((await cliJson<Rec[]>(['sessions', 'list'], env)).map((x) => x.id)).toContain(sessionId);
    const shown = await cli(['sessions', 'show', sessionId], env);
    expect(shown.stdout).toMatch(/status\s+ready/);
    const human = await cli(['sessions', 'new', '--project', 'demo'], env);
    expect(human.stdout).toMatch(/^Session ses_\w+ is ready\. Try: codeagent run ses_\w+ -- ls\n$/);
    const other = human.stdout.match(/Session (ses_\w+)/)![1]!;
    expect((await cli(['sessions', 'close', other], env)).stdout).toBe(`Session ${other} closed.\n`);
    expect((await cliJson(['sessions', 'show', other], env)).status).toMatch(/clos/);
  }, 60_000);

  test('run: stdout to stdout, stderr to stderr, the exit code is the command’s; --json is one line per chunk', async () => {
    const r = await cli(['run', sessionId, '--', 'cat README.md; echo oops >&2; exit 3'], env);
    expect(r).toMatchObject({ code: 3, stdout: '# demo\n', stderr: 'oops\n' });
    expect((await cli(['run', sessionId, '--', 'true'], env)).code).toBe(0);

    const j = await cli(['--json', 'run', sessionId, '--', 'echo out; echo err >&2; exit 4'], env);
    expect(j.code).toBe(4);
    const lines = j.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.stream).map((l) => [l.stream, l.data])).toEqual([['stdout', 'out\n'], ['stderr', 'err\n']]);
    expect(lines.at(-1)).toMatchObject({ done: true, exitCode: 4, timedOut: false });
    const missing = await cli(['run', 'ses_nope', '--', 'true'], env);
    expect(missing.code).toBe(3);
  }, 60_000);

  test('run: Ctrl-C interrupts the command, and the CLI exits with its status instead of being killed', async () => {
    const p = startCli(['run', sessionId, '--', 'echo started; sleep 30; echo never'], env);
    await waitFor('the command to start', () => p.stdout().includes('started'), { timeoutMs: 20_000 });
    const t0 = Date.now();
    p.child.kill('SIGINT');
    const r = await p.result;
    expect(r.signal).toBeNull();
    expect(r.code).toBe(130); // bash's status for a command ended by SIGINT, passed through
    expect(r.stdout).toBe('started\n');
    expect(r.stderr).toContain('interrupting the command');
    expect(Date.now() - t0).toBeLessThan(20_000);
    // The session is still usable.
    expect((await cli(['run', sessionId, '--', 'echo after'], env)).stdout).toBe('after\n');
  }, 60_000);

  test('run: a connection dropped mid-stream resumes by sequence number: every numbered line once, in order', async () => {
    const r = await cli(['run', sessionId, '--', 'for i in $(seq 1 60); do echo n$i; sleep 0.03; done; exit 7'], { ...env, CODEAGENT_TEST_DROP_AFTER_MS: '600' });
    expect(r.stderr).toMatch(/reconnected; resuming after event \d+/);
    expect(r.stdout).toBe(Array.from({ length: 60 }, (_, i) => `n${i + 1}\n`).join(''));
    expect(r.code).toBe(7);
  }, 60_000);

  test('attach: a real terminal (raw mode, size), Ctrl-] detaches; reattaching shows the recent screen', async () => {
    const a = startCliInPty(['attach', sessionId], env, { cols: 97, rows: 31 });
    await a.waitFor('Ctrl-] detaches');
    a.term.write('echo size=$(stty size) sum=$((6*7))\r');
    await a.waitFor('size=31 97 sum=42');
    a.term.write('\x1d');
    expect((await a.exited).exitCode).toBe(0);
    expect(a.screen()).toContain(`[detached from ${sessionId}]`);

    const b = startCliInPty(['attach', sessionId], env);
    await b.waitFor(/Ctrl-\] detaches[\s\S]*size=31 97 sum=42/);
    b.term.write('\x1d');
    expect((await b.exited).exitCode).toBe(0);

    const notTty = await cli(['attach', sessionId], env);
    expect(notTty.code).toBe(2);
    expect(notTty.stderr).toContain('attach needs a terminal');
  }, 60_000);

  test('chat: plain text goes to the coding agent and streams; /usage, /help; usage and project-chat', async () => {
    const project = await cliJson(['projects', 'show', 'demo'], env);
    const put = (p: string, body: unknown) =>
      fetch(`${stack.url}${p}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => expect(r.status).toBe(200));
    await put('/api/v1/providers/openai', { projectId: project.id, baseURL: llm.openaiBaseURL, apiKey: 'sk-cli' });
    for (const role of ['coding', 'planning']) await put(`/api/v1/agents/${role}`, { projectId: project.id, config: { provider: 'openai', model: 'gpt-4.1', fallbacks: [] } });

    // Typed as a person would: /usage only after the run is done and analytics has counted it (its
    // ingestion batches for up to 50 ms, so a /usage piped in the same instant may miss the run).
    const chat = startCli(['chat', sessionId], env, { interactive: true });
    chat.child.stdin!.write('say hello\n');
    await waitFor('the run to complete', () => /completed \(/.test(chat.stdout()), { timeoutMs: 30_000 });
    await waitFor('analytics to count the run', async () => {
      const u = await fetch(`${stack.url}/api/v1/analytics/usage?groupBy=model`).then((x) => x.json() as Promise<Rec>);
      return JSON.stringify(u).includes('gpt-4.1');
    });
    chat.child.stdin!.end('/usage\n/help\n/bogus\n');
    const r = await chat.result;
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Hello from the fake model.');
    expect(r.stdout).toMatch(/\[coding step 0: openai\/gpt-4\.1, 100 in, 10 out\]/);
    expect(r.stdout).toMatch(/completed \(1 steps, 100 in, 10 out, \$0\.\d{4}\)/);
    expect(r.stdout).toMatch(/coding\s+gpt-4\.1\s+100\s+10/); // /usage
    expect(r.stdout).toContain('/plan, /code, /review, /test, /doc'); // /help
    expect(r.stderr).toContain('unknown command /bogus');
    expect(JSON.stringify(llm.requests.at(-1)?.body)).toContain('say hello');

    const usage = await cli(['usage', '--group-by', 'model'], env);
    expect(usage.stdout).toMatch(/gpt-4\.1\s+100\s+10/);
    const uj = await cliJson(['usage', '--group-by', 'model', '--from', new Date(Date.now() - 3_600_000).toISOString()], env);
    expect(uj.rows).toEqual([expect.objectContaining({ model: 'gpt-4.1', inputTokens: 100, outputTokens: 10 })]);

    const pc = await cliJson(['project-chat', 'demo', 'hi', 'there'], env);
    expect(pc).toMatchObject({ response: 'Hello from the fake model.', project_name: 'demo' });
    expect(JSON.stringify(llm.requests.at(-1)?.body)).toContain('[Project: demo] hi there');
  }, 90_000);

  test('tasks: add, update, done, list; listed from the cache when the platform is unreachable', async () => {
    const added = await cli(['tasks', 'add', 'Write', 'the', 'docs', '--project', 'demo'], env);
    expect(added.stdout).toMatch(/^Task (\S+) added\.\n$/);
    const id = added.stdout.match(/^Task (\S+) added/)![1]!;
    expect((await cli(['tasks', 'update', id, '--status', 'in_progress', '--note', 'started'], env)).stdout).toBe(`Task ${id}: in_progress\n`);
    const nothing = await cli(['tasks', 'update', id], env);
    expect(nothing.code).toBe(2);
    expect((await cli(['tasks', 'done', id], env)).stdout).toBe(`Task ${id} is done.\n`);
    const list = await cliJson<Rec[]>(['tasks', 'list'], env);
    expect(list.find((t) => t.id === id)).toMatchObject({ title: 'Write the docs', status: 'done', notes: [expect.objectContaining({ text: 'started' })] });
    expect((await cli(['tasks'], env)).stdout).toMatch(new RegExp(`${id}\\s+done\\s+Write the docs`));

    const offline = await cli(['--url', 'http://127.0.0.1:9', 'tasks', 'list'], env);
    expect(offline.code).toBe(0);
    expect(offline.stderr).toMatch(/offline: tasks as cached at/);
    expect(offline.stdout).toMatch(new RegExp(`${id}\\s+done\\s+Write the docs`));
    const offlineJson = await cliJson(['--url', 'http://127.0.0.1:9', 'tasks', 'list'], env);
    expect(offlineJson).toMatchObject({ offline: true, tasks: [expect.objectContaining({ id })] });
  }, 60_000);
});

describe('codeagent against a team-mode platform', () => {
  let stack: Stack;
  let home: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    home = mkdtempSync(path.join(tmpdir(), 'cli-team-home-'));
    stack = await startStack({ label: 'e2e-cli-team', env: { GATEWAY_AUTH_MODE: 'team', GATEWAY_JWT_SECRET: 's'.repeat(40) } });
    env = { CODEAGENT_HOME: home, CODEAGENT_URL: stack.url };
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
    rmSync(home, { recursive: true, force: true });
  }, 60_000);

  test('without a token: exit 4 and a hint to log in; login --api-key keeps a token only its owner reads; then everything works', async () => {
    const refused = await cli(['projects', 'list'], env);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain('codeagent login');

    // The gateway's admin tool writes the user and key into the same store the running gateway reads.
    const made = createUser(stack, 'alice');
    const wrong = await cli(['login', '--api-key', 'not-a-key'], env);
    expect(wrong.code).toBe(4);
    const login = await cli(['login', '--api-key', made.apiKey], env);
    expect(login.code).toBe(0);
    expect(login.stdout).toContain(`Logged in to ${stack.url}`);
    const credFile = path.join(home, 'credentials.json');
    expect(existsSync(credFile)).toBe(true);
    expect(statSync(credFile).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(credFile, 'utf8')).token).toEqual(expect.any(String));

    const dir = mkdtempSync(path.join(tmpdir(), 'cli-team-project-'));
    try {
      expect((await cli(['projects', 'add', dir, '--name', 'team-demo'], env)).code).toBe(0);
      const s = await cliJson(['sessions', 'new', '--project', 'team-demo'], env);
      expect(s).toMatchObject({ status: 'ready' });
      // The token also opens the Socket.IO stream.
      expect(await cli(['run', s.id, '--', 'echo as-alice; exit 5'], env)).toMatchObject({ code: 5, stdout: 'as-alice\n' });
      expect(await cli(['--token', 'forged', 'run', s.id, '--', 'true'], env)).toMatchObject({ code: 4 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
