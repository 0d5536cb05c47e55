import type { CommandHandler } from '@codeagent/bus';
import type { AgentService } from '../agents/agent-service';

/** `orchestrator.agent.run`: starts a run in the background and answers its id at once. */
export const agentRunHandler =
  (service: AgentService): CommandHandler<'orchestrator.agent.run'> =>
  (req, ctx) =>
    service.start({ ...req, user: req.user ?? ctx.metadata.user });
