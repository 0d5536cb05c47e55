// Compile-time checks of the typed handler map (tsc runs this file; jest does not).
import type { CommandsOf } from '@codeagent/contracts';
import type { CommandHandlers } from './types';

// A service's commands are exactly the catalog entries addressed to it.
const shellPing: CommandsOf<'shell'> = 'shell.ping';
// @ts-expect-error a workspace command is not one of the shell's
const notShell: CommandsOf<'shell'> = 'workspace.prepare';

// A handler map missing one of the service's commands does not compile.
// @ts-expect-error analytics.ping has no handler
const incomplete: CommandHandlers<'analytics'> = {};

export { shellPing, notShell, incomplete };
