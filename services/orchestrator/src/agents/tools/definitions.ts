import { applyPatch, parsePatch } from 'diff';
import { TaskStatusV1 } from '@codeagent/contracts';
import { z } from 'zod';
import type { ToolHost } from './host';

// The agent tools, defined once: a zod input schema, a description for the model, and an executor
// over a ToolHost. The agent loop (as AI SDK tools) and the MCP server (mcp.ts) both read this table,
// so an outside agent sees exactly the tools the platform's own agents use.

/** Tool output handed back to a model is cut here: long outputs cost tokens and rarely help. */
export const MAX_TOOL_OUTPUT_CHARS = 20_000;

const relPath = z.string().min(1).max(4096).describe('path relative to the workspace root');

export interface AgentToolDef<S extends z.ZodObject = z.ZodObject> {
  description: string;
  input: S;
  run(host: ToolHost, input: z.infer<S>): Promise<unknown>;
}

const def = <S extends z.ZodObject>(d: AgentToolDef<S>): AgentToolDef<S> => d;

export const AGENT_TOOLS = {
  read_file: def({
    description: 'Read a text file of the workspace.',
    input: z.object({ path: relPath }),
    run: async (host, { path }) => {
      const f = await host.readFile(path);
      return f.binary ? { path, binary: true } : { path, content: cut(f.content) };
    },
  }),
  write_file: def({
    description: 'Create or overwrite a file of the workspace with the given content.',
    input: z.object({ path: relPath, content: z.string().max(5_000_000) }),
    run: (host, { path, content }) => host.writeFile(path, content),
  }),
  list_files: def({
    description: 'List files and folders (honours .gitignore).',
    input: z.object({ path: z.string().max(4096).default('.'), recursive: z.boolean().default(false) }),
    run: async (host, { path, recursive }) => {
      const r = await host.listFiles(path, recursive);
      return { entries: r.entries.slice(0, 500).map((e) => `${e.type === 'dir' ? 'd' : 'f'} ${e.path}`), truncated: r.truncated || r.entries.length > 500 };
    },
  }),
  search_files: def({
    description: 'Search file contents for a string (or a regular expression).',
    input: z.object({ query: z.string().min(1).max(1000), regex: z.boolean().default(false), path: z.string().max(4096).default('.'), maxResults: z.number().int().min(1).max(1000).default(100) }),
    run: (host, i) => host.searchFiles(i.query, { regex: i.regex, path: i.path, maxResults: i.maxResults }),
  }),
  run_command: def({
    description: "Run a shell command in the session's sandbox (cwd and exports persist). Returns exit code, stdout and stderr.",
    input: z.object({ command: z.string().min(1).max(100_000), timeoutMs: z.number().int().min(1000).max(3_600_000).default(120_000) }),
    run: async (host, { command, timeoutMs }) => {
      const r = await host.runCommand(command, timeoutMs);
      return { exitCode: r.exitCode, timedOut: r.timedOut, stdout: cut(r.stdout), stderr: cut(r.stderr) };
    },
  }),
  apply_patch: def({
    description: 'Apply a unified diff (one or more files; /dev/null creates or deletes a file).',
    input: z.object({ patch: z.string().min(1).max(5_000_000) }),
    run: (host, { patch }) => applyUnifiedPatch(host, patch),
  }),
  update_task: def({
    description: "Update a task of the project's plan: its status and a note.",
    input: z.object({ taskId: z.string().min(1), status: TaskStatusV1.optional(), note: z.string().max(10_000).optional() }),
    run: async (host, input) => {
      if (!host.updateTask) throw new Error('tasks are not available in this session');
      return host.updateTask(input);
    },
  }),
} as const;

export type AgentToolName = keyof typeof AGENT_TOOLS;

export function isAgentTool(name: string): name is AgentToolName {
  return Object.hasOwn(AGENT_TOOLS, name);
}

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

function cut(s: string): string {
  return s.length <= MAX_TOOL_OUTPUT_CHARS ? s : `${s.slice(0, MAX_TOOL_OUTPUT_CHARS / 2)}\n…[${s.length - MAX_TOOL_OUTPUT_CHARS} characters cut]…\n${s.slice(-MAX_TOOL_OUTPUT_CHARS / 2)}`;
}

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
