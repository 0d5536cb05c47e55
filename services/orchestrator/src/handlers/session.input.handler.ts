import type { CommandHandler } from '@codeagent/bus';
import { AppError } from '@codeagent/contracts';
import { RUNNABLE_STATUSES } from '../sessions/session';
import { callerOf, type CoreDeps } from './context';

/** `orchestrator.session.input`: keystrokes to the jail's terminal, opened (or reattached) first. */
export const sessionInputHandler =
  (d: CoreDeps): CommandHandler<'orchestrator.session.input'> =>
  async (req, ctx) => {
    const s = await d.sessions.visible(req.sessionId, callerOf(req, ctx).actor);
    if (!s.shellInstanceId || !RUNNABLE_STATUSES.includes(s.status)) throw new AppError('INVALID_STATE', `session ${s.id} is ${s.status}; its terminal is usable only while it is ready, busy or idle`, { details: { status: s.status } });
    const o = { instanceId: s.shellInstanceId, timeoutMs: d.timeouts.requestMs };
    // pty.open without a size reattaches (keeping the size) when the terminal exists, so asking every
    // time keeps replicas stateless.
    await d.bus.request('shell.pty.open', { sessionId: s.id }, o);
    const r = await d.bus.request('shell.pty.input', { sessionId: s.id, data: req.data }, o);
    await d.manager.touch(s.id).catch(() => undefined);
    return r;
  };
