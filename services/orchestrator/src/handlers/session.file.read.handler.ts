import type { CommandHandler } from '@codeagent/bus';
import { AppError } from '@codeagent/contracts';
import { callerOf, type CoreDeps } from './context';

/** `orchestrator.session.file.read`: the workspace service checks the path stays inside. */
export const sessionFileReadHandler =
  (d: CoreDeps): CommandHandler<'orchestrator.session.file.read'> =>
  async (req, ctx) => {
    const s = await d.sessions.visible(req.sessionId, callerOf(req, ctx).actor);
    if (!s.workspaceId) throw new AppError('INVALID_STATE', `session ${s.id} has no workspace`);
    return d.bus.request('workspace.file.read', { workspaceId: s.workspaceId, path: req.path }, { timeoutMs: d.timeouts.requestMs, user: ctx.metadata.user });
  };
