// A tiny stdio MCP server, built with the SDK: bundled into one file by the MCP e2e test and copied
// into a project, whose agents then start it inside their session's jail. Its tools report where they
// run, so the test can tell a jail from the host.
import { writeFileSync } from 'node:fs';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const server = new McpServer({ name: 'fixture', version: '1.0.0' });
server.registerTool(
  'whereami',
  { description: 'Where this server runs: cwd, uid, hostname; writes a marker file in cwd.', inputSchema: { marker: z.string() } },
  async ({ marker }) => {
    writeFileSync('mcp-marker.txt', marker);
    const info = { cwd: process.cwd(), uid: process.getuid?.() ?? -1, hostname: require('node:os').hostname() as string, pid: process.pid };
    return { content: [{ type: 'text' as const, text: JSON.stringify(info) }], structuredContent: info };
  },
);
server.registerTool('secret', { description: 'A tool no role is allowed to call.', inputSchema: {} }, async () => ({ content: [{ type: 'text' as const, text: 'the secret' }] }));
void server.connect(new StdioServerTransport());
