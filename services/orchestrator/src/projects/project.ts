import type { ProjectDiscoveryV1 } from '@codeagent/contracts';

/**
 * A project as the orchestrator's logic sees it. `source` and `settings` are JSON validated by the
 * contracts (ProjectSourceV1, ProjectSettingsV1) at the edges; stored as JSON.
 */
export interface Project {
  id: string;
  name: string;
  /** Small, stable, unique among live projects; the lowest free one is taken (project-ci port 42100 + index). */
  index: number;
  source: Record<string, unknown>;
  settings: Record<string, unknown>;
  owner?: string;
  /** `private` (owner and admins) or `team`; see ProjectVisibilityV1. */
  visibility: 'private' | 'team';
  /** What its files ask for (projects/discovery.ts); absent until first computed. */
  discovery?: ProjectDiscoveryV1;
  createdAt: Date;
  updatedAt: Date;
}

/** `visibility` defaults to `private`. */
export type NewProject = Pick<Project, 'id' | 'name' | 'source' | 'settings' | 'owner'> & Partial<Pick<Project, 'visibility'>>;
export type ProjectPatch = Partial<Pick<Project, 'name' | 'source' | 'settings' | 'visibility' | 'discovery'>>;

/** What the projects logic needs from storage; repositories/projects.repository.ts implements it with Prisma. */
export interface ProjectsRepository {
  /** Stores a project with the lowest free index. Throws CONFLICT if the name is taken. */
  create(p: NewProject): Promise<Project>;
  get(id: string): Promise<Project | undefined>;
  getByName(name: string): Promise<Project | undefined>;
  list(): Promise<Project[]>;
  /** Undefined when there is no such project. Throws CONFLICT if a new name is taken. */
  update(id: string, patch: ProjectPatch): Promise<Project | undefined>;
  /** The deleted project, or undefined when there was none. Its index becomes free. */
  delete(id: string): Promise<Project | undefined>;
}

/** The lowest non-negative integer not in `used`. */
export function lowestFreeIndex(used: Iterable<number>): number {
  const taken = new Set(used);
  let i = 0;
  while (taken.has(i)) i++;
  return i;
}
