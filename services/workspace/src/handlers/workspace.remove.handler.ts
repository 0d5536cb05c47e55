import type { CommandHandler } from '@codeagent/bus';
import type { WorkspaceApp } from '../workspaces/app';

/** Removes a workspace and all it left; removing an unknown one is not an error (idempotent). */
export const workspaceRemove =
  (app: WorkspaceApp): CommandHandler<'workspace.remove'> =>
  async (p) => ({ removed: await app.lifecycle.remove(p.workspaceId, 'requested') });
