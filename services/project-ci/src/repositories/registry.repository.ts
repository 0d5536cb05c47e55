import type { CiRecord, RegistryRepository } from '../registry/types';
import type { Db } from './database';

type Row = Awaited<ReturnType<Db['projectCi']['findUniqueOrThrow']>>;

const toRecord = (r: Row): CiRecord => ({
  projectId: r.projectId,
  name: r.name,
  index: r.index,
  port: r.port,
  ...(r.provider ? { provider: r.provider } : {}),
  ...(r.model ? { model: r.model } : {}),
  createdAt: r.createdAt.toISOString(),
});

/** The project CI registry in project-ci's own database. */
export class PrismaRegistryRepository implements RegistryRepository {
  constructor(private readonly db: Db) {}

  async all(): Promise<CiRecord[]> {
    return (await this.db.projectCi.findMany({ orderBy: { createdAt: 'asc' } })).map(toRecord);
  }

  async save(record: CiRecord): Promise<void> {
    const data = {
      name: record.name,
      index: record.index,
      port: record.port,
      provider: record.provider ?? null,
      model: record.model ?? null,
      createdAt: new Date(record.createdAt),
    };
    await this.db.projectCi.upsert({ where: { projectId: record.projectId }, create: { projectId: record.projectId, ...data }, update: data });
  }

  async remove(projectId: string): Promise<void> {
    await this.db.$transaction([
      this.db.projectCi.deleteMany({ where: { projectId } }),
      this.db.chatMessage.deleteMany({ where: { projectId } }),
    ]);
  }
}
