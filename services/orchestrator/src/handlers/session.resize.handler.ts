import type { CommandHandler } from '@codeagent/bus';
import { AppError } from '@codeagent/contracts';
import { RUNNABLE_STATUSES } from '../sessions/session';
import { callerOf, type CoreDeps } from './context';

/** `orchestrator.session.resize`: sizes the jail's terminal, opening it when none is open yet. */
export const sessionResizeHandler =
  (d: CoreDeps): CommandHandler<'orchestrator.session.resize'> =>
  async (req, ctx) => {
    const s = await d.sessions.visible(req.sessionId, callerOf(req, ctx).actor);
    if (!s.shellInstanceId || !RUNNABLE_STATUSES.includes(s.status)) throw new AppError('INVALID_STATE', `session ${s.id} is ${s.status}; its terminal is usable only while it is ready, busy or idle`, { details: { status: s.status } });
    return d.bus.request('shell.pty.open', { sessionId: s.id, cols: req.cols, rows: req.rows }, { instanceId: s.shellInstanceId, timeoutMs: d.timeouts.requestMs });
  };
