import type { Bus, CommandHandler } from '@codeagent/bus';
import type { ProjectV1 } from '@codeagent/contracts';
import type { Logger } from '@codeagent/telemetry';
import { agentGetHandler } from '../handlers/agent.get.handler';
import { agentInterruptHandler } from '../handlers/agent.interrupt.handler';
import { agentListHandler } from '../handlers/agent.list.handler';
import { agentRunHandler } from '../handlers/agent.run.handler';
import { agentsGetHandler } from '../handlers/agents.get.handler';
import { agentsSetHandler } from '../handlers/agents.set.handler';
import { llmCompleteHandler } from '../handlers/llm.complete.handler';
import { providerListHandler } from '../handlers/provider.list.handler';
import { providerModelsHandler } from '../handlers/provider.models.handler';
import { providerPullHandler, providerPullStatusHandler } from '../handlers/provider.pull.handler';
import { providerSetHandler } from '../handlers/provider.set.handler';
import { CircuitBreakers } from '../providers/circuit-breaker';
import type { AgentConfigStore } from '../providers/config-store';
import { FileAgentConfigStore } from '../providers/file-config-store';
import { ModelPulls } from '../providers/model-pull';
import { ProviderRegistry } from '../providers/registry';
import { createSecretBox, loadSecretKey } from '../providers/secret-box';
import { AgentService } from './agent-service';
import type { AgentEventSink } from './events';
import { OrphanedRuns } from './orphaned-runs';
import { type AgentRunRepository, MemoryAgentRunRepository } from './run-store';
import { BusSessionResolver, type SessionResolver } from './session-context';
import { busToolHost } from './tools/bus-host';
import { ProjectMcpTools, networkAllows } from './tools/mcp';
import { BusStdioTransport } from './tools/stdio-over-bus';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { SessionContext } from './session-context';

export type AgentCommand =
  | 'orchestrator.agent.run'
  | 'orchestrator.agent.get'
  | 'orchestrator.agent.list'
  | 'orchestrator.agent.interrupt'
  | 'orchestrator.provider.list'
  | 'orchestrator.provider.set'
  | 'orchestrator.provider.models'
  | 'orchestrator.provider.pull'
  | 'orchestrator.provider.pull.status'
  | 'orchestrator.agents.get'
  | 'orchestrator.agents.set'
  | 'orchestrator.llm.complete';

/** How a run reads its project (its MCP servers): the project module's public view, as `orchestrator.project.get` answers. */
export interface ProjectReader {
  get(projectId: string): Promise<ProjectV1>;
}

export interface AgentModuleEnv {
  DATA_DIR: string;
  ORCHESTRATOR_SECRET_KEY?: string;
  ORCHESTRATOR_AGENT_MAX_STEPS: number;
  ORCHESTRATOR_AGENT_BUDGET_USD: number;
  ORCHESTRATOR_AGENT_TIMEOUT_MS: number;
  ORCHESTRATOR_PROVIDER_FAILURES: number;
  ORCHESTRATOR_PROVIDER_COOLDOWN_MS: number;
}

/**
 * The agents and providers of the orchestrator, assembled: the service (service.ts) spreads
 * `handlers` into its map, hands `orphanedRuns` to the sessions' reconciliation and calls `stop` on
 * shutdown. Stores default to the local files under DATA_DIR and memory, sessions and projects to
 * their commands over the bus; the service passes its own (Prisma, its session and project modules)
 * through `overrides`, as tests pass theirs.
 */
export function createAgentModule(
  ctx: { bus: Bus; log: Logger; env: AgentModuleEnv },
  overrides: { config?: AgentConfigStore; runs?: AgentRunRepository; sessions?: SessionResolver; projects?: ProjectReader; sink?: AgentEventSink } = {},
) {
  const { bus, env } = ctx;
  const projects: ProjectReader = overrides.projects ?? { get: (projectId) => bus.request('orchestrator.project.get', { projectId }, { timeoutMs: 10_000 }) };
  const log = ctx.log.child({ component: 'agents' });
  const box = createSecretBox(loadSecretKey(env.ORCHESTRATOR_SECRET_KEY, env.DATA_DIR));
  const sink: AgentEventSink = overrides.sink ?? { publish: (name, payload) => bus.publish(name, payload) };
  const breakers = new CircuitBreakers(env.ORCHESTRATOR_PROVIDER_FAILURES, env.ORCHESTRATOR_PROVIDER_COOLDOWN_MS, Date.now, (name, state) => {
    log.warn({ provider: name, circuit: state }, state === 'open' ? 'provider circuit opened: skipped until its cooldown ends' : 'provider circuit closed');
    sink.publish('provider.changed', { name, change: state === 'open' ? 'circuit-open' : 'circuit-closed', at: new Date().toISOString() }).catch(() => undefined);
  });
  const registry = new ProviderRegistry(overrides.config ?? new FileAgentConfigStore(env.DATA_DIR), box, breakers);
  const pulls = new ModelPulls(sink, log.child({ component: 'model-pull' }));
  const runs = overrides.runs ?? new MemoryAgentRunRepository();
  const service = new AgentService({
    registry,
    runs,
    sessions: overrides.sessions ?? new BusSessionResolver(bus),
    hostFor: (session, user, runId) => busToolHost(bus, session, user, runId),
    mcpFor: (session, user) => projectMcpTools(bus, log, projects, session, user),
    sink,
    log,
    defaults: { maxSteps: env.ORCHESTRATOR_AGENT_MAX_STEPS, budgetUsd: env.ORCHESTRATOR_AGENT_BUDGET_USD, timeoutMs: env.ORCHESTRATOR_AGENT_TIMEOUT_MS },
    instanceId: bus.instanceId,
    interruptElsewhere: (runId, instanceId) => bus.request('orchestrator.agent.interrupt', { runId }, { instanceId, timeoutMs: 30_000 }),
    interruptShell: async (session) => {
      await bus.request('shell.interrupt', { sessionId: session.sessionId }, { instanceId: session.shellInstanceId, timeoutMs: 5000 });
    },
  });
  const handlers: { [N in AgentCommand]: CommandHandler<N> } = {
    'orchestrator.agent.run': agentRunHandler(service),
    'orchestrator.agent.get': agentGetHandler(service),
    'orchestrator.agent.list': agentListHandler(service),
    'orchestrator.agent.interrupt': agentInterruptHandler(service),
    'orchestrator.provider.list': providerListHandler(registry),
    'orchestrator.provider.set': providerSetHandler(registry, sink),
    'orchestrator.provider.models': providerModelsHandler(registry),
    'orchestrator.provider.pull': providerPullHandler(registry, pulls, bus.instanceId),
    'orchestrator.provider.pull.status': providerPullStatusHandler(pulls),
    'orchestrator.agents.get': agentsGetHandler(registry),
    'orchestrator.agents.set': agentsSetHandler(registry),
    'orchestrator.llm.complete': llmCompleteHandler(service),
  };
  const stop = async () => {
    await pulls.stop();
    await service.stopAll();
  };
  // Called by the sessions' reconciliation (service.ts), which knows which replicas are alive.
  const orphanedRuns = new OrphanedRuns({ runs, sink, log, self: bus.instanceId });
  return { handlers, service, registry, orphanedRuns, stop };
}

/**
 * The project's MCP servers for one run: stdio ones run inside the session's jail (over the bus to the
 * shell replica holding it), HTTP ones are reached only when the session's network policy allows
 * their host. None configured (or no project): undefined.
 */
async function projectMcpTools(bus: Bus, log: Logger, projects: ProjectReader, session: SessionContext, user?: string): Promise<ProjectMcpTools | undefined> {
  if (!session.projectId) return undefined;
  const project = await projects.get(session.projectId);
  const servers = project.settings.mcpServers ?? [];
  if (servers.length === 0) return undefined;
  return new ProjectMcpTools(
    servers,
    (server) => {
      if (server.transport === 'stdio') return new BusStdioTransport(bus, session, server, user);
      if (!networkAllows(session.network, server.url)) {
        throw new Error(`the session's network policy (${JSON.stringify(session.network ?? 'none')}) does not allow ${new URL(server.url).host}`);
      }
      return new StreamableHTTPClientTransport(new URL(server.url), { requestInit: { headers: server.headers ?? {} } });
    },
    log.child({ component: 'mcp-client' }),
  );
}
