import type { CommandHandler } from '@codeagent/bus';
import type { WorkspaceApp } from '../workspaces/app';

/** Deletes a snapshot and frees the content no other snapshot holds; an unknown one is not an error. */
export const workspaceSnapshotDelete =
  (app: WorkspaceApp): CommandHandler<'workspace.snapshot.delete'> =>
  async (p) => ({ deleted: await app.snapshots.delete(p.snapshotId) });
