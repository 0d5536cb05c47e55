import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startStack, type Stack } from '@codeagent/testing';
import { ok, openSession } from './bench/client';
import { CODEAGENT_BIN } from './cli-runner';

// `codeagent run` of a command printing 100 MB, through the real CLI binary against the whole stack:
// its stdout is the command's output byte for byte, and it exits with the command's status, also when
// the CLI stops reading for a while. A CLI that fell behind used to be dropped by the gateway, and on
// resuming was dropped again after one event each time (a replayed page was sent at once, past the
// socket's bound): it reconnected in a loop and never finished.

jest.setTimeout(120_000);

/** A stopped client that catches up within this is served at its pace; past it, it is dropped and resumes. */
const DRAIN_TIMEOUT_MS = 3_000;
const BYTES = 100_000_000;

let stack: Stack;
let home: string;
let sessionId: string;
let expectedSha: string;

beforeAll(async () => {
  stack = await startStack({ label: 'e2e-cli-output', env: { GATEWAY_SOCKET_DRAIN_TIMEOUT_MS: String(DRAIN_TIMEOUT_MS) } });
  home = mkdtempSync(path.join(tmpdir(), 'cli-output-home-'));
  sessionId = String((await openSession(stack.url)).id);
  // Random lines, so a lost, doubled or reordered chunk changes the digest.
  const made = await ok(stack.url, 'POST', `/api/v1/sessions/${sessionId}/exec`, {
    command: `head -c ${BYTES} /dev/urandom | base64 -w 100 | head -c ${BYTES} > /workspace/big.txt && sha256sum < /workspace/big.txt`,
    timeoutMs: 60_000,
  });
  expect(made.exitCode).toBe(0);
  expectedSha = String(made.stdout).split(' ')[0]!;
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  rmSync(home, { recursive: true, force: true });
});

/**
 * Runs `codeagent run <session> -- cat /workspace/big.txt`, hashing its stdout as it comes; once 20 MB
 * have arrived, the CLI is stopped (SIGSTOP) for `stallMs`, as a terminal or machine that stops reading.
 */
async function catThroughCli(stallMs: number): Promise<{ code: number | null; sha: string; bytes: number; stderr: string }> {
  const child = spawn(process.execPath, [CODEAGENT_BIN, 'run', sessionId, '--', 'cat /workspace/big.txt'], {
    env: { ...process.env, NO_COLOR: '1', CODEAGENT_URL: stack.url, CODEAGENT_HOME: home },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const hash = createHash('sha256');
  let bytes = 0;
  let stderr = '';
  let stalled = false;
  child.stdout.on('data', (d: Buffer) => {
    hash.update(d);
    bytes += d.length;
    if (!stalled && bytes > 20_000_000) {
      stalled = true;
      child.kill('SIGSTOP');
      setTimeout(() => child.kill('SIGCONT'), stallMs);
    }
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, sha: hash.digest('hex'), bytes, stderr };
}

test('a CLI that stops reading for a moment is served at its pace: 100 MB byte-exact, exit 0, no reconnect', async () => {
  const r = await catThroughCli(500);
  expect({ code: r.code, bytes: r.bytes, stderr: r.stderr }).toEqual({ code: 0, bytes: BYTES, stderr: '' });
  expect(r.sha).toBe(expectedSha);
});

test('a CLI that stops reading past the drain timeout is dropped, resumes from its last seq and finishes byte-exact', async () => {
  const r = await catThroughCli(DRAIN_TIMEOUT_MS + 2_000);
  expect(r.code).toBe(0);
  expect(r.bytes).toBe(BYTES);
  expect(r.sha).toBe(expectedSha);
  // Dropped once, resumed once: not a loop.
  expect(r.stderr.match(/codeagent: reconnected; resuming after event \d+/g)).toHaveLength(1);
  // The gateway says why before it cuts the connection, and the CLI passes that on.
  expect(r.stderr).toMatch(new RegExp(`codeagent: the client did not read for ${DRAIN_TIMEOUT_MS} ms; reconnect and /subscribe with since=\\d+\ncodeagent: reconnected`));
});
