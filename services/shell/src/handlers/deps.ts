import type { ExternalAgents } from '../agents/agents';
import type { JailRegistry } from '../jails/registry';
import type { StdioProcesses } from '../jails/stdio';
import type { TerminalActivity } from './terminal-activity';

/** What every handler of the shell service needs. */
export interface HandlerDeps {
  registry: JailRegistry;
  /** Processes with pipes in the jails (stdio MCP servers). */
  stdio: StdioProcesses;
  /** Outside agents (tmux + supervisor) in the jails. */
  agents: ExternalAgents;
  /** Says that a session's terminal is typed in (so it is not closed as idle). */
  activity: TerminalActivity;
}
