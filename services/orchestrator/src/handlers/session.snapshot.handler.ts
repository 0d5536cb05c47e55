import type { CommandHandler } from '@codeagent/bus';
import { AppError } from '@codeagent/contracts';
import { callerOf, type CoreDeps } from './context';

/** `orchestrator.session.snapshot`: a snapshot of the session's workspace, recorded in its log. */
export const sessionSnapshotHandler =
  (d: CoreDeps): CommandHandler<'orchestrator.session.snapshot'> =>
  (req, ctx) =>
    d.sessions.routed('orchestrator.session.snapshot', req, callerOf(req, ctx), async (s) => {
      if (!s.workspaceId) throw new AppError('INVALID_STATE', `session ${s.id} has no workspace`);
      const snap = await d.bus.request('workspace.snapshot', { workspaceId: s.workspaceId, ...(req.label ? { label: req.label } : {}) }, { timeoutMs: d.timeouts.snapshotMs });
      await d.events.append(s, 'snapshot', { snapshotId: snap.snapshotId, ...(snap.label ? { label: snap.label } : {}) });
      return { ...snap, sessionId: s.id };
    });
