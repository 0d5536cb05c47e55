import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { AgentRoleV1, RoleConfigV1 } from '@codeagent/contracts';
import type { AgentConfigStore, ProviderConfig } from './config-store';

interface FileShape {
  providers: ProviderConfig[];
  roles: Record<string, Partial<Record<AgentRoleV1, RoleConfigV1>>>;
}

/**
 * Seed 003's local credential store: one JSON file under DATA_DIR (mode 0600), keys sealed with
 * AES-256-GCM before they get here. Written atomically (temp file + rename). Single-writer: replicas
 * sharing a DATA_DIR should move to the Prisma store when libs/db lands.
 */
export class FileAgentConfigStore implements AgentConfigStore {
  private readonly file: string;

  constructor(dataDir: string) {
    this.file = path.join(dataDir, 'orchestrator', 'agent-config.json');
  }

  // Read on every call (a few KiB): another process on the same DATA_DIR may have written it.
  private load(): FileShape {
    try {
      return JSON.parse(readFileSync(this.file, 'utf8')) as FileShape;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      return { providers: [], roles: {} };
    }
  }

  private save(data: FileShape): void {
    mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(data, null, 2), { mode: 0o600 });
    renameSync(tmp, this.file);
  }

  async listProviders(projectId?: string): Promise<ProviderConfig[]> {
    return this.load().providers.filter((p) => p.projectId === projectId);
  }

  async putProvider(cfg: ProviderConfig): Promise<void> {
    const data = this.load();
    const providers = data.providers.filter((p) => !(p.name === cfg.name && p.projectId === cfg.projectId));
    this.save({ ...data, providers: [...providers, cfg] });
  }

  async getRoles(projectId?: string): Promise<Partial<Record<AgentRoleV1, RoleConfigV1>>> {
    return { ...(this.load().roles[projectId ?? ''] ?? {}) };
  }

  async putRole(projectId: string | undefined, role: AgentRoleV1, cfg: RoleConfigV1): Promise<void> {
    const data = this.load();
    const key = projectId ?? '';
    this.save({ ...data, roles: { ...data.roles, [key]: { ...(data.roles[key] ?? {}), [role]: cfg } } });
  }
}
