import type { CommandHandler } from '@codeagent/bus';
import { AppError } from '@codeagent/contracts';
import { busToolHost } from '../agents/tools/bus-host';
import { executeAgentTool } from '../agents/tools/definitions';
import { RUNNABLE_STATUSES } from '../sessions/session';
import { callerOf, type CoreDeps } from './context';

/**
 * `orchestrator.session.tool`: one agent tool, run by the same executor and on the same host as the
 * agent loop's calls (agents/tools), for the gateway's MCP server. A tool that fails is a result
 * (`error`), as it is for a model; an unknown or closed session is an error.
 */
export const sessionToolHandler =
  (d: CoreDeps): CommandHandler<'orchestrator.session.tool'> =>
  async (req, ctx) => {
    const s = await d.sessions.visible(req.sessionId, callerOf(req, ctx).actor);
    if (!s.workspaceId || !RUNNABLE_STATUSES.includes(s.status)) throw new AppError('INVALID_STATE', `session ${s.id} is ${s.status}; its tools work while it is ready, busy or idle`, { details: { status: s.status } });
    const user = req.actor?.userId ?? ctx.metadata.user;
    const host = busToolHost(d.bus, { sessionId: s.id, workspaceId: s.workspaceId, shellInstanceId: s.shellInstanceId, projectId: s.projectId }, user);
    const r = await executeAgentTool(host, req.tool, req.input);
    if (req.tool === 'write_file' || req.tool === 'apply_patch') await d.manager.touch(s.id).catch(() => undefined);
    return r;
  };
