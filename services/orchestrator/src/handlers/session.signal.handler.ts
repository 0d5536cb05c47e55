import type { CommandHandler } from '@codeagent/bus';
import { AppError } from '@codeagent/contracts';
import { RUNNABLE_STATUSES } from '../sessions/session';
import { callerOf, type CoreDeps } from './context';

/**
 * `orchestrator.session.signal` (MCP report_progress and signal_user, seed 000's taskspace progress and
 * "signal user"): appended to the session's log (through its jail's stream), so every subscriber (CLI,
 * dashboard, Socket.IO) sees it live and on replay.
 */
export const sessionSignalHandler =
  (d: CoreDeps): CommandHandler<'orchestrator.session.signal'> =>
  (req, ctx) =>
    d.sessions.routed('orchestrator.session.signal', req, callerOf(req, ctx), async (s) => {
      if (!RUNNABLE_STATUSES.includes(s.status)) throw new AppError('INVALID_STATE', `session ${s.id} is ${s.status}; progress and signals go to a live session`, { details: { status: s.status } });
      const user = req.actor?.userId ?? ctx.metadata.user;
      const data = {
        message: req.message,
        ...(req.status !== undefined ? { status: req.status } : {}),
        ...(req.percent !== undefined ? { percent: req.percent } : {}),
        ...(req.from ? { from: req.from } : {}),
        ...(user ? { user } : {}),
      };
      const seq = await d.events.append(s, req.kind, data);
      await d.manager.touch(s.id).catch(() => undefined);
      return { seq };
    });
