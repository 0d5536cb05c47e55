import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ServiceNames } from '@codeagent/contracts';
import { hostProcessesMatching, startStack, waitFor, type Stack } from '@codeagent/testing';
import { api, ok, openSession, SocketClient, type Rec, type ServerMessage } from './bench/client';
import { startCli } from './cli-runner';
import { keptJails, stackJailsDir } from './bench/measure';

// Restarts, driven from outside (HTTP and Socket.IO) against the six services as processes with
// SHELL_KEEP_JAILS and the workspaces kept mounted (the defaults of a real deployment; test stacks
// turn both off): the shell service alone while a command streams, then the whole platform. Sessions
// come back as they were.

jest.setTimeout(240_000);

let stack: Stack;
const tag = `restart${process.pid}`;
let sshPort: number;
let keys: string;

const exec = (id: string, command: string) => ok(stack.url, 'POST', `/api/v1/sessions/${id}/exec`, { command });

/** Every stored event of a session, page by page. */
async function history(id: string): Promise<Rec[]> {
  const out: Rec[] = [];
  for (let since = 0; ; ) {
    const page = await ok(stack.url, 'GET', `/api/v1/sessions/${id}/events?since=${since}&limit=1000`);
    out.push(...(page.events as Rec[]));
    if (!page.hasMore || page.events.length === 0) return out;
    since = page.events[page.events.length - 1].seq;
  }
}

const gatewayUp = () => waitFor('the gateway to answer /health', async () => (await fetch(`${stack.url}/health`).catch(() => undefined))?.status === 200, { timeoutMs: 90_000, intervalMs: 250 });

/** An interactive `ssh -tt` login to a session's terminal (Debian's OpenSSH client): what it printed, and its keyboard. */
function sshLogin(sessionId: string) {
  const args = ['-tt', '-p', String(sshPort), '-i', path.join(keys, 'id'), '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR'];
  const child = spawn('ssh', [...args, `${sessionId}@127.0.0.1`], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (out += d.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { output: () => out, type: (keys: string) => child.stdin.write(keys), exited, kill: () => child.kill() };
}

beforeAll(async () => {
  keys = mkdtempSync(path.join(os.tmpdir(), 'restart-e2e-keys-'));
  spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'restart', '-f', path.join(keys, 'id')]);
  // With a pool too: the sessions' jails were started ahead and given to them, and are kept like any other.
  stack = await startStack({
    label: 'e2e-restart',
    env: { SHELL_KEEP_JAILS: 'true', WORKSPACE_UNMOUNT_ON_STOP: 'false', SHELL_POOL_SIZE: '2', GATEWAY_RATE_LIMIT_PER_MINUTE: '100000', GATEWAY_SSH_PORT: '0', GATEWAY_SSH_AUTHORIZED_KEYS: path.join(keys, 'authorized_keys') },
  });
  sshPort = await waitFor('the SSH server listening', () => stack.sshPort());
  expect((await api(stack.url, 'POST', '/api/v1/users/me/ssh-keys', { name: 'laptop', publicKey: readFileSync(path.join(keys, 'id.pub'), 'utf8') })).status).toBe(201);
}, 180_000);

/** This file's sessions: closed before the stack stops, which would keep their jails (pooled ones bind no folder of the stack's). */
const opened: string[] = [];
const open = async (): Promise<Rec> => {
  const s = await openSession(stack.url);
  opened.push(s.id as string);
  return s;
};

afterAll(async () => {
  if (stack) {
    for (const id of opened) await api(stack.url, 'DELETE', `/api/v1/sessions/${id}`).catch(() => undefined);
    // Should a close above have failed, nothing of this file may outlive it: the jails and mounts were
    // kept for a next start that will not come. The services stop first, then go as at a reboot.
    await Promise.all([...stack.procs.values()].map((p) => p.stop('SIGTERM', 30_000)));
    clearHostState();
    await stack.stop();
  }
  if (keys) rmSync(keys, { recursive: true, force: true });
});

test('the shell service restarts while a command streams to a subscriber and someone is logged in over SSH: every line once, the exit, the same shell and the same terminal after', async () => {
  const s = await open();
  await exec(s.id, `mkdir -p d && echo data > d/f; (exec -a ${tag}-a sleep 1000) &`);
  await exec(s.id, 'cd d; export X="v 1"');
  // An SSH login on the session's terminal, whose shell holds a variable of its own.
  const login = sshLogin(s.id);
  login.type('MARK=ssh-$((40+2)); echo "set $MARK"\r');
  await waitFor('the SSH login answering', () => login.output().includes('set ssh-42'), { timeoutMs: 30_000 }).catch((err: Error) => {
    login.kill();
    throw new Error(`${err.message}; ssh printed: ${JSON.stringify(login.output().slice(-2000))}`);
  });
  const client = new SocketClient(stack.url);
  // Output arrives as `stream` messages ({ seq, commandId, data }), every other kind as `status` (the stored event).
  const seen: Rec[] = [];
  const outputs: Rec[] = [];
  try {
    await client.connected();
    client.onMessage((m: ServerMessage) => {
      if ((m.type === 'stream' || m.type === 'status') && m.payload.sessionId === s.id) seen.push(m.payload);
      if (m.type === 'stream' && m.payload.sessionId === s.id) outputs.push(m.payload);
    });
    await client.command('/subscribe', [], { sessionId: s.id, since: 0 });
    const lines = 300;
    const command = `for i in $(seq 1 ${lines}); do echo "line $i"; sleep 0.01; done; bash -c 'exit 5'`;
    const running = api(stack.url, 'POST', `/api/v1/sessions/${s.id}/exec`, { command });
    await waitFor('the first lines', () => outputs.some((e) => String(e.data).includes('line 20\n')), { timeoutMs: 30_000 });
    expect(await stack.procs.get('shell')!.stop('SIGTERM', 30_000)).toBe(0);
    // The REST exec in flight is answered: the replica restarts, the command goes on in its jail.
    expect(await running).toMatchObject({ status: 503 });
    await stack.startReplica('shell', 'shell');

    const started = await waitFor('the command in the log', () => seen.find((e) => e.kind === 'command.started' && e.data?.command === command));
    const commandId = started.data.commandId as string;
    const done = await waitFor('its completion after the restart', () => seen.find((e) => e.kind === 'command.completed' && e.data?.commandId === commandId), { timeoutMs: 60_000 });
    expect(done.data.exitCode).toBe(5);
    const output = outputs.filter((e) => e.commandId === commandId).map((e) => e.data as string).join('');
    expect(output).toBe(Array.from({ length: lines }, (_, i) => `line ${i + 1}\n`).join(''));
    // Each seq once, in order, across the restart.
    const seqs = seen.map((e) => e.seq as number);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
  } finally {
    client.close();
  }
  expect(await exec(s.id, `pwd; echo "$X"; cat f; pgrep -fc ${tag}-a`)).toMatchObject({ exitCode: 0, stdout: '/workspace/d\nv 1\ndata\n1\n' });
  // The login went on through the restart, on the same terminal: its shell still has its variable,
  // and leaving it ends the login with its exit code.
  login.type('echo "still $MARK"\r');
  await waitFor('the same terminal over SSH after the restart', () => login.output().includes('still ssh-42'), { timeoutMs: 30_000 });
  login.type('exit 3\r');
  expect(await login.exited).toBe(3);
  // Busy/idle follow the stored log, a batch behind the exec's reply (README, issue 17's notes).
  await waitFor('the session idle', async () => (await ok(stack.url, 'GET', `/api/v1/sessions/${s.id}`)).status === 'idle', { timeoutMs: 10_000 });
});

test('codeagent run goes on through a restart of the shell service: every line once, then the command\'s exit code', async () => {
  const s = await open();
  const home = mkdtempSync(path.join(os.tmpdir(), 'restart-cli-home-'));
  try {
    // `bash -c 'exit 3'`, not `exit 3`: a command that ends the session's shell while no shell process
    // holds the jail ends the jail, and what it printed after the stop is lost (a gap, docs/operations.md);
    // under CI load the restart outlasted the command and the test failed so.
    const run = startCli(['run', s.id, '--', "for i in $(seq 1 40); do echo n$i; sleep 0.1; done; bash -c 'exit 3'"], { CODEAGENT_HOME: home, CODEAGENT_URL: stack.url });
    await waitFor('the first lines', () => run.stdout().includes('n5\n'), { timeoutMs: 30_000 });
    expect(await stack.procs.get('shell')!.stop('SIGTERM', 30_000)).toBe(0);
    await stack.startReplica('shell', 'shell');
    const r = await run.result;
    // The exec's answer was the replica going away; the CLI followed the session's log instead of giving up.
    expect(r.stderr).toContain('the command goes on in the session');
    expect(r.stdout).toBe(Array.from({ length: 40 }, (_, i) => `n${i + 1}\n`).join(''));
    expect(r.code).toBe(3);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

/** A Socket.IO client of one session's terminal: what it printed since this client subscribed, and typing into it. */
async function terminalOf(id: string) {
  const c = new SocketClient(stack.url);
  await c.connected();
  let text = '';
  c.onMessage((m: ServerMessage) => {
    if (m.type === 'stream' && m.payload.sessionId === id && m.payload.stream === 'pty') text += m.payload.data;
  });
  await c.command('/subscribe', [], { sessionId: id });
  return { client: c, text: () => text, type: (keys: string) => c.command('/input', [keys], { sessionId: id }) };
}

test('the whole platform stops and starts again: the session, its folder, exports, files, background process, terminal and history are there', async () => {
  const s = await open();
  await exec(s.id, `mkdir -p w && echo kept > w/file; (exec -a ${tag}-b sleep 1000) &`);
  await exec(s.id, 'cd w; export MARK="m 2"');
  // The terminal's own shell holds state of its own: a variable and a folder the session's shell does not have.
  const first = await terminalOf(s.id);
  await first.type('TERMVAR=t-7; cd /tmp; echo set-$TERMVAR\r');
  await waitFor('the terminal set up', () => first.text().includes('set-t-7'), { timeoutMs: 20_000 });
  first.client.close();
  const before = await history(s.id);

  await Promise.all([...stack.procs.values()].map(async (p) => expect(await p.stop('SIGTERM', 30_000)).toBe(0)));
  expect(hostProcessesMatching(`${tag}-b`)).toHaveLength(1);
  for (const name of ServiceNames) await stack.startReplica(name, name);
  await gatewayUp();

  expect((await ok(stack.url, 'GET', `/api/v1/sessions/${s.id}`)).status).toBe('idle');
  expect(await exec(s.id, `pwd; echo "$MARK"; cat file; pgrep -fc ${tag}-b`)).toMatchObject({ exitCode: 0, stdout: '/workspace/w\nm 2\nkept\n1\n' });
  // The files API and the jail see one workspace: what was written before the restart, and what each writes after it.
  const files = `/api/v1/sessions/${s.id}/files`;
  expect(await ok(stack.url, 'GET', `${files}?path=w/file`)).toMatchObject({ content: 'kept\n' });
  await exec(s.id, 'echo from-jail > after');
  expect(await ok(stack.url, 'GET', `${files}?path=w/after`)).toMatchObject({ content: 'from-jail\n' });
  await ok(stack.url, 'PUT', `${files}?path=w/from-api`, { content: 'from-api\n' });
  expect(await exec(s.id, 'cat from-api')).toMatchObject({ exitCode: 0, stdout: 'from-api\n' });
  const after = await waitFor('the new command stored', async () => {
    const h = await history(s.id);
    return h.some((e) => e.seq > before[before.length - 1]!.seq && e.kind === 'command.completed') ? h : undefined;
  });
  // The history before the restart is all there, and the log numbers on without a gap.
  expect(after.slice(0, before.length)).toEqual(before);
  expect(after.map((e) => e.seq)).toEqual(after.map((_, i) => i + 1));
  // The terminal is the one opened before the restart, reattached: its shell still has its variable and folder.
  const again = await terminalOf(s.id);
  try {
    await again.type('echo "again-$TERMVAR-$PWD"\r');
    await waitFor('the same terminal answering', () => again.text().includes('again-t-7-/tmp'), { timeoutMs: 20_000 });
  } finally {
    again.client.close();
  }
});

test('the host reboots: every jail and mount of the platform gone, the shell service back before the workspace service: the session comes back on its own files, with its folder and exports, and says what was lost', async () => {
  const s = await open();
  await exec(s.id, `mkdir -p r && echo before-reboot > r/file; (exec -a ${tag}-r sleep 1000) &`);
  await exec(s.id, 'cd r; export MARK="r 3"');
  const before = await history(s.id);

  // A reboot: the services stopped (systemd's SIGTERM), then what lived only in memory or in tmpfs gone.
  await Promise.all([...stack.procs.values()].map(async (p) => expect(await p.stop('SIGTERM', 30_000)).toBe(0)));
  clearHostState();
  // The shell first: nothing has mounted the workspaces yet.
  const shell = await stack.startReplica('shell', 'shell');
  await waitFor('the shell at its kept jails', () => /waiting for the workspace service|kept jail adopted/.test(shell.output()), { timeoutMs: 60_000 });
  for (const name of ServiceNames) if (name !== 'shell') await stack.startReplica(name, name);
  await gatewayUp();

  await waitFor('the session back', async () => (await ok(stack.url, 'GET', `/api/v1/sessions/${s.id}`)).status === 'idle', { timeoutMs: 60_000 });
  // The jail is new (its background process lost), on the workspace as it was: the jail and the files API see one folder.
  expect(await exec(s.id, `pwd; echo "$MARK"; cat file; pgrep -fc ${tag}-r || true`)).toMatchObject({ exitCode: 0, stdout: '/workspace/r\nr 3\nbefore-reboot\n0\n' });
  await exec(s.id, 'echo after-reboot > after');
  expect(await ok(stack.url, 'GET', `/api/v1/sessions/${s.id}/files?path=r/after`)).toMatchObject({ content: 'after-reboot\n' });
  const after = await history(s.id);
  expect(after.slice(0, before.length)).toEqual(before);
  const crash = after.find((e) => e.seq > before[before.length - 1]!.seq && e.kind === 'shell.crashed');
  expect(crash?.data).toMatchObject({ restarted: true, restoredCwd: '/workspace/r', lostProcesses: expect.arrayContaining([expect.stringContaining(`${tag}-r`)]) });
});

/**
 * What a reboot leaves of the stack on this host: its data folder. Every jail killed (SIGKILL to
 * each pid 1 ends its pid namespace; every jail binds the shell's jails folder, so its command line
 * names it), the stack's mounts undone and loop devices detached, the jails' tmpfs folder emptied.
 * Also how this file leaves nothing behind.
 */
function clearHostState(): void {
  const jails = stackJailsDir(stack);
  for (const pid of keptJails(stack)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // ended with its namespace
    }
  }
  const mounts = execFileSync('findmnt', ['-rn', '-o', 'TARGET'], { encoding: 'utf8' }).split('\n');
  // Deepest first: a workspace's overlay before the volume under it.
  for (const m of mounts.filter((t) => t.startsWith(`${stack.dataDir}/`) || t.startsWith(`${jails}/`)).sort((a, b) => b.length - a.length)) {
    execFileSync('umount', ['-l', m]);
  }
  for (const line of execFileSync('losetup', ['-l', '-n', '-O', 'NAME,BACK-FILE'], { encoding: 'utf8' }).split('\n')) {
    const [device, file] = line.trim().split(/\s+/);
    if (device && file?.startsWith(`${stack.dataDir}/`)) execFileSync('losetup', ['-d', device]);
  }
  rmSync(jails, { recursive: true, force: true });
  expect(keptJails(stack)).toEqual([]);
}
