import type { CommandHandler } from '@codeagent/bus';
import type { WorkspaceApp } from '../workspaces/app';

/** Deletes a file, or a folder (non-empty ones only with recursive). */
export const workspaceFileDelete =
  (app: WorkspaceApp): CommandHandler<'workspace.file.delete'> =>
  async (p) =>
    (await app.files(p.workspaceId)).files.delete(p.path, p.recursive);
