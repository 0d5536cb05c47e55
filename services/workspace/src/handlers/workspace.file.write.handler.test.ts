import { AppError } from '@codeagent/contracts';
import { testLogger } from '@codeagent/testing';
import type { MessageContext } from '@codeagent/bus';
import type { WorkspaceApp } from '../workspaces/app';
import { workspaceFileWrite } from './workspace.file.write.handler';

const ctx = { id: 'm1', name: 'workspace.file.write', metadata: {}, redelivered: false, attempt: 0, log: testLogger() } as unknown as MessageContext;

/** A fake domain: records writes, and can pretend the soft quota is exhausted. */
function fakeApp(opts: { full?: boolean } = {}) {
  const writes: { path: string; content: Buffer }[] = [];
  const reported: string[] = [];
  const app = {
    files: async () => ({ files: { write: async (path: string, content: Buffer) => (writes.push({ path, content }), { path, size: content.length }) }, hardQuota: false, quotaMb: 1 }),
    checkSoftQuota: async (id: string) => {
      if (opts.full) throw new AppError('QUOTA_EXCEEDED', 'full');
    },
    lifecycle: {
      guardWrite: async <T>(id: string, op: () => Promise<T>) =>
        op().catch((err: AppError) => {
          reported.push(id);
          throw err;
        }),
    },
  } as unknown as WorkspaceApp;
  return { app, writes, reported };
}

describe('workspace.file.write handler', () => {
  it('decodes base64 content before writing', async () => {
    const { app, writes } = fakeApp();
    const reply = await workspaceFileWrite(app)({ workspaceId: 'w', path: 'a.bin', content: Buffer.from([0, 1, 2]).toString('base64'), encoding: 'base64' }, ctx);
    expect(reply).toEqual({ path: 'a.bin', size: 3 });
    expect(writes[0]!.content).toEqual(Buffer.from([0, 1, 2]));
  });

  it('refuses content that is not base64 instead of writing what Node would make of it', async () => {
    const { app, writes } = fakeApp();
    for (const content of ['not base64!', 'a', 'ab$d']) {
      await expect(workspaceFileWrite(app)({ workspaceId: 'w', path: 'a.bin', content, encoding: 'base64' }, ctx)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    }
    expect(writes).toEqual([]);
    // Unpadded and URL-safe base64 are fine.
    await workspaceFileWrite(app)({ workspaceId: 'w', path: 'b.bin', content: '-_8', encoding: 'base64' }, ctx);
    expect(writes[0]!.content).toEqual(Buffer.from([0xfb, 0xff]));
  });

  it('checks the soft quota inside the write guard and writes nothing when full', async () => {
    const { app, writes, reported } = fakeApp({ full: true });
    await expect(workspaceFileWrite(app)({ workspaceId: 'w', path: 'a.txt', content: 'x', encoding: 'utf8' }, ctx)).rejects.toMatchObject({ code: 'QUOTA_EXCEEDED' });
    expect(writes).toEqual([]);
    expect(reported).toEqual(['w']);
  });
});
