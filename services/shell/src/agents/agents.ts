import { existsSync } from 'node:fs';
import path from 'node:path';
import type { SecretBox } from '@codeagent/config';
import { AppError, ExternalAgentStartBodyV1, type ExternalAgentV1 } from '@codeagent/contracts';
import type { Logger } from '@codeagent/telemetry';
import type { JailRegistry } from '../jails/registry';
import type { EventSink } from '../jails/types';
import { AgentAttachments } from './attach';
import { AGENTS_FOLDER, AgentSupervisor, stateFolder, type AgentChangeSink, type AgentSpec } from './supervisor';
import { JailTmux, runInJail, tmuxSocketPath } from './tmux';

/** The agent's definition in its state folder, its env sealed. */
const STORED_SPEC = 'agent.json';
/**
 * In its state folder while the agent is supervised: from its start until a person stops it, it exits
 * cleanly or its supervisor gives up. A jail started again for one that was gone (the host restarted)
 * starts such agents again, as a supervisor does after a crash.
 */
const SUPERVISED = 'supervised';

const fileOf = (name: string, file: string) => `/workspace/${stateFolder(name)}/${file}`;

/**
 * The outside agents of every session this replica holds, by session and name. A session's agents
 * end with its jail (their tmux servers live in it); their state folders stay in the workspace.
 */
export class ExternalAgents {
  private readonly bySession = new Map<string, Map<string, AgentSupervisor>>();
  private readonly attachments: AgentAttachments;

  constructor(
    private readonly registry: JailRegistry,
    private readonly sink: EventSink,
    private readonly secrets: SecretBox,
    private readonly log: Logger,
  ) {
    this.attachments = new AgentAttachments(sink, log);
  }

  /** Starts agent `name`; a finished one of that name is replaced, a live one is a CONFLICT. */
  async start(sessionId: string, spec: ExternalAgentStartBodyV1): Promise<ExternalAgentV1> {
    const sandbox = this.registry.sandboxOf(sessionId);
    const agents = this.bySession.get(sessionId) ?? new Map<string, AgentSupervisor>();
    const existing = agents.get(spec.name);
    if (existing && !existing.finished) {
      throw new AppError('CONFLICT', `session ${sessionId} already runs an outside agent named ${spec.name}; stop it first or choose another name`);
    }
    if (existing) await existing.stop({ publish: false });
    const tmux = new JailTmux(sandbox, spec.name);
    const stored = fileOf(spec.name, STORED_SPEC);
    const settled: AgentSpec = { ...spec, env: spec.env ?? (await this.storedEnv(tmux, stored, spec)) };
    const supervisor = this.supervisor(sessionId, settled, tmux);
    agents.set(spec.name, supervisor);
    this.bySession.set(sessionId, agents);
    try {
      // Before the first run, whose end (a clean exit at once) takes the mark away.
      await tmux.mark(fileOf(spec.name, SUPERVISED), true);
      await supervisor.start();
    } catch (err) {
      agents.delete(spec.name);
      await tmux.mark(fileOf(spec.name, SUPERVISED), false).catch(() => undefined);
      throw err;
    }
    // The answer is the agent as launched: one that crashes at once may be in backoff by the time
    // the definition below is written (a clean-clone CI run saw it), which `status` then tells.
    const launched = supervisor.view();
    // The definition, env sealed with the shell's key (which never enters the jail), kept with the agent's state.
    const { env, ...rest } = settled;
    await tmux.writeFile(stored, `${JSON.stringify({ ...rest, envNames: Object.keys(env).sort(), sealedEnv: this.secrets.seal(JSON.stringify(env)) }, null, 2)}\n`);
    return launched;
  }

  status(sessionId: string, name: string): ExternalAgentV1 {
    return this.get(sessionId, name).view();
  }

  list(sessionId: string): ExternalAgentV1[] {
    this.registry.sandboxOf(sessionId);
    return [...(this.bySession.get(sessionId)?.values() ?? [])].map((a) => a.view());
  }

  async keys(sessionId: string, name: string, keys: string | string[], enter: boolean): Promise<void> {
    await this.get(sessionId, name).sendKeys(keys, enter);
  }

  async screen(sessionId: string, name: string, lines: number): Promise<string> {
    return this.get(sessionId, name).screen(lines);
  }

  /** Stops it (its tmux server ends); false when it had already ended. */
  async stop(sessionId: string, name: string): Promise<boolean> {
    const agent = this.get(sessionId, name);
    return agent.stop({ publish: true });
  }

  /** A terminal of its own attached to the agent's tmux (attach.ts); the agent must be known and its tmux alive. */
  async attach(sessionId: string, name: string, attachId: string, cols: number, rows: number): Promise<void> {
    const agent = this.get(sessionId, name);
    if (!(await agent.hasTmux())) throw new AppError('INVALID_STATE', `outside agent ${name}'s tmux session is gone (stopped); start it again to attach`);
    await this.attachments.open(sessionId, this.registry.sandboxOf(sessionId), name, attachId, cols, rows);
  }

  attachInput(sessionId: string, attachId: string, data: string | undefined, size: { cols?: number; rows?: number }): void {
    this.registry.sandboxOf(sessionId);
    this.attachments.input(sessionId, attachId, data, size);
  }

  attachClose(sessionId: string, attachId: string): Promise<boolean> {
    return this.attachments.close(sessionId, attachId);
  }

  /** Before the jail closes: stops supervising its agents (they die with it), without events. */
  async closeSession(sessionId: string): Promise<void> {
    await this.attachments.closeSession(sessionId);
    const agents = this.bySession.get(sessionId);
    this.bySession.delete(sessionId);
    await Promise.allSettled([...(agents?.values() ?? [])].map((a) => a.stop({ publish: false })));
  }

  /**
   * A session's jail adopted from the previous shell process: its agents still run in their tmux
   * servers, and are supervised again from their stored definitions. Agents whose tmux is gone stay
   * stopped (they are started again by name).
   */
  adopt(sessionId: string): Promise<string[]> {
    return this.superviseStored(
      sessionId,
      async () => (await this.lines(sessionId, `ls -1 ${path.posix.dirname(tmuxSocketPath('x'))} 2>/dev/null || true`)).filter((n) => n.endsWith('.sock')).map((n) => n.slice(0, -'.sock'.length)),
      async (supervisor, tmux) => {
        const found = await tmux.run(['has-session', '-t', supervisor.name]);
        if (found.code !== 0) {
          this.log.info({ sessionId, agent: supervisor.name, code: found.code, stderr: found.stderr.trim() }, 'outside agent not supervised again: its tmux session is gone');
          return false;
        }
        supervisor.resume();
        return true;
      },
    );
  }

  /**
   * A session's jail was started again for one that was gone (the host restarted, or its processes
   * were killed while no shell process held it): the agents it supervised are started again from their
   * definitions, as after a crash. Those a person stopped, that exited cleanly or that gave up are not.
   */
  startAgain(sessionId: string): Promise<string[]> {
    return this.superviseStored(
      sessionId,
      () => this.lines(sessionId, `cd /workspace/${AGENTS_FOLDER} 2>/dev/null || exit 0; for d in */; do [ -f "\${d}${SUPERVISED}" ] && printf '%s\n' "\${d%/}"; done; exit 0`),
      async (supervisor) => {
        try {
          await supervisor.start();
          return true;
        } catch (err) {
          this.log.warn({ sessionId, agent: supervisor.name, err: (err as Error).message }, 'outside agent not started again in the new jail');
          return false;
        }
      },
    );
  }

  /**
   * Supervises again, from their stored definitions, the agents `list` names in a session's jail,
   * each as `begin` says (false: not supervised). An agent is found only from its definition under
   * /workspace (AGENTS_FOLDER): without that folder in the workspace, seen from the host, there is
   * none, and no process need be started in the jail to look (one per kept jail at a start: 1,000 of
   * them took ~15 s).
   */
  private async superviseStored(sessionId: string, list: () => Promise<string[]>, begin: (supervisor: AgentSupervisor, tmux: JailTmux) => Promise<boolean>): Promise<string[]> {
    if (!existsSync(path.join(this.registry.workspaceOf(sessionId), AGENTS_FOLDER))) return [];
    const sandbox = this.registry.sandboxOf(sessionId);
    const agents = this.bySession.get(sessionId) ?? new Map<string, AgentSupervisor>();
    const supervised: string[] = [];
    for (const name of await list()) {
      const tmux = new JailTmux(sandbox, name);
      const spec = await this.storedSpec(sessionId, name, tmux);
      if (!spec) continue;
      const supervisor = this.supervisor(sessionId, spec, tmux);
      if (!(await begin(supervisor, tmux))) continue;
      agents.set(name, supervisor);
      supervised.push(name);
    }
    if (agents.size) this.bySession.set(sessionId, agents);
    return supervised;
  }

  /** An agent's stored definition with its env opened; undefined (logged) when it cannot be read. */
  private async storedSpec(sessionId: string, name: string, tmux: JailTmux): Promise<AgentSpec | undefined> {
    const text = await tmux.readFile(fileOf(name, STORED_SPEC));
    if (!text) {
      this.log.info({ sessionId, agent: name }, 'outside agent has no definition to read; not supervised');
      return undefined;
    }
    try {
      const { envNames: _names, sealedEnv, ...rest } = JSON.parse(text) as ExternalAgentStartBodyV1 & { envNames?: string[]; sealedEnv?: unknown };
      const spec = ExternalAgentStartBodyV1.parse({ ...rest, name });
      return { ...spec, env: typeof sealedEnv === 'string' ? (JSON.parse(this.secrets.open(sealedEnv)) as Record<string, string>) : {} };
    } catch (err) {
      this.log.warn({ sessionId, agent: name, err: (err as Error).message }, 'outside agent definition cannot be read; not supervised');
      return undefined;
    }
  }

  private supervisor(sessionId: string, spec: AgentSpec, tmux: JailTmux): AgentSupervisor {
    return new AgentSupervisor(spec.name, spec, {
      tmux,
      log: this.log.child({ sessionId, agent: spec.name }),
      publish: async (c) => {
        // A fact for whoever follows agents, and a `note` in the session's log (a kind every reader knows).
        await this.sink.publish('shell.agent.changed', { sessionId, at: new Date().toISOString(), ...c });
        await this.registry.append(sessionId, 'note', { message: describeChange(c), externalAgent: c });
        if (c.type === 'stopped' || c.type === 'gave-up' || (c.type === 'exited' && c.exitCode === 0)) await tmux.mark(fileOf(spec.name, SUPERVISED), false);
      },
    });
  }

  /** The non-empty lines a shell script run in the session's jail printed. */
  private async lines(sessionId: string, script: string): Promise<string[]> {
    const sandbox = this.registry.sandboxOf(sessionId);
    if (!sandbox.spawn) return [];
    const r = await runInJail(sandbox, ['sh', '-c', script]);
    // The scripts exit 0 when there is nothing to list: anything else is a failure, not an empty list.
    if (r.code !== 0) throw new AppError('INTERNAL', `listing the outside agents in the jail failed (exit ${String(r.code)}): ${r.stderr.trim()}`);
    return r.stdout.split('\n').filter(Boolean);
  }

  /** The env sealed by this agent's last start, when it ran the same command; else none. */
  private async storedEnv(tmux: JailTmux, file: string, spec: ExternalAgentStartBodyV1): Promise<Record<string, string>> {
    const text = await tmux.readFile(file);
    if (text === undefined) return {};
    let stored: { command?: unknown; sealedEnv?: unknown };
    try {
      stored = JSON.parse(text) as typeof stored;
    } catch {
      return {};
    }
    if (stored.command !== spec.command || typeof stored.sealedEnv !== 'string') return {};
    try {
      return JSON.parse(this.secrets.open(stored.sealedEnv)) as Record<string, string>;
    } catch {
      throw new AppError('INVALID_STATE', `the env stored for outside agent ${spec.name} cannot be opened (sealed with another key, or changed); start it with env again`);
    }
  }

  /** Shutdown: every session's agents. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.bySession.keys()].map((id) => this.closeSession(id)));
  }

  private get(sessionId: string, name: string): AgentSupervisor {
    this.registry.sandboxOf(sessionId);
    const agent = this.bySession.get(sessionId)?.get(name);
    if (!agent) throw new AppError('NOT_FOUND', `session ${sessionId} has no outside agent named ${name}`, { details: { sessionId, name } });
    return agent;
  }
}

/** One line for a person: "outside agent claude crashed (exit 1, 2 straight failures)". */
function describeChange(c: Parameters<AgentChangeSink>[0]): string {
  const who = `outside agent ${c.name}`;
  switch (c.type) {
    case 'started':
      return `${who} started (run ${c.attempt})`;
    case 'exited':
      return c.exitCode === 0 ? `${who} exited cleanly` : `${who} crashed (exit ${String(c.exitCode)}, ${c.failures} straight failures)`;
    case 'restarting':
      return `${who} restarts in ${String(c.delayMs)} ms`;
    case 'gave-up':
      return `${who} gave up after ${c.failures} straight failures`;
    case 'stopped':
      return `${who} stopped`;
  }
}
