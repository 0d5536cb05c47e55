import type { z } from 'zod';
import type { CommandDef, EventDef } from './define';
import { agentCommands, agentEvents } from './messages/agent';
import { analyticsCommands, analyticsEvents } from './messages/analytics';
import { externalAgentCommands, externalAgentEvents } from './messages/external-agent';
import { gatewayCommands } from './messages/gateway';
import { healthCommands, healthEvents } from './messages/health';
import { llmCommands, llmEvents } from './messages/llm';
import { mcpCommands } from './messages/mcp';
import { projectCommands, projectEvents } from './messages/project';
import { sessionCommands, sessionEvents } from './messages/session';
import { taskCommands, taskEvents } from './messages/task';
import { projectCiCommands, projectCiEvents } from './messages/project-ci';
import { shellCommands, shellEvents } from './messages/shell';
import { workspaceCommands, workspaceEvents } from './messages/workspace';
import type { ServiceName } from './topology';

/**
 * Every message of the platform, one entry each. The key is the routing key. Each domain keeps its
 * messages in `messages/<domain>.ts` and is spread in here.
 */
export const Commands = {
  ...agentCommands,
  ...llmCommands,
  ...analyticsCommands,
  ...externalAgentCommands,
  ...gatewayCommands,
  ...healthCommands,
  ...mcpCommands,
  ...projectCommands,
  ...sessionCommands,
  ...taskCommands,
  ...projectCiCommands,
  ...shellCommands,
  ...workspaceCommands,
} as const satisfies Record<string, CommandDef>;

export const Events = {
  ...agentEvents,
  ...llmEvents,
  ...analyticsEvents,
  ...externalAgentEvents,
  ...healthEvents,
  ...projectEvents,
  ...sessionEvents,
  ...taskEvents,
  ...projectCiEvents,
  ...shellEvents,
  ...workspaceEvents,
} as const satisfies Record<string, EventDef>;

export type Catalog = { commands: Record<string, CommandDef>; events: Record<string, EventDef> };
export const catalog = { commands: Commands, events: Events } as const;

export type CommandName = keyof typeof Commands;
export type EventName = keyof typeof Events;
export type CommandRequest<N extends CommandName> = z.infer<(typeof Commands)[N]['request']>;
export type CommandReply<N extends CommandName> = z.infer<(typeof Commands)[N]['reply']>;
export type EventPayload<N extends EventName> = z.infer<(typeof Events)[N]['schema']>;

/** The commands one service must answer: a handler map typed with this fails to compile when one is missing. */
export type CommandsOf<S extends ServiceName> = {
  [N in CommandName]: (typeof Commands)[N]['service'] extends S ? N : never;
}[CommandName];
