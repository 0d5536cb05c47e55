import type { SessionEventV1, SessionV1 } from '@codeagent/contracts';
import { createTestBroker, createTestDatabase, waitFor, type ServiceProcess, type TestBroker, type TestDatabase } from '@codeagent/testing';
import { openOrchestratorDatabase } from '../src/repositories/database';
import { TestShell, TestWorkspace } from './fake-services';
import { connectClient, startOrchestrator } from './harness';

// The network policy as the orchestrator enforces it, over the real bus and the real database: who
// may ask for `open`, a project's allowlist and policy, credentials resolved from sealed provider keys
// into shell.open only, networkInForce stored, and refused egress reaching the session's event log.
// The shell and workspace are small real consumers (fake-services.ts) that record what they were asked.
let broker: TestBroker;
let db: TestDatabase;
let ws: TestWorkspace;
let shell: TestShell;
let orch: ServiceProcess;
let client: Awaited<ReturnType<typeof connectClient>>;
const admin = { userId: 'ada', role: 'admin' as const };
const member = { userId: 'mia', role: 'member' as const };
const req = <T>(name: string, payload: unknown, timeoutMs = 20_000) => (client.bus.request as any)(name, payload, { timeoutMs }) as Promise<T>;
const ANTHROPIC_KEY = 'sk-ant-test-0123456789-very-secret';

beforeAll(async () => {
  broker = await createTestBroker('orch-network');
  db = await createTestDatabase((process.env.TEST_DATABASES ?? 'sqlite').split(',')[0] as 'sqlite', 'orch-network');
  ws = await TestWorkspace.start(broker.url);
  shell = await TestShell.start(broker.url);
  client = await connectClient(broker.url);
  orch = await startOrchestrator({
    RABBITMQ_URL: broker.url,
    ...db.env,
    INSTANCE_ID: 'orch-net',
    ORCHESTRATOR_MAX_SESSIONS_PER_USER: '50',
    ORCHESTRATOR_RECONCILE_MS: '0',
    ORCHESTRATOR_TASKS_SYNC_MS: '0',
  });
}, 60_000);

afterAll(async () => {
  const errors = (orch?.output() ?? '').split('\n').filter((l) => /"level":"(error|fatal)"/.test(l));
  if (errors.length) console.log(errors.slice(0, 5).join('\n'));
  await orch?.stop();
  await client?.bus.close(500);
  await shell?.stop();
  await ws?.stop();
  await broker?.dispose();
  await db?.dispose();
});

const create = (actor: typeof admin | typeof member | (typeof member & { allowOpenNetwork: true }), body: Record<string, unknown>) =>
  req<SessionV1>('orchestrator.session.create', { ...(body.projectId ? {} : { source: { kind: 'empty' } }), owner: actor.userId, actor, ...body });
const lastOpen = (sessionId: string) => shell.opens.filter((o) => o.sessionId === sessionId).at(-1)!;

test('a member asking for "open" is refused with the reason, before anything is made; an admin, or a member an admin granted it to, gets it', async () => {
  const opensBefore = shell.opens.length;
  await expect(create(member, { sandbox: { network: 'open' } })).rejects.toMatchObject({
    code: 'FORBIDDEN',
    message: expect.stringMatching(/network "open" is for admins only.*ask an admin/),
  });
  expect(shell.opens.length).toBe(opensBefore);

  const a = await create(admin, { sandbox: { network: 'open' } });
  expect(a).toMatchObject({ status: 'ready', sandbox: { network: 'open' }, networkInForce: { mode: 'open', proxy: 'http://127.0.0.1:3128' } });
  expect(lastOpen(a.id).network).toBe('open');

  const g = await create({ ...member, allowOpenNetwork: true }, { sandbox: { network: 'open' } });
  expect(g).toMatchObject({ owner: 'mia', sandbox: { network: 'open' } });
  // A fork is no way around it: the member without the grant cannot fork into `open`.
  const mine = await create(member, { sandbox: { network: { allow: ['pypi.org'] } } });
  await expect(req('orchestrator.session.fork', { sessionId: mine.id, actor: member, sandbox: { network: 'open' } })).rejects.toMatchObject({ code: 'FORBIDDEN' });
});

test("a project's policy is for admins only; once an admin allows it, the project's members may ask for open", async () => {
  const p = await req<{ id: string; settings: Record<string, unknown> }>('orchestrator.project.create', { name: 'net-open', source: { path: '/tmp' }, owner: 'mia', actor: member, settings: {} });
  await expect(req('orchestrator.project.update', { projectId: p.id, actor: member, settings: { policy: { allowOpenNetwork: true } } })).rejects.toMatchObject({
    code: 'FORBIDDEN',
    message: expect.stringContaining("only an admin may set a project's policy"),
  });
  await expect(req('orchestrator.project.create', { name: 'net-sneaky', source: { path: '/tmp' }, actor: member, settings: { policy: { allowOpenNetwork: true } } })).rejects.toMatchObject({ code: 'FORBIDDEN' });
  await expect(req('orchestrator.project.update', { projectId: p.id, actor: member, settings: { sandbox: { network: 'open' } } })).rejects.toMatchObject({ code: 'FORBIDDEN' });
  await expect(create(member, { projectId: p.id, sandbox: { network: 'open' } })).rejects.toMatchObject({ code: 'FORBIDDEN', message: expect.stringContaining("project net-open's policy does not allow it") });

  const updated = await req<{ settings: Record<string, unknown> }>('orchestrator.project.update', { projectId: p.id, actor: admin, settings: { policy: { allowOpenNetwork: true } } });
  expect(updated.settings).toMatchObject({ policy: { allowOpenNetwork: true } });
  expect(await create(member, { projectId: p.id, sandbox: { network: 'open' } })).toMatchObject({ status: 'ready', sandbox: { network: 'open' } });
  // Sending the policy back unchanged (a client saving the whole settings) is not a change.
  await expect(req('orchestrator.project.update', { projectId: p.id, actor: member, settings: { policy: { allowOpenNetwork: true }, keepWorkspaces: false } })).resolves.toBeDefined();
});

test("a project's allowlist is its sessions' default and its members' ceiling; networkInForce is stored and returned", async () => {
  const p = await req<{ id: string }>('orchestrator.project.create', {
    name: 'net-allow',
    source: { path: '/tmp' },
    actor: admin,
    // A project the members work in: an admin's private one is invisible to them (ownership, issue 23).
    visibility: 'team',
    settings: { sandbox: { network: { allow: ['*.npmjs.org', 'pypi.org'] } } },
  });
  const s = await create(member, { projectId: p.id });
  expect(s.sandbox.network).toEqual({ allow: ['*.npmjs.org', 'pypi.org'] });
  expect(lastOpen(s.id).network).toEqual({ allow: ['*.npmjs.org', 'pypi.org'] });
  expect(s.networkInForce).toEqual({ mode: 'allow', interfaces: ['lo'], routes: 0, proxy: 'http://127.0.0.1:3128', dns: '127.0.0.1', allow: ['*.npmjs.org', 'pypi.org'] });
  // Stored: read back from the database, and listed.
  expect((await req<SessionV1>('orchestrator.session.get', { sessionId: s.id })).networkInForce).toEqual(s.networkInForce);
  const listed = await req<{ sessions: SessionV1[] }>('orchestrator.session.list', { owner: 'mia' });
  expect(listed.sessions.find((x) => x.id === s.id)?.networkInForce).toEqual(s.networkInForce);

  const narrow = await create(member, { projectId: p.id, sandbox: { network: { allow: ['registry.npmjs.org'] } } });
  expect(narrow.sandbox.network).toEqual({ allow: ['registry.npmjs.org'] });
  await expect(create(member, { projectId: p.id, sandbox: { network: { allow: ['registry.npmjs.org', 'evil.example'] } } })).rejects.toMatchObject({
    code: 'FORBIDDEN',
    message: expect.stringContaining('sandbox.network.allow[1] "evil.example" is not within project net-allow\'s allowlist'),
    details: { field: 'sandbox.network.allow[1]' },
  });
  expect((await create(admin, { projectId: p.id, sandbox: { network: { allow: ['evil.example'] } } })).sandbox.network).toEqual({ allow: ['evil.example'] });
});

test('credentials: resolved from the sealed key into shell.open only; unknown or keyless providers and "none" are 400s naming the field', async () => {
  await req('orchestrator.provider.set', { name: 'anthropic', apiKey: ANTHROPIC_KEY });

  await expect(create(member, { sandbox: { credentials: ['nope'] } })).rejects.toMatchObject({
    code: 'VALIDATION_FAILED',
    message: expect.stringContaining('sandbox.credentials[0]: no provider "nope" is configured'),
    details: { fields: [{ path: 'sandbox.credentials[0]' }] },
  });
  await expect(create(member, { sandbox: { credentials: ['anthropic', 'openai'] } })).rejects.toMatchObject({
    code: 'VALIDATION_FAILED',
    message: expect.stringContaining('sandbox.credentials[1]: provider "openai" has no API key'),
  });
  await expect(create(member, { sandbox: { credentials: ['anthropic'], network: 'none' } })).rejects.toMatchObject({
    code: 'VALIDATION_FAILED',
    message: expect.stringContaining('sandbox.credentials: credentials need network'),
  });

  const s = await create(member, { sandbox: { credentials: ['anthropic'] } });
  // No network asked: only the providers' hosts ({allow: []}; the egress proxy allows each credential's upstream).
  expect(s.sandbox).toEqual({ credentials: ['anthropic'], network: { allow: [] } });
  expect(s.networkInForce).toMatchObject({ mode: 'allow', allow: [], credentials: ['anthropic'] });
  expect(lastOpen(s.id).credentials).toEqual([
    { name: 'anthropic', upstream: 'https://api.anthropic.com', headers: { 'x-api-key': ANTHROPIC_KEY }, baseUrlEnv: ['ANTHROPIC_BASE_URL'], placeholderKeyEnv: ['ANTHROPIC_API_KEY'] },
  ]);
  // The key is nowhere else: not in the session, its events, the provider listing, or the database in clear.
  expect(JSON.stringify(await req('orchestrator.session.get', { sessionId: s.id }))).not.toContain(ANTHROPIC_KEY);
  expect(JSON.stringify(await req('orchestrator.session.events', { sessionId: s.id, since: 0 }))).not.toContain(ANTHROPIC_KEY);
  expect(JSON.stringify(await req('orchestrator.provider.list', {}))).not.toContain(ANTHROPIC_KEY);
  const odb = await openOrchestratorDatabase({ databaseUrl: db.url, dataDir: db.dataDir });
  try {
    const rows = await odb.client.agentProvider.findMany({});
    const sessions = await odb.client.session.findMany({});
    expect(rows.find((r) => r.name === 'anthropic')?.sealedKey).toMatch(/^v1:/);
    expect(JSON.stringify(rows)).not.toContain(ANTHROPIC_KEY);
    expect(JSON.stringify(sessions)).not.toContain(ANTHROPIC_KEY);
  } finally {
    await odb.close();
  }
  expect(orch.output()).not.toContain(ANTHROPIC_KEY);
});

test('refused egress logged by the jail reaches the stored session log, live and durably, in order with the rest', async () => {
  const s = await create(member, { sandbox: { network: { allow: ['pypi.org'] } } });
  const at = new Date().toISOString();
  // The jail's stream numbers its denials among the session's events (services/shell registry).
  await shell.log(s.id, 'egress.denied', { host: 'evil.example', port: 443, via: 'connect', reason: 'not in the allowlist', count: 1, at });
  await shell.log(s.id, 'egress.denied', { host: 'evil.example', port: 443, via: 'connect', reason: 'not in the allowlist (repeated)', count: 41, at });
  const logged = await waitFor('the denials in the log', async () => {
    const r = await req<{ events: SessionEventV1[] }>('orchestrator.session.events', { sessionId: s.id, since: 0 });
    const d = r.events.filter((e) => e.kind === 'egress.denied');
    return d.length === 2 ? d : undefined;
  });
  expect(logged.map((e) => e.data)).toEqual([
    { host: 'evil.example', port: 443, via: 'connect', reason: 'not in the allowlist', count: 1, at },
    { host: 'evil.example', port: 443, via: 'connect', reason: 'not in the allowlist (repeated)', count: 41, at },
  ]);
  await waitFor('the denials live', () => client.live.filter((e) => e.sessionId === s.id && e.kind === 'egress.denied').length === 2);
  const closed = await req<SessionV1>('orchestrator.session.close', { sessionId: s.id });
  expect(closed.status).toBe('closed');
});
