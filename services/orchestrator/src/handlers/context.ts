import type { Bus, MessageContext } from '@codeagent/bus';
import type { ActorV1 } from '@codeagent/contracts';
import type { ProjectService } from '../projects/service';
import type { EventLog } from '../sessions/event-log';
import type { SessionManager } from '../sessions/manager';
import type { Caller, SessionService } from '../sessions/service';
import type { TaskService } from '../tasks/service';

/** What the session, project and task handlers are built from (main.ts assembles it). */
export interface CoreDeps {
  bus: Bus;
  sessions: SessionService;
  manager: SessionManager;
  events: EventLog;
  projects: ProjectService;
  tasks: TaskService;
  timeouts: { requestMs: number; snapshotMs: number };
}

export const callerOf = (req: { actor?: ActorV1 }, ctx: MessageContext): Caller => ({ actor: req.actor, user: ctx.metadata.user });
