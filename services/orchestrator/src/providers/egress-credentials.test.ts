import { CircuitBreakers } from './circuit-breaker';
import { MemoryAgentConfigStore } from './config-store';
import { ProviderRegistry } from './registry';
import { createSecretBox } from './secret-box';

// `sandbox.credentials` resolved against the provider registry: each kind's upstream, headers and
// variables; unknown, disabled and keyless providers refused naming the entry; the key stays sealed
// in the store and appears only in the credential built for shell.open.
const setup = () => {
  const store = new MemoryAgentConfigStore();
  return { store, registry: new ProviderRegistry(store, createSecretBox(Buffer.alloc(32, 7)), new CircuitBreakers(2, 1000)) };
};

test("each kind's default upstream, the header its API reads, and the variables its tools read", async () => {
  const { registry } = setup();
  await registry.set({ name: 'anthropic', apiKey: 'sk-ant-secret-1' });
  await registry.set({ name: 'openai', apiKey: 'sk-oai-secret-2' });
  await registry.set({ name: 'google', apiKey: 'g-secret-3' });
  const [anthropic, openai, google] = await registry.egressCredentials(['anthropic', 'openai', 'google']);
  expect(anthropic).toEqual({
    name: 'anthropic',
    upstream: 'https://api.anthropic.com',
    headers: { 'x-api-key': 'sk-ant-secret-1' },
    baseUrlEnv: ['ANTHROPIC_BASE_URL'],
    placeholderKeyEnv: ['ANTHROPIC_API_KEY'],
  });
  expect(openai).toEqual({ name: 'openai', upstream: 'https://api.openai.com/v1', headers: { authorization: 'Bearer sk-oai-secret-2' }, baseUrlEnv: ['OPENAI_BASE_URL'], placeholderKeyEnv: ['OPENAI_API_KEY'] });
  expect(google).toMatchObject({ upstream: 'https://generativelanguage.googleapis.com', headers: { 'x-goog-api-key': 'g-secret-3' } });
});

test("a configured base URL wins (in the form the tools' SDKs expect); a project's own provider wins over the global one", async () => {
  const { registry } = setup();
  await registry.set({ name: 'anthropic', apiKey: 'k1', baseURL: 'https://llm-gw.example.com/anthropic/v1/' });
  await registry.set({ name: 'local-llm', kind: 'openai-compatible', apiKey: 'k2', baseURL: 'https://llm.example.com/v1' });
  await registry.set({ projectId: 'p1', name: 'local-llm', apiKey: 'k3' });
  const [a, l] = await registry.egressCredentials(['anthropic', 'local-llm']);
  expect(a!.upstream).toBe('https://llm-gw.example.com/anthropic');
  expect(l).toMatchObject({ upstream: 'https://llm.example.com/v1', headers: { authorization: 'Bearer k2' } });
  expect((await registry.egressCredentials(['local-llm'], 'p1'))[0]!.headers).toEqual({ authorization: 'Bearer k3' });
});

test('unknown, disabled and keyless providers are refused, naming the entry', async () => {
  const { registry } = setup();
  await registry.set({ name: 'openai', apiKey: 'k' });
  await registry.set({ name: 'mistral', apiKey: 'k', enabled: false });
  await expect(registry.egressCredentials(['openai', 'nope'])).rejects.toMatchObject({
    code: 'VALIDATION_FAILED',
    message: expect.stringContaining('sandbox.credentials[1]: no provider "nope" is configured'),
    details: { fields: [{ path: 'sandbox.credentials[1]' }], provider: 'nope' },
  });
  await expect(registry.egressCredentials(['anthropic'])).rejects.toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining('has no API key') });
  await expect(registry.egressCredentials(['mistral'])).rejects.toMatchObject({ message: expect.stringContaining('disabled') });
});

test('the key is sealed in the store; only the credential holds it', async () => {
  const { store, registry } = setup();
  await registry.set({ name: 'anthropic', apiKey: 'sk-ant-very-secret' });
  expect(JSON.stringify(await store.listProviders())).not.toContain('sk-ant-very-secret');
  expect(JSON.stringify(await registry.list())).not.toContain('sk-ant-very-secret');
  expect(JSON.stringify(await registry.egressCredentials(['anthropic']))).toContain('sk-ant-very-secret');
});
