import type { CommandHandler } from '@codeagent/bus';
import type { WorkspaceApp } from '../workspaces/app';

/** A file's content (base64 when binary) or a folder's listing. */
export const workspaceFileRead =
  (app: WorkspaceApp): CommandHandler<'workspace.file.read'> =>
  async (p) =>
    (await app.files(p.workspaceId)).files.read(p.path);
