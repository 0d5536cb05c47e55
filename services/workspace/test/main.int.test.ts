import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Bus } from '@codeagent/bus';
import { createTestBroker, spawnTs, testLogger, waitFor, type ServiceProcess, type TestBroker } from '@codeagent/testing';
import { cleanupTree, writeTree } from './helpers';
import { loopDevicesUnder, mountsUnder } from '../src/volumes/mounts';

jest.setTimeout(60_000);

/** The service as it runs: main.ts in its own process, the real broker, commands and events over the bus. */
describe('workspace main.ts over the bus', () => {
  let broker: TestBroker;
  let proc: ServiceProcess | undefined;
  let client: Bus;
  let tmp: string;
  const events: { name: string; payload: Record<string, unknown> }[] = [];

  const serviceEnv = () => ({ RABBITMQ_URL: broker.url, WORKSPACE_PORT: '0', DATA_DIR: path.join(tmp, 'data'), WORKSPACE_DEFAULT_QUOTA_MB: '16' });

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'ws-main-'));
    broker = await createTestBroker('wsmain');
    client = await Bus.connect({ url: broker.url, service: 'workspace-main-test', instanceId: 'client', logger: testLogger() });
    await client.subscribeAll('workspace-main-test-events', async (name, payload) => {
      events.push({ name, payload: payload as Record<string, unknown> });
    });
    proc = spawnTs('services/workspace/src/main.ts', serviceEnv());
  });

  afterAll(async () => {
    await proc?.stop('SIGTERM');
    await client?.close();
    await broker?.dispose();
    await cleanupTree(tmp);
  });

  test('prepare, files, snapshot, diff, restore, fork, discover, quota and remove over the bus', async () => {
    const pong = await waitFor('the ping answer', () => client.request('workspace.ping', {}, { timeoutMs: 2000 }).catch(() => undefined), { timeoutMs: 40_000 });
    expect(pong).toMatchObject({ service: 'workspace', status: 'ok' });

    const src = path.join(tmp, 'proj');
    writeTree(src, { 'package.json': '{"scripts":{"test":"jest"}}', 'index.js': 'console.log(1)\n' });
    const ws = await client.request('workspace.prepare', { source: { kind: 'path', path: src }, owner: 'bob' }, { timeoutMs: 30_000 });
    expect(ws).toMatchObject({ quotaMb: 16, owner: 'bob', storage: { mode: 'overlay', quota: 'hard' } });
    const id = ws.workspaceId;

    expect(await client.request('workspace.discover', { workspaceId: id })).toMatchObject({ toolchain: 'node', testCommand: 'npm test' });
    // A project's folder is read in place; a remote URL has no folder here; one of the two must be given.
    expect(await client.request('workspace.discover', { source: { kind: 'path', path: src } })).toMatchObject({ tier: 'language', languages: ['node'], testCommand: 'npm test' });
    await expect(client.request('workspace.discover', { source: { kind: 'git', url: 'https://example.invalid/x.git' } })).rejects.toMatchObject({ code: 'INVALID_STATE' });
    await expect(client.request('workspace.discover', {} as never)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    const snap = await client.request('workspace.snapshot', { workspaceId: id, label: 'base' });
    await client.request('workspace.file.write', { workspaceId: id, path: 'index.js', content: 'console.log(2)\n', encoding: 'utf8' });
    const diff = await client.request('workspace.diff', { workspaceId: id, from: snap.snapshotId, to: 'live' });
    expect(diff.changed).toEqual(['index.js']);
    expect(diff.patch).toContain('+console.log(2)');
    // From the state it was prepared in (its lower layer), without a snapshot.
    const sinceStart = await client.request('workspace.diff', { workspaceId: id, from: 'start', to: 'live' });
    expect(sinceStart).toMatchObject({ added: [], changed: ['index.js'], removed: [], truncated: false });
    expect(sinceStart.patch).toContain('-console.log(1)\n+console.log(2)');
    await expect(client.request('workspace.file.read', { workspaceId: id, path: '../../etc/passwd' })).rejects.toMatchObject({ code: 'PATH_OUTSIDE_WORKSPACE' });
    await expect(client.request('workspace.file.write', { workspaceId: id, path: 'x', content: 'x', encoding: 'utf8', extra: 1 } as never)).resolves.toBeDefined();

    const fork = await client.request('workspace.fork', { workspaceId: id });
    await client.request('workspace.restore', { workspaceId: id, snapshotId: snap.snapshotId });
    expect(await client.request('workspace.file.read', { workspaceId: id, path: 'index.js' })).toMatchObject({ content: 'console.log(1)\n' });
    expect(await client.request('workspace.file.read', { workspaceId: fork.workspaceId, path: 'index.js' })).toMatchObject({ content: 'console.log(2)\n' });
    // A fork starts from its parent's state at the fork (two lowers, mounted read-only for the call).
    await client.request('workspace.file.delete', { workspaceId: fork.workspaceId, path: 'package.json', recursive: false });
    await client.request('workspace.file.write', { workspaceId: fork.workspaceId, path: 'new.txt', content: 'hi\n', encoding: 'utf8' });
    const forkDiff = await client.request('workspace.diff', { workspaceId: fork.workspaceId, from: 'start', to: 'live' });
    expect(forkDiff).toMatchObject({ added: ['new.txt'], changed: [], removed: ['package.json'] });
    expect(forkDiff.patch).toContain('+hi');
    expect((await mountsUnder(path.join(tmp, 'data'))).filter((m) => m.mountPoint.endsWith('/start'))).toEqual([]);

    // 16 MiB quota: a few 5 MiB writes through the API end with QUOTA_EXCEEDED and one event.
    const five = Buffer.alloc(5 * 1024 * 1024, 1).toString('base64');
    const failure = await (async () => {
      for (let i = 0; i < 6; i++) await client.request('workspace.file.write', { workspaceId: id, path: `big${i}`, content: five, encoding: 'base64' }, { timeoutMs: 20_000 });
      return undefined;
    })().catch((err: unknown) => err);
    expect(failure).toMatchObject({ code: 'QUOTA_EXCEEDED' });

    expect(await client.request('workspace.snapshot.delete', { snapshotId: snap.snapshotId })).toEqual({ deleted: true });
    expect(await client.request('workspace.snapshots', { workspaceId: id })).toEqual({ snapshots: [] });
    await expect(client.request('workspace.file.write', { workspaceId: id, path: 'x', content: '%%%', encoding: 'base64' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });

    expect((await client.request('workspace.list', { owner: 'bob' })).workspaces.map((w) => w.workspaceId).sort()).toEqual([id, fork.workspaceId].sort());
    expect(await client.request('workspace.remove', { workspaceId: fork.workspaceId })).toEqual({ removed: true });
    expect(await client.request('workspace.remove', { workspaceId: id })).toEqual({ removed: true });
    expect(await client.request('workspace.remove', { workspaceId: id })).toEqual({ removed: false });
    await expect(client.request('workspace.get', { workspaceId: id })).rejects.toMatchObject({ code: 'NOT_FOUND' });

    await waitFor('the events', () => events.filter((e) => e.name === 'workspace.removed').length === 2 || undefined, { timeoutMs: 10_000 });
    const names = events.map((e) => e.name);
    for (const n of ['workspace.prepared', 'workspace.snapshotted', 'workspace.forked', 'workspace.restored', 'workspace.quota_exceeded', 'workspace.removed']) expect(names).toContain(n);
  });

  const restart = async (env: Record<string, string> = {}) => {
    expect(await proc!.stop('SIGTERM')).toBe(0);
    const mounts = await mountsUnder(path.join(tmp, 'data'));
    proc = spawnTs('services/workspace/src/main.ts', { ...serviceEnv(), ...env });
    return mounts;
  };
  const pinged = () => waitFor('the ping answer', () => client.request('workspace.ping', {}, { timeoutMs: 2000 }).catch(() => undefined), { timeoutMs: 40_000 });

  test('a stop keeps the workspaces mounted (for the jails kept across it), and the next start serves them without mounting them twice', async () => {
    await pinged();
    const ws = await client.request('workspace.prepare', { source: { kind: 'empty' } }, { timeoutMs: 30_000 });
    await client.request('workspace.file.write', { workspaceId: ws.workspaceId, path: 'kept.txt', content: 'kept', encoding: 'utf8' });
    const data = path.join(tmp, 'data');
    const before = (await mountsUnder(data)).filter((m) => m.mountPoint.includes(ws.workspaceId));
    expect(before.map((m) => m.fsType).sort()).toEqual(['ext4', 'overlay']);
    expect((await restart()).filter((m) => m.mountPoint.includes(ws.workspaceId))).toEqual(before);
    await pinged();
    expect((await mountsUnder(data)).filter((m) => m.mountPoint.includes(ws.workspaceId))).toEqual(before);
    expect(await client.request('workspace.file.read', { workspaceId: ws.workspaceId, path: 'kept.txt' })).toMatchObject({ content: 'kept' });
    expect(await client.request('workspace.remove', { workspaceId: ws.workspaceId })).toEqual({ removed: true });
  });

  test('with WORKSPACE_UNMOUNT_ON_STOP a stop leaves no mounts; the next start mounts surviving workspaces again', async () => {
    await restart({ WORKSPACE_UNMOUNT_ON_STOP: 'true' });
    await pinged();
    const ws = await client.request('workspace.prepare', { source: { kind: 'empty' } }, { timeoutMs: 30_000 });
    await client.request('workspace.file.write', { workspaceId: ws.workspaceId, path: 'kept.txt', content: 'kept', encoding: 'utf8' });
    const data = path.join(tmp, 'data');
    expect(await restart()).toEqual([]);
    await waitFor('loop devices detached', async () => ((await loopDevicesUnder(data)).length === 0 ? true : undefined), { timeoutMs: 10_000 });
    await pinged();
    expect(await client.request('workspace.file.read', { workspaceId: ws.workspaceId, path: 'kept.txt' })).toMatchObject({ content: 'kept' });
    expect(await client.request('workspace.remove', { workspaceId: ws.workspaceId })).toEqual({ removed: true });
  });
});
