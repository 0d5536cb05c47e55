import type { AgentRoleV1, ProviderKindV1, RoleConfigV1 } from '@codeagent/contracts';

/** A provider as stored: the key only ever sealed (see secret-box.ts). */
export interface ProviderConfig {
  name: string;
  kind: ProviderKindV1;
  /** undefined: the global default every project inherits. */
  projectId?: string;
  baseURL?: string;
  enabled: boolean;
  sealedKey?: string;
  keyHint?: string;
  /** Extra model ids beyond the price table. */
  models: string[];
  updatedAt: string;
}

/** Where provider and role configuration lives; domain code depends on this, not on a database. */
export interface AgentConfigStore {
  /** Providers of exactly this scope (undefined: global). */
  listProviders(projectId?: string): Promise<ProviderConfig[]>;
  putProvider(cfg: ProviderConfig): Promise<void>;
  /** Role configs of exactly this scope. */
  getRoles(projectId?: string): Promise<Partial<Record<AgentRoleV1, RoleConfigV1>>>;
  putRole(projectId: string | undefined, role: AgentRoleV1, cfg: RoleConfigV1): Promise<void>;
}

/** For unit tests and benchmarks. */
export class MemoryAgentConfigStore implements AgentConfigStore {
  private readonly providers = new Map<string, ProviderConfig>();
  private readonly roles = new Map<string, Partial<Record<AgentRoleV1, RoleConfigV1>>>();

  async listProviders(projectId?: string): Promise<ProviderConfig[]> {
    return [...this.providers.values()].filter((p) => p.projectId === projectId);
  }
  async putProvider(cfg: ProviderConfig): Promise<void> {
    this.providers.set(`${cfg.projectId ?? ''}/${cfg.name}`, cfg);
  }
  async getRoles(projectId?: string): Promise<Partial<Record<AgentRoleV1, RoleConfigV1>>> {
    return { ...(this.roles.get(projectId ?? '') ?? {}) };
  }
  async putRole(projectId: string | undefined, role: AgentRoleV1, cfg: RoleConfigV1): Promise<void> {
    this.roles.set(projectId ?? '', { ...(this.roles.get(projectId ?? '') ?? {}), [role]: cfg });
  }
}
