import type { CommandHandler } from '@codeagent/bus';
import type { WorkspaceApp } from '../workspaces/app';

/** A folder's entries (recursively if asked), without what .gitignore excludes. */
export const workspaceFileList =
  (app: WorkspaceApp): CommandHandler<'workspace.file.list'> =>
  async (p) =>
    (await app.files(p.workspaceId)).files.list(p.path, p.recursive);
