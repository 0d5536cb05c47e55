import { CircuitBreakers } from './circuit-breaker';
import { MemoryAgentConfigStore } from './config-store';
import { ProviderRegistry } from './registry';
import { createSecretBox } from './secret-box';

const make = () => new ProviderRegistry(new MemoryAgentConfigStore(), createSecretBox(Buffer.alloc(32, 3)), new CircuitBreakers(2, 1000));

describe('ProviderRegistry', () => {
  it('lists every built-in kind with its priced models and no key', async () => {
    const list = await make().list();
    expect(list.map((p) => p.name).sort()).toEqual(['anthropic', 'google', 'mistral', 'ollama', 'openai', 'openai-compatible', 'xai']);
    const anthropic = list.find((p) => p.name === 'anthropic')!;
    expect(anthropic).toMatchObject({ hasKey: false, circuit: 'closed', scope: 'global' });
    expect(anthropic.models.find((m) => m.id === 'claude-sonnet-4-5')).toMatchObject({ inputUsdPerMTok: 3, outputUsdPerMTok: 15, contextWindow: 200_000 });
  });

  it('project entries override global ones; keys are sealed and only hinted', async () => {
    const r = make();
    await r.set({ name: 'openai', apiKey: 'sk-global-0000' });
    const info = await r.set({ projectId: 'p1', name: 'openai', apiKey: 'sk-project-1111', baseURL: 'http://127.0.0.1:9/v1' });
    expect(info).toMatchObject({ hasKey: true, keyHint: '1111', scope: 'project' });
    expect(JSON.stringify(await r.list('p1'))).not.toContain('sk-project');
    expect((await r.list()).find((p) => p.name === 'openai')).toMatchObject({ keyHint: '0000', scope: 'global' });
  });

  it('needs a kind for a provider whose name is not one', async () => {
    await expect(make().set({ name: 'lmstudio' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(await make().set({ name: 'lmstudio', kind: 'openai-compatible', baseURL: 'http://127.0.0.1:1234/v1' })).toMatchObject({ kind: 'openai-compatible' });
  });

  it('builds role chains from defaults and overrides, leaving out cloud providers without a key', async () => {
    const r = make();
    const def = await r.chain({ role: 'coding' });
    // Defaults: openai → anthropic → ollama; only the local one needs no key.
    expect(def.links.map((l) => l.provider)).toEqual(['ollama']);
    expect(def.skipped.map((s) => [s.provider, s.reason])).toEqual([
      ['openai', 'no API key set'],
      ['anthropic', 'no API key set'],
    ]);
    await r.set({ name: 'anthropic', apiKey: 'k' });
    await r.setRole('p2', 'coding', { provider: 'anthropic', model: 'claude-haiku-4-5', fallbacks: [{ provider: 'ollama', model: 'llama3' }] });
    const c = await r.chain({ projectId: 'p2', role: 'coding' });
    expect(c.links.map((l) => `${l.provider}/${l.model}`)).toEqual(['anthropic/claude-haiku-4-5', 'ollama/llama3']);
    expect(c.links[0]!.contextWindow).toBe(200_000);
    expect((await r.roles('other')).coding.provider).toBe('openai');
    await expect(r.setRole(undefined, 'review', { provider: 'nope', model: 'x', fallbacks: [] })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});
