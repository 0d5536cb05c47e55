import type { CommandHandler } from '@codeagent/bus';
import type { HandlerDeps } from './deps';

/** The jails this replica holds, for the orchestrator's reconciliation. */
export const shellListHandler =
  ({ registry }: HandlerDeps): CommandHandler<'shell.list'> =>
  async () =>
    registry.list();
