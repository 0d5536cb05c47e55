import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { AGENT_TOOLS, type ToolHost, aiSdkTools, executeAgentTool, registerMcpTools } from './index';

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

  it('exposes the same tools over MCP to an outside agent', async () => {
    writeFileSync(path.join(dir, 'hello.txt'), 'hi there');
    const server = new McpServer({ name: 'codeagent', version: '0.1.0' });
    registerMcpTools(server, folderHost(dir));
    const [a, b] = InMemoryTransport.createLinkedPair();
    const client = new Client({ name: 'test', version: '1' });
    await Promise.all([server.connect(a), client.connect(b)]);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(Object.keys(AGENT_TOOLS).sort());
    expect(tools.find((t) => t.name === 'read_file')!.inputSchema.properties).toHaveProperty('path');
    const res = await client.callTool({ name: 'read_file', arguments: { path: 'hello.txt' } });
    expect(JSON.stringify(res.content)).toContain('hi there');
    const err = await client.callTool({ name: 'read_file', arguments: { path: 'nope.txt' } });
    expect(err.isError).toBe(true);
    await client.close();
    await server.close();
  });
});
