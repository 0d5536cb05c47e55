// The one module that defines the agent tools; the MCP-server issue imports from here.
export * from './host';
export * from './definitions';
export * from './ai-tools';
export * from './mcp';
