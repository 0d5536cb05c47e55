import { z } from 'zod';
import { TaskStatusV1 } from './messages/task';

// The agent tools, defined once: name, description and zod input. The orchestrator's agent loop gives
// them to its models (with executors over the session's workspace and jail, services/orchestrator/src/
// agents/tools/definitions.ts); the gateway's MCP server (services/gateway/src/mcp) serves the same
// entries to outside agents, each with a `sessionId` added. A tool changed here changes for both.

const relPath = z.string().min(1).max(4096).describe('path relative to the workspace root');

export interface AgentToolSpec<S extends z.ZodObject = z.ZodObject> {
  /** What the tool does, as told to a model. */
  description: string;
  /** Its arguments (validated before it runs). */
  input: S;
}

const spec = <S extends z.ZodObject>(s: AgentToolSpec<S>): AgentToolSpec<S> => s;

export const AGENT_TOOL_SPECS = {
  read_file: spec({
    description: 'Read a text file of the workspace.',
    input: z.object({ path: relPath }),
  }),
  write_file: spec({
    description: 'Create or overwrite a file of the workspace with the given content.',
    input: z.object({ path: relPath, content: z.string().max(5_000_000) }),
  }),
  list_files: spec({
    description: 'List files and folders (honours .gitignore).',
    input: z.object({ path: z.string().max(4096).default('.'), recursive: z.boolean().default(false) }),
  }),
  search_files: spec({
    description: 'Search file contents for a string (or a regular expression).',
    input: z.object({ query: z.string().min(1).max(1000), regex: z.boolean().default(false), path: z.string().max(4096).default('.'), maxResults: z.number().int().min(1).max(1000).default(100) }),
  }),
  run_command: spec({
    description: "Run a shell command in the session's sandbox (cwd and exports persist). Returns exit code, stdout and stderr.",
    input: z.object({ command: z.string().min(1).max(100_000), timeoutMs: z.number().int().min(1000).max(3_600_000).default(120_000) }),
  }),
  apply_patch: spec({
    description: 'Apply a unified diff (one or more files; /dev/null creates or deletes a file).',
    input: z.object({ patch: z.string().min(1).max(5_000_000) }),
  }),
  update_task: spec({
    description: "Update a task of the project's plan: its status and a note.",
    input: z.object({ taskId: z.string().min(1), status: TaskStatusV1.optional(), note: z.string().max(10_000).optional() }),
  }),
} as const;

export type AgentToolName = keyof typeof AGENT_TOOL_SPECS;

export function isAgentToolName(name: string): name is AgentToolName {
  return Object.hasOwn(AGENT_TOOL_SPECS, name);
}

/** Tool output handed back to a model is cut at this many characters; long outputs cost tokens and rarely help. */
export const MAX_TOOL_OUTPUT_CHARS = 20_000;

/** Cuts the middle out of a long text and says so plainly. */
export function cutText(s: string, max = MAX_TOOL_OUTPUT_CHARS): string {
  return s.length <= max ? s : `${s.slice(0, max / 2)}\n…[${s.length - max} characters cut]…\n${s.slice(-max / 2)}`;
}

/**
 * The name under which a tool of a project's MCP server is offered to the platform's agents:
 * `mcp__<server>__<tool>` (the convention Claude Code uses), so it can never shadow a built-in tool.
 */
export const mcpToolName = (server: string, tool: string): string => `mcp__${server}__${tool}`;
