import type { CommandHandler } from '@codeagent/bus';
import type { WorkspaceApp } from '../workspaces/app';

/** Toolchain, build/test commands and sandbox driver the project needs. */
export const workspaceDiscover =
  (app: WorkspaceApp): CommandHandler<'workspace.discover'> =>
  async (p) =>
    app.discover(p.workspaceId);
