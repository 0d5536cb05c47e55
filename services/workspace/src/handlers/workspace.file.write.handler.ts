import type { CommandHandler } from '@codeagent/bus';
import { AppError } from '@codeagent/contracts';
import type { WorkspaceApp } from '../workspaces/app';

// Node's base64 decoder skips characters it does not know: check first, or bad input writes garbage.
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** Writes a file atomically; a full disk answers QUOTA_EXCEEDED and publishes workspace.quota_exceeded. */
export const workspaceFileWrite =
  (app: WorkspaceApp): CommandHandler<'workspace.file.write'> =>
  async (p) => {
    if (p.encoding === 'base64' && (!BASE64.test(p.content) || p.content.replace(/=+$/, '').length % 4 === 1)) {
      throw new AppError('VALIDATION_FAILED', 'content is not valid base64', { details: { fields: { content: 'not base64' } } });
    }
    const content = Buffer.from(p.content, p.encoding);
    const { files } = await app.files(p.workspaceId);
    return app.lifecycle.guardWrite(p.workspaceId, async () => {
      await app.checkSoftQuota(p.workspaceId, content.length);
      return files.write(p.path, content);
    });
  };
