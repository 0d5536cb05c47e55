import { type AgentRoleV1, ProviderKindV1, RoleConfigV1 } from '@codeagent/contracts';
import { z } from 'zod';
import type { AgentConfigStore, ProviderConfig } from '../providers/config-store';
import type { Db } from './database';

/** Global entries have scope "" (a column in a primary key cannot be NULL). */
const scopeOf = (projectId?: string): string => projectId ?? '';

/** Providers (keys sealed before they get here) and role configs in the orchestrator's database. */
export class PrismaAgentConfigStore implements AgentConfigStore {
  constructor(private readonly db: Db) {}

  async listProviders(projectId?: string): Promise<ProviderConfig[]> {
    const rows = await this.db.agentProvider.findMany({ where: { scope: scopeOf(projectId) }, orderBy: { name: 'asc' } });
    return rows.map((r) => ({
      name: r.name,
      kind: ProviderKindV1.parse(r.kind),
      projectId: r.scope || undefined,
      baseURL: r.baseURL ?? undefined,
      enabled: r.enabled,
      sealedKey: r.sealedKey ?? undefined,
      keyHint: r.keyHint ?? undefined,
      models: z.array(z.string()).parse(r.models),
      updatedAt: r.updatedAt.toISOString(),
    }));
  }

  async putProvider(cfg: ProviderConfig): Promise<void> {
    const scope = scopeOf(cfg.projectId);
    const row = { kind: cfg.kind, baseURL: cfg.baseURL ?? null, enabled: cfg.enabled, sealedKey: cfg.sealedKey ?? null, keyHint: cfg.keyHint ?? null, models: cfg.models };
    await this.db.agentProvider.upsert({ where: { scope_name: { scope, name: cfg.name } }, create: { scope, name: cfg.name, ...row }, update: row });
  }

  async getRoles(projectId?: string): Promise<Partial<Record<AgentRoleV1, RoleConfigV1>>> {
    const rows = await this.db.agentRoleConfig.findMany({ where: { scope: scopeOf(projectId) } });
    return Object.fromEntries(rows.map((r) => [r.role, RoleConfigV1.parse(r.config)]));
  }

  async putRole(projectId: string | undefined, role: AgentRoleV1, cfg: RoleConfigV1): Promise<void> {
    const scope = scopeOf(projectId);
    await this.db.agentRoleConfig.upsert({ where: { scope_role: { scope, role } }, create: { scope, role, config: cfg }, update: { config: cfg } });
  }
}
