import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { AGENT_TOOLS, type AgentToolDef, executeAgentTool } from './definitions';
import type { ToolHost } from './host';

/**
 * Exposes the agent tools to an outside agent (Claude Code, any MCP client) through an MCP server,
 * on a host bound to one session. The MCP-server issue builds the transport; the tools are these.
 */
export function registerMcpTools(server: McpServer, host: ToolHost): void {
  for (const [name, d] of Object.entries(AGENT_TOOLS) as [string, AgentToolDef][]) {
    server.registerTool(name, { description: d.description, inputSchema: d.input.shape }, async (args: unknown) => {
      const r = await executeAgentTool(host, name, args);
      const text = r.error ?? (typeof r.output === 'string' ? r.output : JSON.stringify(r.output));
      return { content: [{ type: 'text' as const, text }], isError: r.error !== undefined };
    });
  }
}
