import type { CommandHandler } from '@codeagent/bus';
import { AppError } from '@codeagent/contracts';
import { callerOf, type CoreDeps } from './context';

/**
 * `orchestrator.session.restore`: the session's workspace put back to one of its snapshots, in place
 * (workspace.restore), so a running jail sees the restored files at the same path.
 */
export const sessionRestoreHandler =
  (d: CoreDeps): CommandHandler<'orchestrator.session.restore'> =>
  async (req, ctx) => {
    const s = await d.sessions.visible(req.sessionId, callerOf(req, ctx).actor);
    if (!s.workspaceId) throw new AppError('INVALID_STATE', `session ${s.id} has no workspace`);
    // workspace.restore takes any snapshot id: only this workspace's may be named here.
    const { snapshots } = await d.bus.request('workspace.snapshots', { workspaceId: s.workspaceId }, { timeoutMs: d.timeouts.requestMs });
    if (!snapshots.some((x) => x.snapshotId === req.snapshotId)) throw new AppError('NOT_FOUND', `session ${s.id} has no snapshot ${req.snapshotId}`, { details: { sessionId: s.id, snapshotId: req.snapshotId } });
    await d.bus.request('workspace.restore', { workspaceId: s.workspaceId, snapshotId: req.snapshotId }, { timeoutMs: d.timeouts.snapshotMs });
    return { sessionId: s.id, snapshotId: req.snapshotId, restoredAt: new Date().toISOString() };
  };
