import type { CommandHandler, EventHandlers } from '@codeagent/bus';
import type { CommandsOf } from '@codeagent/contracts';
import type { EventIngest } from '../sessions/ingest';
import { agentRunHandlers } from './agent.run.handlers';
import type { CoreDeps } from './context';
import { projectCreateHandler } from './project.create.handler';
import { projectDeleteHandler } from './project.delete.handler';
import { projectGetHandler } from './project.get.handler';
import { projectListHandler } from './project.list.handler';
import { projectUpdateHandler } from './project.update.handler';
import { sessionCloseHandler } from './session.close.handler';
import { sessionCreateHandler } from './session.create.handler';
import { sessionEventsHandler } from './session.events.handler';
import { sessionExecHandler } from './session.exec.handler';
import { sessionFileReadHandler } from './session.file.read.handler';
import { sessionFileWriteHandler } from './session.file.write.handler';
import { sessionForkHandler } from './session.fork.handler';
import { sessionGetHandler } from './session.get.handler';
import { sessionInterruptHandler } from './session.interrupt.handler';
import { sessionListHandler } from './session.list.handler';
import { sessionResizeHandler } from './session.resize.handler';
import { sessionDiffHandler } from './session.diff.handler';
import { sessionRestoreHandler } from './session.restore.handler';
import { sessionSnapshotHandler } from './session.snapshot.handler';
import { sessionSignalHandler } from './session.signal.handler';
import { sessionSnapshotsHandler } from './session.snapshots.handler';
import { sessionToolHandler } from './session.tool.handler';
import { taskCreateHandler } from './task.create.handler';
import { taskDeleteHandler } from './task.delete.handler';
import { taskGetHandler } from './task.get.handler';
import { taskListHandler } from './task.list.handler';
import { taskSyncHandler } from './task.sync.handler';
import { taskUpdateHandler } from './task.update.handler';
import { shellClosedHandler } from './shell.closed.handler';
import { shellCrashedHandler } from './shell.crashed.handler';
import { terminalActiveHandler } from './shell.terminal.active.handler';

/** The orchestrator commands of sessions, projects and tasks (the agents module brings its own). */
export type CoreCommand = Extract<CommandsOf<'orchestrator'>, `orchestrator.${'session' | 'project' | 'task'}.${string}`>;

export function coreHandlers(d: CoreDeps): { [N in CoreCommand]: CommandHandler<N> } {
  return {
    'orchestrator.session.create': sessionCreateHandler(d),
    'orchestrator.session.get': sessionGetHandler(d),
    'orchestrator.session.list': sessionListHandler(d),
    'orchestrator.session.close': sessionCloseHandler(d),
    'orchestrator.session.exec': sessionExecHandler(d),
    'orchestrator.session.interrupt': sessionInterruptHandler(d),
    'orchestrator.session.events': sessionEventsHandler(d),
    'orchestrator.session.snapshot': sessionSnapshotHandler(d),
    'orchestrator.session.snapshots': sessionSnapshotsHandler(d),
    'orchestrator.session.diff': sessionDiffHandler(d),
    'orchestrator.session.restore': sessionRestoreHandler(d),
    'orchestrator.session.fork': sessionForkHandler(d),
    'orchestrator.session.file.read': sessionFileReadHandler(d),
    'orchestrator.session.file.write': sessionFileWriteHandler(d),
    'orchestrator.session.resize': sessionResizeHandler(d),
    'orchestrator.session.tool': sessionToolHandler(d),
    'orchestrator.session.signal': sessionSignalHandler(d),
    'orchestrator.project.create': projectCreateHandler(d),
    'orchestrator.project.list': projectListHandler(d),
    'orchestrator.project.get': projectGetHandler(d),
    'orchestrator.project.update': projectUpdateHandler(d),
    'orchestrator.project.delete': projectDeleteHandler(d),
    'orchestrator.task.create': taskCreateHandler(d),
    'orchestrator.task.list': taskListHandler(d),
    'orchestrator.task.get': taskGetHandler(d),
    'orchestrator.task.update': taskUpdateHandler(d),
    'orchestrator.task.delete': taskDeleteHandler(d),
    'orchestrator.task.sync': taskSyncHandler(d),
  };
}

/**
 * Other services' facts about the sessions, on this replica's own queue (each replica receives them
 * all, in order, and acts for the sessions it owns).
 */
export function replicaEventHandlers(ingest: EventIngest): EventHandlers {
  return {
    'shell.crashed': shellCrashedHandler(ingest),
    'shell.closed': shellClosedHandler(ingest),
    'shell.terminal.active': terminalActiveHandler(ingest),
    ...agentRunHandlers(ingest),
  };
}
