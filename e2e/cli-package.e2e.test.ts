import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createUser, REPO_ROOT, startFakeLlm, startStack, waitFor, type FakeLlm, type Stack } from '@codeagent/testing';

// The CLI as someone installs it on another machine: built and packed (clients/cli/scripts/build.mjs
// --pack), installed with `npm install -g --prefix <empty folder> <tarball>` (its dependencies from the
// npm registry), and run from a folder with no repository around it, against a team-mode platform.

type Rec = Record<string, any>;
interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

let work: string;
let prefix: string;
let bin: string;
let stack: Stack;
let llm: FakeLlm;
let env: Record<string, string>;
let projectDir: string;

/** The installed binary, in an empty folder, with nothing of the repository on its paths. */
function codeagent(args: string[], opts: { stdin?: string; env?: Record<string, string> } = {}): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(bin, args, { cwd: work, env: { PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin`, HOME: work, NO_COLOR: '1', ...env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.stdin.end(opts.stdin ?? '');
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function json<T = any>(args: string[], opts: { stdin?: string } = {}): Promise<T> {
  const r = await codeagent(['--json', ...args], opts);
  if (r.code !== 0) throw new Error(`codeagent ${args.join(' ')} exited ${r.code}: ${r.stdout}${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'cli-package-'));
  prefix = path.join(work, 'prefix');
  const packed = execFileSync(process.execPath, [path.join(REPO_ROOT, 'clients/cli/scripts/build.mjs'), '--pack', path.join(work, 'tarball')], { encoding: 'utf8' }).trim().split('\n').at(-1)!;
  execFileSync('npm', ['install', '-g', '--prefix', prefix, packed, '--no-audit', '--no-fund'], { cwd: work, encoding: 'utf8', stdio: 'pipe' });
  bin = path.join(prefix, 'bin', 'codeagent');
  llm = await startFakeLlm({ fallbackTurn: { text: 'Done by the fake model.', usage: { inputTokens: 50, outputTokens: 5 } } });
  stack = await startStack({ label: 'e2e-cli-package', env: { GATEWAY_AUTH_MODE: 'team', GATEWAY_JWT_SECRET: 'p'.repeat(40) } });
  const admin = createUser(stack, 'root', 'admin');
  projectDir = mkdtempSync(path.join(tmpdir(), 'cli-package-project-'));
  writeFileSync(path.join(projectDir, 'notes.txt'), 'first\n');
  env = { CODEAGENT_HOME: path.join(work, 'home'), CODEAGENT_URL: stack.url, ADMIN_KEY: admin.apiKey };
}, 300_000);

afterAll(async () => {
  await stack?.stop();
  await llm?.close();
  if (work) rmSync(work, { recursive: true, force: true });
  if (projectDir) rmSync(projectDir, { recursive: true, force: true });
}, 60_000);

test('the tarball installs into an empty prefix: built JavaScript and its dependencies, no sources, no tsx', async () => {
  const installed = path.join(prefix, 'lib', 'node_modules', '@codeagent', 'cli');
  expect(realpathSync(bin)).toBe(path.join(installed, 'bin', 'codeagent.js'));
  expect(readdirSync(installed).sort()).toEqual(['README.md', 'bin', 'dist', 'node_modules', 'package.json']);
  const pkg = JSON.parse(readFileSync(path.join(installed, 'package.json'), 'utf8'));
  expect(Object.keys(pkg.dependencies).sort()).toEqual(['@modelcontextprotocol/sdk', 'cli-table3', 'commander', 'ora', 'picocolors', 'socket.io-client', 'zod']);
  expect(existsSync(path.join(installed, 'node_modules', 'tsx'))).toBe(false);

  const help = await codeagent(['--help']);
  expect(help.code).toBe(0);
  for (const c of ['providers', 'roles', 'runs', 'snapshots', 'fork', 'diff', 'files', 'events', 'usage', 'tasks', 'users', 'keys', 'logout', 'completion']) expect(help.stdout).toMatch(new RegExp(`^  ${c}\\b`, 'm'));
  expect(help.stdout).toMatch(/Exit codes:\n {2}0 {4}done\n[\s\S]* {2}6 {4}conflict or rate limit/);
  expect((await codeagent(['--version'])).stdout).toBe('0.1.0\n');
  const unknown = await codeagent(['frobnicate']);
  expect(unknown.code).toBe(2);
});

test('login, then users and keys as an admin; a revoked key is refused; logout forgets the token', async () => {
  expect((await codeagent(['projects', 'list'])).code).toBe(4);
  expect((await codeagent(['login', '--api-key', env.ADMIN_KEY!])).code).toBe(0);
  const bob = await json(['users', 'add', 'bob']);
  expect(bob).toMatchObject({ name: 'bob', role: 'member' });
  expect((await json<Rec[]>(['users', 'list'])).map((u) => u.name).sort()).toEqual(['bob', 'root']);
  expect(await json(['users', 'grant', 'bob', '--allow-open-network', 'true'])).toMatchObject({ name: 'bob', allowOpenNetwork: true });
  expect((await codeagent(['users', 'grant', 'bob', '--allow-open-network', 'maybe'])).code).toBe(2);
  const key = await json(['keys', 'create', '--user', 'bob', '--label', 'laptop']);
  expect(key).toMatchObject({ userId: bob.id, label: 'laptop', key: expect.stringMatching(/^ca_/) });
  expect((await json<Rec[]>(['keys', 'list', '--user', 'bob'])).map((k) => k.label)).toEqual(['laptop']);
  // Bob's key works for bob (as a member: no user list for him), until revoked.
  const asBob = { CODEAGENT_TOKEN: key.key };
  expect((await codeagent(['--json', 'tasks', 'list'], { env: asBob })).code).toBe(0);
  expect((await codeagent(['users', 'list'], { env: asBob })).code).toBe(4);
  expect(await json(['keys', 'revoke', key.id])).toEqual({ revoked: true });
  expect((await codeagent(['keys', 'revoke', key.id])).code).toBe(6);
  expect((await codeagent(['tasks', 'list'], { env: asBob })).code).toBe(4);

  expect(await json(['logout'])).toEqual({ loggedOut: true });
  expect(JSON.parse(readFileSync(path.join(env.CODEAGENT_HOME!, 'credentials.json'), 'utf8'))).toEqual({});
  expect((await codeagent(['projects', 'list'])).code).toBe(4);
  expect((await codeagent(['login', '--api-key', env.ADMIN_KEY!])).code).toBe(0);
}, 60_000);

test('providers and roles with fallbacks; an agent run started and followed to its end; usage', async () => {
  const p = await json(['providers', 'set', 'openai', '--base-url', llm.openaiBaseURL, '--api-key', 'sk-package-test', '--enable']);
  expect(p).toMatchObject({ name: 'openai', hasKey: true, enabled: true });
  expect((await json<Rec[]>(['providers', 'list'])).find((x) => x.name === 'openai')).toMatchObject({ hasKey: true, keyHint: 'test' });
  expect((await json<Rec[]>(['providers', 'models', 'openai'])).map((m) => m.id)).toContain('gpt-4.1');
  expect((await codeagent(['roles', 'set', 'coding', 'no-slash'])).code).toBe(2);
  expect((await codeagent(['runs', 'start', 'ses_x', 'hi', '--roles', 'poet'])).code).toBe(2);
  await json(['roles', 'set', 'coding', 'openai/gpt-4.1', '--fallback', 'openai/gpt-4o-mini']);
  expect((await json(['roles', 'list'])).roles.coding).toEqual({ provider: 'openai', model: 'gpt-4.1', fallbacks: [{ provider: 'openai', model: 'gpt-4o-mini' }] });

  await json(['projects', 'add', projectDir, '--name', 'pkg-demo']);
  const s = await json(['sessions', 'new', '--project', 'pkg-demo']);
  const run = await codeagent(['runs', 'start', s.id, 'tidy', 'the', 'notes', '--roles', 'coding', '--wait']);
  expect(run.code).toBe(0);
  expect(run.stdout).toContain('Done by the fake model.');
  expect(run.stdout).toMatch(/completed \(1 steps, 50 in, 5 out/);
  const runId = /\[run (\S+):/.exec(run.stdout)![1]!;
  expect(await json(['runs', 'show', runId])).toMatchObject({ runId, status: 'completed', usage: { inputTokens: 50, outputTokens: 5 } });
  expect(await json(['runs', 'stop', runId])).toMatchObject({ interrupted: false, status: 'completed' });
  await waitFor('analytics to count the run', async () => JSON.stringify(await json(['usage', '--group-by', 'model', '--session', s.id])).includes('gpt-4.1'));
  expect((await codeagent(['usage', '--group-by', 'model', '--session', s.id])).stdout).toMatch(/gpt-4\.1\s+50\s+5/);
}, 120_000);

test('files, snapshots, diff, fork and the event log (also followed live)', async () => {
  const s = await json(['sessions', 'new', '--project', 'pkg-demo']);
  expect(await json(['files', 'put', s.id, 'plan.md'], { stdin: '# plan\nstep one\n' })).toMatchObject({ path: 'plan.md', size: 16 });
  expect((await codeagent(['files', 'get', s.id, 'plan.md'])).stdout).toBe('# plan\nstep one\n');
  expect((await json(['files', 'ls', s.id])).entries.map((e: Rec) => e.name).sort()).toEqual(['notes.txt', 'plan.md']);
  expect((await codeagent(['files', 'ls', s.id, 'plan.md'])).code).toBe(2);
  expect((await codeagent(['files', 'get', s.id, '../../etc/passwd'])).code).not.toBe(0);

  const snap = await json(['snapshots', 'create', s.id, '--label', 'before']);
  expect(snap).toMatchObject({ label: 'before', files: 2 });
  expect((await json<Rec[]>(['snapshots', 'list', s.id])).map((x) => x.snapshotId)).toEqual([snap.snapshotId]);
  writeFileSync(path.join(work, 'plan-v2.md'), '# plan\nstep two\n');
  await json(['files', 'put', s.id, 'plan.md', path.join(work, 'plan-v2.md')]);
  const d = await json(['diff', s.id, '--from', snap.snapshotId]);
  expect(d).toMatchObject({ changed: ['plan.md'], added: [], removed: [] });
  expect(d.patch).toContain('+step two');
  expect((await codeagent(['diff', s.id])).stdout).toMatch(/^A plan\.md$/m);

  // Restored in place: the running session sees the snapshot's content again; a snapshot of another session is not found.
  expect(await json(['snapshots', 'restore', s.id, snap.snapshotId])).toMatchObject({ sessionId: s.id, snapshotId: snap.snapshotId });
  expect((await codeagent(['run', s.id, '--', 'cat plan.md'])).stdout).toBe('# plan\nstep one\n');
  expect((await codeagent(['snapshots', 'restore', s.id, 'snp_none'])).code).toBe(3);
  await json(['files', 'put', s.id, 'plan.md', path.join(work, 'plan-v2.md')]);

  const fork = await json(['fork', s.id, '--snapshot', snap.snapshotId]);
  expect(fork).toMatchObject({ status: 'ready' });
  expect((await codeagent(['files', 'get', fork.id, 'plan.md'])).stdout).toBe('# plan\nstep one\n');

  // Followed: a command run meanwhile shows up as it happens; Ctrl-C ends the follow with 0.
  const follow = spawn(bin, ['--json', 'events', s.id, '--follow'], { cwd: work, env: { PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin`, HOME: work, ...env } });
  let followed = '';
  follow.stdout.on('data', (b: Buffer) => (followed += b.toString()));
  const exited = new Promise<number | null>((resolve) => follow.on('close', resolve));
  await waitFor('the follow to replay the log', () => followed.includes('"kind":"status"'), { timeoutMs: 20_000 });
  expect((await codeagent(['run', s.id, '--', 'echo live-marker'])).code).toBe(0);
  await waitFor('the command output in the follow', () => followed.includes('live-marker'), { timeoutMs: 20_000 });
  follow.kill('SIGINT');
  expect(await exited).toBe(0);
  const lines = followed.trim().split('\n').map((l) => JSON.parse(l) as Rec);
  const seqs = lines.map((l) => l.seq);
  expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  expect(new Set(seqs).size).toBe(seqs.length);

  const log = await json<Rec[]>(['events', s.id]);
  expect(log.map((e) => e.seq)).toEqual(seqs.slice(0, log.length));
  const after = await json<Rec[]>(['events', s.id, '--since', String(log.at(-2)!.seq)]);
  expect(after).toEqual([log.at(-1)]);
  expect((await codeagent(['events', 'ses_missing'])).code).toBe(3);
}, 120_000);

test('tasks: add with a description, show, update, rm', async () => {
  const t = await json(['tasks', 'add', 'Package', 'the', 'CLI', '--description', 'a tarball', '--status', 'in_progress']);
  expect(t).toMatchObject({ title: 'Package the CLI', description: 'a tarball', status: 'in_progress' });
  await json(['tasks', 'update', t.id, '--title', 'Ship the CLI', '--note', 'packed']);
  expect(await json(['tasks', 'show', t.id])).toMatchObject({ title: 'Ship the CLI', notes: [expect.objectContaining({ text: 'packed' })] });
  expect((await codeagent(['tasks', 'show', t.id])).stdout).toMatch(/title\s+Ship the CLI[\s\S]*: packed/);
  expect((await codeagent(['tasks', 'rm', t.id])).stdout).toBe(`Task ${t.id} deleted.\n`);
  expect((await codeagent(['tasks', 'show', t.id])).code).toBe(3);
});

test('shell completion: bash completes commands and subcommands through the installed binary; zsh and fish scripts', async () => {
  const script = (await codeagent(['completion', 'bash'])).stdout;
  expect(script).toContain('complete -o default -F _codeagent_complete codeagent');
  const complete = (line: string) => {
    const words = line.split(' ');
    const r = spawnSync('bash', ['-c', `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _codeagent_complete; printf '%s\\n' "\${COMPREPLY[@]}"`], {
      env: { PATH: `${path.dirname(bin)}:${path.dirname(process.execPath)}:/usr/bin:/bin`, HOME: work },
      encoding: 'utf8',
    });
    return r.stdout.trim().split('\n').filter(Boolean);
  };
  expect(complete('codeagent sn')).toEqual(['snapshots']);
  expect(complete('codeagent snapshots ')).toEqual(['create', 'list', 'restore']);
  expect(complete('codeagent --json files g')).toEqual(['get']);
  expect(complete('codeagent runs start --r')).toEqual(['--roles']);
  expect((await codeagent(['completion', 'zsh'])).stdout).toContain('compdef _codeagent codeagent');
  expect((await codeagent(['completion', 'fish'])).stdout).toContain("complete -c codeagent -f -a '(codeagent __complete");
  expect((await codeagent(['completion', 'powershell'])).code).toBe(2);
});
