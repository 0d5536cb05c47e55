import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { AGENT_TOOL_SPECS, type McpServerConfigV1 } from '@codeagent/contracts';
import type { Logger } from '@codeagent/telemetry';
import { z } from 'zod';
import { AGENT_TOOLS, ProjectMcpTools, type ToolHost, aiSdkTools, executeAgentTool, networkAllows } from './index';

/** A host on a real temp folder (the bus host is covered by the integration test). */
function folderHost(dir: string): ToolHost {
  const p = (f: string) => path.join(dir, f);
  return {
    readFile: async (f) => ({ content: readFileSync(p(f), 'utf8'), binary: false }),
    writeFile: async (f, c) => {
      mkdirSync(path.dirname(p(f)), { recursive: true });
      writeFileSync(p(f), c);
      return { path: f, size: c.length };
    },
    deleteFile: async (f) => rmSync(p(f)),
    listFiles: async () => ({ entries: readdirSync(dir).map((n) => ({ path: n, type: 'file', size: 0 })), truncated: false }),
    searchFiles: async () => ({ matches: [], truncated: false }),
    runCommand: async (command) => ({ exitCode: 0, stdout: command, stderr: '', timedOut: false, durationMs: 1 }),
  };
}

describe('agent tools', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'tools-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('validates input and reports failures as results', async () => {
    const host = folderHost(dir);
    expect(await executeAgentTool(host, 'read_file', {})).toEqual({ error: expect.stringContaining('path') });
    expect(await executeAgentTool(host, 'nope', {})).toEqual({ error: 'unknown tool "nope"' });
    expect((await executeAgentTool(host, 'read_file', { path: 'missing' })).error).toMatch(/ENOENT/);
    expect((await executeAgentTool(host, 'update_task', { taskId: 't1' })).error).toMatch(/not available/);
  });

  it('applies a multi-file unified patch (modify, create, delete), or nothing when a hunk does not apply', async () => {
    writeFileSync(path.join(dir, 'a.txt'), 'one\ntwo\nthree\n');
    writeFileSync(path.join(dir, 'gone.txt'), 'bye\n');
    const patch = [
      '--- a/a.txt', '+++ b/a.txt', '@@ -1,3 +1,3 @@', ' one', '-two', '+TWO', ' three',
      '--- /dev/null', '+++ b/new.txt', '@@ -0,0 +1 @@', '+fresh',
      '--- a/gone.txt', '+++ /dev/null', '@@ -1 +0,0 @@', '-bye', '',
    ].join('\n');
    const r = await executeAgentTool(folderHost(dir), 'apply_patch', { patch });
    expect(r.error).toBeUndefined();
    expect(readFileSync(path.join(dir, 'a.txt'), 'utf8')).toBe('one\nTWO\nthree\n');
    expect(readFileSync(path.join(dir, 'new.txt'), 'utf8')).toBe('fresh\n');
    expect(existsSync(path.join(dir, 'gone.txt'))).toBe(false);

    const bad = ['--- a/a.txt', '+++ b/a.txt', '@@ -1,2 +1,2 @@', ' zero', '-nothing', '+x', '--- /dev/null', '+++ b/other.txt', '@@ -0,0 +1 @@', '+y', ''].join('\n');
    expect((await executeAgentTool(folderHost(dir), 'apply_patch', { patch: bad })).error).toMatch(/does not apply/);
    expect(existsSync(path.join(dir, 'other.txt'))).toBe(false);
  });

  it('gives the AI SDK every tool, without executors', () => {
    const tools = aiSdkTools();
    expect(Object.keys(tools).sort()).toEqual(Object.keys(AGENT_TOOLS).sort());
    expect(Object.values(tools).every((t) => !('execute' in t) || t.execute === undefined)).toBe(true);
  });

  it('takes names, descriptions and schemas from the table the gateway serves over MCP', () => {
    expect(Object.keys(AGENT_TOOLS).sort()).toEqual(Object.keys(AGENT_TOOL_SPECS).sort());
    for (const [name, d] of Object.entries(AGENT_TOOLS)) {
      const spec = AGENT_TOOL_SPECS[name as keyof typeof AGENT_TOOL_SPECS];
      expect(d.input).toBe(spec.input);
      expect(d.description).toBe(spec.description);
    }
  });
});

describe("a project's MCP servers", () => {
  /** A real MCP server (the SDK's) with two tools, over an in-memory pair. */
  function tools(allow: Record<string, string[]>) {
    const server = new McpServer({ name: 'fixture', version: '1' });
    server.registerTool('shout', { description: 'upper-cases', inputSchema: { text: z.string() } }, async ({ text }) => ({ content: [{ type: 'text' as const, text: text.toUpperCase() }] }));
    server.registerTool('secret', { description: 'not for everyone', inputSchema: {} }, async () => ({ content: [{ type: 'text' as const, text: 'leaked' }] }));
    server.registerTool('fails', { description: 'always fails', inputSchema: {} }, async () => ({ content: [{ type: 'text' as const, text: 'it broke' }], isError: true }));
    const config: McpServerConfigV1 = { name: 'fx', transport: 'stdio', command: ['unused'], allow };
    const log = { warn: jest.fn(), child: () => log } as unknown as Logger;
    return new ProjectMcpTools([config], () => {
      const [a, b] = InMemoryTransport.createLinkedPair();
      void server.connect(a);
      return b;
    }, log);
  }

  it('offers a role only its allowlisted tools, runs them, and refuses the others with the reason', async () => {
    const mcp = tools({ coding: ['shout', 'fails'], review: ['*'] });
    expect(Object.keys(await mcp.toolsFor('coding')).sort()).toEqual(['mcp__fx__fails', 'mcp__fx__shout']);
    expect(Object.keys(await mcp.toolsFor('review')).sort()).toEqual(['mcp__fx__fails', 'mcp__fx__secret', 'mcp__fx__shout']);
    expect(await mcp.toolsFor('planning')).toEqual({});
    expect(await mcp.call('coding', 'mcp__fx__shout', { text: 'hi' })).toEqual({ output: 'HI' });
    expect((await mcp.call('coding', 'mcp__fx__secret', {})).error).toMatch(/refused: tool "secret" of MCP server "fx" is not in the coding role's allowlist \(shout, fails\)/);
    expect((await mcp.call('planning', 'mcp__fx__shout', { text: 'x' })).error).toMatch(/not in the planning role's allowlist \(none\)/);
    expect(await mcp.call('coding', 'mcp__fx__fails', {})).toEqual({ error: 'it broke' });
    expect((await mcp.call('coding', 'mcp__nope__x', {})).error).toMatch(/no such MCP server/);
    await mcp.close();
  });

  it('reaches HTTP servers only where the network policy allows their host', () => {
    expect(networkAllows(undefined, 'https://mcp.example.com/mcp')).toBe(false);
    expect(networkAllows('none', 'https://mcp.example.com/mcp')).toBe(false);
    expect(networkAllows('open', 'https://mcp.example.com/mcp')).toBe(true);
    expect(networkAllows({ allow: ['*.example.com'] }, 'https://mcp.example.com/mcp')).toBe(true);
    expect(networkAllows({ allow: ['mcp.example.com:443'] }, 'https://mcp.example.com/mcp')).toBe(true);
    expect(networkAllows({ allow: ['mcp.example.com:8443'] }, 'https://mcp.example.com/mcp')).toBe(false);
    expect(networkAllows({ allow: ['other.org'] }, 'https://mcp.example.com/mcp')).toBe(false);
  });
});
