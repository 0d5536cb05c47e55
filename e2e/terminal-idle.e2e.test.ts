import { startStack, waitFor, type Stack } from '@codeagent/testing';
import { ok, openSession, SocketClient, type ServerMessage } from './bench/client';

// Terminal input goes from the gateway straight to the jail's shell replica (issue 17); the orchestrator
// no longer sees keystrokes, so it learns of them from the shell's coalesced `shell.terminal.active`.
// The whole stack (real broker, real bubblewrap jails), with a short idle timeout.

const IDLE_MS = 4_000;

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ label: 'e2e-terminal-idle', env: { ORCHESTRATOR_SESSION_IDLE_MS: String(IDLE_MS), SHELL_TERMINAL_ACTIVITY_MS: '500' } });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

const statusOf = async (id: string) => (await ok(stack.url, 'GET', `/api/v1/sessions/${id}`)) as { status: string; closeReason?: string };

test('a session whose terminal is typed in is not closed as idle, one left alone is; the keystrokes reach the PTY', async () => {
  const typed = String((await openSession(stack.url)).id);
  const quiet = String((await openSession(stack.url)).id);
  const c = new SocketClient(stack.url);
  let pty = '';
  c.onMessage((m: ServerMessage) => {
    if (m.type === 'stream' && m.payload.sessionId === typed && m.payload.stream === 'pty') pty += m.payload.data;
  });
  try {
    await c.connected();
    await c.command('/subscribe', [], { sessionId: typed });
    // Someone types in `typed` every 300 ms until `quiet` has been closed as idle and twice the idle
    // timeout has passed: `typed` must stay open all along.
    const started = Date.now();
    let n = 0;
    let quietNow = await statusOf(quiet);
    while (quietNow.status !== 'closed' || Date.now() - started < 2 * IDLE_MS) {
      if (Date.now() - started > 60_000) throw new Error(`the quiet session was not closed as idle: ${JSON.stringify(quietNow)}`);
      await c.command('/input', [`echo tick-${++n}\r`], { sessionId: typed });
      expect((await statusOf(typed)).status).not.toMatch(/closing|closed/);
      await new Promise((r) => setTimeout(r, 300));
      quietNow = await statusOf(quiet);
    }
    expect(quietNow.closeReason).toBe(`idle for more than ${IDLE_MS / 1000} s`);
    await waitFor('the last keystrokes in the terminal', () => pty.includes(`tick-${n}`), { timeoutMs: 10_000 });

    // Left alone, it is closed as idle too.
    await waitFor('the typed session to close once nobody types', async () => (await statusOf(typed)).status === 'closed', { timeoutMs: 30_000, intervalMs: 250 });
    expect((await statusOf(typed)).closeReason).toBe(`idle for more than ${IDLE_MS / 1000} s`);
  } finally {
    c.close();
  }
}, 120_000);
