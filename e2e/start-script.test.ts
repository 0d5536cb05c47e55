// `npm start` and the bus's credentials (issue 16): services refuse to start without the platform
// secret, `npm start` makes one (0600, in the data folder) on first start and hands it to every
// service, and it warns when the broker login is guest/guest on a broker that is not this machine.
import { execFile, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createTestBroker, REPO_ROOT, spawnTs, waitFor, type TestBroker } from '@codeagent/testing';

const run = promisify(execFile);

/** Calls a function of scripts/bus-credentials.mjs in a node of its own (jest here runs CommonJS). */
async function credentials(call: string, env: Record<string, string> = {}): Promise<unknown> {
  const code = `import * as c from ${JSON.stringify(path.join(REPO_ROOT, 'scripts/bus-credentials.mjs'))};
    let out; try { out = { ok: ${call} }; } catch (err) { out = { error: err.message }; }
    process.stdout.write(JSON.stringify(out ?? null));`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', code], { env: { PATH: process.env.PATH ?? '', ...env } });
  return JSON.parse(stdout);
}

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'start-script-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('the platform secret', () => {
  test('is created once per data folder, random, 64 hex characters, readable by its owner only', async () => {
    const dir = path.join(tempDir(), 'data');
    const first = (await credentials(`c.busSecret(${JSON.stringify(dir)}, {})`)) as { ok: { secret: string; created: boolean; file: string } };
    expect(first.ok.created).toBe(true);
    expect(first.ok.secret).toMatch(/^[0-9a-f]{64}$/);
    expect(statSync(first.ok.file).mode & 0o777).toBe(0o600);
    expect(readFileSync(first.ok.file, 'utf8').trim()).toBe(first.ok.secret);
    const again = (await credentials(`c.busSecret(${JSON.stringify(dir)}, {})`)) as { ok: { secret: string; created: boolean } };
    expect(again.ok).toMatchObject({ secret: first.ok.secret, created: false });
    const elsewhere = (await credentials(`c.busSecret(${JSON.stringify(path.join(tempDir(), 'data'))}, {})`)) as { ok: { secret: string } };
    expect(elsewhere.ok.secret).not.toBe(first.ok.secret);
  });

  test('a kept file that others can read is tightened to 0600, and said so', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'bus-secret');
    writeFileSync(file, `${'k'.repeat(40)}\n`);
    chmodSync(file, 0o644);
    const r = (await credentials(`c.busSecret(${JSON.stringify(dir)}, {})`)) as { ok: { secret: string; tightened: number } };
    expect(r.ok).toMatchObject({ secret: 'k'.repeat(40), tightened: 0o644 });
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  test('CODEAGENT_BUS_SECRET wins when set; a short one, a short file, or team mode without one are refused with what to do', async () => {
    const dir = tempDir();
    expect(await credentials(`c.busSecret(${JSON.stringify(dir)}, { CODEAGENT_BUS_SECRET: ${JSON.stringify('e'.repeat(32))} })`)).toEqual({ ok: { secret: 'e'.repeat(32), created: false } });
    expect(await credentials(`c.busSecret(${JSON.stringify(dir)}, { CODEAGENT_BUS_SECRET: 'short' })`)).toEqual({ error: expect.stringMatching(/shorter than 32 characters/) });
    expect(await credentials(`c.busSecret(${JSON.stringify(dir)}, { GATEWAY_AUTH_MODE: 'team' })`)).toEqual({ error: expect.stringMatching(/team mode needs CODEAGENT_BUS_SECRET/) });
    writeFileSync(path.join(dir, 'bus-secret'), 'tiny\n');
    expect(await credentials(`c.busSecret(${JSON.stringify(dir)}, {})`)).toEqual({ error: expect.stringMatching(/fewer than 32 characters; delete it/) });
  });
});

test('a guest/guest login warns only when the broker is not this machine', async () => {
  const warn = async (url: string) => ((await credentials(`c.guestBrokerWarning(${JSON.stringify(url)})`)) as { ok?: string }).ok;
  expect(await warn('amqp://guest:guest@rabbit.example.net:5672')).toMatch(/guest\/guest on rabbit\.example\.net, which is not this machine/);
  expect(await warn('amqp://10.1.2.3')).toMatch(/guest\/guest on 10\.1\.2\.3/); // no user in the URL: amqplib logs in as guest
  for (const quiet of ['amqp://guest:guest@127.0.0.1:5672', 'amqp://guest:guest@localhost', 'amqp://guest:guest@[::1]:5672', 'amqp://codeagent:s3cret@rabbit.example.net', 'amqp://guest:other@rabbit.example.net']) {
    expect(await warn(quiet)).toBeUndefined();
  }
});

describe('with a broker', () => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await createTestBroker('start-script');
  });
  afterAll(async () => {
    await broker?.dispose();
  });

  test('a service started without the secret refuses to start, naming the variable', async () => {
    // Empty counts as unset for the services' env parsing.
    const proc = spawnTs('services/analytics/src/main.ts', { RABBITMQ_URL: broker.url, CODEAGENT_BUS_SECRET: '', DATA_DIR: tempDir(), ANALYTICS_PORT: '0' });
    const code = await waitFor('analytics to exit', () => (proc.child.exitCode === null ? undefined : proc.child.exitCode), { timeoutMs: 30_000 });
    expect(code).toBe(1);
    expect(proc.output()).toMatch(/CODEAGENT_BUS_SECRET: required: the same random value of 32\+ characters on every service/);
  });

  test('npm start creates the secret in the data folder and the services it starts run with it', async () => {
    const dataDir = tempDir();
    const env: NodeJS.ProcessEnv = { ...process.env, RABBITMQ_URL: broker.url, DATA_DIR: dataDir, ANALYTICS_PORT: '0', LOG_LEVEL: 'info' };
    delete env.CODEAGENT_BUS_SECRET;
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'scripts/start.mjs'), '--only', 'analytics'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => (out += b));
    try {
      await waitFor('analytics started by npm start', () => {
        if (child.exitCode !== null) throw new Error(`start.mjs exited ${child.exitCode}: ${out}`);
        return /service started/.test(out);
      }, { timeoutMs: 60_000 });
      const file = path.join(dataDir, 'bus-secret');
      expect(out).toContain(`created the platform's bus secret in ${file} (mode 0600)`);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(readFileSync(file, 'utf8').trim()).toMatch(/^[0-9a-f]{64}$/);
      expect(out).not.toContain(readFileSync(file, 'utf8').trim());
      expect(out).not.toMatch(/WARNING/); // a loopback broker: no guest warning
    } finally {
      child.kill('SIGINT');
      await waitFor('npm start to stop', () => child.exitCode !== null || child.signalCode !== null, { timeoutMs: 30_000 });
    }
  }, 90_000);

  /** Runs `npm start -- --only analytics` until the service starts; its first line and the service's argv. */
  async function startOnce(): Promise<{ out: string; argv: string[] }> {
    const env: NodeJS.ProcessEnv = { ...process.env, RABBITMQ_URL: broker.url, DATA_DIR: tempDir(), ANALYTICS_PORT: '0', LOG_LEVEL: 'info' };
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'scripts/start.mjs'), '--only', 'analytics'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => (out += b));
    try {
      await waitFor('analytics started by npm start', () => {
        if (child.exitCode !== null) throw new Error(`start.mjs exited ${child.exitCode}: ${out}`);
        return /service started/.test(out);
      }, { timeoutMs: 60_000 });
      const [servicePid] = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(' ');
      return { out, argv: readFileSync(`/proc/${servicePid}/cmdline`, 'utf8').split('\0').filter(Boolean).slice(1) };
    } finally {
      child.kill('SIGINT');
      await waitFor('npm start to stop', () => child.exitCode !== null || child.signalCode !== null, { timeoutMs: 30_000 });
    }
  }

  test('npm start runs the build when it is newer than its sources, else the sources through tsx, and says which', async () => {
    await run(process.execPath, [path.join(REPO_ROOT, 'scripts/build-services.mjs'), 'analytics']);
    const built = path.join(REPO_ROOT, 'services/analytics/dist/main.js');
    const fresh = await startOnce();
    expect(fresh.out).toContain('codeagent: running the build (services/*/dist/main.js)');
    expect(fresh.argv).toEqual([built]);
    // A build older than a source it compiles in: the sources run, and the reason is printed.
    utimesSync(built, new Date(0), new Date(0));
    try {
      const stale = await startOnce();
      expect(stale.out).toMatch(/codeagent: running the sources through tsx \(services\/analytics\/dist\/main\.js is older than (services|libs)\/[^;]+; `npm run build` updates it\)/);
      expect(stale.argv).toEqual(['--import', expect.stringMatching(/tsx/), path.join(REPO_ROOT, 'services/analytics/src/main.ts')]);
    } finally {
      await run(process.execPath, [path.join(REPO_ROOT, 'scripts/build-services.mjs'), 'analytics']);
    }
  }, 150_000);
});
