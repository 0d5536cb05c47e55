import { AgentRoleV1, AppError, MODEL_PRICES, type EgressCredentialV1, type ModelInfoV1, type ProviderInfoV1, type RoleConfigV1, findPrice } from '@codeagent/contracts';
import type { LanguageModel } from 'ai';
import type { CircuitBreakers } from './circuit-breaker';
import type { AgentConfigStore, ProviderConfig } from './config-store';
import { BUILTIN_PROVIDERS, DEFAULT_ROLES } from './defaults';
import { credentialRefusal, egressCredential } from './egress-credentials';
import { LOCAL_KINDS, createLanguageModel, listInstalledModels } from './kinds';
import type { SecretBox } from './secret-box';

/** One callable link of a chain, with the model ready to use. */
export interface ChainLink {
  provider: string;
  kind: ProviderConfig['kind'];
  model: string;
  languageModel: LanguageModel;
  contextWindow: number;
}

export interface ProviderSetInput {
  projectId?: string;
  name: string;
  kind?: ProviderConfig['kind'];
  apiKey?: string;
  baseURL?: string;
  enabled?: boolean;
  models?: string[];
}

/** A provider's own API, for listing and installing its models. */
export interface ProviderConnection {
  name: string;
  kind: ProviderConfig['kind'];
  baseURL?: string;
  apiKey?: string;
  /** Models configured for it by the user. */
  models: string[];
}

/** Used when neither the price table nor the user says how large a model's window is. */
const DEFAULT_CONTEXT_WINDOW = 32_768;

/**
 * Seed 003's provider registry: which providers exist for a project (its own entries over the global
 * ones over the built-in kinds), their models, their keys (sealed), and the role chains built from them.
 * Never logs or returns a key.
 */
export class ProviderRegistry {
  private readonly models = new Map<string, LanguageModel>();

  constructor(
    private readonly store: AgentConfigStore,
    private readonly box: SecretBox,
    readonly breakers: CircuitBreakers,
  ) {}

  /** Effective providers of a project: built-ins, overridden by global entries, overridden by the project's. */
  async effective(projectId?: string): Promise<Map<string, ProviderConfig & { scope: 'project' | 'global' }>> {
    const out = new Map<string, ProviderConfig & { scope: 'project' | 'global' }>();
    const epoch = new Date(0).toISOString();
    for (const kind of BUILTIN_PROVIDERS) out.set(kind, { name: kind, kind, enabled: true, models: [], updatedAt: epoch, scope: 'global' });
    for (const p of await this.store.listProviders(undefined)) out.set(p.name, { ...p, scope: 'global' });
    if (projectId) for (const p of await this.store.listProviders(projectId)) out.set(p.name, { ...p, scope: 'project' });
    return out;
  }

  async list(projectId?: string, refreshModels = false): Promise<ProviderInfoV1[]> {
    const providers = await this.effective(projectId);
    return Promise.all([...providers.values()].map(async (p) => this.info(p, refreshModels)));
  }

  async set(input: ProviderSetInput): Promise<ProviderInfoV1> {
    const current = (await this.store.listProviders(input.projectId)).find((p) => p.name === input.name);
    const inherited = (await this.effective(input.projectId)).get(input.name);
    const kind = input.kind ?? current?.kind ?? inherited?.kind ?? (BUILTIN_PROVIDERS as readonly string[]).find((k) => k === input.name);
    if (!kind) throw new AppError('VALIDATION_FAILED', `provider "${input.name}" is not a known kind: give its kind`, { details: { name: input.name } });
    const next: ProviderConfig = {
      name: input.name,
      kind: kind as ProviderConfig['kind'],
      projectId: input.projectId,
      baseURL: input.baseURL ?? current?.baseURL ?? inherited?.baseURL,
      enabled: input.enabled ?? current?.enabled ?? true,
      sealedKey: current?.sealedKey,
      keyHint: current?.keyHint,
      models: input.models ?? current?.models ?? [],
      updatedAt: new Date().toISOString(),
    };
    if (input.apiKey !== undefined) {
      next.sealedKey = input.apiKey === '' ? undefined : this.box.seal(input.apiKey);
      next.keyHint = input.apiKey === '' ? undefined : input.apiKey.slice(-4);
    }
    await this.store.putProvider(next);
    this.models.clear();
    return this.info({ ...next, scope: input.projectId ? 'project' : 'global' }, false);
  }

  /** Where and how to reach a provider's own API (its key unsealed for the call only); NOT_FOUND when unknown. */
  async connection(name: string, projectId?: string): Promise<ProviderConnection> {
    const p = (await this.effective(projectId)).get(name);
    if (!p) throw new AppError('NOT_FOUND', `unknown provider "${name}"`, { details: { name } });
    return { name: p.name, kind: p.kind, baseURL: p.baseURL, apiKey: p.sealedKey ? this.box.open(p.sealedKey) : undefined, models: p.models };
  }

  /**
   * The egress credentials of a jail (`sandbox.credentials`): each provider's key, unsealed only here
   * and only into the result, which goes to shell.open and nowhere else. VALIDATION_FAILED naming the
   * first name that is unknown, disabled or has no key.
   */
  async egressCredentials(names: readonly string[], projectId?: string): Promise<EgressCredentialV1[]> {
    if (names.length === 0) return [];
    const providers = await this.effective(projectId);
    names.forEach((name, i) => {
      const refusal = credentialRefusal(name, i, providers.get(name), projectId);
      if (refusal) throw refusal;
    });
    return names.map((name) => {
      const p = providers.get(name)!;
      return egressCredential(p, this.box.open(p.sealedKey!));
    });
  }

  async roles(projectId?: string): Promise<Record<AgentRoleV1, RoleConfigV1>> {
    const global = await this.store.getRoles(undefined);
    const project = projectId ? await this.store.getRoles(projectId) : {};
    const out = {} as Record<AgentRoleV1, RoleConfigV1>;
    for (const role of AgentRoleV1.options) out[role] = project[role] ?? global[role] ?? DEFAULT_ROLES[role];
    return out;
  }

  async setRole(projectId: string | undefined, role: AgentRoleV1, cfg: RoleConfigV1): Promise<Record<AgentRoleV1, RoleConfigV1>> {
    const providers = await this.effective(projectId);
    for (const link of [cfg, ...cfg.fallbacks]) {
      if (!providers.has(link.provider)) throw new AppError('VALIDATION_FAILED', `unknown provider "${link.provider}"`, { details: { provider: link.provider } });
    }
    await this.store.putRole(projectId, role, cfg);
    return this.roles(projectId);
  }

  /**
   * The ordered links to try. An explicit provider (and model) gives a chain of one; otherwise the
   * role's chain. Links without a usable configuration (disabled, cloud without key) are left out,
   * with the reason, so the run record says why a provider was never asked.
   */
  async chain(opts: { projectId?: string; role: AgentRoleV1; provider?: string; model?: string }): Promise<{ links: ChainLink[]; skipped: { provider: string; model: string; reason: string }[] }> {
    const providers = await this.effective(opts.projectId);
    const roleCfg = (await this.roles(opts.projectId))[opts.role];
    let refs: { provider: string; model: string }[];
    if (opts.provider) {
      const p = providers.get(opts.provider);
      if (!p) throw new AppError('NOT_FOUND', `unknown provider "${opts.provider}"`);
      const model = opts.model ?? [roleCfg, ...roleCfg.fallbacks].find((r) => r.provider === opts.provider)?.model ?? p.models[0];
      if (!model) throw new AppError('VALIDATION_FAILED', `say which model of "${opts.provider}" to use`);
      refs = [{ provider: opts.provider, model }];
    } else {
      refs = [{ provider: roleCfg.provider, model: opts.model ?? roleCfg.model }, ...roleCfg.fallbacks];
    }
    const links: ChainLink[] = [];
    const skipped: { provider: string; model: string; reason: string }[] = [];
    for (const ref of refs) {
      const p = providers.get(ref.provider);
      if (!p) skipped.push({ ...ref, reason: 'unknown provider' });
      else if (!p.enabled) skipped.push({ ...ref, reason: 'disabled' });
      else if (!p.sealedKey && !LOCAL_KINDS.includes(p.kind)) skipped.push({ ...ref, reason: 'no API key set' });
      else links.push(this.link(p, ref.model));
    }
    return { links, skipped };
  }

  private link(p: ProviderConfig, model: string): ChainLink {
    // The sealed key and base URL are part of the key: another replica may have changed them.
    const cacheKey = `${p.projectId ?? ''}/${p.name}/${model}/${p.baseURL ?? ''}/${p.sealedKey ?? ''}`;
    let lm = this.models.get(cacheKey);
    if (!lm) {
      lm = createLanguageModel({ name: p.name, kind: p.kind, model, baseURL: p.baseURL, apiKey: p.sealedKey ? this.box.open(p.sealedKey) : undefined });
      this.models.set(cacheKey, lm);
    }
    return { provider: p.name, kind: p.kind, model, languageModel: lm, contextWindow: findPrice(p.kind, model)?.contextWindow ?? DEFAULT_CONTEXT_WINDOW };
  }

  private async info(p: ProviderConfig & { scope: 'project' | 'global' }, refresh: boolean): Promise<ProviderInfoV1> {
    const models = new Map<string, ModelInfoV1>();
    for (const row of MODEL_PRICES) {
      if (row.provider !== p.kind) continue;
      const price = findPrice(row.provider, row.model);
      models.set(row.model, { id: row.model, contextWindow: row.contextWindow, inputUsdPerMTok: price?.inputUsdPerMTok, outputUsdPerMTok: price?.outputUsdPerMTok });
    }
    for (const id of p.models) if (!models.has(id)) models.set(id, { id });
    if (refresh && LOCAL_KINDS.includes(p.kind) && p.enabled) {
      try {
        const key = p.sealedKey ? this.box.open(p.sealedKey) : undefined;
        for (const id of await listInstalledModels(p.kind, p.baseURL, key)) models.set(id, { ...(models.get(id) ?? { id }), installed: true });
      } catch {
        // A local server that is not running simply lists nothing installed.
      }
    }
    const circuit = this.breakers.state(p.name);
    return {
      name: p.name,
      kind: p.kind,
      baseURL: p.baseURL,
      enabled: p.enabled,
      hasKey: Boolean(p.sealedKey),
      keyHint: p.keyHint,
      circuit,
      retryAt: circuit === 'closed' ? undefined : this.breakers.retryAt(p.name)?.toISOString(),
      models: [...models.values()],
      scope: p.scope,
    };
  }
}
