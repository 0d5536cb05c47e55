import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { SnapshotRecord, WorkspaceRecord, WorkspaceRepository } from '../src/repositories/workspace-repository';

interface State {
  workspaces: Record<string, WorkspaceRecord>;
  snapshots: Record<string, SnapshotRecord>;
}

/**
 * Records in one JSON file, rewritten atomically on every change: the storage tests and the benchmark
 * run the domain on it to measure and check the filesystem work alone. The service itself uses
 * PrismaWorkspaceRepository (tested in src/repositories and through main.ts in test/main.int.test.ts).
 */
export class JsonFileWorkspaceRepository implements WorkspaceRepository {
  private state: State = { workspaces: {}, snapshots: {} };
  private writing: Promise<void> = Promise.resolve();

  private constructor(private readonly file: string) {}

  static async open(file: string): Promise<JsonFileWorkspaceRepository> {
    const repo = new JsonFileWorkspaceRepository(file);
    await mkdir(path.dirname(file), { recursive: true });
    const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (text) repo.state = JSON.parse(text) as State;
    return repo;
  }

  private persist(): Promise<void> {
    const snapshot = JSON.stringify(this.state);
    // Writes are chained so that the last one on disk is the last state.
    this.writing = this.writing.then(async () => {
      const tmp = `${this.file}.${randomUUID()}.tmp`;
      await writeFile(tmp, snapshot);
      await rename(tmp, this.file);
    });
    return this.writing;
  }

  async insert(r: WorkspaceRecord): Promise<void> {
    if (r.requestId && Object.values(this.state.workspaces).some((w) => w.requestId === r.requestId)) throw new Error(`request ${r.requestId} has a workspace already`);
    this.state.workspaces[r.workspaceId] = structuredClone(r);
    await this.persist();
  }
  async get(id: string): Promise<WorkspaceRecord | undefined> {
    const r = this.state.workspaces[id];
    return r && structuredClone(r);
  }
  async getByRequest(requestId: string): Promise<WorkspaceRecord | undefined> {
    const r = Object.values(this.state.workspaces).find((w) => w.requestId === requestId);
    return r && structuredClone(r);
  }
  async list(filter: { owner?: string } = {}): Promise<WorkspaceRecord[]> {
    return Object.values(this.state.workspaces)
      .filter((r) => filter.owner === undefined || r.owner === filter.owner)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
      .map((r) => structuredClone(r));
  }
  async totalQuotaMb(): Promise<number> {
    return Object.values(this.state.workspaces).reduce((n, r) => n + r.quotaMb, 0);
  }
  async update(id: string, patch: Partial<Omit<WorkspaceRecord, 'workspaceId'>>): Promise<WorkspaceRecord> {
    const r = this.state.workspaces[id];
    if (!r) throw new Error(`no workspace ${id}`);
    Object.assign(r, patch);
    await this.persist();
    return structuredClone(r);
  }
  async delete(id: string): Promise<void> {
    delete this.state.workspaces[id];
    await this.persist();
  }
  async insertSnapshot(s: SnapshotRecord): Promise<void> {
    this.state.snapshots[s.snapshotId] = structuredClone(s);
    await this.persist();
  }
  async getSnapshot(id: string): Promise<SnapshotRecord | undefined> {
    const s = this.state.snapshots[id];
    return s && structuredClone(s);
  }
  async deleteSnapshot(id: string): Promise<void> {
    delete this.state.snapshots[id];
    await this.persist();
  }
  async listSnapshots(workspaceId: string): Promise<SnapshotRecord[]> {
    return Object.values(this.state.snapshots)
      .filter((s) => s.workspaceId === workspaceId)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
      .map((s) => structuredClone(s));
  }
}
