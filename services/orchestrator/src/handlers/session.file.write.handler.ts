import type { CommandHandler } from '@codeagent/bus';
import { AppError } from '@codeagent/contracts';
import { callerOf, type CoreDeps } from './context';

/** `orchestrator.session.file.write`. */
export const sessionFileWriteHandler =
  (d: CoreDeps): CommandHandler<'orchestrator.session.file.write'> =>
  async (req, ctx) => {
    const s = await d.sessions.visible(req.sessionId, callerOf(req, ctx).actor);
    if (!s.workspaceId) throw new AppError('INVALID_STATE', `session ${s.id} has no workspace`);
    const r = await d.bus.request('workspace.file.write', { workspaceId: s.workspaceId, path: req.path, content: req.content, encoding: req.encoding }, { timeoutMs: d.timeouts.requestMs, user: ctx.metadata.user });
    await d.manager.touch(s.id).catch(() => undefined);
    return r;
  };
