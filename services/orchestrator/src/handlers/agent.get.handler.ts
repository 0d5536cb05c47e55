import type { CommandHandler } from '@codeagent/bus';
import type { AgentService } from '../agents/agent-service';

/** `orchestrator.agent.get`: a run with its steps, tool calls, tokens, cost and providers. */
export const agentGetHandler =
  (service: AgentService): CommandHandler<'orchestrator.agent.get'> =>
  ({ runId }) =>
    service.get(runId);
