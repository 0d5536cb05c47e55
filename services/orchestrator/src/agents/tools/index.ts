// The agent tools (definitions shared with the gateway's MCP server through @codeagent/contracts) and
// the client of a project's MCP servers.
export * from './host';
export * from './definitions';
export * from './ai-tools';
export * from './mcp';
export * from './stdio-over-bus';
