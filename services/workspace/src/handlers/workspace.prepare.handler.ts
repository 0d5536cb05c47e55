import type { CommandHandler } from '@codeagent/bus';
import type { WorkspaceApp } from '../workspaces/app';

/**
 * Prepares a workspace from a folder, a local repository (worktree), a git URL, or nothing. Keyed by
 * the message id: a redelivery returns the workspace the first delivery made.
 */
export const workspacePrepare =
  (app: WorkspaceApp): CommandHandler<'workspace.prepare'> =>
  async (p, ctx) =>
    app.workspaces.prepare({ source: p.source, quotaMb: p.quotaMb, owner: p.owner, requestId: ctx.id });
