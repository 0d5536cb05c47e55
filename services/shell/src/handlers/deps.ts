import type { ExternalAgents } from '../agents/agents';
import type { SessionRegistry } from '../sessions/registry';
import type { StdioProcesses } from '../sessions/stdio';
import type { TerminalActivity } from './terminal-activity';

/** What every handler of the shell service needs. */
export interface HandlerDeps {
  registry: SessionRegistry;
  /** Processes with pipes in the jails (stdio MCP servers). */
  stdio: StdioProcesses;
  /** Outside agents (tmux + supervisor) in the jails. */
  agents: ExternalAgents;
  /** Says that a session's terminal is typed in (so it is not closed as idle). */
  activity: TerminalActivity;
}
