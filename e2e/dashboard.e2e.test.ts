import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { createUser, REPO_ROOT, startFakeLlm, startStack, waitFor, type FakeLlm, type Stack } from '@codeagent/testing';
import { formatMs } from '../clients/web/src/pages/format-ms';
import { api as gatewayApi, ok as gatewayOk, type Rec } from './bench/client';

// The web dashboard (clients/web) in a real browser, Debian's Chromium driven by playwright-core,
// against the whole platform: a user opens /dashboard, creates a session, types in its terminal, runs
// a command, reloads, edits a file and closes the session; in team mode the page asks for a login.
// Screenshots of each view go to .ci/results/dashboard/.

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = path.join(REPO_ROOT, '.ci/results/dashboard');
// Without the networking flags Chromium keeps calling Google's services, which floods a closed network.
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

async function openBrowser(): Promise<{ context: BrowserContext; page: Page; dispose: () => Promise<void> }> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: \`apt-get install chromium\` (scripts/host-deps.sh does it)`);
  const profile = mkdtempSync(path.join(tmpdir(), 'e2e-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1280, height: 800 } });
  context.setDefaultTimeout(30_000);
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    dispose: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

/** What the xterm.js screen shows (its DOM renderer's rows). */
const terminalText = (page: Page) => page.locator('[data-testid=terminal] .xterm-rows').innerText();

describe('the dashboard in a browser (local mode)', () => {
  let stack: Stack;
  let browser: Awaited<ReturnType<typeof openBrowser>>;
  let page: Page;
  let projectDir: string;
  let tasksProjectDir: string;
  let sessionId: string;
  let llm: FakeLlm;
  const ok = (method: string, p: string, body?: unknown) => gatewayOk(stack.url, method, p, body);
  const call = (method: string, p: string, body?: unknown) => gatewayApi(stack.url, method, p, body);

  beforeAll(async () => {
    projectDir = mkdtempSync(path.join(tmpdir(), 'e2e-dashboard-project-'));
    writeFileSync(path.join(projectDir, 'README.md'), '# dashboard demo\n');
    mkdirSync(path.join(projectDir, 'src'));
    writeFileSync(path.join(projectDir, 'src', 'main.sh'), 'echo from-main\n');
    tasksProjectDir = mkdtempSync(path.join(tmpdir(), 'e2e-dashboard-tasks-'));
    llm = await startFakeLlm();
    // TASKS.md edits are picked up within a second (the default checks every 10 s).
    stack = await startStack({ label: 'e2e-dashboard', env: { ORCHESTRATOR_TASKS_SYNC_MS: '1000' } });
    browser = await openBrowser();
    page = browser.page;
  }, 180_000);

  afterAll(async () => {
    await browser?.dispose();
    await stack?.stop();
    await llm?.close();
    rmSync(projectDir, { recursive: true, force: true });
    rmSync(tasksProjectDir, { recursive: true, force: true });
  }, 60_000);

  test('/dashboard serves the application; an unknown asset is a 404, the API is untouched', async () => {
    const res = await fetch(`${stack.url}/dashboard`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/dashboard/');
    const index = await fetch(`${stack.url}/dashboard/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toContain('text/html');
    expect(index.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await index.text()).toContain('<div id="root">');
    expect((await fetch(`${stack.url}/dashboard/assets/nope.js`)).status).toBe(404);
    expect((await fetch(`${stack.url}/dashboard/..%2f..%2fpackage.json`)).status).not.toBe(200);
  });

  test('open the dashboard and create a session on a folder with limits', async () => {
    await page.goto(`${stack.url}/dashboard`);
    await page.getByRole('heading', { name: 'Sessions' }).waitFor();
    await page.locator('[data-testid=link-state][data-state=connected]').waitFor();
    await page.getByRole('button', { name: 'New session' }).click();
    await page.getByText('Folder', { exact: true }).click();
    await page.getByLabel('Folder on the server').fill(projectDir);
    await page.getByLabel('Memory (MiB)').fill('256');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.waitForURL(/#\/sessions\/ses_[^/]+$/, { timeout: 60_000 });
    sessionId = /#\/sessions\/(ses_[^/]+)/.exec(page.url())![1]!;
    const s = await ok('GET', `/api/v1/sessions/${sessionId}`);
    expect(s).toMatchObject({ status: expect.stringMatching(/ready|idle|busy/), sandbox: { memoryMb: 256 }, source: { kind: 'path', path: projectDir } });
  }, 90_000);

  test('type in the terminal and see the output; run a command and see it in the log with its exit code', async () => {
    await page.locator('[data-testid=session-status][data-status=ready], [data-testid=session-status][data-status=idle]').first().waitFor();
    // The PTY opens when the page sizes it; its shell's prompt says it listens.
    await waitFor('the shell prompt in the terminal', async () => (await terminalText(page)).includes('$'), { timeoutMs: 30_000, intervalMs: 100 });
    await page.locator('[data-testid=terminal]').click();
    await page.keyboard.type('echo pty-$((6*7))\n');
    await waitFor('the terminal to show pty-42', async () => (await terminalText(page)).includes('pty-42'), { timeoutMs: 30_000, intervalMs: 100 });

    await page.getByLabel('command to run').fill('cat README.md; echo log-$((6*7)); echo oops >&2; exit 3');
    await page.getByLabel('command to run').press('Enter');
    const entry = page.locator('[data-testid=command-entry]', { hasText: 'log-42' });
    await entry.getByTestId('exit-code').filter({ hasText: 'exit 3' }).waitFor();
    expect(await entry.locator('[data-testid=command-output]').innerText()).toBe('# dashboard demo\nlog-42\noops\n');
    await shot(page, 'session-dark');
  }, 60_000);

  test('a command run elsewhere (REST) shows up live; after a reload the log is replayed, each command once', async () => {
    await ok('POST', `/api/v1/sessions/${sessionId}/exec`, { command: 'echo from-rest' });
    await page.locator('[data-testid=command-entry]', { hasText: 'from-rest' }).getByTestId('exit-code').filter({ hasText: 'exit 0' }).waitFor();

    await page.reload();
    const { lastSeq } = await ok('GET', `/api/v1/sessions/${sessionId}`);
    await waitFor('the page to replay the whole log', async () => Number(await page.locator('[data-last-seq]').getAttribute('data-last-seq')) >= lastSeq, { timeoutMs: 30_000, intervalMs: 100 });
    const entries = page.locator('[data-testid=command-entry]');
    expect(await entries.count()).toBe(2);
    expect(await page.locator('[data-testid=command-entry]', { hasText: 'log-42' }).count()).toBe(1);
    expect(await page.locator('[data-testid=command-entry]', { hasText: 'log-42' }).getByTestId('exit-code').innerText()).toMatch(/exit 3/i);
    // The terminal's screen comes back from the same log.
    await waitFor('the replayed terminal to show pty-42', async () => (await terminalText(page)).includes('pty-42'), { timeoutMs: 15_000, intervalMs: 100 });
  }, 60_000);

  test('a dropped connection says so and recovers by itself, missing nothing', async () => {
    await browser.context.setOffline(true);
    await page.locator('[data-testid=link-state][data-state=reconnecting]').waitFor();
    await ok('POST', `/api/v1/sessions/${sessionId}/exec`, { command: 'echo while-offline' });
    await browser.context.setOffline(false);
    await page.locator('[data-testid=link-state][data-state=connected]').waitFor({ timeout: 30_000 });
    await page.locator('[data-testid=command-entry]', { hasText: 'while-offline' }).getByTestId('exit-code').filter({ hasText: 'exit 0' }).waitFor();
    expect(await page.locator('[data-testid=command-entry]').count()).toBe(3);
  }, 60_000);

  test('open a file, edit it, save it; the API reads the new text', async () => {
    await page.getByRole('tab', { name: 'Files' }).click();
    await page.locator('[data-path="README.md"]').click();
    const editor = page.getByLabel('contents of README.md');
    await waitFor('the editor to show README.md', async () => (await editor.inputValue()) === '# dashboard demo\n', { timeoutMs: 15_000, intervalMs: 100 });
    await editor.fill('# dashboard demo\n\nedited in the browser\n');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved README.md').waitFor();
    const file = await ok('GET', `/api/v1/sessions/${sessionId}/files?path=README.md`);
    expect(file).toMatchObject({ type: 'file', content: '# dashboard demo\n\nedited in the browser\n' });
    await page.locator('[data-path="src"]').click();
    await page.locator('[data-path="src/main.sh"]').waitFor();
    await shot(page, 'files-dark');
  }, 60_000);

  test('the Diff tab shows what changed since the session started, file by file; the route answers problems', async () => {
    await ok('PUT', `/api/v1/sessions/${sessionId}/files?path=notes.txt`, { content: 'a new note\n' });
    await ok('POST', `/api/v1/sessions/${sessionId}/exec`, { command: 'rm src/main.sh' });
    await page.getByRole('tab', { name: 'Diff' }).click();
    const file = (p: string) => page.locator(`[data-testid=diff-file][data-path="${p}"]`);
    await file('README.md').waitFor();
    expect(await file('README.md').getAttribute('data-change')).toBe('changed');
    expect(await file('notes.txt').getAttribute('data-change')).toBe('added');
    expect(await file('src/main.sh').getAttribute('data-change')).toBe('removed');
    expect(await file('README.md').getByTestId('diff-text').innerText()).toContain('+edited in the browser');
    expect(await file('src/main.sh').getByTestId('diff-text').innerText()).toContain('-echo from-main');
    expect(await page.getByTestId('diff-summary').innerText()).toMatch(/1 added.*1 changed.*1 removed/is);
    await shot(page, 'diff-dark');

    const diff = await ok('GET', `/api/v1/sessions/${sessionId}/diff`);
    expect(diff).toMatchObject({ sessionId, from: 'start', added: ['notes.txt'], changed: ['README.md'], removed: ['src/main.sh'], truncated: false });
    // A snapshot taken now: nothing changed since it. Another session's (or no) snapshot is a 404.
    const snap = await ok('POST', `/api/v1/sessions/${sessionId}/snapshots`, { label: 'after-edits' });
    expect(await ok('GET', `/api/v1/sessions/${sessionId}/diff?from=${snap.snapshotId}`)).toMatchObject({ added: [], changed: [], removed: [], patch: '' });
    const missing = await fetch(`${stack.url}/api/v1/sessions/${sessionId}/diff?from=snap_nope`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toContain('application/problem+json');
    expect(((await missing.json()) as Rec).detail).toContain('snap_nope');
    expect((await call('GET', '/api/v1/sessions/ses_nope/diff')).status).toBe(404);
    // The page offers the snapshot as a starting point.
    await page.reload();
    await page.getByRole('combobox', { name: 'diff from' }).click();
    await page.getByRole('option', { name: /after-edits/ }).click();
    await page.getByText('No changes since that snapshot.').waitFor();
  }, 60_000);

  test('/code from the page: the streamed text, the tool call and the command it ran appear; Usage counts its tokens and shows its response times', async () => {
    await ok('PUT', '/api/v1/providers/openai', { baseURL: llm.openaiBaseURL, apiKey: 'sk-e2e-dashboard' });
    await ok('PUT', '/api/v1/agents/coding', { config: { provider: 'openai', model: 'gpt-4.1', fallbacks: [] } });
    llm.push(
      { toolCalls: [{ name: 'run_command', args: { command: 'echo agent-$((6*7))' } }], usage: { inputTokens: 1234, outputTokens: 56 } },
      { text: 'The check printed agent-42, all good.', usage: { inputTokens: 1300, outputTokens: 9 } },
    );
    await page.getByRole('tab', { name: 'Agents' }).click();
    await page.getByLabel('message to the agents').fill('/code run the check');
    await page.getByRole('button', { name: 'Send' }).click();
    const run = page.locator('[data-testid=agent-run]', { hasText: 'run the check' });
    await run.waitFor();
    await run.getByText('The check printed agent-42, all good.').waitFor({ timeout: 60_000 });
    await page.locator('[data-testid=agent-run][data-status=completed]', { hasText: 'run the check' }).waitFor({ timeout: 60_000 });
    const step = run.getByTestId('agent-step').first();
    expect(await step.innerText()).toMatch(/\[coding\] run_command .*echo agent-\$\(\(6\*7\)\)/);
    expect(await step.innerText()).toContain('openai/gpt-4.1, 1234 in, 56 out');
    expect(await run.innerText()).toContain('2534 in, 65 out');
    // The model asked with its own words, not the page's /code prefix; the command really ran in the jail.
    expect(JSON.stringify(llm.requests.at(0)?.body)).toContain('run the check');
    expect(JSON.stringify(llm.requests.at(-1)?.body)).toContain('agent-42');
    await shot(page, 'agents-dark');
    await page.getByRole('tab', { name: 'Terminal' }).click();
    await page.locator('[data-testid=command-entry]', { hasText: 'agent-42' }).getByTestId('exit-code').filter({ hasText: 'exit 0' }).waitFor();

    await page.getByRole('link', { name: 'Usage' }).click();
    await page.getByRole('heading', { name: 'Usage', level: 2 }).waitFor();
    const usageRow = page.getByRole('table', { name: 'usage by group' }).getByRole('row', { name: /gpt-4\.1/ });
    await waitFor('the usage table to count the run', async () => (await usageRow.count()) > 0 && /2,534/.test(await usageRow.innerText()), { timeoutMs: 30_000, intervalMs: 250 });
    expect(await usageRow.innerText()).toMatch(/2\s+2,534\s+65/);
    expect(await page.getByTestId('usage-chart').locator('.recharts-bar-rectangle').count()).toBeGreaterThan(0);
    // The legend names the model (a dotted name is not read as a path).
    expect(await page.getByTestId('usage-chart').innerText()).toContain('gpt-4.1');
    // Response times: the run's two model calls, timed by the orchestrator, with the figures the API reports.
    const latency = (await ok('GET', '/api/v1/analytics/latency?groupBy=provider,model')) as Rec;
    const gpt = (latency.llm as Rec[]).find((r) => r.provider === 'openai' && r.model === 'gpt-4.1');
    expect(gpt).toMatchObject({ count: 2, firstToken: { count: 2 } });
    expect(gpt!.p50Ms as number).toBeGreaterThan(0);
    expect(gpt!.p50Ms as number).toBeLessThanOrEqual(gpt!.p95Ms as number);
    expect((latency.commands as Rec).count as number).toBeGreaterThan(0);
    const times = page.getByTestId('response-times');
    const gptRow = times.getByTestId('latency-row').filter({ hasText: 'openai / gpt-4.1' });
    await waitFor('the response times to show the run', async () => (await gptRow.count()) > 0 && (await gptRow.innerText()).includes(formatMs(gpt!.p95Ms as number)), { timeoutMs: 30_000, intervalMs: 250 });
    expect(await gptRow.innerText()).toMatch(new RegExp(`^openai / gpt-4\\.1\\s+2\\s+${formatMs(gpt!.p50Ms as number)}\\s+${formatMs(gpt!.p95Ms as number)}`));
    expect(await times.getByTestId('latency-commands').innerText()).toMatch(/shell commands\s+\d+\s+\d+(\.\d+)? m?s/);
    await shot(page, 'usage-dark');
    await times.getByText('by role', { exact: true }).click();
    await times.getByTestId('latency-row').filter({ hasText: 'coding' }).waitFor();
    await page.getByRole('link', { name: 'Sessions' }).first().click();
    await page.locator(`[data-session-id="${sessionId}"] a`).click();
  }, 120_000);

  test('a task written into a project\'s docs/TASKS.md appears on the board', async () => {
    const project = await ok('POST', '/api/v1/projects', { name: 'dash-tasks', source: { path: tasksProjectDir } });
    expect(project.id).toBeDefined();
    await page.getByRole('link', { name: 'Tasks' }).click();
    await page.getByRole('heading', { name: 'Tasks', level: 2 }).waitFor();
    mkdirSync(path.join(tasksProjectDir, 'docs'), { recursive: true });
    writeFileSync(path.join(tasksProjectDir, 'docs', 'TASKS.md'), '# Tasks\n\n- [ ] Ship the diff view (owner: local)\n- [x] Write the browser test\n');
    await page.getByTestId('column-todo').getByText('Ship the diff view').waitFor({ timeout: 30_000 });
    await page.getByTestId('column-done').getByText('Write the browser test').waitFor({ timeout: 30_000 });
    await page.getByRole('link', { name: 'Sessions' }).first().click();
    await page.locator(`[data-session-id="${sessionId}"] a`).click();
    await page.getByRole('tab', { name: 'Terminal' }).waitFor();
  }, 60_000);

  test('light theme; the other pages render', async () => {
    await page.getByRole('button', { name: 'switch to light theme' }).click();
    await page.getByRole('tab', { name: 'Terminal' }).click();
    await page.locator('[data-testid=command-entry]').first().waitFor();
    await shot(page, 'session-light');
    for (const [name, heading] of [['tasks', 'Tasks'], ['usage', 'Usage'], ['agents', 'Agents & providers'], ['projects', 'Projects & chat']] as const) {
      await page.getByRole('link', { name: heading }).click();
      await page.getByRole('heading', { name: heading, level: 2 }).waitFor();
      if (name === 'tasks') {
        await page.getByLabel('New task').fill('Write the dashboard docs');
        await page.getByRole('button', { name: 'Add' }).click();
        await page.getByTestId('column-todo').getByText('Write the dashboard docs').waitFor();
      }
      await shot(page, `${name}-light`);
    }
    await page.getByRole('button', { name: 'switch to dark theme' }).click();
    await page.getByRole('link', { name: 'Sessions' }).click();
    await page.locator(`[data-session-id="${sessionId}"]`).waitFor();
    await shot(page, 'sessions-dark');
    // Phone width: the navigation folds behind a menu button.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole('button', { name: 'menu' }).waitFor();
    await shot(page, 'sessions-phone-dark');
    await page.setViewportSize({ width: 1280, height: 800 });
  }, 60_000);

  test('close the session from its page; the list follows without a reload', async () => {
    await page.locator(`[data-session-id="${sessionId}"] a`).click();
    await page.getByRole('button', { name: 'Close session' }).click();
    await page.locator('[data-testid=session-status][data-status=closed]').waitFor({ timeout: 30_000 });
    expect((await ok('GET', `/api/v1/sessions/${sessionId}`)).status).toBe('closed');
    await page.getByRole('link', { name: 'Sessions' }).first().click();
    await page.getByRole('heading', { name: 'Sessions' }).waitFor();
    await waitFor('the closed session to leave the list of open ones', async () => (await page.locator(`[data-session-id="${sessionId}"]`).count()) === 0, { timeoutMs: 15_000, intervalMs: 100 });
  }, 60_000);
});

describe('the dashboard in a browser (team mode)', () => {
  let stack: Stack;
  let browser: Awaited<ReturnType<typeof openBrowser>>;

  beforeAll(async () => {
    stack = await startStack({ label: 'e2e-dashboard-team', env: { GATEWAY_AUTH_MODE: 'team', GATEWAY_JWT_SECRET: 'd'.repeat(40) } });
    browser = await openBrowser();
  }, 180_000);

  afterAll(async () => {
    await browser?.dispose();
    await stack?.stop();
  }, 60_000);

  test('the page asks for a login; a wrong key is refused with the reason, an API key works (REST and Socket.IO)', async () => {
    const made = createUser(stack, 'alice');
    const page = browser.page;
    await page.goto(`${stack.url}/dashboard/`);
    await page.getByRole('form', { name: 'log in' }).waitFor();
    await shot(page, 'login-dark');
    await page.getByPlaceholder('paste your API key').fill('not-a-key');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').innerText()).toMatch(/Not logged in/);

    await page.getByPlaceholder('paste your API key').fill(String(made.apiKey));
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Sessions' }).waitFor();
    expect(await page.getByTestId('who').innerText()).toContain(String(made.user.id));
    expect(await page.getByTestId('who').innerText()).toContain('member');
    await page.locator('[data-testid=link-state][data-state=connected]').waitFor();
    // The key itself is not kept by the page: only the tokens it was traded for.
    const stored = await page.evaluate("JSON.stringify(localStorage)");
    expect(stored).not.toContain(String(made.apiKey));
    // A reload stays logged in.
    await page.reload();
    await page.getByRole('heading', { name: 'Sessions' }).waitFor();
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('form', { name: 'log in' }).waitFor();
  }, 60_000);
});
