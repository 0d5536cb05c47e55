import type { CommandHandler } from '@codeagent/bus';
import type { WorkspaceApp } from '../workspaces/app';

/** Puts a snapshot back as the live state, in place. */
export const workspaceRestore =
  (app: WorkspaceApp): CommandHandler<'workspace.restore'> =>
  async (p) =>
    app.lifecycle.guardWrite(p.workspaceId, () => app.snapshots.restore(p.workspaceId, p.snapshotId));
