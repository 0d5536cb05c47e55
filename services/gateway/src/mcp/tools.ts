import { randomUUID } from 'node:crypto';
import { AGENT_TOOL_SPECS, AgentRoleV1, type AgentToolName, SandboxSpecV1, TaskStatusV1, cutText } from '@codeagent/contracts';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { assertOwner } from '../auth/access';
import { actorOf } from '../auth/actor';
import { isAdmin } from '../auth/principal';
import { type McpContext, type ToolExtra, guarded, jsonResult } from './context';
import { commandProgress } from './progress';

/** stdout and stderr of run_command are each cut to this many characters in an MCP result (the log has all). */
export const MCP_OUTPUT_CHARS = 100_000;

const SessionId = z.string().min(1).max(200).describe('the session (from create_session)');
const Id = z.string().min(1).max(200);

type Register = (server: McpServer, ctx: McpContext) => void;

/**
 * The agent tools the platform's own agents use, with a `sessionId` each: same names, descriptions and
 * schemas (@codeagent/contracts AGENT_TOOL_SPECS). run_command goes through the session's exec (so the
 * command is in the session's log, with progress); update_task through the task route's calls; the
 * others through orchestrator.session.tool, i.e. the agents' own executors.
 */
const registerAgentTools: Register = (server, ctx) => {
  const { services, access } = ctx.deps;
  const who = ctx.who;
  for (const name of Object.keys(AGENT_TOOL_SPECS) as AgentToolName[]) {
    if (name === 'run_command' || name === 'update_task') continue;
    const spec = AGENT_TOOL_SPECS[name];
    server.registerTool(
      name,
      { description: spec.description, inputSchema: { sessionId: SessionId, ...spec.input.shape } },
      guarded(async (args: Record<string, unknown>) => {
        const { sessionId, ...input } = args as { sessionId: string };
        await access.check(who, sessionId);
        const r = await services.call('orchestrator.session.tool', { sessionId, tool: name, input, actor: actorOf(who) }, who, { timeoutMs: 120_000 });
        if (r.error !== undefined) return { isError: true, content: [{ type: 'text', text: `TOOL_FAILED: ${r.error}` }] };
        return jsonResult(r.output as Record<string, unknown>);
      }),
    );
  }

  const run = AGENT_TOOL_SPECS.run_command;
  server.registerTool(
    'run_command',
    {
      description: `${run.description} Long commands report progress notifications when the request carries a progressToken.`,
      inputSchema: { sessionId: SessionId, ...run.input.shape },
      outputSchema: {
        exitCode: z.number().int(),
        stdout: z.string(),
        stderr: z.string(),
        durationMs: z.number(),
        timedOut: z.boolean(),
        truncated: z.boolean().describe('stdout or stderr was cut; the session event log has every byte'),
        commandId: z.string(),
      },
    },
    guarded(async ({ sessionId, command, timeoutMs }: { sessionId: string; command: string; timeoutMs: number }, extra: ToolExtra) => {
      await access.check(who, sessionId);
      const commandId = `mcp-${randomUUID()}`;
      const progress = extra._meta?.progressToken !== undefined ? commandProgress(ctx, sessionId, commandId, extra._meta.progressToken, extra) : undefined;
      try {
        const r = await ctx.deps.commands.exec(who, sessionId, { command, commandId, timeoutMs });
        return execResult(sessionId, r);
      } finally {
        progress?.stop();
      }
    }),
  );

  const upd = AGENT_TOOL_SPECS.update_task;
  server.registerTool(
    'update_task',
    { description: upd.description, inputSchema: { ...upd.input.shape, sessionId: SessionId.optional().describe('link the task to this session') } },
    guarded(async ({ taskId, status, note, sessionId }: { taskId: string; status?: z.infer<typeof TaskStatusV1>; note?: string; sessionId?: string }) => {
      const t = await services.call('orchestrator.task.get', { taskId }, who);
      assertOwner(who, t, `task ${taskId}`);
      if (sessionId) await access.check(who, sessionId);
      return jsonResult(await services.call('orchestrator.task.update', { taskId, status, note, sessionId, actor: actorOf(who) }, who));
    }),
  );
};

/** stdout and stderr apart, the exit code, and any cut said plainly in the text and in `truncated`. */
function execResult(sessionId: string, r: { commandId: string; exitCode: number; stdout: string; stderr: string; durationMs: number; timedOut: boolean; truncated?: boolean }): CallToolResult {
  const stdout = cutText(r.stdout, MCP_OUTPUT_CHARS);
  const stderr = cutText(r.stderr, MCP_OUTPUT_CHARS);
  const truncated = Boolean(r.truncated) || stdout !== r.stdout || stderr !== r.stderr;
  const lines = [`exit code ${r.exitCode}${r.timedOut ? ' (timed out)' : ''}, ${Math.round(r.durationMs)} ms`, '--- stdout ---', stdout, '--- stderr ---', stderr];
  if (truncated) lines.push(`--- output truncated: the full output is in the session's event log (resource codeagent://sessions/${sessionId}/events, command ${r.commandId}) ---`);
  return {
    structuredContent: { exitCode: r.exitCode, stdout, stderr, durationMs: r.durationMs, timedOut: r.timedOut, truncated, commandId: r.commandId },
    content: [{ type: 'text', text: lines.join('\n') }],
  };
}

/** Sessions, snapshots, forks: the calls of the REST session routes. */
const registerSessionTools: Register = (server, ctx) => {
  const { services, access } = ctx.deps;
  const who = ctx.who;
  server.registerTool(
    'create_session',
    {
      description:
        "Open a session: an isolated copy-on-write workspace of a project (or a local folder or git repository) with a jailed shell over it. Give projectId, path or git. It runs in Docker when the project's files define an image (a Dockerfile or devcontainer.json), else in a Bubblewrap jail; `driver` overrides.",
      inputSchema: {
        projectId: Id.optional(),
        path: z.string().min(1).max(4096).optional().describe('a local folder on the platform host, copied'),
        git: z.string().min(1).max(4096).optional().describe('a git URL or path, cloned'),
        ref: z.string().min(1).max(400).optional(),
        sandbox: SandboxSpecV1.optional(),
        workspacePolicy: z.enum(['remove', 'keep']).optional(),
        driver: z.enum(['bubblewrap', 'docker']).optional().describe("the sandbox, instead of what the project's files ask for"),
        fallbackToBubblewrap: z.boolean().optional().describe('a Docker project on a host without an engine runs in a jail instead of failing'),
      },
    },
    guarded(async (a: { projectId?: string; path?: string; git?: string; ref?: string; sandbox?: z.infer<typeof SandboxSpecV1>; workspacePolicy?: 'remove' | 'keep'; driver?: 'bubblewrap' | 'docker'; fallbackToBubblewrap?: boolean }) => {
      const given = [a.projectId, a.path, a.git].filter(Boolean).length;
      if (given !== 1) return { isError: true, content: [{ type: 'text', text: 'VALIDATION_FAILED: give exactly one of projectId, path or git' }] };
      const source = a.path ? { path: a.path } : a.git ? { git: a.git, ...(a.ref ? { ref: a.ref } : {}) } : undefined;
      const s = await services.call(
        'orchestrator.session.create',
        { ...(a.projectId ? { projectId: a.projectId } : { source }), sandbox: a.sandbox, workspacePolicy: a.workspacePolicy, driver: a.driver, fallbackToBubblewrap: a.fallbackToBubblewrap, owner: who.userId, actor: actorOf(who) },
        who,
        // A docker session may build its project's image first (the orchestrator allows 10 min for it).
        { timeoutMs: 12 * 60_000 },
      );
      access.remember(s);
      return jsonResult(s, `Session ${s.id} is ${s.status}.\n${JSON.stringify(s, null, 2)}`);
    }),
  );
  server.registerTool(
    'list_sessions',
    { description: 'Your live sessions, newest first.', inputSchema: { projectId: Id.optional() } },
    guarded(async ({ projectId }: { projectId?: string }) => {
      const out = await services.call('orchestrator.session.list', { projectId, limit: 100, owner: isAdmin(who) ? undefined : who.userId, actor: actorOf(who) }, who);
      const sessions = isAdmin(who) ? out.sessions : out.sessions.filter((s) => s.owner === who.userId);
      return jsonResult({ sessions: sessions.map((s) => ({ id: s.id, status: s.status, projectId: s.projectId, createdAt: s.createdAt })) });
    }),
  );
  server.registerTool(
    'snapshot_session',
    { description: "Snapshot the session's workspace (fork_session can start from it).", inputSchema: { sessionId: SessionId, label: z.string().min(1).max(200).optional() } },
    guarded(async ({ sessionId, label }: { sessionId: string; label?: string }) => {
      await access.check(who, sessionId);
      return jsonResult(await services.call('orchestrator.session.snapshot', { sessionId, label, actor: actorOf(who) }, who, { timeoutMs: 120_000 }));
    }),
  );
  server.registerTool(
    'fork_session',
    { description: "A new session whose workspace starts from this one's live state, or from one of its snapshots.", inputSchema: { sessionId: SessionId, snapshotId: Id.optional() } },
    guarded(async ({ sessionId, snapshotId }: { sessionId: string; snapshotId?: string }) => {
      await access.check(who, sessionId);
      const s = await services.call('orchestrator.session.fork', { sessionId, snapshotId, owner: who.userId, actor: actorOf(who) }, who, { timeoutMs: 180_000 });
      access.remember(s);
      return jsonResult(s, `Session ${s.id} (fork of ${sessionId}) is ${s.status}.\n${JSON.stringify(s, null, 2)}`);
    }),
  );
  server.registerTool(
    'close_session',
    { description: 'Close a session: ends every process of it and removes its workspace (unless keep).', inputSchema: { sessionId: SessionId, workspacePolicy: z.enum(['remove', 'keep']).optional() } },
    guarded(async ({ sessionId, workspacePolicy }: { sessionId: string; workspacePolicy?: 'remove' | 'keep' }) => {
      await access.check(who, sessionId);
      const s = await services.call('orchestrator.session.close', { sessionId, workspacePolicy, actor: actorOf(who) }, who, { timeoutMs: 60_000 });
      return jsonResult(s, `Session ${s.id} is ${s.status}.`);
    }),
  );
};

/** Tasks, agents, and the taskspace signals of seed 000. */
const registerWorkTools: Register = (server, ctx) => {
  const { services, access } = ctx.deps;
  const who = ctx.who;
  server.registerTool(
    'list_tasks',
    { description: "Tasks of the plan (a member sees their own), with status and owner.", inputSchema: { projectId: Id.optional(), sessionId: Id.optional(), status: TaskStatusV1.optional() } },
    guarded(async (q: { projectId?: string; sessionId?: string; status?: z.infer<typeof TaskStatusV1> }) => {
      const out = await services.call('orchestrator.task.list', { ...q, limit: 500, owner: isAdmin(who) ? undefined : who.userId, actor: actorOf(who) }, who);
      return jsonResult({ tasks: isAdmin(who) ? out.tasks : out.tasks.filter((t) => t.owner === who.userId) });
    }),
  );
  server.registerTool(
    'run_agent',
    {
      description: "Run the platform's agents in the session: one role or the pipeline planning → coding → review → testing → documentation. With wait, answers when the run ends (progress notifications meanwhile); else at once with its runId.",
      inputSchema: { sessionId: SessionId, prompt: z.string().min(1).max(100_000), roles: z.array(AgentRoleV1).min(1).optional(), wait: z.boolean().default(false), timeoutMs: z.number().int().min(1000).max(3_600_000).default(600_000) },
    },
    guarded(async (a: { sessionId: string; prompt: string; roles?: z.infer<typeof AgentRoleV1>[]; wait: boolean; timeoutMs: number }, extra: ToolExtra) => {
      await access.check(who, a.sessionId);
      const { runId } = await services.call('orchestrator.agent.run', { sessionId: a.sessionId, prompt: a.prompt, roles: a.roles, user: who.userId }, who);
      if (!a.wait) return jsonResult({ runId, status: 'running' }, `Agent run ${runId} started; its progress is in the session's event log.`);
      const deadline = Date.now() + a.timeoutMs;
      const token = extra._meta?.progressToken;
      for (let tick = 1; ; tick++) {
        const r = await services.call('orchestrator.agent.get', { runId }, who);
        if (r.status !== 'running' || Date.now() > deadline || extra.signal.aborted) {
          return jsonResult({ runId, status: r.status, result: r.result, error: r.error, steps: r.steps.length, usage: r.usage, costUsd: r.costUsd });
        }
        if (token !== undefined) await extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: tick, message: `${r.steps.length} steps so far` } }).catch(() => undefined);
        await new Promise((res) => setTimeout(res, 1000));
      }
    }),
  );
  const signal = (kind: 'progress' | 'signal') =>
    guarded(async (a: { sessionId: string; message: string; status?: string; percent?: number }) => {
      await access.check(who, a.sessionId);
      const r = await services.call('orchestrator.session.signal', { sessionId: a.sessionId, kind, message: a.message, status: a.status, percent: a.percent, from: ctx.clientName(), actor: actorOf(who) }, who);
      return jsonResult({ seq: r.seq }, `Recorded in session ${a.sessionId}'s stream as event ${r.seq}.`);
    });
  server.registerTool(
    'report_progress',
    {
      description: "Report your progress on the session's task (seed 000's taskspace progress): people following the session (CLI, dashboard) see it live.",
      inputSchema: { sessionId: SessionId, message: z.string().min(1).max(10_000), status: z.string().max(100).optional().describe('e.g. working, blocked, done'), percent: z.number().min(0).max(100).optional() },
    },
    signal('progress'),
  );
  server.registerTool(
    'signal_user',
    { description: "Ask for a person's attention in the session (a question, a decision, a blocker): shown prominently to whoever follows it.", inputSchema: { sessionId: SessionId, message: z.string().min(1).max(10_000) } },
    signal('signal'),
  );
};

export function registerTools(server: McpServer, ctx: McpContext): void {
  registerSessionTools(server, ctx);
  registerAgentTools(server, ctx);
  registerWorkTools(server, ctx);
}
