import type { CommandHandler } from '@codeagent/bus';
import type { WorkspaceApp } from '../workspaces/app';

/** Toolchain, setup/test commands and sandbox driver a workspace, or a project's source folder, needs. */
export const workspaceDiscover =
  (app: WorkspaceApp): CommandHandler<'workspace.discover'> =>
  async (p) =>
    app.discover(p);
