import { randomBytes } from 'node:crypto';
import { AppError, ProjectSettingsV1, type ActorV1, type CommandRequest, type ProjectDiscoveryV1, type ProjectV1 } from '@codeagent/contracts';
import type { Logger } from '@codeagent/telemetry';
import { assertProjectSettingsAllowed } from '../sessions/network-policy';
import type { Publisher } from '../sessions/ports';
import { assertProjectVisible, canSeeProject } from './access';
import { sameDiscovery, toProjectDiscovery, type DiscoveryPort } from './discovery';
import type { Project, ProjectsRepository } from './project';
import { normaliseSource } from './source';

export const newProjectId = () => `prj_${Date.now().toString(36)}${randomBytes(5).toString('hex')}`;

export function toProjectV1(p: Project): ProjectV1 {
  return {
    id: p.id,
    name: p.name,
    index: p.index,
    source: p.source as ProjectV1['source'],
    settings: ProjectSettingsV1.parse(p.settings),
    ...(p.owner ? { owner: p.owner } : {}),
    visibility: p.visibility,
    ...(p.discovery ? { discovery: p.discovery } : {}),
    createdAt: p.createdAt.toISOString(),
    updatedAt: p.updatedAt.toISOString(),
  };
}

/** Projects: CRUD with the lowest free index, their discovery, and the project.* events project-ci follows. */
export class ProjectService {
  constructor(
    private readonly repo: ProjectsRepository,
    private readonly publisher: Publisher,
    private readonly log: Logger,
    /** Absent: projects are not discovered (tests of the CRUD alone). */
    private readonly discovery?: DiscoveryPort,
  ) {}

  async create(req: CommandRequest<'orchestrator.project.create'>, owner: string | undefined): Promise<ProjectV1> {
    assertProjectSettingsAllowed(req.actor, req.settings);
    const created = await this.repo.create({ id: newProjectId(), name: req.name, source: normaliseSource(req.source), settings: req.settings, owner, visibility: req.visibility ?? 'private' });
    const p = (await this.rediscover(created)) ?? created;
    await this.announce('project.created', p);
    return toProjectV1(p);
  }

  /**
   * Discovers the project's source folder in place and stores the result when it changed; the project
   * as stored after it. Undefined when the source has no folder to read (a remote git URL: its
   * sessions' workspaces are discovered instead) or the workspace service did not answer (logged;
   * the next check tries again).
   */
  async rediscover(p: Project): Promise<Project | undefined> {
    if (!this.discovery) return undefined;
    const found = await this.discovery.discover({ source: p.source }).catch((err: Error) => {
      if (!(err instanceof AppError && err.code === 'INVALID_STATE')) this.log.warn({ err, projectId: p.id }, 'project not discovered');
      return undefined;
    });
    return found ? this.recordDiscovery(p, toProjectDiscovery(found, new Date())) : undefined;
  }

  /** Stores a discovery (of the source folder or of a session's fresh workspace) unless it says what the stored one says. */
  async recordDiscovery(p: Project, d: ProjectDiscoveryV1): Promise<Project> {
    if (sameDiscovery(p.discovery, d)) return p;
    const after = await this.repo.update(p.id, { discovery: d });
    if (after) this.log.info({ projectId: p.id, tier: d.tier, driver: d.driver, missing: d.missing }, 'project discovery changed');
    return after ?? p;
  }

  /** What the actor may see (canSeeProject), by index. */
  async list(actor?: ActorV1): Promise<ProjectV1[]> {
    return (await this.repo.list()).filter((p) => canSeeProject(actor, p)).map(toProjectV1);
  }

  /** By id, then by name; NOT_FOUND when the actor may not see it. */
  async get(idOrName: string, actor?: ActorV1): Promise<ProjectV1> {
    return toProjectV1(await this.findVisible(idOrName, actor));
  }

  async update(req: CommandRequest<'orchestrator.project.update'>): Promise<ProjectV1> {
    const before = await this.find(req.projectId);
    let settings: Record<string, unknown> | undefined;
    if (req.settings) {
      // Top-level merge; null resets a field to the default. The result must still be valid settings.
      const merged: Record<string, unknown> = { ...before.settings };
      for (const [k, v] of Object.entries(req.settings)) {
        if (v === null) delete merged[k];
        else merged[k] = v;
      }
      const parsed = ProjectSettingsV1.safeParse(merged);
      if (!parsed.success) throw AppError.validation(parsed.error, 'project settings', ['settings']);
      assertProjectSettingsAllowed(req.actor, parsed.data, ProjectSettingsV1.parse(before.settings));
      settings = parsed.data;
    }
    const after = await this.repo.update(before.id, {
      ...(req.name !== undefined ? { name: req.name } : {}),
      ...(req.source !== undefined ? { source: normaliseSource(req.source) } : {}),
      ...(settings ? { settings } : {}),
      ...(req.visibility !== undefined ? { visibility: req.visibility } : {}),
    });
    if (!after) throw new AppError('NOT_FOUND', `no project ${req.projectId}`);
    // Another source is other files: what they ask for is found again.
    const now = req.source !== undefined ? ((await this.rediscover(after)) ?? after) : after;
    await this.announce('project.updated', now, before.name !== now.name ? before.name : undefined);
    return toProjectV1(now);
  }

  async delete(idOrName: string): Promise<{ deleted: boolean; project?: ProjectV1 }> {
    const p = (await this.repo.get(idOrName)) ?? (await this.repo.getByName(idOrName));
    if (!p) return { deleted: false };
    const gone = await this.repo.delete(p.id);
    if (!gone) return { deleted: false };
    await this.announce('project.deleted', gone);
    return { deleted: true, project: toProjectV1(gone) };
  }

  /** find, then NOT_FOUND (as for no project) when the actor may not see it. */
  async findVisible(idOrName: string, actor: ActorV1 | undefined): Promise<Project> {
    const p = await this.find(idOrName);
    assertProjectVisible(actor, p, idOrName);
    return p;
  }

  async find(idOrName: string): Promise<Project> {
    const p = (await this.repo.get(idOrName)) ?? (await this.repo.getByName(idOrName));
    if (!p) throw new AppError('NOT_FOUND', `no project ${idOrName}`, { details: { projectId: idOrName } });
    return p;
  }

  private async announce(name: 'project.created' | 'project.updated' | 'project.deleted', p: Project, previousName?: string): Promise<void> {
    const v = toProjectV1(p);
    const payload = { projectId: v.id, name: v.name, index: v.index, settings: v.settings, source: v.source, ...(v.owner ? { owner: v.owner } : {}), visibility: v.visibility, at: new Date().toISOString() };
    // Confirmed before the reply: project-ci must not miss a project the caller already sees.
    await this.publisher.publish(name, name === 'project.updated' && previousName ? { ...payload, previousName } : payload).catch((err: Error) => {
      this.log.error({ err, projectId: v.id }, `${name} not published`);
    });
  }
}
