import type { CommandHandler } from '@codeagent/bus';
import type { WorkspaceApp } from '../workspaces/app';

/** A workspace's snapshots, oldest first. */
export const workspaceSnapshots =
  (app: WorkspaceApp): CommandHandler<'workspace.snapshots'> =>
  async (p) => ({ snapshots: await app.snapshots.list(p.workspaceId) });
