import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startStack, waitFor, type Stack } from '@codeagent/testing';
import { io } from 'socket.io-client';
import { cli } from './cli-runner';

// Outside agents and SSH through the whole stack (every service a real process, local mode): a fake
// CLI agent started over REST runs in the session's jail under its supervisor and answers keys sent
// over REST; Debian's OpenSSH client logs in with a key registered through the API, runs a command
// in the jail and gets its exit code, uses sftp and scp inside the workspace and is refused outside it, and
// attaches to the agent's tmux in a terminal of its own (detaching leaves the agent running and the
// session's terminal as it was). A wrong key, an unknown session
// and an unknown agent are refused.
let stack: Stack;
let dir: string;
let keys: string;
let sshPort: number;
let sessionId: string;

const FAKE_AGENT = `#!/bin/sh
n=$(cat "$HOME/runs" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$HOME/runs"
echo "fake agent run $n"
if [ "$n" -le "\${CRASHES:-0}" ]; then exit 9; fi
while read -r line; do echo "answer: $line"; done
`;

async function api(method: string, url: string, body?: unknown) {
  const res = await fetch(stack.url + url, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: (await res.json().catch(() => undefined)) as any };
}

const sshArgs = (key: string) => ['-p', String(sshPort), '-i', key, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR'];
const ssh = (key: string, user: string, command: string) => spawnSync('ssh', [...sshArgs(key), `${user}@127.0.0.1`, command], { encoding: 'utf8', timeout: 60_000 });

/** An interactive `ssh -tt`: what it printed so far, and its stdin. */
function interactive(user: string) {
  const child = spawn('ssh', ['-tt', ...sshArgs(path.join(keys, 'good')), `${user}@127.0.0.1`], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (out += d.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { output: () => out, type: (s: string) => child.stdin.write(s), close: () => child.stdin.end(), exited, kill: () => child.kill() };
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ssh-e2e-project-'));
  writeFileSync(path.join(dir, 'agent.sh'), FAKE_AGENT);
  chmodSync(path.join(dir, 'agent.sh'), 0o755);
  keys = mkdtempSync(path.join(os.tmpdir(), 'ssh-e2e-keys-'));
  for (const k of ['good', 'wrong']) spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', k, '-f', path.join(keys, k)]);
  stack = await startStack({ label: 'e2e-ssh', env: { GATEWAY_SSH_PORT: '0', GATEWAY_SSH_AUTHORIZED_KEYS: path.join(keys, 'authorized_keys') } });
  sshPort = await waitFor('the SSH server listening', () => stack.sshPort()).catch((err: Error) => {
    throw new Error(`${err.message}; the gateway wrote: ${stack.procs.get('gateway')?.output().slice(-4000)}`);
  });
  const added = await api('POST', '/api/v1/users/me/ssh-keys', { name: 'laptop', publicKey: readFileSync(path.join(keys, 'good.pub'), 'utf8') });
  expect(added.status).toBe(201);
  expect(added.body.fingerprint).toBe(spawnSync('ssh-keygen', ['-lf', path.join(keys, 'good.pub')], { encoding: 'utf8' }).stdout.split(' ')[1]);
  const made = await api('POST', '/api/v1/sessions', { source: { path: dir } });
  expect(made.status).toBe(201);
  sessionId = made.body.id;
}, 180_000);

afterAll(async () => {
  if (sessionId) await api('DELETE', `/api/v1/sessions/${sessionId}`);
  await stack?.stop();
  for (const d of [dir, keys]) if (d) rmSync(d, { recursive: true, force: true });
}, 60_000);

describe('outside agents over REST', () => {
  test('a crashing agent is restarted, answers keys on its screen, and its env is never returned', async () => {
    const base = `/api/v1/sessions/${sessionId}/agents/external`;
    const started = await api('POST', base, { name: 'fake', command: '/workspace/agent.sh', env: { CRASHES: '1', API_KEY: 'sk-e2e-never-returned' }, restart: { maxFailures: 5, baseDelayMs: 200 } });
    expect(started.status).toBe(201);
    // Its first run crashes at once: by the reply it may already wait to restart.
    expect(started.body).toMatchObject({ name: 'fake', status: expect.stringMatching(/^(running|backoff)$/), envNames: ['API_KEY', 'CRASHES'] });
    await waitFor('the restart after the first crash', async () => (await api('GET', `${base}/fake`)).body.restarts === 1, { timeoutMs: 20_000 });
    const status = await api('GET', `${base}/fake`);
    expect(status.body).toMatchObject({ status: 'running', restarts: 1, lastExitCode: 9 });
    expect(JSON.stringify(status.body)).not.toContain('sk-e2e-never-returned');

    expect((await api('POST', `${base}/fake/keys`, { keys: 'over rest', enter: true })).status).toBe(200);
    await waitFor('the answer on screen', async () => ((await api('GET', `${base}/fake/screen?lines=20`)).body.text as string).includes('answer: over rest'), { timeoutMs: 10_000 });
    expect((await api('GET', base)).body.agents.map((a: { name: string }) => a.name)).toEqual(['fake']);
    // The supervisor's changes are in the session's log, as notes.
    const notes = ((await api('GET', `/api/v1/sessions/${sessionId}/events?limit=10000`)).body.events as Array<{ kind: string; data: any }>).filter((e) => e.kind === 'note' && e.data.externalAgent);
    expect(notes.map((e) => e.data.externalAgent.type)).toEqual(['started', 'exited', 'restarting', 'started']);
    expect(notes[1]!.data).toMatchObject({ message: 'outside agent fake crashed (exit 9, 1 straight failures)', externalAgent: { name: 'fake', exitCode: 9 } });
    expect((await api('GET', `${base}/nobody`)).status).toBe(404);
    expect((await api('POST', base, { name: 'Bad Name', command: 'x' })).status).toBe(400);
  }, 60_000);
});

describe('outside agents from the CLI', () => {
  test('codeagent agent start, send, screen, status, stop', async () => {
    const env = { CODEAGENT_URL: stack.url, CODEAGENT_HOME: keys };
    const started = await cli(['agent', 'start', sessionId, 'cli-agent', '--env', 'TOKEN=t0k', '--base-delay-ms', '100', '--', 'sh', '-c', 'echo "ready $TOKEN"; while read -r l; do echo "got $l"; done'], env);
    expect(started.code).toBe(0);
    expect(started.stdout).toContain('Started cli-agent');
    expect(started.stdout).not.toContain('t0k');
    expect((await cli(['agent', 'send', sessionId, 'cli-agent', '--enter', 'from', 'the', 'cli'], env)).code).toBe(0);
    await waitFor('the answer in the CLI screen', async () => (await cli(['agent', 'screen', sessionId, 'cli-agent', '--lines', '5'], env)).stdout.includes('got from the cli'), { timeoutMs: 10_000 });
    expect((await cli(['agent', 'screen', sessionId, 'cli-agent'], env)).stdout).toContain('ready t0k');
    const status = await cli(['--json', 'agent', 'status', sessionId, 'cli-agent'], env);
    expect(JSON.parse(status.stdout)).toMatchObject({ name: 'cli-agent', status: 'running', command: 'sh' });
    expect((await cli(['agent', 'stop', sessionId, 'cli-agent'], env)).stdout).toContain('Stopped cli-agent.');
    const gone = await cli(['agent', 'status', sessionId, 'nobody'], env);
    expect(gone.code).toBe(3);
  }, 60_000);
});

describe('outside agents over Socket.IO', () => {
  test('/agent-keys reaches the agent and /agent-screen shows its answer; a bad command is an error', async () => {
    const socket = io(`${stack.url}/v1`, { transports: ['websocket'], reconnection: false });
    const replies = new Map<string, any>();
    socket.on('message', (m: any) => m.type !== 'stream' && m.type !== 'status' && replies.set(m.id, m));
    await new Promise<void>((r) => socket.once('connect', () => r()));
    const send = async (command: string, payload: Record<string, unknown>) => {
      const id = `${command}-${Math.random().toString(36).slice(2)}`;
      socket.emit('message', { id, type: 'command', timestamp: new Date().toISOString(), payload: { command, context: { sessionId }, ...payload }, metadata: { version: '1', client: 'e2e' } });
      return waitFor(`the reply to ${command}`, () => replies.get(id), { timeoutMs: 10_000 });
    };
    try {
      expect((await send('/agent-keys', { args: ['fake', 'over socket'], enter: true })).payload).toEqual({ ok: true });
      await waitFor('the answer on the socket screen', async () => String((await send('/agent-screen', { args: ['fake'], lines: 10 })).payload.text).includes('answer: over socket'), { timeoutMs: 10_000 });
      expect((await send('/agent-status', { args: ['fake'] })).payload).toMatchObject({ name: 'fake', status: 'running' });
      expect(await send('/agent-keys', { args: ['fake'] })).toMatchObject({ type: 'error', payload: { code: 'VALIDATION_FAILED' } });
      expect(await send('/agent-status', { args: ['nobody'] })).toMatchObject({ type: 'error', payload: { code: 'NOT_FOUND' } });
    } finally {
      socket.disconnect();
    }
  }, 60_000);
});

describe('SSH into the session', () => {
  test('a command runs in the jail and its exit code comes back', () => {
    const r = ssh(path.join(keys, 'good'), sessionId, 'echo "in $(pwd)"; echo oops >&2; exit 7');
    expect(r.stdout).toContain('in /workspace');
    expect(r.stderr).toContain('oops');
    expect(r.status).toBe(7);
    // Output streams from the session's events: more than the reply holds (1 MiB) arrives whole, in order.
    const big = spawnSync('ssh', [...sshArgs(path.join(keys, 'good')), `${sessionId}@127.0.0.1`, 'seq 1 300000'], { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
    expect(big.status).toBe(0);
    const lines = big.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(300000);
    expect(lines[0]).toBe('1');
    expect(lines.at(-1)).toBe('300000');
  }, 60_000);

  test('a wrong key, an unknown session and a malformed user are refused', () => {
    for (const [key, user] of [
      ['wrong', sessionId],
      ['good', 'no-such-session'],
      ['good', `${sessionId}+Not+Valid`],
    ] as const) {
      const r = ssh(path.join(keys, key), user, 'true');
      expect(r.status).toBe(255);
      expect(r.stderr).toMatch(/Permission denied/);
    }
  }, 60_000);

  test('sftp puts and gets files in the workspace and is refused outside it', () => {
    const local = path.join(keys, 'up.txt');
    writeFileSync(local, 'sent by sftp\n');
    const batch = path.join(keys, 'batch');
    writeFileSync(batch, `put ${local} up.txt\nget up.txt ${path.join(keys, 'down.txt')}\nls\n`);
    const ok = spawnSync('sftp', [...sshArgs(path.join(keys, 'good')).map((a) => (a === '-p' ? '-P' : a)), '-b', batch, `${sessionId}@127.0.0.1`], { encoding: 'utf8', timeout: 60_000 });
    expect(ok.status).toBe(0);
    expect(readFileSync(path.join(keys, 'down.txt'), 'utf8')).toBe('sent by sftp\n');
    // The jail sees what sftp put.
    expect(ssh(path.join(keys, 'good'), sessionId, 'cat /workspace/up.txt').stdout).toBe('sent by sftp\n');
    for (const outside of ['get /etc/hostname', 'get ../../etc/passwd', 'put ' + local + ' /tmp/escape.txt']) {
      writeFileSync(batch, `${outside} ${outside.startsWith('get') ? path.join(keys, 'x') : ''}\n`);
      const refused = spawnSync('sftp', [...sshArgs(path.join(keys, 'good')).map((a) => (a === '-p' ? '-P' : a)), '-b', batch, `${sessionId}@127.0.0.1`], { encoding: 'utf8', timeout: 60_000 });
      // The client reports a refused lookup as "not found", a refused open as "Permission denied".
      expect(refused.status).toBe(1);
      expect(refused.stderr).toMatch(/Permission denied|not found/);
    }
    expect(existsSync(path.join(keys, 'x'))).toBe(false);
    expect(existsSync('/tmp/escape.txt')).toBe(false);
  }, 90_000);

  test('scp (the sftp protocol, its default) copies in and out of the workspace and is refused outside it; legacy scp -O is refused with a reason', () => {
    const scpArgs = sshArgs(path.join(keys, 'good')).map((a) => (a === '-p' ? '-P' : a));
    const scp = (...args: string[]) => spawnSync('scp', [...scpArgs, ...args], { encoding: 'utf8', timeout: 60_000 });
    const remote = (p: string) => `${sessionId}@127.0.0.1:${p}`;
    const local = path.join(keys, 'scp-up.txt');
    writeFileSync(local, 'sent by scp\n');
    // Relative remote paths start at /workspace, as in sftp.
    const put = scp(local, remote('scp-up.txt'));
    expect(put.stderr).toBe('');
    expect(put.status).toBe(0);
    expect(ssh(path.join(keys, 'good'), sessionId, 'cat /workspace/scp-up.txt').stdout).toBe('sent by scp\n');
    const got = scp(remote('/workspace/scp-up.txt'), path.join(keys, 'scp-down.txt'));
    expect(got.status).toBe(0);
    expect(readFileSync(path.join(keys, 'scp-down.txt'), 'utf8')).toBe('sent by scp\n');

    for (const [from, to] of [
      [remote('/etc/hostname'), path.join(keys, 'scp-x')],
      [remote('../../etc/passwd'), path.join(keys, 'scp-x')],
      [local, remote('/tmp/scp-escape.txt')],
      [local, remote('../scp-escape.txt')],
    ] as const) {
      const refused = scp(from, to);
      expect(refused.status).toBe(1);
      expect(refused.stderr).toMatch(/Permission denied|No such file/);
    }
    expect(existsSync(path.join(keys, 'scp-x'))).toBe(false);
    expect(existsSync('/tmp/scp-escape.txt')).toBe(false);

    // The legacy protocol (the server runs `scp -t`/`scp -f`) is not served, and says what to use instead.
    for (const args of [[local, remote('legacy.txt')], [remote('scp-up.txt'), path.join(keys, 'legacy-down.txt')]]) {
      const legacy = scp('-O', ...args);
      expect(legacy.status).toBe(1);
      expect(legacy.stderr).toContain("scp's legacy protocol (scp -O) is not served: use scp without -O");
    }
    expect(ssh(path.join(keys, 'good'), sessionId, 'ls /workspace').stdout.split('\n')).not.toContain('legacy.txt');
    expect(existsSync(path.join(keys, 'legacy-down.txt'))).toBe(false);
  }, 120_000);

  test('a login shell is the session terminal', async () => {
    const s = interactive(sessionId);
    s.type('echo $((6*7))x\r');
    await waitFor('the shell answering', () => s.output().includes('42x'), { timeoutMs: 20_000 });
    // Leaving the shell ends the login, with its exit code.
    s.type('exit 3\r');
    expect(await s.exited).toBe(3);
  }, 60_000);

  test('<sessionId>+<agent> attaches to the agent in a terminal of its own; detaching leaves it running and the session terminal untouched', async () => {
    // Someone works in the session's terminal meanwhile: a shell variable, and a program in the foreground.
    const term = interactive(sessionId);
    term.type('MARK=kept-$((40+2)); echo "set $MARK"\r');
    await waitFor('the session terminal', () => term.output().includes('set kept-42'), { timeoutMs: 20_000 });
    term.type('cat\r');
    const s = interactive(`${sessionId}+fake`);
    await waitFor('the agent screen', () => s.output().includes('fake agent run 2'), { timeoutMs: 20_000 }).catch((err: Error) => {
      throw new Error(`${err.message}; ssh printed: ${JSON.stringify(s.output().slice(-3000))}`);
    });
    s.type('through ssh\r');
    await waitFor('the answer through ssh', () => s.output().includes('answer: through ssh'), { timeoutMs: 10_000 });
    // Ctrl-b d detaches, which ends the login (as seed 001's ForceCommand tmux attach does).
    s.type('\u0002d');
    expect(await s.exited).toBe(0);
    expect(s.output()).toContain('[detached');
    // Nothing of the attach reached the session's terminal: its cat got no line, its shell is the same one.
    term.type('\u0004');
    term.type('echo "still $MARK"\r');
    await waitFor('the same shell after the attach', () => term.output().includes('still kept-42'), { timeoutMs: 20_000 });
    expect(term.output()).not.toMatch(/tmux|through ssh|fake agent run/);
    term.type('exit 0\r');
    expect(await term.exited).toBe(0);
    const status = await api('GET', `/api/v1/sessions/${sessionId}/agents/external/fake`);
    expect(status.body).toMatchObject({ status: 'running', restarts: 1 });
    expect((await api('GET', `/api/v1/sessions/${sessionId}/agents/external/fake/screen?lines=50`)).body.text).toContain('answer: through ssh');
  }, 60_000);
});
