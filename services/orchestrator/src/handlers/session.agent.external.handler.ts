import type { CommandHandler } from '@codeagent/bus';
import { AppError, type CommandName, type CommandReply, type CommandRequest } from '@codeagent/contracts';
import { RUNNABLE_STATUSES } from '../sessions/session';
import { callerOf, type CoreDeps } from './context';

type Pairs = {
  'orchestrator.session.agent.external.start': 'shell.agent.start';
  'orchestrator.session.agent.external.status': 'shell.agent.status';
  'orchestrator.session.agent.external.list': 'shell.agent.list';
  'orchestrator.session.agent.external.keys': 'shell.agent.keys';
  'orchestrator.session.agent.external.screen': 'shell.agent.screen';
  'orchestrator.session.agent.external.stop': 'shell.agent.stop';
};

/**
 * `orchestrator.session.agent.external.*`: outside agents live beside the jail, on the shell replica
 * that holds it; after checking who asks and that the session is live, the command goes there as the
 * matching `shell.agent.*` (the actor stays here: the shell trusts its callers).
 */
export function externalAgentHandler<N extends keyof Pairs & CommandName>(shellCommand: Pairs[N], timeoutMs?: number) {
  return (d: CoreDeps): CommandHandler<N> =>
    async (req, ctx) => {
      const { actor: _actor, ...payload } = req as CommandRequest<N> & { sessionId: string };
      const s = await d.sessions.visible(payload.sessionId, callerOf(req, ctx).actor);
      if (!s.shellInstanceId || !RUNNABLE_STATUSES.includes(s.status)) {
        throw new AppError('INVALID_STATE', `session ${s.id} is ${s.status}; outside agents run only while it is ready, busy or idle`, { details: { status: s.status } });
      }
      const reply = await d.bus.request(shellCommand, payload as CommandRequest<Pairs[N]>, { instanceId: s.shellInstanceId, timeoutMs: timeoutMs ?? d.timeouts.requestMs });
      await d.manager.touch(s.id).catch(() => undefined);
      return reply as CommandReply<N>;
    };
}
