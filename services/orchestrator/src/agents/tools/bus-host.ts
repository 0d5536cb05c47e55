import type { Bus } from '@codeagent/bus';
import type { SessionContext } from '../session-context';
import type { ToolHost } from './host';

/** The tools of one session, over the bus: workspace.file.* on its workspace, shell.exec in its jail. */
export function busToolHost(bus: Bus, session: SessionContext, user?: string, runId?: string): ToolHost {
  const { workspaceId, sessionId } = session;
  return {
    async readFile(path) {
      const r = await bus.request('workspace.file.read', { workspaceId, path }, { user });
      if (r.type !== 'file') throw new Error(`${path} is a folder`);
      return { content: r.binary ? '' : r.content, binary: r.binary };
    },
    writeFile: (path, content) => bus.request('workspace.file.write', { workspaceId, path, content, encoding: 'utf8' }, { user }),
    async deleteFile(path) {
      await bus.request('workspace.file.delete', { workspaceId, path, recursive: false }, { user });
    },
    listFiles: (path, recursive) => bus.request('workspace.file.list', { workspaceId, path, recursive }, { user }),
    searchFiles: (query, o) => bus.request('workspace.file.search', { workspaceId, query, ...o }, { user }),
    runCommand: (command, timeoutMs) =>
      bus.request('shell.exec', { sessionId, command, timeoutMs, user }, { instanceId: session.shellInstanceId, timeoutMs: timeoutMs + 10_000, user }),
    // The task is linked to this session and run, so its notes say which agent did what.
    updateTask: (input) => bus.request('orchestrator.task.update', { ...input, sessionId, runId }, { user }),
  };
}
