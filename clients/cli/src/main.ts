import { Command, CommanderError } from 'commander';
import { platformCommands } from './commands/platform';
import { resourceCommands } from './commands/resources';
import { liveCommands } from './commands/live';
import { mcpCommands } from './commands/mcp';
import { accountCommands } from './commands/accounts';
import { completionCommands } from './commands/completion';
import { modelCommands } from './commands/models';
import { runCommands } from './commands/runs';
import { workspaceCommands } from './commands/workspace';
import { adminCommands } from './commands/admin';
import { agentCommands } from './commands/agent';
import { makeCtx, type Ctx, type GlobalOptions } from './context';
import { CliError, EXIT_CODES_HELP, ExitCode } from './errors';

declare const CODEAGENT_VERSION: string | undefined;
/** The package's version: put in by the build; from package.json when run from the sources. */
const VERSION = typeof CODEAGENT_VERSION === 'string' ? CODEAGENT_VERSION : (require('../package.json') as { version: string }).version;

const program = new Command('codeagent')
  .description('Run AI coding agents on your own code, safely: the command line of a codeagent platform.')
  .version(VERSION)
  .option('--url <url>', 'the gateway (default: config gatewayUrl, or CODEAGENT_URL)')
  .option('--token <token>', 'a bearer token (default: from `codeagent login`, or CODEAGENT_TOKEN)')
  .option('--json', 'machine-readable output')
  .showHelpAfterError()
  .addHelpText('after', EXIT_CODES_HELP)
  .exitOverride();

/** Wraps a command: builds its context, and turns every failure into one line and a stable exit code. */
function run(fn: (ctx: Ctx, ...args: any[]) => Promise<void>) {
  return async (...args: any[]) => {
    const ctx = makeCtx(program.opts<GlobalOptions>());
    try {
      await fn(ctx, ...args.slice(0, -1));
    } catch (err) {
      const e = err instanceof CliError ? err : new CliError((err as Error).message ?? String(err));
      if (ctx.out.json) process.stdout.write(JSON.stringify({ error: { message: e.message, code: e.code, hint: e.hint } }) + '\n');
      else process.stderr.write(`codeagent: ${e.message}${e.hint ? `\n  hint: ${e.hint}` : ''}\n`);
      process.exitCode = e.exitCode;
    }
  };
}

platformCommands(program, run);
resourceCommands(program, run);
liveCommands(program, run);
mcpCommands(program, run);
workspaceCommands(program, run);
runCommands(program, run);
modelCommands(program, run);
accountCommands(program, run);
completionCommands(program, run);
adminCommands(program, run);
agentCommands(program, run);

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : ExitCode.usage);
  // An option's value refused while commander parsed it (before any command ran).
  if (err instanceof CliError) {
    process.stderr.write(`codeagent: ${err.message}\n`);
    process.exit(err.exitCode);
  }
  process.stderr.write(`codeagent: ${(err as Error).message}\n`);
  process.exit(ExitCode.error);
});
