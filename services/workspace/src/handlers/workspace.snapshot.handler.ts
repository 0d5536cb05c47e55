import type { CommandHandler } from '@codeagent/bus';
import type { WorkspaceApp } from '../workspaces/app';

/** An immutable, content-addressed snapshot of the live state. */
export const workspaceSnapshot =
  (app: WorkspaceApp): CommandHandler<'workspace.snapshot'> =>
  async (p) =>
    app.snapshots.snapshot(p.workspaceId, p.label);
