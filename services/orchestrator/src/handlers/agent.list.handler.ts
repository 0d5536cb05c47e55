import type { CommandHandler } from '@codeagent/bus';
import type { AgentService } from '../agents/agent-service';

/** `orchestrator.agent.list`: the runs of a session. */
export const agentListHandler =
  (service: AgentService): CommandHandler<'orchestrator.agent.list'> =>
  async ({ sessionId }) => ({ runs: await service.list(sessionId) });
