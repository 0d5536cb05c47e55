import type { CommandHandler } from '@codeagent/bus';
import type { WorkspaceApp } from '../workspaces/app';

/** Ready workspaces, optionally one owner's. */
export const workspaceList =
  (app: WorkspaceApp): CommandHandler<'workspace.list'> =>
  async (p) => ({ workspaces: await app.workspaces.list(p.owner) });
