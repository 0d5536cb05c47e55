import { startStack, waitFor, type Stack } from '@codeagent/testing';
import { api, closeSession, ok, openSession, type Rec } from './bench/client';

// The warm pool (issue 18), every service a real process and every jail real: the orchestrator holds
// two ready sessions made ahead. A create that asks for an empty workspace in the default sandbox is
// given one of them; two sessions given from the pool share nothing (files, /tmp, processes,
// environment); the pool stays out of lists and limits and refills behind what it gave.
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ label: 'e2e-pool', env: { ORCHESTRATOR_POOL_SIZE: '2', ORCHESTRATOR_MAX_SESSIONS: '2', LOG_LEVEL: 'info' } });
}, 180_000);

afterAll(async () => {
  await stack?.stop();
}, 60_000);

/** The orchestrator's pool figures from its /metrics: sessions held, and creates served from it. */
async function pool(): Promise<{ ready: number; hits: number }> {
  const text = await (await fetch(`http://127.0.0.1:${stack.opsPort('orchestrator')}/metrics`)).text();
  const value = (re: RegExp) => Number(text.match(re)?.[1] ?? 0);
  return { ready: value(/^orchestrator_session_pool_ready\{[^}]*\} (\d+)/m), hits: value(/^orchestrator_session_pool_takes_total\{[^}]*outcome="hit"[^}]*\} (\d+)/m) };
}

const run = async (id: string, command: string) => (await ok(stack.url, 'POST', `/api/v1/sessions/${id}/exec`, { command })) as Rec;
/** When the session's log began: before the create was asked for, if the pool made it. */
const firstEventAt = async (id: string) => Date.parse((await ok(stack.url, 'GET', `/api/v1/sessions/${id}/events?since=0`)).events[0].at);

test('two sessions given from the pool share nothing, and the pool stays out of lists and limits and refills', async () => {
  await waitFor('the pool to hold two sessions', async () => (await pool()).ready === 2, { timeoutMs: 60_000 });
  // Held by nobody: no list shows them, not even the whole platform's.
  expect((await ok(stack.url, 'GET', '/api/v1/sessions')).sessions).toEqual([]);

  const asked = Date.now();
  const a = await openSession(stack.url);
  const b = await openSession(stack.url);
  expect([a.status, b.status]).toEqual(['ready', 'ready']);
  expect((await pool()).hits).toBe(2);
  // Made before they were asked for, and theirs from the moment they were given.
  expect(await firstEventAt(a.id)).toBeLessThan(asked);
  expect(await firstEventAt(b.id)).toBeLessThan(asked);
  expect(Date.parse(a.createdAt)).toBeGreaterThanOrEqual(asked);

  // A leaves files, a variable and a process behind; B sees none of them.
  await run(a.id, 'echo from-a > /tmp/a-was-here && echo from-a > in-workspace && export LEFT_BY_A=1 && (sleep 300 &)');
  expect((await run(a.id, 'cat /tmp/a-was-here in-workspace; echo ${LEFT_BY_A:-unset}; pgrep -c sleep')).stdout).toBe('from-a\nfrom-a\n1\n1\n');
  const seen = await run(b.id, 'ls -A /tmp; echo --; ls -A; echo --; echo ${LEFT_BY_A:-unset}; pgrep -c sleep || true');
  expect(seen.stdout).toBe('--\n--\nunset\n0\n');

  // The limit (2) counts the two given sessions, not the two the pool made again behind them.
  await waitFor('the pool to refill', async () => (await pool()).ready === 2, { timeoutMs: 60_000 });
  const third = await api(stack.url, 'POST', '/api/v1/sessions', { source: { kind: 'empty' } });
  expect(third.status).toBe(429);
  expect(third.body.code).toBe('LIMIT_REACHED');
  expect((await pool()).ready).toBe(2);
  expect((await ok(stack.url, 'GET', '/api/v1/sessions')).sessions.map((s: Rec) => s.id).sort()).toEqual([a.id, b.id].sort());

  await closeSession(stack.url, a.id);
  // A create with its own environment is set up for it, not taken from the pool.
  const own = await openSession(stack.url, { env: { MINE: 'yes' } });
  expect(await firstEventAt(own.id)).toBeGreaterThanOrEqual(Date.parse(own.createdAt) - 5);
  expect((await run(own.id, 'echo $MINE')).stdout).toBe('yes\n');
  expect((await pool()).hits).toBe(2);
  await closeSession(stack.url, b.id);
  await closeSession(stack.url, own.id);
}, 180_000);

test('a restarted orchestrator finds the sessions it pooled and gives them out', async () => {
  await waitFor('the pool to hold two sessions', async () => (await pool()).ready === 2, { timeoutMs: 60_000 });
  expect(await stack.procs.get('orchestrator')!.stop('SIGTERM', 30_000)).toBe(0);
  const restartedAt = Date.now();
  await stack.startReplica('orchestrator', 'orchestrator');
  await waitFor('the orchestrator to answer again', async () => (await api(stack.url, 'GET', '/health')).status === 200, { timeoutMs: 60_000 });
  await waitFor('the pool to hold two sessions again', async () => (await pool().catch(() => ({ ready: -1 }))).ready === 2, { timeoutMs: 60_000 });
  const s = await openSession(stack.url);
  expect((await pool()).hits).toBe(1);
  // Made before the restart: found again, not made anew.
  expect(await firstEventAt(s.id)).toBeLessThan(restartedAt);
  expect((await run(s.id, 'echo $((6 * 7))')).stdout).toBe('42\n');
  await closeSession(stack.url, s.id);
}, 180_000);
