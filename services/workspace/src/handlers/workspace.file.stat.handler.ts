import type { CommandHandler } from '@codeagent/bus';
import type { WorkspaceApp } from '../workspaces/app';

/** Type, size and time of a path (a symlink is reported as one, not followed). */
export const workspaceFileStat =
  (app: WorkspaceApp): CommandHandler<'workspace.file.stat'> =>
  async (p) =>
    (await app.files(p.workspaceId)).files.stat(p.path);
