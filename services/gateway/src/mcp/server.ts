import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RouteDeps } from '../routes/deps';
import type { Principal } from '../auth/principal';
import type { McpContext } from './context';
import { registerResources } from './resources';
import { registerTools } from './tools';

export const MCP_SERVER_INFO = { name: 'codeagent', version: '0.1.0' };

const INSTRUCTIONS =
  'codeagent runs your work in isolated sessions: a copy-on-write workspace of a project with a jailed shell over it. ' +
  'Start with create_session (or list_sessions), then run_command, read_file, write_file, list_files, search_files, apply_patch in it; ' +
  'snapshot_session and fork_session to try alternatives; close_session when done. report_progress and signal_user reach the people following the session. ' +
  "Resources: codeagent://sessions/{id}/events (the session's log) and codeagent://sessions/{id}/files/{path}.";

/** One MCP server per MCP session, bound to the user who opened it. */
export function buildMcpServer(deps: RouteDeps, who: Principal): McpServer {
  const server = new McpServer(MCP_SERVER_INFO, { capabilities: { tools: {}, resources: {}, logging: {} }, instructions: INSTRUCTIONS });
  const ctx: McpContext = { deps, who, clientName: () => server.server.getClientVersion()?.name };
  registerTools(server, ctx);
  registerResources(server, ctx);
  return server;
}
