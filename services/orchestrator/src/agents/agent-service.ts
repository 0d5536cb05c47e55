import { randomUUID } from 'node:crypto';
import { type AgentRoleV1, AgentRoleV1 as Roles, type AgentRunStatusV1, type AgentRunV1, AppError, type ChatMessageV1, type RoleResultV1, priceUsage } from '@codeagent/contracts';
import type { Logger } from '@codeagent/telemetry';
import type { ModelMessage, ToolSet } from 'ai';
import { ContextTooLongError, callWithFallback } from '../providers/call-model';
import type { ProviderRegistry } from '../providers/registry';
import type { AgentEventSink } from './events';
import { runRole } from './loop';
import { completedEvent, endRunElsewhere } from './orphaned-runs';
import { COMMON_INSTRUCTIONS, ROLE_INSTRUCTIONS } from './roles';
import { RunControl } from './run-control';
import type { AgentRunRepository } from './run-store';
import type { SessionContext, SessionResolver } from './session-context';
import { type ProjectMcpTools, type ToolHost, aiSdkTools } from './tools';

export interface AgentDefaults {
  maxSteps: number;
  budgetUsd: number;
  timeoutMs: number;
}

export interface AgentServiceDeps {
  registry: ProviderRegistry;
  runs: AgentRunRepository;
  sessions: SessionResolver;
  /** The tools of one session (over the bus in the service). */
  hostFor: (session: SessionContext, user?: string, runId?: string) => ToolHost;
  /** The tools of the session's project's MCP servers for one run (closed when it ends); absent: none. */
  mcpFor?: (session: SessionContext, user?: string) => Promise<ProjectMcpTools | undefined>;
  sink: AgentEventSink;
  log: Logger;
  defaults: AgentDefaults;
  /** Best-effort: stop the command running in the session's jail when a run is interrupted. */
  interruptShell?: (session: SessionContext) => Promise<void>;
  /** This replica's id, recorded on its runs. */
  instanceId?: string;
  /** Forwards an interrupt to the replica executing a run. */
  interruptElsewhere?: (runId: string, instanceId: string) => Promise<{ interrupted: boolean; status: AgentRunStatusV1 }>;
}

export interface StartRunInput {
  sessionId: string;
  prompt: string;
  roles?: AgentRoleV1[];
  maxSteps?: number;
  budgetUsd?: number;
  timeoutMs?: number;
  user?: string;
}

/**
 * Seed 003's multi-agency coordinator: a run is one role (/plan, /code, ...) or the pipeline
 * planning → coding → review → testing → documentation, each role handed the results of the ones
 * before; the run's result aggregates them. Runs execute in the background of this replica.
 */
export class AgentService {
  private readonly live = new Map<string, { ctl: RunControl; session: SessionContext; done: Promise<void> }>();
  private readonly tools: ToolSet = aiSdkTools();

  constructor(private readonly deps: AgentServiceDeps) {}

  async start(input: StartRunInput): Promise<{ runId: string }> {
    // Resolve first so that an unknown session or one without a workspace is the caller's error now.
    const session = await this.deps.sessions.resolve(input.sessionId);
    // One run at a time per session (on any replica): two agents in one jail would interleave
    // commands and edits. A run whose deadline passed is not running anymore, even if its replica
    // died before saying so.
    const now = new Date().toISOString();
    const busy = [...this.live.values()].find((l) => l.session.sessionId === input.sessionId)?.ctl.run ?? (await this.deps.runs.listBySession(input.sessionId)).find((r) => r.status === 'running' && (r.deadline ?? '') > now);
    if (busy) throw new AppError('CONFLICT', `session ${input.sessionId} already has a running agent run (${busy.runId}); interrupt it first`, { details: { runId: busy.runId } });
    const runId = randomUUID();
    const roles = input.roles ?? [...Roles.options];
    const { defaults } = this.deps;
    const run: AgentRunV1 = {
      runId,
      sessionId: input.sessionId,
      projectId: session.projectId,
      prompt: input.prompt,
      roles,
      status: 'running',
      steps: [],
      results: [],
      usage: { inputTokens: 0, outputTokens: 0 },
      costUsd: 0,
      budgetUsd: input.budgetUsd ?? defaults.budgetUsd,
      providers: [],
      user: input.user,
      instanceId: this.deps.instanceId,
      startedAt: new Date().toISOString(),
    };
    const deadline = Date.now() + (input.timeoutMs ?? defaults.timeoutMs);
    run.deadline = new Date(deadline).toISOString();
    const ctl = new RunControl(run, { maxSteps: input.maxSteps ?? defaults.maxSteps, budgetUsd: run.budgetUsd, deadline });
    await this.deps.runs.save(run);
    await this.deps.sink.publish('agent.run.started', { runId, sessionId: run.sessionId, projectId: run.projectId, roles, prompt: run.prompt, user: run.user, at: run.startedAt });
    const done = this.execute(ctl, session).finally(() => {
      ctl.dispose();
      this.live.delete(runId);
    });
    this.live.set(runId, { ctl, session, done });
    return { runId };
  }

  async get(runId: string): Promise<AgentRunV1> {
    const run = this.live.get(runId)?.ctl.run ?? (await this.deps.runs.get(runId));
    if (!run) throw new AppError('NOT_FOUND', `no agent run ${runId}`);
    return structuredClone(run);
  }

  async list(sessionId: string): Promise<AgentRunV1[]> {
    return this.deps.runs.listBySession(sessionId);
  }

  async interrupt(runId: string): Promise<{ interrupted: boolean; status: AgentRunStatusV1 }> {
    const live = this.live.get(runId);
    if (!live) {
      const run = await this.get(runId);
      // Runs execute in the replica that started them: send the interrupt there.
      if (run.status === 'running' && run.instanceId && run.instanceId !== this.deps.instanceId && this.deps.interruptElsewhere) {
        try {
          return await this.deps.interruptElsewhere(runId, run.instanceId);
        } catch (err) {
          if (!(err instanceof AppError) || (err.code !== 'SERVICE_TIMEOUT' && err.code !== 'SERVICE_UNAVAILABLE')) throw err;
          // Its replica is gone: the run cannot continue, record it as interrupted (unless another
          // replica has ended it meanwhile: then say how it ended).
          if (await endRunElsewhere(this.deps, run, 'interrupted', `its replica ${run.instanceId} did not answer`)) return { interrupted: true, status: 'interrupted' };
          return { interrupted: false, status: (await this.get(runId)).status };
        }
      }
      return { interrupted: false, status: run.status };
    }
    live.ctl.stop('interrupted');
    await this.deps.interruptShell?.(live.session).catch(() => undefined);
    await live.done;
    return { interrupted: true, status: live.ctl.run.status };
  }

  /** Waits for a run of this replica to end (tests, shutdown). */
  async settled(runId: string): Promise<void> {
    await this.live.get(runId)?.done;
  }

  /** Interrupts every live run (shutdown). */
  async stopAll(): Promise<void> {
    await Promise.all([...this.live.keys()].map((id) => this.interrupt(id)));
  }

  private async execute(ctl: RunControl, session: SessionContext): Promise<void> {
    const run = ctl.run;
    const host = this.deps.hostFor(session, run.user, run.runId);
    let status: AgentRunStatusV1 = 'completed';
    let error: string | undefined;
    let mcp: ProjectMcpTools | undefined;
    try {
      mcp = await this.deps.mcpFor?.(session, run.user);
      for (const role of run.roles) {
        const mcpTools = mcp ? await mcp.toolsFor(role) : {};
        const { links, skipped } = await this.deps.registry.chain({ projectId: session.projectId, role });
        const outcome = await runRole({
          role,
          system: `${ROLE_INSTRUCTIONS[role]}\n${COMMON_INSTRUCTIONS}`,
          project: projectContext(session, run.results),
          task: `Task: ${run.prompt}`,
          links,
          skipped,
          breakers: this.deps.registry.breakers,
          tools: Object.keys(mcpTools).length ? { ...this.tools, ...mcpTools } : this.tools,
          host,
          callOther: mcp ? (name, input) => mcp!.call(role, name, input) : undefined,
          sink: this.deps.sink,
          ctl,
          projectId: session.projectId,
          onStep: () => this.deps.runs.save(run),
        });
        const result: RoleResultV1 = { role, status: outcome.status, output: outcome.output, provider: outcome.provider, model: outcome.model, steps: outcome.steps };
        run.results.push(result);
        if (outcome.status !== 'completed') {
          status = outcome.status;
          error = outcome.error ?? `${role} stopped: ${outcome.status}`;
          break;
        }
      }
    } catch (err) {
      status = 'failed';
      error = err instanceof Error ? err.message : String(err);
      this.deps.log.error({ runId: run.runId, err: error }, 'agent run failed');
    } finally {
      await mcp?.close().catch(() => undefined);
    }
    run.status = status;
    run.error = error;
    run.result = run.results.map((r) => `## ${r.role}\n${r.output}`).join('\n\n');
    run.endedAt = new Date().toISOString();
    await this.deps.runs.save(run);
    await this.deps.sink
      .publish('agent.run.completed', completedEvent(run))
      .catch((err: Error) => this.deps.log.warn({ runId: run.runId, err: err.message }, 'agent.run.completed not published'));
  }

  /** orchestrator.llm.complete: one answer through the role's chain; drops the oldest turns when too long. */
  async complete(req: {
    projectId?: string;
    provider?: string;
    model?: string;
    role?: AgentRoleV1;
    messages: ChatMessageV1[];
    maxOutputTokens?: number;
    temperature?: number;
    sessionId?: string;
    user?: string;
  }) {
    const role = req.role ?? 'coding';
    const { links, skipped } = await this.deps.registry.chain({ projectId: req.projectId, role, provider: req.provider, model: req.model });
    if (links.length === 0) throw new AppError('PROVIDER_FAILED', `no provider configured: ${skipped.map((s) => `${s.provider} (${s.reason})`).join(', ')}`, { details: { skipped } });
    const system = req.messages.filter((m) => m.role === 'system').map((m) => m.content).join('\n\n') || undefined;
    let messages: ModelMessage[] = req.messages.filter((m) => m.role !== 'system').map((m) => ({ role: m.role as 'user' | 'assistant', content: m.content }));
    for (let attempt = 0; ; attempt++) {
      try {
        const r = await callWithFallback(links, this.deps.registry.breakers, { system, messages, maxOutputTokens: req.maxOutputTokens, temperature: req.temperature });
        const costUsd = priceUsage(r.link.kind, r.link.model, r.usage);
        await this.deps.sink.publish('llm.usage', {
          provider: r.link.provider,
          providerKind: r.link.kind,
          model: r.link.model,
          role: req.role ?? 'completion',
          sessionId: req.sessionId,
          projectId: req.projectId,
          user: req.user,
          inputTokens: r.usage.inputTokens,
          outputTokens: r.usage.outputTokens,
          costUsd,
          at: new Date().toISOString(),
          durationMs: r.timing.durationMs,
          firstTokenMs: r.timing.firstTokenMs,
        });
        return { text: r.text, provider: r.link.provider, model: r.link.model, usage: r.usage, costUsd, finishReason: r.finishReason };
      } catch (err) {
        // Keep the latest message; drop the older half of the rest, up to four times.
        if (!(err instanceof ContextTooLongError) || attempt >= 4 || messages.length <= 1) throw err instanceof ContextTooLongError ? new AppError('PAYLOAD_TOO_LARGE', err.message) : err;
        messages = messages.slice(Math.ceil((messages.length - 1) / 2));
        if (messages[0]?.role === 'assistant') messages = messages.slice(1);
      }
    }
  }
}

function projectContext(session: SessionContext, earlier: RoleResultV1[]): string {
  const lines = [`Session ${session.sessionId}${session.projectId ? `, project ${session.projectId}` : ''}.`];
  for (const r of earlier) lines.push(`\nResult of the ${r.role} agent:\n${r.output}`);
  return lines.join('\n');
}
