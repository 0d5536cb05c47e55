import type { CommandHandler } from '@codeagent/bus';
import type { AgentService } from '../agents/agent-service';

/** `orchestrator.agent.interrupt`: stops a run (its model call and its running command). */
export const agentInterruptHandler =
  (service: AgentService): CommandHandler<'orchestrator.agent.interrupt'> =>
  ({ runId }) =>
    service.interrupt(runId);
