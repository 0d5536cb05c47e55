import { z } from 'zod';
import { command } from '../define';
import { AGENT_TOOL_SPECS, type AgentToolName } from '../tools';
import { AgentRoleV1 } from './llm';
import { ActorV1 } from './session';

// MCP both ways (issue 20). The gateway serves the platform over MCP and reaches the services with the
// commands the REST routes use, plus the two below for what REST has no route for. The orchestrator's
// agents call the tools of a project's MCP servers: stdio servers run inside the session's jail, their
// JSON-RPC lines carried by the shell.stdio.* commands (to the replica holding the jail).

const actor = { /** Who acts (see messages/session.ts). */ actor: ActorV1.optional() };
const sessionRef = { sessionId: z.string().min(1).max(200), ...actor };

/** [a-z0-9_-], the part of `mcp__<server>__<tool>` that names the server. */
const ServerName = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'lower-case letters, digits, _ and -, at most 32');

/**
 * Which of a server's tools each agent role may call: tool names, or `*` for all. A role absent from
 * the map gets none of that server's tools; a call outside the list is refused and logged as such.
 */
export const McpRoleAllowlistV1 = z.partialRecord(AgentRoleV1, z.array(z.string().min(1).max(200)).max(500));
export type McpRoleAllowlistV1 = z.infer<typeof McpRoleAllowlistV1>;

/** An MCP server a project names for its agents. */
export const McpServerConfigV1 = z.discriminatedUnion('transport', [
  z.object({
    name: ServerName,
    /** Started inside the session's jail (cwd /workspace), as confined as anything else there. */
    transport: z.literal('stdio'),
    /** The program and its arguments, e.g. `["node", "tools/mcp.js"]`; run without a shell. */
    command: z.array(z.string().min(1).max(4096)).min(1).max(100),
    /** Extra environment of the process. */
    env: z.record(z.string(), z.string()).optional(),
    allow: McpRoleAllowlistV1,
  }),
  z.object({
    name: ServerName,
    /** Streamable HTTP; reached only when the session's network policy allows its host. */
    transport: z.literal('http'),
    url: z.url().max(2000),
    /** Sent with every request (e.g. an Authorization header for that server). */
    headers: z.record(z.string(), z.string()).optional(),
    allow: McpRoleAllowlistV1,
  }),
]);
export type McpServerConfigV1 = z.infer<typeof McpServerConfigV1>;

export const SessionToolV1 = z.object({
  ...sessionRef,
  /** One of the agent tools (AGENT_TOOL_SPECS). */
  tool: z.enum(Object.keys(AGENT_TOOL_SPECS) as [AgentToolName, ...AgentToolName[]]),
  /** Its arguments, validated by the orchestrator against the tool's schema. */
  input: z.record(z.string(), z.unknown()).default({}),
});
/** A tool's outcome: `output` or, when it failed, `error` (the reason a model or a person reads). */
export const SessionToolReplyV1 = z.object({ output: z.unknown().optional(), error: z.string().optional() });

/** Seed 000's `buffer_taskspace_progress` and `signal_user`: an agent says where it is, or asks a person. */
export const SessionSignalV1 = z.object({
  ...sessionRef,
  /** `progress`: a progress report; `signal`: the agent needs a person's attention. */
  kind: z.enum(['progress', 'signal']),
  message: z.string().min(1).max(10_000),
  /** progress: a free status word (e.g. `working`, `blocked`, `done`). */
  status: z.string().max(100).optional(),
  /** progress: how far, 0 to 100. */
  percent: z.number().min(0).max(100).optional(),
  /** Who sent it, for people reading the log (e.g. the MCP client's name). */
  from: z.string().max(200).optional(),
});
export const SessionSignalReplyV1 = z.object({ /** Its sequence number in the session's log. */ seq: z.number().int().positive() });

export const StdioOpenV1 = z.object({
  sessionId: z.string().min(1),
  /** The process's name within the session (one process per name; opening it again answers the running one). */
  name: ServerName,
  command: z.array(z.string().min(1).max(4096)).min(1).max(100),
  env: z.record(z.string(), z.string()).optional(),
});
export const StdioOpenedV1 = z.object({ name: z.string(), /** Host pid of the process. */ pid: z.number().int(), /** false: it was already running. */ started: z.boolean() });

export const StdioSendV1 = z.object({
  sessionId: z.string().min(1),
  name: ServerName,
  /** One JSON-RPC message, written as one line to the process's stdin. Absent: only collect what it wrote. */
  message: z.record(z.string(), z.unknown()).optional(),
  /** Answer once a message with this JSON-RPC id came back (else at once, with what is already there). */
  waitForId: z.union([z.string(), z.number()]).optional(),
  timeoutMs: z.number().int().min(1).max(3_600_000).default(60_000),
});
export const StdioSendReplyV1 = z.object({
  /** Every JSON-RPC message the process wrote since the last send, in order. */
  messages: z.array(z.unknown()),
  /** The process ended: its exit code and the end of its stderr. */
  exited: z.object({ code: z.number().int().nullable(), stderr: z.string() }).optional(),
});
export const StdioCloseV1 = z.object({ sessionId: z.string().min(1), name: ServerName });
export const StdioClosedV1 = z.object({ closed: z.boolean() });

export const mcpCommands = {
  'orchestrator.session.tool': command('orchestrator', { request: SessionToolV1, reply: SessionToolReplyV1, summary: "run one agent tool on the session's workspace and jail (the MCP server's session tools)" }),
  'orchestrator.session.signal': command('orchestrator', { request: SessionSignalV1, reply: SessionSignalReplyV1, summary: "put a progress report or a call for a person into the session's log" }),
  'shell.stdio.open': command('shell', { request: StdioOpenV1, reply: StdioOpenedV1, summary: "start a long-lived process with pipes inside the session's jail (a stdio MCP server)" }),
  'shell.stdio.send': command('shell', { request: StdioSendV1, reply: StdioSendReplyV1, summary: 'write one JSON-RPC line to it; answer with what it wrote back' }),
  'shell.stdio.close': command('shell', { request: StdioCloseV1, reply: StdioClosedV1, summary: 'end it' }),
} as const;
