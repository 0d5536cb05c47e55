import type { CommandHandler } from '@codeagent/bus';
import type { AgentService } from '../agents/agent-service';

/** `orchestrator.llm.complete`: one completion through the provider registry, with fallbacks. */
export const llmCompleteHandler =
  (service: AgentService): CommandHandler<'orchestrator.llm.complete'> =>
  (req, ctx) =>
    service.complete({ ...req, user: req.user ?? ctx.metadata.user });
