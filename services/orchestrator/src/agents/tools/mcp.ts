import { type AgentRoleV1, type McpServerConfigV1, cutText, mcpToolName } from '@codeagent/contracts';
import type { Logger } from '@codeagent/telemetry';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { type ToolSet, jsonSchema, tool } from 'ai';

/** One JSON-RPC tool call to a project's MCP server may take this long. */
const CALL_TIMEOUT_MS = 120_000;

interface Connected {
  client: Client;
  tools: { name: string; description?: string; inputSchema: Record<string, unknown> }[];
}

/**
 * The tools of a project's MCP servers for one agent run (the client half of issue 20). Servers are
 * connected on first use and closed when the run ends. A role sees, and may call, only the tools its
 * allowlist names (`allow[role]`: names or `*`); they are offered as `mcp__<server>__<tool>`. A call
 * outside the allowlist, or to a server that could not start, is a failed tool call the model is told
 * about and the step records, never a crash of the run.
 */
export class ProjectMcpTools {
  private readonly conns = new Map<string, Promise<Connected>>();

  constructor(
    private readonly servers: McpServerConfigV1[],
    private readonly transportFor: (server: McpServerConfigV1) => Transport,
    private readonly log: Logger,
  ) {}

  /** AI SDK tools (schemas only) the role may call; servers that fail to start are left out and logged. */
  async toolsFor(role: AgentRoleV1): Promise<ToolSet> {
    const out: ToolSet = {};
    for (const server of this.servers) {
      if (!(server.allow[role]?.length)) continue;
      const c = await this.connect(server).catch((err: Error) => {
        this.log.warn({ server: server.name, err: err.message }, 'MCP server unavailable; its tools are not offered');
        return undefined;
      });
      for (const t of c?.tools ?? []) {
        if (!allowed(server, role, t.name)) continue;
        out[mcpToolName(server.name, t.name)] = tool({
          description: `[MCP ${server.name}] ${t.description ?? t.name}`,
          inputSchema: jsonSchema(t.inputSchema as Parameters<typeof jsonSchema>[0]),
        });
      }
    }
    return out;
  }

  /** Whether a tool name is one of ours (`mcp__…`), allowed or not. */
  owns(name: string): boolean {
    return name.startsWith('mcp__');
  }

  async call(role: AgentRoleV1, name: string, input: unknown): Promise<{ output?: unknown; error?: string }> {
    const parsed = /^mcp__([a-z0-9][a-z0-9_-]*?)__(.+)$/.exec(name);
    const server = parsed ? this.servers.find((s) => s.name === parsed[1]) : undefined;
    if (!parsed || !server) return { error: `unknown tool "${name}": no such MCP server in this project` };
    const toolName = parsed[2]!;
    if (!allowed(server, role, toolName)) {
      const list = server.allow[role];
      return { error: `refused: tool "${toolName}" of MCP server "${server.name}" is not in the ${role} role's allowlist (${list?.length ? list.join(', ') : 'none'})` };
    }
    try {
      const c = await this.connect(server);
      const r = await c.client.callTool({ name: toolName, arguments: (input ?? {}) as Record<string, unknown> }, undefined, { timeout: CALL_TIMEOUT_MS });
      const text = ((r.content as { type: string; text?: string }[] | undefined) ?? [])
        .map((p) => (p.type === 'text' ? (p.text ?? '') : `[${p.type}]`))
        .join('\n');
      if (r.isError) return { error: cutText(text || 'the tool reported an error') };
      return { output: r.structuredContent ?? cutText(text) };
    } catch (err) {
      return { error: `MCP server ${server.name}: ${(err as Error).message}` };
    }
  }

  async close(): Promise<void> {
    const all = [...this.conns.values()];
    this.conns.clear();
    await Promise.all(all.map((p) => p.then((c) => c.client.close()).catch(() => undefined)));
  }

  private connect(server: McpServerConfigV1): Promise<Connected> {
    let c = this.conns.get(server.name);
    if (!c) {
      c = (async () => {
        const client = new Client({ name: 'codeagent-agent', version: '0.1.0' });
        await client.connect(this.transportFor(server), { timeout: CALL_TIMEOUT_MS });
        const { tools } = await client.listTools(undefined, { timeout: CALL_TIMEOUT_MS });
        return { client, tools: tools as Connected['tools'] };
      })();
      this.conns.set(server.name, c);
    }
    return c;
  }
}

function allowed(server: McpServerConfigV1, role: AgentRoleV1, tool: string): boolean {
  const list = server.allow[role] ?? [];
  return list.includes('*') || list.includes(tool);
}

/**
 * Whether the session's network policy lets it reach an HTTP MCP server: `open` reaches any host, an
 * allowlist the hosts it names (exact, `*.` wildcard, optional port), `none` (the default) nothing.
 */
export function networkAllows(network: unknown, url: string): boolean {
  if (network === 'open') return true;
  const allow = (network as { allow?: unknown } | undefined)?.allow;
  if (!Array.isArray(allow)) return false;
  const u = new URL(url);
  const port = u.port || (u.protocol === 'https:' ? '443' : '80');
  return allow.some((entry) => {
    if (typeof entry !== 'string') return false;
    const [host, p] = entry.split(':');
    if (p && p !== port) return false;
    if (!host) return false;
    return host.startsWith('*.') ? u.hostname.endsWith(host.slice(1)) : u.hostname === host;
  });
}
