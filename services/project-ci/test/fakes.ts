import type { HistoryEntry, HistoryRepository, ModelAnswer, ModelClient, ModelRequest } from '../src/conversation/types';
import type { CiRecord, RegistryRepository } from '../src/registry/types';

/** A model that answers by a function of the request and records every request. */
export class RecordingModel implements ModelClient {
  readonly requests: ModelRequest[] = [];
  constructor(public answer: (req: ModelRequest) => string | Promise<string> = (r) => `echo: ${r.messages.at(-1)?.content}`) {}
  async complete(req: ModelRequest): Promise<ModelAnswer> {
    this.requests.push(req);
    return { text: await this.answer(req), provider: req.provider ?? 'fake', model: req.model ?? 'fake-1' };
  }
}

/** In-memory registry and history, for unit tests of the domain. */
export class MemoryStore implements RegistryRepository, HistoryRepository {
  readonly cis = new Map<string, CiRecord>();
  readonly history = new Map<string, HistoryEntry[]>();
  async all() {
    return [...this.cis.values()];
  }
  async save(r: CiRecord) {
    this.cis.set(r.projectId, { ...r });
  }
  async remove(id: string) {
    this.cis.delete(id);
    this.history.delete(id);
  }
  async recent(id: string, limit: number) {
    return (this.history.get(id) ?? []).slice(-limit);
  }
  async append(id: string, entries: HistoryEntry[], keep: number) {
    this.history.set(id, [...(this.history.get(id) ?? []), ...entries].slice(-keep));
  }
  async count(id: string) {
    return this.history.get(id)?.length ?? 0;
  }
  async clear(id: string) {
    this.history.delete(id);
  }
}
