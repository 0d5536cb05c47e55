import { isNotFound, isUniqueViolation } from '@codeagent/db';
import { AppError, type ProjectDiscoveryV1 } from '@codeagent/contracts';
import { lowestFreeIndex, type NewProject, type Project, type ProjectPatch, type ProjectsRepository } from '../projects/project';
import { type Db } from './database';

type Row = Awaited<ReturnType<Db['project']['findUniqueOrThrow']>>;

function toProject(r: Row): Project {
  return {
    id: r.id,
    name: r.name,
    index: r.index,
    source: r.source as Record<string, unknown>,
    settings: r.settings as Record<string, unknown>,
    ...(r.owner ? { owner: r.owner } : {}),
    visibility: r.visibility === 'team' ? 'team' : 'private',
    ...(r.discovery ? { discovery: r.discovery as unknown as ProjectDiscoveryV1 } : {}),
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  };
}

const nameTaken = (name: string) => new AppError('CONFLICT', `a project named "${name}" already exists`, { details: { name } });

export class PrismaProjectsRepository implements ProjectsRepository {
  constructor(private readonly db: Db) {}

  async create(p: NewProject): Promise<Project> {
    // Two replicas may pick the same free index at once; the unique index decides and the loser
    // picks again. A taken name is the caller's conflict, not a race to retry.
    for (let attempt = 0; attempt < 20; attempt++) {
      if (await this.getByName(p.name)) throw nameTaken(p.name);
      const used = await this.db.project.findMany({ select: { index: true } });
      const index = lowestFreeIndex(used.map((u) => u.index));
      try {
        const row = await this.db.project.create({
          data: { id: p.id, name: p.name, index, source: p.source as object, settings: p.settings as object, owner: p.owner ?? null, visibility: p.visibility ?? 'private' },
        });
        return toProject(row);
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
      }
    }
    throw new AppError('CONFLICT', 'could not allocate a project index: too many concurrent creations, try again', { retryable: true });
  }

  async get(id: string): Promise<Project | undefined> {
    const row = await this.db.project.findUnique({ where: { id } });
    return row ? toProject(row) : undefined;
  }

  async getByName(name: string): Promise<Project | undefined> {
    const row = await this.db.project.findUnique({ where: { name } });
    return row ? toProject(row) : undefined;
  }

  async list(): Promise<Project[]> {
    return (await this.db.project.findMany({ orderBy: { index: 'asc' } })).map(toProject);
  }

  async update(id: string, patch: ProjectPatch): Promise<Project | undefined> {
    try {
      const row = await this.db.project.update({
        where: { id },
        data: {
          ...(patch.name !== undefined ? { name: patch.name } : {}),
          ...(patch.source !== undefined ? { source: patch.source as object } : {}),
          ...(patch.settings !== undefined ? { settings: patch.settings as object } : {}),
          ...(patch.visibility !== undefined ? { visibility: patch.visibility } : {}),
          ...(patch.discovery !== undefined ? { discovery: patch.discovery as object } : {}),
        },
      });
      return toProject(row);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      if (isUniqueViolation(err) && patch.name !== undefined) throw nameTaken(patch.name);
      throw err;
    }
  }

  async delete(id: string): Promise<Project | undefined> {
    try {
      return toProject(await this.db.project.delete({ where: { id } }));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }
}
