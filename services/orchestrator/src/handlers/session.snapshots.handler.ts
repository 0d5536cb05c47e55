import type { CommandHandler } from '@codeagent/bus';
import { AppError } from '@codeagent/contracts';
import { callerOf, type CoreDeps } from './context';

/** `orchestrator.session.snapshots`. */
export const sessionSnapshotsHandler =
  (d: CoreDeps): CommandHandler<'orchestrator.session.snapshots'> =>
  async (req, ctx) => {
    const s = await d.sessions.visible(req.sessionId, callerOf(req, ctx).actor);
    if (!s.workspaceId) throw new AppError('INVALID_STATE', `session ${s.id} has no workspace`);
    const { snapshots } = await d.bus.request('workspace.snapshots', { workspaceId: s.workspaceId }, { timeoutMs: d.timeouts.requestMs });
    return { snapshots: snapshots.map((x) => ({ ...x, sessionId: s.id })) };
  };
