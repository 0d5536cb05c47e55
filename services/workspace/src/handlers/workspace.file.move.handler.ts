import type { CommandHandler } from '@codeagent/bus';
import type { WorkspaceApp } from '../workspaces/app';

/** Moves or renames; refuses to overwrite. */
export const workspaceFileMove =
  (app: WorkspaceApp): CommandHandler<'workspace.file.move'> =>
  async (p) => {
    const { files } = await app.files(p.workspaceId);
    return app.lifecycle.guardWrite(p.workspaceId, () => files.move(p.from, p.to));
  };
