import type { Bus } from '@codeagent/bus';
import { AppError } from '@codeagent/contracts';

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

/**
 * Asks the session module over the bus (orchestrator.session.get) rather than reaching into its
 * repository, so that the agents keep to the session module's public contract.
 */
export class BusSessionResolver implements SessionResolver {
  constructor(private readonly bus: Bus) {}

  async resolve(sessionId: string): Promise<SessionContext> {
    const s = await this.bus.request('orchestrator.session.get', { sessionId }, { timeoutMs: 10_000 });
    if (!USABLE.has(s.status)) throw new AppError('INVALID_STATE', `session ${sessionId} is ${s.status}: agents need a ready session`);
    if (!s.workspaceId) throw new AppError('INVALID_STATE', `session ${sessionId} has no workspace yet`);
    return { sessionId, workspaceId: s.workspaceId, shellInstanceId: s.shellInstanceId, projectId: s.projectId, network: s.sandbox.network };
  }
}
