import type { CommandHandlers } from '@codeagent/bus';
import type { HandlerDeps } from './deps';
import { shellAgentAttachCloseHandler } from './shell.agent.attach.close.handler';
import { shellAgentAttachHandler } from './shell.agent.attach.handler';
import { shellAgentAttachInputHandler } from './shell.agent.attach.input.handler';
import { shellAgentKeysHandler } from './shell.agent.keys.handler';
import { shellAgentListHandler } from './shell.agent.list.handler';
import { shellAgentScreenHandler } from './shell.agent.screen.handler';
import { shellAgentStartHandler } from './shell.agent.start.handler';
import { shellAgentStatusHandler } from './shell.agent.status.handler';
import { shellAgentStopHandler } from './shell.agent.stop.handler';
import { shellCloseHandler } from './shell.close.handler';
import { shellExecHandler } from './shell.exec.handler';
import { shellInterruptHandler } from './shell.interrupt.handler';
import { shellListHandler } from './shell.list.handler';
import { shellOpenHandler } from './shell.open.handler';
import { shellPtyInputHandler } from './shell.pty.input.handler';
import { shellPtyOpenHandler } from './shell.pty.open.handler';
import { shellPtyResizeHandler } from './shell.pty.resize.handler';
import { shellSessionAppendHandler } from './shell.session.append.handler';
import { shellStdioCloseHandler } from './shell.stdio.close.handler';
import { shellStdioOpenHandler } from './shell.stdio.open.handler';
import { shellStdioSendHandler } from './shell.stdio.send.handler';

/** Every shell command but the ping (which the service kit answers); a missing one fails the type check. */
export function shellHandlers(deps: HandlerDeps): Omit<CommandHandlers<'shell'>, 'shell.ping'> {
  return {
    'shell.open': shellOpenHandler(deps),
    'shell.exec': shellExecHandler(deps),
    'shell.interrupt': shellInterruptHandler(deps),
    'shell.close': shellCloseHandler(deps),
    'shell.pty.open': shellPtyOpenHandler(deps),
    'shell.pty.input': shellPtyInputHandler(deps),
    'shell.pty.resize': shellPtyResizeHandler(deps),
    'shell.list': shellListHandler(deps),
    'shell.agent.start': shellAgentStartHandler(deps),
    'shell.agent.status': shellAgentStatusHandler(deps),
    'shell.agent.list': shellAgentListHandler(deps),
    'shell.agent.keys': shellAgentKeysHandler(deps),
    'shell.agent.screen': shellAgentScreenHandler(deps),
    'shell.agent.stop': shellAgentStopHandler(deps),
    'shell.agent.attach': shellAgentAttachHandler(deps),
    'shell.agent.attach.input': shellAgentAttachInputHandler(deps),
    'shell.agent.attach.close': shellAgentAttachCloseHandler(deps),
    'shell.session.append': shellSessionAppendHandler(deps),
    'shell.stdio.open': shellStdioOpenHandler(deps),
    'shell.stdio.send': shellStdioSendHandler(deps),
    'shell.stdio.close': shellStdioCloseHandler(deps),
  };
}
