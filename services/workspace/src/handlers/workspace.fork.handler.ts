import type { CommandHandler } from '@codeagent/bus';
import type { WorkspaceApp } from '../workspaces/app';

/** A new workspace from a live workspace or a snapshot; a redelivery of the message returns the same one. */
export const workspaceFork =
  (app: WorkspaceApp): CommandHandler<'workspace.fork'> =>
  async (p, ctx) =>
    (await app.snapshots.fork({ workspaceId: p.workspaceId, snapshotId: p.snapshotId, owner: p.owner, requestId: ctx.id })).view;
