import type { CommandHandler } from '@codeagent/bus';
import { AppError } from '@codeagent/contracts';
import { callerOf, type CoreDeps } from './context';

/**
 * `orchestrator.session.diff`: what changed in the session's workspace since the session started (its
 * workspace as prepared or forked), or since one of its snapshots, up to now.
 */
export const sessionDiffHandler =
  (d: CoreDeps): CommandHandler<'orchestrator.session.diff'> =>
  async (req, ctx) => {
    const s = await d.sessions.visible(req.sessionId, callerOf(req, ctx).actor);
    if (!s.workspaceId) throw new AppError('INVALID_STATE', `session ${s.id} has no workspace`);
    const from = req.from ?? 'start';
    if (from !== 'start') {
      // workspace.diff reads any snapshot it is given: only this workspace's may be named here.
      const { snapshots } = await d.bus.request('workspace.snapshots', { workspaceId: s.workspaceId }, { timeoutMs: d.timeouts.requestMs });
      if (!snapshots.some((x) => x.snapshotId === from)) throw new AppError('NOT_FOUND', `session ${s.id} has no snapshot ${from}`);
    }
    const diff = await d.bus.request('workspace.diff', { workspaceId: s.workspaceId, from, to: 'live' }, { timeoutMs: d.timeouts.snapshotMs });
    return { ...diff, sessionId: s.id, from };
  };
