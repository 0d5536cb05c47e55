import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createUser, freePort, spawnTs, startFakeLlm, startStack, waitFor, type FakeLlm, type Stack } from '@codeagent/testing';
import { cli, startCli } from './cli-runner';
import { callAs, ciSocket } from './team';

// Seed 004's "forward a CI to a terminal" (issue 21), every service a real process on a team-mode
// platform: `codeagent project-chat <project> --answer`, the real CLI binary driven through its stdin
// and stdout, answers the project's CI socket instead of the model. A TCP client's question shows in
// the CLI and the typed line is its answer; a second --answer is refused with 409 (exit 6); a member who
// may not see the project cannot claim it; once the CLI exits, or is killed, the (fake, local HTTP) model
// answers again; when the gateway holding the CLI's stream is killed, project-ci's lease ends the claim.
type Rec = Record<string, any>;
let stack: Stack;
let llm: FakeLlm;
let dir: string;
let home: string;
const keys: Record<string, string> = {};
const MODEL_SAYS = 'hello from the project model';
const LEASE_MS = 3_000;

const api = (who: string, method: string, url: string, body?: unknown) => callAs(stack.url, who, keys[who], method, url, body);


const cliEnv = (who: string, url = stack.url) => ({ CODEAGENT_HOME: home, CODEAGENT_URL: url, CODEAGENT_TOKEN: keys[who]! });

/** `codeagent project-chat <project> --answer`, once it holds the claim. */
async function answering(who: string, project: string, flags: string[] = [], url = stack.url) {
  const c = startCli([...flags, 'project-chat', project, '--answer'], cliEnv(who, url), { interactive: true });
  const holds = () => (flags.includes('--json') ? c.stdout().includes('"claimed"') : c.stderr().includes('instead of its model'));
  await waitFor(`${who}'s CLI to hold ${project}'s chat`, () => holds() || c.child.exitCode !== null, { timeoutMs: 20_000 });
  if (c.child.exitCode !== null) throw new Error(`project-chat --answer exited ${c.child.exitCode}: ${c.stderr()}`);
  return c;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'chat-answer-project-'));
  home = mkdtempSync(path.join(tmpdir(), 'chat-answer-home-'));
  llm = await startFakeLlm({ fallbackTurn: { text: MODEL_SAYS, usage: { inputTokens: 10, outputTokens: 5 } } });
  stack = await startStack({
    label: 'e2e-chat-answer',
    env: {
      GATEWAY_AUTH_MODE: 'team',
      GATEWAY_JWT_SECRET: 'd'.repeat(40),
      GATEWAY_RATE_LIMIT_PER_MINUTE: '100000',
      PROJECT_CI_AUTH: 'team',
      PROJECT_CI_DEFAULT_PROVIDER: 'fake',
      PROJECT_CI_DEFAULT_MODEL: 'fake-model',
      PROJECT_CI_ANSWERER_LEASE_MS: String(LEASE_MS),
    },
  });
  keys.root = createUser(stack, 'root', 'admin').apiKey;
  await api('root', 'PUT', '/api/v1/providers/fake', { kind: 'openai-compatible', baseURL: llm.openaiBaseURL, models: ['fake-model'] });
  for (const name of ['ana', 'ben']) {
    const u = await api('root', 'POST', '/api/v1/users', { name, role: 'member' });
    keys[name] = (await api('root', 'POST', `/api/v1/users/${u.id}/api-keys`, { label: 'e2e' })).key;
  }
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  await llm?.close();
  rmSync(dir, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
}, 60_000);

test('a person answers the project socket from the CLI until they exit; a second claim is a conflict; then the model answers again', async () => {
  const project = await api('ana', 'POST', '/api/v1/projects', { name: 'anas-desk', source: { path: dir } });
  const client = await ciSocket(project.socketPort as number);
  expect((await client.ask({ auth: keys.ana })).authenticated).toBe(true);

  // Ben may not see ana's private project: he cannot answer it either (404, exit 3), as over REST.
  const ben = await cli(['project-chat', 'anas-desk', '--answer'], cliEnv('ben'));
  expect(ben.code).toBe(3);
  expect(ben.stderr).toMatch(/not found|no project/i);

  const desk = await answering('ana', 'anas-desk');
  const modelCalls = llm.requests.length;

  // The question shows in the CLI; the line typed there is what the TCP client gets back.
  client.send({ content: 'how is the build?', id: 7 });
  await waitFor('the question in the CLI', () => desk.stdout().includes('? how is the build?'), { timeoutMs: 20_000 });
  desk.child.stdin!.write('green: 42 tests pass\n');
  expect(await client.next()).toEqual({ content: 'green: 42 tests pass', project: 'anas-desk', id: 7 });
  expect(llm.requests.length).toBe(modelCalls);

  // One answerer per project: a second --answer (even the admin's) is refused clearly while ana holds it.
  const second = await cli(['project-chat', 'anas-desk', '--answer'], cliEnv('root'));
  expect(second.code).toBe(6);
  expect(second.stderr).toMatch(/already answered by someone else/);

  // Ctrl-D: the CLI gives the chat back and exits 0; the model answers the next question.
  desk.child.stdin!.end();
  expect((await desk.result).code).toBe(0);
  expect(await client.ask({ content: 'and now?' })).toEqual({ content: MODEL_SAYS, project: 'anas-desk' });
  // The person's answer joined the project's conversation: the model gets it as context.
  expect(JSON.stringify(llm.requests.at(-1))).toContain('green: 42 tests pass');
  client.close();
}, 120_000);

test('a CLI that dies holding the chat leaves the project to the model within the lease', async () => {
  const project = await api('ana', 'POST', '/api/v1/projects', { name: 'anas-crash', source: { path: dir } });
  const client = await ciSocket(project.socketPort as number);
  expect((await client.ask({ auth: keys.ana })).authenticated).toBe(true);

  const desk = await answering('ana', 'anas-crash', ['--json']);
  await waitFor('the claimed line on stdout', () => desk.stdout().includes('\n'));
  expect(JSON.parse(desk.stdout().split('\n')[0]!)).toMatchObject({ type: 'claimed', project_name: 'anas-crash', socket_port: project.socketPort, lease_ms: LEASE_MS });

  // Answers that cannot be delivered are refused, saying why: no such claim, a question no longer
  // waiting, another user's claim.
  const claimId = (JSON.parse(desk.stdout().split('\n')[0]!) as Rec).claim_id as string;
  const answerAs = (who: string, claim: string, body: unknown) =>
    fetch(`${stack.url}/api/v1/projects/anas-crash/chat/answerer/${claim}/answers`, {
      method: 'POST',
      headers: { authorization: `Bearer ${keys[who]}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }).then(async (r) => [r.status, ((await r.json()) as Rec).code]);
  expect(await answerAs('ana', 'no-claim', { question_id: 'q', content: 'x' })).toEqual([404, 'NOT_FOUND']);
  expect(await answerAs('ana', claimId, { question_id: 'gone', content: 'x' })).toEqual([404, 'NOT_FOUND']);
  expect(await answerAs('ben', claimId, { question_id: 'gone', content: 'x' })).toEqual([403, 'FORBIDDEN']);
  expect(await answerAs('ana', claimId, { content: 'x' })).toEqual([400, 'VALIDATION_FAILED']);

  desk.child.kill('SIGKILL');
  await desk.result;
  const died = Date.now();
  // Asked right after the crash: answered by the model (a question already waiting for the dead holder
  // goes to the model when its claim ends), no later than the lease.
  expect(await client.ask({ content: 'anyone there?' })).toEqual({ content: MODEL_SAYS, project: 'anas-crash' });
  expect(Date.now() - died).toBeLessThan(LEASE_MS + 5_000);

  // The claim is gone: someone else may take the chat now.
  const again = await answering('root', 'anas-crash');
  again.child.stdin!.end();
  expect((await again.result).code).toBe(0);
  client.close();
}, 120_000);

test("a gateway that dies with the CLI's stream: project-ci's lease gives the chat back to the model", async () => {
  const port = await freePort();
  const gateway2 = spawnTs('services/gateway/src/main.ts', { ...stack.env, GATEWAY_PORT: String(port), GATEWAY_SSH_ENABLED: 'false', INSTANCE_ID: `gateway-2-${process.pid}` });
  const url2 = `http://127.0.0.1:${port}`;
  try {
    await waitFor('the second gateway to answer /health', async () => (await fetch(`${url2}/health`).catch(() => undefined))?.status === 200, { timeoutMs: 90_000, intervalMs: 250 });
    const project = await api('ana', 'POST', '/api/v1/projects', { name: 'anas-lease', source: { path: dir } });
    const client = await ciSocket(project.socketPort as number);
    expect((await client.ask({ auth: keys.ana })).authenticated).toBe(true);

    const desk = await answering('ana', 'anas-lease', [], url2);
    // The gateway holding the stream dies without a word: nobody releases the claim, its lease ends it.
    await gateway2.stop('SIGKILL');
    const died = Date.now();
    const lost = await desk.result;
    expect(lost.code).toBe(5);
    expect(lost.stderr).toContain('lost the gateway');
    expect(await client.ask({ content: 'anyone there?' })).toEqual({ content: MODEL_SAYS, project: 'anas-lease' });
    const waited = Date.now() - died;
    expect(waited).toBeGreaterThanOrEqual(LEASE_MS - 500);
    expect(waited).toBeLessThan(2 * LEASE_MS + 5_000);
    client.close();
  } finally {
    await gateway2.stop('SIGKILL');
  }
}, 150_000);
