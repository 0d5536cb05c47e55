import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestDatabase, createUser, startStack, TEST_DATABASE_KINDS, type Stack, type TestDatabase } from '@codeagent/testing';
import { cli } from './cli-runner';
import { callAs } from './team';

// Issue 23's backup test: a team-mode platform on real databases (SQLite files, then PostgreSQL) with
// users, API keys, a project, tasks, a provider with a sealed key, a session and its command history.
// `codeagent admin backup` runs while commands and task writes keep coming; `codeagent admin restore`
// puts it into a fresh data folder (and a fresh database); a second platform started there answers
// with the same users, projects, tasks, providers and history, field by field.
type Rec = Record<string, any>;
jest.setTimeout(300_000);

/** A stand-in for an OpenAI-compatible server: records the bearer key the orchestrator lists models with. */
function modelServer(): Promise<{ server: Server; url: string; keysSeen: string[] }> {
  const keysSeen: string[] = [];
  const server = createServer((req, res) => {
    keysSeen.push(String(req.headers.authorization ?? ''));
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ data: [{ id: 'restored-model' }] }));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, keysSeen })));
}

describe.each(TEST_DATABASE_KINDS)('backup and restore on %s', (kind) => {
  let original: Stack | undefined;
  let restored: Stack | undefined;
  let databases: TestDatabase[] = [];
  let project: string;
  let backupDir: string;
  let models: Awaited<ReturnType<typeof modelServer>>;
  const keys: Record<string, string> = {};
  const JWT = 'b'.repeat(40);

  const api = (stack: Stack, who: string, method: string, url: string, body?: unknown) => callAs(stack.url, who, keys[who], method, url, body);


  beforeAll(async () => {
    project = mkdtempSync(path.join(tmpdir(), 'backup-project-'));
    backupDir = path.join(mkdtempSync(path.join(tmpdir(), 'backup-dir-')), 'backup');
    models = await modelServer();
  });
  afterAll(async () => {
    await original?.stop();
    await restored?.stop();
    for (const d of databases) await d.dispose();
    models.server.close();
    rmSync(project, { recursive: true, force: true });
    rmSync(path.dirname(backupDir), { recursive: true, force: true });
  });

  test('a backup taken under load restores users, projects, tasks, providers and history field by field', async () => {
    const first = kind === 'postgres' ? await createTestDatabase('postgres', 'backup-e2e') : undefined;
    if (first) databases.push(first);
    // No periodic rediscovery: nothing but the load changes the data while the backup runs.
    const env = { GATEWAY_AUTH_MODE: 'team', GATEWAY_JWT_SECRET: JWT, GATEWAY_RATE_LIMIT_PER_MINUTE: '100000', ORCHESTRATOR_DISCOVERY_MS: '0' };
    original = await startStack({ label: `e2e-backup-${kind}`, env, databaseUrl: first?.url });
    const o = original;
    keys.root = createUser(o, 'root', 'admin').apiKey;
    const ana = await api(o, 'root', 'POST', '/api/v1/users', { name: 'ana', role: 'member' });
    keys.ana = (await api(o, 'root', 'POST', `/api/v1/users/${ana.id}/api-keys`, { label: 'laptop' })).key;
    await api(o, 'root', 'PUT', '/api/v1/providers/lmstudio', { kind: 'openai-compatible', baseURL: models.url, apiKey: 'sk-backup-sealed-4242', models: ['local-coder'] });
    const p = await api(o, 'ana', 'POST', '/api/v1/projects', { name: 'backed-up', source: { path: project } });
    for (const title of ['write the runbook', 'test the restore']) await api(o, 'ana', 'POST', '/api/v1/tasks', { title, projectId: p.id, description: `${title}, with “quotes” and\nlines` });
    const session = await api(o, 'ana', 'POST', '/api/v1/sessions', { projectId: p.id });
    for (let i = 0; i < 5; i++) await api(o, 'ana', 'POST', `/api/v1/sessions/${session.id}/exec`, { command: `echo before-${i}` });
    const snapshot = await api(o, 'ana', 'POST', `/api/v1/sessions/${session.id}/snapshots`, { label: 'before the backup' });

    const read = async (stack: Stack) => ({
      users: (await api(stack, 'root', 'GET', '/api/v1/users')).users as Rec[],
      projects: (await api(stack, 'ana', 'GET', '/api/v1/projects')).projects as Rec[],
      tasks: (await api(stack, 'ana', 'GET', '/api/v1/tasks')).tasks as Rec[],
      providers: (await api(stack, 'root', 'GET', '/api/v1/providers')).providers as Rec[],
      events: (await api(stack, 'ana', 'GET', `/api/v1/sessions/${session.id}/events?since=0`)).events as Rec[],
    });
    const before = await read(o);

    // Load: commands in the session and task writes, without a pause, for as long as the backup runs.
    let loading = true;
    let loadRounds = 0;
    const load = (async () => {
      while (loading) {
        await Promise.all([
          api(o, 'ana', 'POST', `/api/v1/sessions/${session.id}/exec`, { command: `echo load-${loadRounds}` }),
          api(o, 'ana', 'POST', '/api/v1/tasks', { title: `load ${loadRounds}`, projectId: p.id }),
        ]);
        loadRounds++;
      }
    })();
    const backup = await cli(['--json', 'admin', 'backup', backupDir], { DATA_DIR: o.dataDir, ...(first ? { DATABASE_URL: first.url } : {}) });
    const roundsDuringBackup = loadRounds;
    loading = false;
    await load;
    expect(backup.stderr).toBe('');
    expect(backup.code).toBe(0);
    expect(roundsDuringBackup).toBeGreaterThan(0); // the backup really ran under load
    const manifest = JSON.parse(backup.stdout) as Rec;
    expect(Object.keys(manifest.databases).sort()).toEqual(['analytics', 'gateway', 'orchestrator', 'project-ci', 'workspace']);
    expect(manifest.secrets).toEqual(expect.arrayContaining(['orchestrator-secret.key', 'shell-secret.key']));
    expect(manifest.workspaceSnapshots.manifests).toBeGreaterThanOrEqual(1);
    const after = await read(o);
    const ciPortBase = o.env.PROJECT_CI_PORT_BASE!;
    await o.stop();
    original = undefined;

    // A fresh data folder (and a fresh, empty database) on "another machine".
    const freshDir = mkdtempSync(path.join(tmpdir(), 'backup-restored-'));
    const second = kind === 'postgres' ? await createTestDatabase('postgres', 'restore-e2e') : undefined;
    if (second) databases.push(second);
    const restore = await cli(['--json', 'admin', 'restore', backupDir], { DATA_DIR: freshDir, ...(second ? { DATABASE_URL: second.url } : {}) });
    expect(restore.stderr).toBe('');
    expect(restore.code).toBe(0);
    const report = JSON.parse(restore.stdout) as Rec;
    for (const [service, d] of Object.entries(manifest.databases as Rec)) expect(report.databases[service]).toEqual(d.tables);
    // Restoring again over what is there is refused: nothing is overwritten without --force.
    const again = await cli(['admin', 'restore', backupDir], { DATA_DIR: freshDir, ...(second ? { DATABASE_URL: second.url } : {}) });
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/--force/);

    restored = await startStack({ label: `e2e-restored-${kind}`, env: { ...env, PROJECT_CI_PORT_BASE: ciPortBase }, databaseUrl: second?.url, dataDir: freshDir });
    const r = restored;
    const now = await read(r); // ana's and root's API keys work: users and keys came back
    const byId = (rows: Rec[]) => new Map(rows.map((x) => [x.id, x]));

    // The backup is one instant between `before` and `after`: every restored record is, field by
    // field, the original as it stood at one of them (most were not touched in between at all).
    const asBeforeOrAfter = (kind: string, restoredRows: Rec[], beforeRows: Rec[], afterRows: Rec[], key = 'id') => {
      const b = new Map(beforeRows.map((x) => [x[key], x]));
      const a = new Map(afterRows.map((x) => [x[key], x]));
      for (const r of restoredRows) {
        const same = [b.get(r[key]), a.get(r[key])].some((o) => o !== undefined && JSON.stringify(o) === JSON.stringify(r));
        if (!same) expect({ kind, restored: r }).toEqual({ kind, restored: a.get(r[key]) ?? b.get(r[key]) });
      }
      for (const o of beforeRows) expect(restoredRows.map((r) => r[key])).toContain(o[key]); // nothing from before is missing
    };
    expect(now.users.map((u) => u.name).sort()).toEqual(['ana', 'root']);
    asBeforeOrAfter('user', now.users, before.users, after.users);
    asBeforeOrAfter('project', now.projects, before.projects, after.projects);
    asBeforeOrAfter('provider', now.providers, before.providers, after.providers, 'name');
    // Tasks: every one from before the backup, and those the load made until the backup's instant.
    asBeforeOrAfter('task', now.tasks, before.tasks, after.tasks);
    expect(now.tasks.length).toBeGreaterThanOrEqual(before.tasks.length);
    expect(now.tasks.every((t) => byId(after.tasks).has(t.id))).toBe(true);
    // History: the session's events up to the backup's instant, each as it was (the restored platform
    // may add its own, e.g. the session ending because its jail is not on this machine).
    const afterEvents = new Map(after.events.map((e) => [e.seq, e]));
    const lastBackedUp = now.events.filter((e) => afterEvents.has(e.seq) && JSON.stringify(e) === JSON.stringify(afterEvents.get(e.seq)));
    for (const e of before.events) expect(now.events.find((x) => x.seq === e.seq)).toEqual(e);
    expect(lastBackedUp.length).toBeGreaterThanOrEqual(before.events.length);
    const outputs = JSON.stringify(now.events.filter((e) => e.kind === 'output'));
    for (let i = 0; i < 5; i++) expect(outputs).toContain(`before-${i}`);

    // The provider's key opens with the restored secret key: the model server sees it again.
    models.keysSeen.length = 0;
    await api(r, 'root', 'GET', '/api/v1/providers?refreshModels=true');
    expect(models.keysSeen).toContain('Bearer sk-backup-sealed-4242');
    // The snapshot's index and its files came back.
    const snaps = (await api(r, 'ana', 'GET', `/api/v1/sessions/${session.id}/snapshots`)).snapshots as Rec[];
    expect(snaps.map((s) => s.id)).toContain(snapshot.id);
    const manifests = path.join(freshDir, 'workspace', 'snapshots', 'manifests');
    expect(readdirSync(manifests)).toHaveLength(manifest.workspaceSnapshots.manifests);
    expect(JSON.parse(readFileSync(path.join(backupDir, 'manifest.json'), 'utf8')).format).toBe('codeagent-backup/1');
    // The key files are back where the services read them, byte for byte.
    for (const key of ['orchestrator', 'shell']) {
      expect(readFileSync(path.join(freshDir, key, 'secret.key'))).toEqual(readFileSync(path.join(backupDir, 'secrets', `${key}-secret.key`)));
    }
  });
});
