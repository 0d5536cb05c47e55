import type { Bus } from '@codeagent/bus';
import { AppError, type SessionV1 } from '@codeagent/contracts';

/** Where a session's tools run: its workspace, the shell replica holding its jail, its project. */
export interface SessionContext {
  sessionId: string;
  workspaceId: string;
  /** The shell replica holding the jail (shell.exec goes to its own queue); absent: any replica. */
  shellInstanceId?: string;
  projectId?: string;
  /** The sandbox's network policy (`none`, `open`, `{allow}`): what HTTP MCP servers it may reach. */
  network?: unknown;
}

export interface SessionResolver {
  resolve(sessionId: string): Promise<SessionContext>;
}

/** States in which a session has a workspace and a jail the agents can use. */
const USABLE = new Set(['ready', 'busy', 'idle']);

/** Where a run in session `s` works; INVALID_STATE when it has no workspace and jail to use. */
function contextOf(sessionId: string, s: SessionV1): SessionContext {
  if (!USABLE.has(s.status)) throw new AppError('INVALID_STATE', `session ${sessionId} is ${s.status}: agents need a ready session`);
  if (!s.workspaceId) throw new AppError('INVALID_STATE', `session ${sessionId} has no workspace yet`);
  return { sessionId, workspaceId: s.workspaceId, shellInstanceId: s.shellInstanceId, projectId: s.projectId, network: s.sandbox.network };
}

/**
 * Through the session module's public view (what `orchestrator.session.get` answers), never its
 * repository: in the orchestrator's own process (its service.ts), the session service itself.
 */
export function sessionResolver(get: (sessionId: string) => Promise<SessionV1>): SessionResolver {
  return { resolve: async (sessionId) => contextOf(sessionId, await get(sessionId)) };
}

/** The same over the bus (orchestrator.session.get), for an agents module without the session module beside it (tests). */
export class BusSessionResolver implements SessionResolver {
  constructor(private readonly bus: Bus) {}

  async resolve(sessionId: string): Promise<SessionContext> {
    return contextOf(sessionId, await this.bus.request('orchestrator.session.get', { sessionId }, { timeoutMs: 10_000 }));
  }
}
