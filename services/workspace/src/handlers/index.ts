import type { CommandHandlers } from '@codeagent/bus';
import type { WorkspaceApp } from '../workspaces/app';
import { workspaceDiff } from './workspace.diff.handler';
import { workspaceDiscover } from './workspace.discover.handler';
import { workspaceFileDelete } from './workspace.file.delete.handler';
import { workspaceFileList } from './workspace.file.list.handler';
import { workspaceFileMove } from './workspace.file.move.handler';
import { workspaceFileRead } from './workspace.file.read.handler';
import { workspaceFileSearch } from './workspace.file.search.handler';
import { workspaceFileStat } from './workspace.file.stat.handler';
import { workspaceFileWrite } from './workspace.file.write.handler';
import { workspaceFork } from './workspace.fork.handler';
import { workspaceGet } from './workspace.get.handler';
import { workspaceList } from './workspace.list.handler';
import { workspacePrepare } from './workspace.prepare.handler';
import { workspaceRemove } from './workspace.remove.handler';
import { workspaceRestore } from './workspace.restore.handler';
import { workspaceSnapshotDelete } from './workspace.snapshot.delete.handler';
import { workspaceSnapshot } from './workspace.snapshot.handler';
import { workspaceSnapshots } from './workspace.snapshots.handler';

/** Every command of the service but the ping (answered by the service kit). */
export function workspaceHandlers(app: WorkspaceApp): Omit<CommandHandlers<'workspace'>, 'workspace.ping'> {
  return {
    'workspace.prepare': workspacePrepare(app),
    'workspace.get': workspaceGet(app),
    'workspace.list': workspaceList(app),
    'workspace.remove': workspaceRemove(app),
    'workspace.snapshot': workspaceSnapshot(app),
    'workspace.snapshots': workspaceSnapshots(app),
    'workspace.snapshot.delete': workspaceSnapshotDelete(app),
    'workspace.restore': workspaceRestore(app),
    'workspace.diff': workspaceDiff(app),
    'workspace.fork': workspaceFork(app),
    'workspace.discover': workspaceDiscover(app),
    'workspace.file.read': workspaceFileRead(app),
    'workspace.file.write': workspaceFileWrite(app),
    'workspace.file.list': workspaceFileList(app),
    'workspace.file.search': workspaceFileSearch(app),
    'workspace.file.stat': workspaceFileStat(app),
    'workspace.file.move': workspaceFileMove(app),
    'workspace.file.delete': workspaceFileDelete(app),
  };
}
