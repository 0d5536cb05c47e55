import { applyPatch, parsePatch } from 'diff';
import { AGENT_TOOL_SPECS, type AgentToolName, type AgentToolSpec, MAX_TOOL_OUTPUT_CHARS, cutText, isAgentToolName } from '@codeagent/contracts';
import { z } from 'zod';
import type { ToolHost } from './host';

// The agent tools: names, descriptions and input schemas come from @codeagent/contracts (tools.ts),
// which the gateway's MCP server serves too; here each gets its executor over a ToolHost. The table is
// typed against the shared one, so a tool added there and not here (or the reverse) fails the check.

export { MAX_TOOL_OUTPUT_CHARS };

export interface AgentToolDef<S extends z.ZodObject = z.ZodObject> extends AgentToolSpec<S> {
  run(host: ToolHost, input: z.infer<S>): Promise<unknown>;
}

type Executors = { [N in AgentToolName]: (host: ToolHost, input: z.infer<(typeof AGENT_TOOL_SPECS)[N]['input']>) => Promise<unknown> };

const EXECUTORS: Executors = {
  read_file: async (host, { path }) => {
    const f = await host.readFile(path);
    return f.binary ? { path, binary: true } : { path, content: cut(f.content) };
  },
  write_file: (host, { path, content }) => host.writeFile(path, content),
  list_files: async (host, { path, recursive }) => {
    const r = await host.listFiles(path, recursive);
    return { entries: r.entries.slice(0, 500).map((e) => `${e.type === 'dir' ? 'd' : 'f'} ${e.path}`), truncated: r.truncated || r.entries.length > 500 };
  },
  search_files: (host, i) => host.searchFiles(i.query, { regex: i.regex, path: i.path, maxResults: i.maxResults }),
  run_command: async (host, { command, timeoutMs }) => {
    const r = await host.runCommand(command, timeoutMs);
    return { exitCode: r.exitCode, timedOut: r.timedOut, stdout: cut(r.stdout), stderr: cut(r.stderr) };
  },
  apply_patch: (host, { patch }) => applyUnifiedPatch(host, patch),
  update_task: async (host, input) => {
    if (!host.updateTask) throw new Error('tasks are not available in this session');
    return host.updateTask(input);
  },
};

export const AGENT_TOOLS = Object.fromEntries(
  (Object.keys(AGENT_TOOL_SPECS) as AgentToolName[]).map((n) => [n, { ...AGENT_TOOL_SPECS[n], run: EXECUTORS[n] }]),
) as { [N in AgentToolName]: AgentToolDef<(typeof AGENT_TOOL_SPECS)[N]['input']> };

export type { AgentToolName };

export const isAgentTool = isAgentToolName;

/** Validates the model's input and runs the tool; a failure is a result the model sees, not a crash. */
export async function executeAgentTool(host: ToolHost, name: string, input: unknown): Promise<{ output?: unknown; error?: string }> {
  if (!isAgentTool(name)) return { error: `unknown tool "${name}"` };
  const d = AGENT_TOOLS[name] as AgentToolDef;
  const parsed = d.input.safeParse(input);
  if (!parsed.success) return { error: `invalid input: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` };
  try {
    return { output: await d.run(host, parsed.data) };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}

const cut = (s: string): string => cutText(s);

const stripPrefix = (p: string | undefined): string | undefined => (p === undefined || p === '/dev/null' ? undefined : p.replace(/^[ab]\//, ''));

async function applyUnifiedPatch(host: ToolHost, patch: string): Promise<{ files: { path: string; action: 'created' | 'modified' | 'deleted' }[] }> {
  const files = parsePatch(patch);
  if (files.length === 0 || files.every((f) => f.hunks.length === 0)) throw new Error('no hunks found in the patch');
  // Compute every result first, so a hunk that does not apply leaves the workspace untouched.
  const plan: { path: string; action: 'created' | 'modified' | 'deleted'; content?: string }[] = [];
  for (const f of files) {
    const oldPath = stripPrefix(f.oldFileName);
    const newPath = stripPrefix(f.newFileName);
    const path = newPath ?? oldPath;
    if (!path) throw new Error('a patch file names neither an old nor a new path');
    const original = oldPath ? (await host.readFile(oldPath)).content : '';
    const next = applyPatch(original, f);
    if (next === false) throw new Error(`the patch does not apply to ${path}`);
    plan.push(newPath ? { path: newPath, action: oldPath ? 'modified' : 'created', content: next } : { path, action: 'deleted' });
  }
  for (const p of plan) {
    if (p.action === 'deleted') await host.deleteFile(p.path);
    else await host.writeFile(p.path, p.content!);
  }
  return { files: plan.map(({ path, action }) => ({ path, action })) };
}
