import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Bus, type CommandHandler } from '@codeagent/bus';
import { AppError, type Catalog, Commands, Events } from '@codeagent/contracts';
import { BubblewrapDriver, type Sandbox } from '@codeagent/sandbox';
import { testLogger } from '@codeagent/testing';
import { type AgentCommand, createAgentModule } from '../src/agents/agents-module';
import { type AgentRunRepository, MemoryAgentRunRepository } from '../src/agents/run-store';
import type { SessionContext } from '../src/agents/session-context';

// Test stack for the agents: the real orchestrator agent module on a real broker, plus small real
// consumers standing in for the workspace and shell services (not ready when this was written) and for
// the orchestrator's projects (orchestrator.project.get: a project without MCP servers):
// workspace.file.* do real file operations on a temp folder per workspace, shell.exec runs in a real
// Bubblewrap jail from libs/sandbox over that folder. Sessions resolve to {workspaceId = sessionId}.

const USED = ['workspace.file.read', 'workspace.file.write', 'workspace.file.list', 'workspace.file.search', 'workspace.file.delete', 'shell.exec', 'shell.interrupt', 'orchestrator.project.get'];
const AGENT: AgentCommand[] = [
  'orchestrator.agent.run',
  'orchestrator.agent.get',
  'orchestrator.agent.list',
  'orchestrator.agent.interrupt',
  'orchestrator.provider.list',
  'orchestrator.provider.set',
  'orchestrator.agents.get',
  'orchestrator.agents.set',
  'orchestrator.llm.complete',
];
/** Only the commands this stack answers, so other modules' commands need no handler here. */
export const AgentTestCatalog: Catalog = {
  commands: Object.fromEntries(Object.entries(Commands).filter(([n]) => USED.includes(n) || (AGENT as string[]).includes(n))),
  events: Events,
};

export interface AgentStack {
  orchestrator: Bus;
  client: Bus;
  agents: ReturnType<typeof createAgentModule>;
  /** A second orchestrator replica sharing the run store (and the broker) with the first. */
  secondAgents: ReturnType<typeof createAgentModule>;
  /** The run store both replicas share. */
  runs: AgentRunRepository;
  dataDir: string;
  /** Creates a workspace folder for a session (the session id is also the workspace id). */
  workspace(sessionId: string, files: Record<string, string>): string;
  execStarted: string[];
  close(): Promise<void>;
}

export async function startAgentStack(url: string, env: Partial<Parameters<typeof createAgentModule>[0]['env']> = {}): Promise<AgentStack> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'agents-int-'));
  const dataDir = path.join(root, 'data');
  const dirs = new Map<string, string>();
  const jails = new Map<string, Sandbox>();
  const execStarted: string[] = [];
  const driver = new BubblewrapDriver();
  const buses: Bus[] = [];
  const connect = async (service: string) => {
    const b = await Bus.connect({ url, service, instanceId: `${service}-${process.pid}-${buses.length}`, logger: testLogger(), catalog: AgentTestCatalog, requestTimeoutMs: 30_000 });
    buses.push(b);
    return b;
  };

  const inside = (workspaceId: string, p: string): string => {
    const base = dirs.get(workspaceId);
    if (!base) throw new AppError('NOT_FOUND', `no workspace ${workspaceId}`);
    const full = path.resolve(base, p);
    if (full !== base && !full.startsWith(base + path.sep)) throw new AppError('PATH_OUTSIDE_WORKSPACE', p);
    return full;
  };
  const entry = (base: string, full: string) => {
    const st = statSync(full);
    return { name: path.basename(full), path: path.relative(base, full) || '.', type: st.isDirectory() ? ('dir' as const) : ('file' as const), size: st.size, mtime: st.mtime.toISOString() };
  };
  const walk = (base: string, dir: string, recursive: boolean): string[] =>
    readdirSync(dir).flatMap((n) => {
      const full = path.join(dir, n);
      return recursive && statSync(full).isDirectory() ? [full, ...walk(base, full, true)] : [full];
    });

  const workspace = await connect('workspace');
  type WsCommand = 'workspace.file.read' | 'workspace.file.write' | 'workspace.file.list' | 'workspace.file.search' | 'workspace.file.delete';
  const files: { [N in WsCommand]: CommandHandler<N> } = {
    'workspace.file.read': async ({ workspaceId, path: p }) => {
      const full = inside(workspaceId, p);
      return { type: 'file', path: p, content: readFileSync(full, 'utf8'), encoding: 'utf8', size: statSync(full).size, binary: false };
    },
    'workspace.file.write': async ({ workspaceId, path: p, content }) => {
      const full = inside(workspaceId, p);
      mkdirSync(path.dirname(full), { recursive: true });
      writeFileSync(full, content);
      return { path: p, size: Buffer.byteLength(content) };
    },
    'workspace.file.list': async ({ workspaceId, path: p, recursive }) => {
      const base = inside(workspaceId, '.');
      return { entries: walk(base, inside(workspaceId, p), recursive).map((f) => entry(base, f)), truncated: false };
    },
    'workspace.file.search': async ({ workspaceId, query }) => {
      const base = inside(workspaceId, '.');
      const matches = walk(base, base, true)
        .filter((f) => statSync(f).isFile())
        .flatMap((f) => readFileSync(f, 'utf8').split('\n').map((text, i) => ({ path: path.relative(base, f), line: i + 1, text })))
        .filter((m) => m.text.includes(query));
      return { matches, truncated: false };
    },
    'workspace.file.delete': async ({ workspaceId, path: p }) => {
      unlinkSync(inside(workspaceId, p));
      return { deleted: true };
    },
  };
  await workspace.handleCommands('workspace', files as never);

  const shell = await connect('shell');
  const shellHandlers: { [N in 'shell.exec' | 'shell.interrupt']: CommandHandler<N> } = {
    'shell.exec': async ({ sessionId, command, timeoutMs }) => {
      let jail = jails.get(sessionId);
      if (!jail) {
        jail = await driver.open({ workspaceDir: inside(sessionId, '.') });
        jails.set(sessionId, jail);
      }
      execStarted.push(command);
      const r = await jail.exec(command, { timeoutMs });
      return { commandId: `c${execStarted.length}`, ...r };
    },
    'shell.interrupt': async ({ sessionId }) => ({ interrupted: (await jails.get(sessionId)?.interrupt()) ?? false }),
  };
  await shell.handleCommands('shell', shellHandlers as never);

  // Shared by the replicas, as the database is in the service.
  const runs = new MemoryAgentRunRepository();
  const replica = async () => {
    const bus = await connect('orchestrator');
    const module = createAgentModule(
    {
      bus,
      log: testLogger(),
      env: {
        DATA_DIR: dataDir,
        ORCHESTRATOR_AGENT_MAX_STEPS: 20,
        ORCHESTRATOR_AGENT_BUDGET_USD: 5,
        ORCHESTRATOR_AGENT_TIMEOUT_MS: 60_000,
        ORCHESTRATOR_PROVIDER_FAILURES: 3,
        ORCHESTRATOR_PROVIDER_COOLDOWN_MS: 60_000,
        ...env,
      },
    },
    { runs, sessions: { resolve: async (sessionId): Promise<SessionContext> => ({ sessionId, workspaceId: sessionId, shellInstanceId: shell.instanceId, projectId: `p-${sessionId}` }) } },
    );
    // The agents read their session's project (its MCP servers); here every project is a plain one without any.
    const projectGet = async ({ projectId }: { projectId: string }) => {
      const at = new Date().toISOString();
      return { id: projectId, name: projectId, index: 0, source: { kind: 'empty' }, settings: {}, createdAt: at, updatedAt: at };
    };
    await bus.handleCommands('orchestrator', { ...module.handlers, 'orchestrator.project.get': projectGet } as never);
    return { bus, module };
  };
  const first = await replica();
  const orchestrator = first.bus;
  const agents = first.module;
  const second = await replica();
  const client = await connect('gateway');

  return {
    orchestrator,
    client,
    agents,
    secondAgents: second.module,
    runs,
    dataDir,
    execStarted,
    workspace(sessionId, files) {
      const dir = path.join(root, 'ws', sessionId);
      for (const [name, content] of Object.entries(files)) {
        mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
        writeFileSync(path.join(dir, name), content);
      }
      dirs.set(sessionId, dir);
      return dir;
    },
    async close() {
      await agents.stop();
      await second.module.stop();
      await Promise.all([...jails.values()].map((j) => j.close()));
      await Promise.all(buses.map((b) => b.close(1_000)));
      rmSync(root, { recursive: true, force: true });
    },
  };
}
