import { AppError, type ProjectCiV1 } from '@codeagent/contracts';
import { KeyedLock } from '@codeagent/config';
import type { Logger } from '@codeagent/telemetry';
import type { Answerers } from '../answerer/answerers';
import { CiChat } from './chat';
import { describeCi, newRuntime, type CiRuntime } from './ci-runtime';
import type { Conversation } from '../conversation/conversation';
import { CiSocketServer, PortInUseError, type CiServerOptions } from '../socket/ci-server';
import { pingCi } from '../socket/ping';
import { ciMetrics } from './metrics';
import { ciSocketName, portFor } from './naming';
import type { CiRecord, ProjectInfo, RegistryRepository } from './types';

/** Decides whether a client's token may talk to a project (the bus in production: bus/authorizer.ts). */
export interface CiAuthorizer {
  authorize(token: string, projectId: string): Promise<{ userId: string }>;
}

/** What the registry tells the outside world (the bus in production). */
export interface RegistryNotifier {
  started(ci: { projectId: string; name: string; ciSocket: string; port: number }): void;
  stopped(ci: { projectId: string; name: string; port: number }, reason: 'deleted' | 'port_in_use' | 'conflict' | 'unhealthy'): void;
}

export interface RegistryOptions {
  /** A loopback address, unless every connection is authenticated (authorizer). */
  host: string;
  portBase: number;
  maxLineBytes: number;
  /** Clients one CI serves at once. */
  maxClients: number;
  /** How long a closing CI lets answers in progress finish. */
  closeGraceMs: number;
  /** Health pings a CI may miss in a row before it is restarted. */
  maxMissedPings: number;
  pingTimeoutMs: number;
  repository: RegistryRepository;
  conversation: Conversation;
  notifier?: RegistryNotifier;
  log: Logger;
  /** Team mode: who may talk to a project's socket (PROJECT_CI_AUTH=team); absent, anyone who reaches it. */
  authorizer?: CiAuthorizer;
  /** Who answers a project's chat instead of its model while they hold it (seed 004's forwarding); absent: always the model. */
  answerers?: Answerers;
  /** Builds a CI's socket server; tests wrap it to break a CI on purpose. */
  serverFactory?: (opts: CiServerOptions) => CiSocketServer;
}

/**
 * The project CI registry: one socket per project on host:(base + index), started when the project
 * appears, closed gracefully when it goes, kept in the repository so each CI comes back on the same
 * port after a restart. Two projects never share a port: the second one is refused (`conflict`)
 * until the first leaves, and a port held by another process is reported (`port_in_use`) and
 * retried, never swapped for another. Operations on one project are serialized.
 */
export class ProjectCiRegistry {
  private readonly cis = new Map<string, CiRuntime>();
  /** Operations on one project run one after another. */
  private readonly locks = new KeyedLock();
  private stopped = false;
  /** The projects' chat, through their sockets and the bus. */
  readonly chat: CiChat;

  constructor(private readonly opts: RegistryOptions) {
    this.chat = new CiChat({ find: (nameOrId) => this.find(nameOrId), has: (projectId) => this.cis.has(projectId) }, opts.conversation, opts.answerers);
  }

  /** Starts a CI for every project in the repository (after a restart: on the same ports). */
  async restore(): Promise<void> {
    const records = (await this.opts.repository.all()).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    for (const record of records) this.cis.set(record.projectId, newRuntime(record));
    for (const record of records) await this.locks.run(record.projectId, () => this.start(this.cis.get(record.projectId)!));
  }

  /** A project appeared or changed: make its CI match (idempotent; a repeated event changes nothing). */
  ensure(project: ProjectInfo): Promise<ProjectCiV1> {
    const port = portFor(this.opts.portBase, project.index);
    if (port === undefined) {
      throw new AppError('VALIDATION_FAILED', `project "${project.name}" has index ${project.index}: base ${this.opts.portBase} + index is not a TCP port`);
    }
    return this.locks.run(project.projectId, async () => {
      const existing = this.cis.get(project.projectId);
      if (existing && existing.record.port === port) {
        existing.record = { ...existing.record, ...project, port };
        await this.opts.repository.save(existing.record);
        if (existing.status === 'stopped') await this.start(existing);
        return this.describe(existing);
      }
      const oldPort = existing?.record.port;
      if (existing) await this.stop(existing, `project "${existing.record.name}" moved to port ${port}`, undefined);
      const record: CiRecord = { ...project, port, createdAt: existing?.record.createdAt ?? new Date().toISOString() };
      await this.opts.repository.save(record);
      const ci = existing ?? newRuntime(record);
      ci.record = record;
      this.cis.set(project.projectId, ci);
      await this.start(ci);
      if (oldPort !== undefined) await this.retryConflictsOn(oldPort);
      return this.describe(ci);
    });
  }

  /** A project went: close its CI gracefully, forget its conversation, release the port. */
  async remove(projectId: string): Promise<boolean> {
    const removed = await this.locks.run(projectId, async () => {
      const ci = this.cis.get(projectId);
      if (!ci) return undefined;
      this.cis.delete(projectId);
      this.opts.answerers?.releaseProject(projectId, 'the project was deleted');
      await this.stop(ci, `project "${ci.record.name}" was deleted; its CI is closed`, 'deleted');
      await this.opts.repository.remove(projectId);
      await this.opts.conversation.forget(projectId);
      return ci.record.port;
    });
    if (removed === undefined) return false;
    await this.retryConflictsOn(removed);
    return true;
  }

  projectIds(): string[] {
    return [...this.cis.keys()];
  }

  list(): Promise<ProjectCiV1[]> {
    return Promise.all([...this.cis.values()].sort((a, b) => a.record.port - b.record.port).map((ci) => this.describe(ci)));
  }

  get(nameOrId: string): Promise<ProjectCiV1> {
    return this.describe(this.find(nameOrId));
  }

  /**
   * One health round: ping every CI that should be listening (restart it after too many misses),
   * and retry CIs whose port was taken or shared.
   */
  async checkHealth(): Promise<void> {
    await Promise.all(
      [...this.cis.values()].map((ci) =>
        this.locks.run(ci.record.projectId, async () => {
          if (this.stopped || this.cis.get(ci.record.projectId) !== ci) return;
          if (ci.status === 'running' || ci.status === 'unhealthy') await this.probe(ci);
          else if (ci.status === 'port_in_use' || ci.status === 'conflict' || ci.status === 'starting') await this.start(ci);
        }),
      ),
    );
    this.updateGauge();
  }

  private updateGauge(): void {
    const g = ciMetrics.cis();
    g.reset();
    for (const ci of this.cis.values()) g.inc({ status: ci.status });
  }

  /** The service is stopping: close every CI (the registry keeps them for the next start). */
  async stopAll(): Promise<void> {
    this.stopped = true;
    this.opts.answerers?.releaseAll('the project-ci service is stopping');
    await Promise.all(
      [...this.cis.values()].map((ci) => this.locks.run(ci.record.projectId, () => this.stop(ci, 'the project-ci service is stopping', undefined))),
    );
  }

  private async probe(ci: CiRuntime): Promise<void> {
    try {
      if (!ci.server?.listening) throw new Error('its socket is not listening');
      ci.lastPingMs = await pingCi(this.opts.host, ci.record.port, this.opts.pingTimeoutMs);
      ci.lastResponseAt = new Date();
      ci.missed = 0;
      ci.status = 'running';
      ci.reason = undefined;
    } catch (err) {
      ci.missed += 1;
      ci.status = 'unhealthy';
      ci.reason = `missed ${ci.missed} health ping(s): ${(err as Error).message}`;
      this.opts.log.warn({ projectId: ci.record.projectId, port: ci.record.port, missed: ci.missed, err: (err as Error).message }, 'project CI missed a health ping');
      if (ci.missed >= this.opts.maxMissedPings) {
        this.opts.log.warn({ projectId: ci.record.projectId, port: ci.record.port }, 'restarting unresponsive project CI');
        ciMetrics.restarts().inc();
        await this.stop(ci, 'the CI stopped answering and is being restarted', 'unhealthy', 500);
        await this.start(ci);
      }
    }
  }

  private async start(ci: CiRuntime): Promise<void> {
    if (this.stopped) return;
    const { record } = ci;
    const owner = [...this.cis.values()].find((o) => o !== ci && o.record.port === record.port && this.holdsPort(o, ci));
    if (owner) {
      this.setDown(ci, 'conflict', `port ${record.port} (base ${this.opts.portBase} + index ${record.index}) already belongs to project "${owner.record.name}"; two projects never share a port, so this CI waits until that one is gone`);
      return;
    }
    ci.status = 'starting';
    const server = (this.opts.serverFactory ?? ((o) => new CiSocketServer(o)))({
      host: this.opts.host,
      port: record.port,
      maxLineBytes: this.opts.maxLineBytes,
      maxClients: this.opts.maxClients,
      handler: {
        projectName: () => ci.record.name,
        chat: async (content) => (await this.chat.send(ci.record.projectId, content, 'socket')).text,
        ...(this.opts.authorizer ? { authorize: (token: string) => this.opts.authorizer!.authorize(token, ci.record.projectId) } : {}),
        answered: () => {
          ci.lastResponseAt = new Date();
        },
        failed: (err) => {
          const e = AppError.from(err);
          const fields = { projectId: ci.record.projectId, code: e.code, err: e.fault === 'ours' ? err : e.message };
          if (e.fault === 'ours') this.opts.log.error(fields, 'project CI could not answer a message');
          else this.opts.log.debug(fields, 'project CI refused a line');
        },
      },
      onFailure: (err) => {
        ci.status = 'unhealthy';
        ci.missed = this.opts.maxMissedPings;
        ci.reason = `its socket failed: ${err.message}`;
      },
    });
    try {
      await server.listen();
    } catch (err) {
      if (err instanceof PortInUseError) {
        this.setDown(ci, 'port_in_use', `${err.message}; project "${record.name}" keeps this port (base ${this.opts.portBase} + index ${record.index}) and it is retried at each health check`);
        return;
      }
      throw err;
    }
    ci.server = server;
    ci.status = 'running';
    ci.reason = undefined;
    ci.missed = 0;
    this.opts.log.info({ projectId: record.projectId, name: record.name, port: record.port }, 'project CI listening');
    this.opts.notifier?.started({ projectId: record.projectId, name: record.name, ciSocket: ciSocketName(record.name), port: record.port });
  }

  private async stop(ci: CiRuntime, reason: string, notify: 'deleted' | 'unhealthy' | undefined, graceMs = this.opts.closeGraceMs): Promise<void> {
    const server = ci.server;
    ci.server = undefined;
    ci.status = 'stopped';
    if (server) await server.close(reason, graceMs);
    if (notify) this.opts.notifier?.stopped({ projectId: ci.record.projectId, name: ci.record.name, port: ci.record.port }, notify);
  }

  private setDown(ci: CiRuntime, status: 'port_in_use' | 'conflict', reason: string): void {
    const changed = ci.status !== status;
    ci.status = status;
    ci.reason = reason;
    if (!changed) return;
    this.opts.log.error({ projectId: ci.record.projectId, port: ci.record.port, status }, reason);
    this.opts.notifier?.stopped({ projectId: ci.record.projectId, name: ci.record.name, port: ci.record.port }, status);
  }

  /** A port came free: the oldest CI that was refused it gets it. */
  private async retryConflictsOn(port: number | undefined): Promise<void> {
    const waiting = [...this.cis.values()]
      .filter((c) => c.status === 'conflict' && c.record.port === port)
      .sort((a, b) => a.record.createdAt.localeCompare(b.record.createdAt))[0];
    if (waiting) await this.locks.run(waiting.record.projectId, () => this.start(waiting));
  }

  private find(nameOrId: string): CiRuntime {
    const byId = this.cis.get(nameOrId);
    if (byId) return byId;
    const wanted = nameOrId.trim().toLowerCase();
    const named = [...this.cis.values()].filter((c) => c.record.name.toLowerCase() === wanted);
    if (named.length === 1) return named[0]!;
    if (named.length > 1) {
      throw new AppError('CONFLICT', `${named.length} projects are named "${nameOrId}"; use the project id`, {
        details: { projectIds: named.map((c) => c.record.projectId) },
      });
    }
    throw new AppError('NOT_FOUND', `no project CI for "${nameOrId}": a project gets its CI when it is created`);
  }

  /** Whether `o` has the port before `ci`: it is listening, or it is older and not itself refused. */
  private holdsPort(o: CiRuntime, ci: CiRuntime): boolean {
    if (o.server) return true;
    if (o.status === 'conflict' || o.status === 'stopped') return false;
    const a = o.record.createdAt + o.record.projectId;
    return a < ci.record.createdAt + ci.record.projectId;
  }

  private describe(ci: CiRuntime): Promise<ProjectCiV1> {
    return describeCi(ci, this.opts.conversation);
  }
}
