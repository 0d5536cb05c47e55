import type { Command } from 'commander';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { Ctx } from '../context';

type Run = (fn: (ctx: Ctx, ...args: any[]) => Promise<void>) => (...args: any[]) => Promise<void>;

/**
 * `codeagent mcp`: the gateway's MCP server (`/mcp`) over stdio, for agents that start MCP servers as
 * commands (Claude Code, Codex, Cursor, ...). It relays JSON-RPC messages both ways between its
 * stdin/stdout and the gateway's Streamable HTTP endpoint with the CLI's settings (URL and token), so
 * it is the same server (same tools, same auth, same sessions) and never drifts from it. Nothing but
 * JSON-RPC is written to stdout; diagnostics go to stderr.
 */
export function mcpCommands(program: Command, run: Run): void {
  program
    .command('mcp')
    .description("serve the platform's MCP tools over stdio (relayed to the gateway's /mcp with this CLI's URL and token)")
    .action(run(async (ctx) => serveStdio(ctx)));
}

export async function serveStdio(ctx: Ctx): Promise<void> {
  const remote = new StreamableHTTPClientTransport(new URL('/mcp', ctx.baseUrl), {
    requestInit: { headers: ctx.token ? { authorization: `Bearer ${ctx.token}` } : {} },
  });
  const local = new StdioServerTransport();
  let closing = false;
  const done = new Promise<void>((resolve) => {
    const close = async (why?: string) => {
      if (closing) return;
      closing = true;
      if (why) process.stderr.write(`codeagent mcp: ${why}\n`);
      // Ends the MCP session on the gateway (DELETE /mcp) rather than leaving it to expire.
      await remote.terminateSession().catch(() => undefined);
      await remote.close().catch(() => undefined);
      await local.close().catch(() => undefined);
      resolve();
    };
    local.onclose = () => void close();
    remote.onclose = () => void close();
    process.stdin.once('end', () => void close());
    local.onerror = (err) => process.stderr.write(`codeagent mcp: stdin: ${err.message}\n`);
    remote.onerror = (err) => process.stderr.write(`codeagent mcp: ${ctx.baseUrl}/mcp: ${err.message}\n`);
  });
  // A request the gateway refuses (unreachable, 401) is answered as a JSON-RPC error, so the client
  // sees the reason instead of waiting.
  local.onmessage = (m: JSONRPCMessage) => {
    remote.send(m).catch((err: Error) => {
      const id = 'id' in m && 'method' in m ? m.id : undefined;
      process.stderr.write(`codeagent mcp: ${err.message}\n`);
      if (id !== undefined) void local.send({ jsonrpc: '2.0', id, error: { code: -32000, message: `the codeagent gateway at ${ctx.baseUrl} refused or did not answer: ${err.message}` } });
    });
  };
  remote.onmessage = (m: JSONRPCMessage) => void local.send(m);
  await remote.start();
  await local.start();
  await done;
}
