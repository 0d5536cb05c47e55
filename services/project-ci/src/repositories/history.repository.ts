import type { HistoryEntry, HistoryRepository } from '../conversation/types';
import type { Db } from './database';

type Row = Awaited<ReturnType<Db['chatMessage']['findUniqueOrThrow']>>;

const toEntry = (r: Row): HistoryEntry => ({
  role: r.role === 'assistant' ? 'assistant' : 'user',
  content: r.content,
  via: r.via === 'bus' ? 'bus' : 'socket',
  at: r.at.toISOString(),
});

/** Per-project conversations in project-ci's own database, bounded on every append. */
export class PrismaHistoryRepository implements HistoryRepository {
  constructor(private readonly db: Db) {}

  async recent(projectId: string, limit: number): Promise<HistoryEntry[]> {
    if (limit <= 0) return [];
    const rows = await this.db.chatMessage.findMany({ where: { projectId }, orderBy: { id: 'desc' }, take: limit });
    return rows.reverse().map(toEntry);
  }

  async append(projectId: string, entries: HistoryEntry[], keep: number): Promise<void> {
    await this.db.$transaction(async (tx) => {
      // One row at a time: ids then follow the order of `entries` on both databases.
      for (const e of entries) {
        await tx.chatMessage.create({ data: { projectId, role: e.role, content: e.content, via: e.via, at: new Date(e.at) } });
      }
      const oldestKept = await tx.chatMessage.findMany({ where: { projectId }, orderBy: { id: 'desc' }, skip: Math.max(keep, 0), take: 1, select: { id: true } });
      if (oldestKept[0]) await tx.chatMessage.deleteMany({ where: { projectId, id: { lte: oldestKept[0].id } } });
    });
  }

  count(projectId: string): Promise<number> {
    return this.db.chatMessage.count({ where: { projectId } });
  }

  async clear(projectId: string): Promise<void> {
    await this.db.chatMessage.deleteMany({ where: { projectId } });
  }
}
