import type { CommandHandler } from '@codeagent/bus';
import type { WorkspaceApp } from '../workspaces/app';

/** Files added, changed and removed between a snapshot and another snapshot or the live state. */
export const workspaceDiff =
  (app: WorkspaceApp): CommandHandler<'workspace.diff'> =>
  async (p) =>
    app.snapshots.diff(p.workspaceId, p.from, p.to);
