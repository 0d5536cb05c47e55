import type { CommandHandler } from '@codeagent/bus';
import type { WorkspaceApp } from '../workspaces/app';

/** A workspace with its current disk usage. */
export const workspaceGet =
  (app: WorkspaceApp): CommandHandler<'workspace.get'> =>
  async (p) =>
    app.workspaces.get(p.workspaceId);
