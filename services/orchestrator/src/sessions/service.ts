import {
  AppError,
  type ActorV1,
  type CommandName,
  type CommandReply,
  type CommandRequest,
  type ProjectPolicyV1,
  type SandboxSpecV1,
  type SessionStatusV1,
  type SessionV1,
} from '@codeagent/contracts';
import { normaliseSource } from '../projects/source';
import { sameDiscovery, toProjectDiscovery, type DiscoveryPort } from '../projects/discovery';
import type { Project, ProjectsRepository } from '../projects/project';
import { canSeeProject } from '../projects/access';
import { assertOwnerOrAdmin, ownerFilter } from './access';
import type { CreateSpec, SessionManager } from './manager';
import { sessionSandbox, type ProjectNetworkSettings } from './network-policy';
import { placementFor, type ShellPlacement } from './placement';
import type { CredentialsPort, PreparedWorkspace, SessionsRepository, WorkspacePort } from './ports';
import type { SessionPool } from './pool';
import { isEnded, isPooled, LIVE_STATUSES, POOL_OWNER, toSessionV1, type SessionRecord } from './session';

/** Sends a command to another orchestrator replica's own queue. */
export interface Forwarder {
  forward<N extends CommandName>(name: N, payload: CommandRequest<N>, instanceId: string, user?: string): Promise<CommandReply<N>>;
}

/** What a handler knows about its caller. */
export interface Caller {
  actor?: ActorV1;
  /** metadata.user of the envelope. */
  user?: string;
}

/**
 * The sessions API the handlers call: ownership checks, defaults from the project, and routing of
 * session-scoped work to the replica that owns the session (adopting it when that replica is gone).
 */
export class SessionService {
  constructor(
    private readonly deps: {
      manager: SessionManager;
      repo: SessionsRepository;
      projects: ProjectsRepository;
      workspace: WorkspacePort;
      forwarder: Forwarder;
      /** Provider keys for jails' egress proxies (`sandbox.credentials`). */
      credentials: CredentialsPort;
      self: string;
      /** What a fresh workspace's files ask for; absent: every session is a jail unless it asks otherwise. */
      discovery?: DiscoveryPort;
      /** Sessions made ahead; absent: every create sets one up. */
      pool?: SessionPool;
    },
  ) {}

  view(s: SessionRecord): SessionV1 {
    return toSessionV1(s);
  }

  async create(req: CommandRequest<'orchestrator.session.create'>, caller: Caller): Promise<SessionV1> {
    const requestedAt = new Date();
    const owner = this.ownerFor(req.owner, caller);
    let source = req.source ? normaliseSource(req.source) : undefined;
    let policy = req.workspacePolicy;
    let project: ProjectNetworkSettings | undefined;
    let found: Project | undefined;
    if (req.projectId) {
      const p = (await this.deps.projects.get(req.projectId)) ?? (await this.deps.projects.getByName(req.projectId));
      if (!p || !canSeeProject(caller.actor, p)) throw new AppError('NOT_FOUND', `no project ${req.projectId}`, { details: { projectId: req.projectId } });
      found = p;
      source = p.source as SessionRecord['source'];
      const settings = p.settings as { sandbox?: SandboxSpecV1; keepWorkspaces?: boolean; policy?: ProjectPolicyV1 };
      project = { name: p.name, sandbox: settings.sandbox, policy: settings.policy };
      policy ??= settings.keepWorkspaces ? 'keep' : undefined;
      req = { ...req, projectId: p.id };
    }
    // Policy first (403/400 before anything is made), then the keys (unsealed for this open only).
    const sandbox = sessionSandbox(req.sandbox, project, caller.actor);
    const credentials = await this.deps.credentials.resolve(sandbox.credentials ?? [], req.projectId);
    const spec: CreateSpec = { owner, source: source!, sandbox, workspacePolicy: policy ?? 'remove', projectId: req.projectId, env: req.env, credentials, placement: this.placement(req, found, source?.kind !== 'empty') };
    const s = (await this.deps.pool?.take({ ...spec, driver: req.driver }, requestedAt)) ?? (await this.deps.manager.create(spec, requestedAt));
    return this.view(s);
  }

  async fork(req: CommandRequest<'orchestrator.session.fork'>, caller: Caller): Promise<SessionV1> {
    const from = await this.visible(req.sessionId, caller.actor);
    if (!from.workspaceId) throw new AppError('INVALID_STATE', `session ${from.id} has no workspace to fork`);
    // A snapshot id alone would reach any workspace's snapshot: it must be one of this session's.
    if (req.snapshotId && !(await this.deps.workspace.snapshotIds(from.workspaceId)).includes(req.snapshotId)) {
      throw new AppError('NOT_FOUND', `session ${from.id} has no snapshot ${req.snapshotId}`, { details: { sessionId: from.id, snapshotId: req.snapshotId } });
    }
    const owner = this.ownerFor(req.owner, caller);
    const wsFrom = req.snapshotId ? { snapshotId: req.snapshotId } : { workspaceId: from.workspaceId };
    // The same network rules as a new session: a fork is no way around them (the grant may be gone).
    const p = from.projectId ? await this.deps.projects.get(from.projectId) : undefined;
    const settings = (p?.settings ?? {}) as { sandbox?: SandboxSpecV1; policy?: ProjectPolicyV1 };
    const project = p ? { name: p.name, sandbox: settings.sandbox, policy: settings.policy } : undefined;
    const asked = { ...from.sandbox, ...Object.fromEntries(Object.entries(req.sandbox ?? {}).filter(([, v]) => v !== undefined)) };
    const sandbox = sessionSandbox(asked, project, caller.actor);
    const credentials = await this.deps.credentials.resolve(sandbox.credentials ?? [], from.projectId);
    const s = await this.deps.manager.create({
      owner,
      source: from.source,
      sandbox,
      credentials,
      workspacePolicy: from.workspacePolicy,
      projectId: from.projectId,
      forkedFrom: { sessionId: from.id, ...(req.snapshotId ? { snapshotId: req.snapshotId } : {}) },
      workspace: () => this.deps.workspace.fork(wsFrom, owner),
      // A fork runs where its parent ran (the same files ask for the same sandbox).
      placement: this.placement({ driver: from.driver }, p),
    });
    return this.view(s);
  }

  async get(sessionId: string, caller: Caller): Promise<SessionV1> {
    return this.view(await this.visible(sessionId, caller.actor));
  }

  async list(req: CommandRequest<'orchestrator.session.list'>, caller: Caller) {
    const asked = req.status === undefined ? undefined : Array.isArray(req.status) ? req.status : [req.status];
    const statuses: SessionStatusV1[] | undefined = asked ?? (req.includeEnded ? undefined : [...LIVE_STATUSES]);
    const page = await this.deps.repo.list({ owner: ownerFilter(caller.actor, req.owner), projectId: req.projectId, statuses, limit: req.limit, cursor: req.cursor });
    return { sessions: page.sessions.map((s) => this.view(s)), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) };
  }

  /**
   * Runs `local` here when this replica owns the session (or it has ended: then the database has
   * everything), else forwards the same command to the owner. An owner that is gone is replaced.
   */
  async routed<N extends CommandName>(
    name: N,
    payload: CommandRequest<N> & { sessionId: string },
    caller: Caller,
    local: (s: SessionRecord) => Promise<CommandReply<N>>,
  ): Promise<CommandReply<N>> {
    const s = await this.visible(payload.sessionId, caller.actor);
    if (isEnded(s.status)) return local(s); // nothing of it lives on a replica any more
    if (s.ownerInstance === this.deps.self) return local(s);
    try {
      return await this.deps.forwarder.forward(name, payload, s.ownerInstance, caller.user);
    } catch (err) {
      if (!(err instanceof AppError && err.code === 'SERVICE_UNAVAILABLE' && /is gone/.test(err.message))) throw err;
      const taken = await this.deps.repo.update(s.id, { ownerInstance: this.deps.self }, { ownerInstance: s.ownerInstance });
      const now = taken ?? (await this.deps.manager.get(s.id));
      if (now.ownerInstance !== this.deps.self) return this.deps.forwarder.forward(name, payload, now.ownerInstance, caller.user);
      return local(now);
    }
  }

  /** The session, if the caller may see it (NOT_FOUND / FORBIDDEN otherwise). */
  async visible(sessionId: string, actor: ActorV1 | undefined): Promise<SessionRecord> {
    const s = await this.deps.manager.get(sessionId);
    // The pool's are nobody's yet: not even an admin may reach into one (it would be handed out used).
    if (isPooled(s)) throw new AppError('NOT_FOUND', `no session ${sessionId}`, { details: { sessionId } });
    assertOwnerOrAdmin(actor, s.owner, `session ${sessionId}`);
    return s;
  }

  /**
   * The session's driver and its settings (API.md "Project discovery"): what the fresh workspace's files
   * ask for (so a git project, or one whose files changed, is judged on what the session really gets),
   * else the project's stored discovery; the session's own `driver` wins. A project whose files now ask
   * for something else gets its stored discovery updated.
   */
  /**
   * The driver and how to run it, from the fresh workspace's files. `discover: false` for an empty
   * source: there is nothing to find in it (and asking the workspace service cost a create ~10 ms).
   */
  private placement(asked: { driver?: 'bubblewrap' | 'docker'; fallbackToBubblewrap?: boolean }, project: Project | undefined, discover = true) {
    return async (ws: PreparedWorkspace): Promise<ShellPlacement> => {
      if (!discover) return placementFor(undefined, asked);
      const fresh = this.deps.discovery ? await this.deps.discovery.discover({ workspaceId: ws.workspaceId }).catch(() => undefined) : undefined;
      const d = fresh ? toProjectDiscovery(fresh, new Date()) : project?.discovery;
      if (project && fresh && d && !sameDiscovery(project.discovery, d)) await this.deps.projects.update(project.id, { discovery: d }).catch(() => undefined);
      return placementFor(d, asked);
    };
  }

  private ownerFor(asked: string | undefined, caller: Caller): string {
    if (caller.actor && caller.actor.role !== 'admin') return caller.actor.userId;
    const owner = asked ?? caller.actor?.userId ?? caller.user ?? 'local';
    if (owner === POOL_OWNER) throw new AppError('VALIDATION_FAILED', `invalid owner: "${POOL_OWNER}" is the warm pool's own, not a user`, { details: { fields: [{ path: 'owner', message: 'reserved for the warm pool' }] } });
    return owner;
  }
}
