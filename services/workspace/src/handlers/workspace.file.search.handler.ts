import type { CommandHandler } from '@codeagent/bus';
import type { WorkspaceApp } from '../workspaces/app';

/** Lines matching a string or regular expression in the workspace's text files. */
export const workspaceFileSearch =
  (app: WorkspaceApp): CommandHandler<'workspace.file.search'> =>
  async (p) =>
    (await app.files(p.workspaceId)).files.search(p.path, p.query, p.regex, p.maxResults);
