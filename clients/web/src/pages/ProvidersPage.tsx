import { Autocomplete, Badge, Button, Group, Paper, PasswordInput, Select, Stack, Switch, Table, Text, TextInput, Title } from '@mantine/core';
import { useEffect, useState } from 'react';
import { api } from '../api/http';
import { ROLES, type Principal, type ProviderInfo, type Role, type RoleConfig } from '../api/types';
import { ErrorAlert } from '../components/common';
import { useAction, useApi } from '../hooks';

const KINDS = ['anthropic', 'openai', 'google', 'mistral', 'xai', 'ollama', 'openai-compatible'];

/** Seed 003's provider registry and each role's provider, model and fallbacks. Keys go in, never out. */
export function ProvidersPage({ principal }: { principal: Principal }) {
  const providers = useApi(() => api.get<{ providers: ProviderInfo[] }>('/api/v1/providers').then((r) => r.providers), []);
  const agents = useApi(() => api.get<{ roles: Partial<Record<Role, RoleConfig>> }>('/api/v1/agents').then((r) => r.roles), []);
  const admin = principal.role === 'admin';
  return (
    <Stack>
      <Title order={2}>Agents & providers</Title>
      {!admin && <Text c="dimmed">Only an admin changes providers and models; you see what is configured.</Text>}
      <ErrorAlert error={providers.error ?? agents.error} />
      <Title order={4}>Providers</Title>
      <Table.ScrollContainer minWidth={700}>
        <Table aria-label="providers">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Name</Table.Th>
              <Table.Th>Kind</Table.Th>
              <Table.Th>Enabled</Table.Th>
              <Table.Th>Key</Table.Th>
              <Table.Th>Circuit</Table.Th>
              <Table.Th>Models</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {(providers.data ?? []).map((p) => (
              <Table.Tr key={p.name} data-provider={p.name}>
                <Table.Td>{p.name}</Table.Td>
                <Table.Td>{p.kind}</Table.Td>
                <Table.Td>{p.enabled ? 'yes' : 'no'}</Table.Td>
                <Table.Td data-testid="key-state">{p.hasKey ? `stored (…${p.keyHint ?? ''})` : 'none'}</Table.Td>
                <Table.Td style={{ whiteSpace: 'nowrap' }}>
                  <Badge miw="fit-content" color={p.circuit === 'closed' ? 'teal' : p.circuit === 'open' ? 'red' : 'yellow'} variant="light">
                    {p.circuit}
                  </Badge>
                </Table.Td>
                <Table.Td>
                  <Text size="xs" lineClamp={2}>
                    {p.models.map((m) => m.id).join(', ')}
                  </Text>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      {admin && <ProviderForm onSaved={() => void providers.reload()} />}
      <Title order={4}>Roles</Title>
      <Stack gap="xs">
        {ROLES.map((role) => (
          <RoleRow key={role} role={role} config={agents.data?.[role]} providers={providers.data ?? []} admin={admin} onSaved={() => void agents.reload()} />
        ))}
      </Stack>
    </Stack>
  );
}

function ProviderForm({ onSaved }: { onSaved: () => void }) {
  const [name, setName] = useState('');
  const [kind, setKind] = useState<string | null>(null);
  const [apiKey, setApiKey] = useState('');
  const [baseURL, setBaseURL] = useState('');
  const [enabled, setEnabled] = useState(true);
  const [done, setDone] = useState<string>();
  const save = useAction(async () => {
    const body: Record<string, unknown> = { enabled };
    if (kind && kind !== name) body.kind = kind;
    if (apiKey) body.apiKey = apiKey;
    if (baseURL) body.baseURL = baseURL;
    const p = await api.put<ProviderInfo>(`/api/v1/providers/${encodeURIComponent(name)}`, body);
    // The key is gone from the page once sent: it is never shown or read back.
    setApiKey('');
    setDone(`Saved ${p.name}${p.hasKey ? ` (key …${p.keyHint ?? ''} stored)` : ''}.`);
    onSaved();
  });
  return (
    <Paper withBorder p="sm" component="form" onSubmit={(e) => (e.preventDefault(), void save.run())} aria-label="configure a provider">
      <Text fw={600} mb="xs">
        Configure a provider
      </Text>
      <Group align="end" wrap="wrap">
        <TextInput label="Name" placeholder="openai, or lmstudio" value={name} onChange={(e) => setName(e.currentTarget.value)} required w={160} />
        <Select label="Kind" data={KINDS} value={kind} onChange={setKind} placeholder="same as the name" clearable w={180} />
        <PasswordInput label="API key" value={apiKey} onChange={(e) => setApiKey(e.currentTarget.value)} autoComplete="off" w={220} description="stored encrypted, never shown" />
        <TextInput label="Base URL" placeholder="optional" value={baseURL} onChange={(e) => setBaseURL(e.currentTarget.value)} w={240} />
        <Switch label="enabled" checked={enabled} onChange={(e) => setEnabled(e.currentTarget.checked)} mb={8} />
        <Button type="submit" loading={save.busy} disabled={!name}>
          Save
        </Button>
      </Group>
      <ErrorAlert error={save.error} />
      {done && (
        <Text c="teal" size="sm" role="status" mt="xs">
          {done}
        </Text>
      )}
    </Paper>
  );
}

const refText = (refs: Array<{ provider: string; model: string }>) => refs.map((r) => `${r.provider}/${r.model}`).join(', ');

function RoleRow({ role, config, providers, admin, onSaved }: { role: Role; config?: RoleConfig; providers: ProviderInfo[]; admin: boolean; onSaved: () => void }) {
  const [provider, setProvider] = useState<string | null>(config?.provider ?? null);
  const [model, setModel] = useState(config?.model ?? '');
  const [fallbacks, setFallbacks] = useState(refText(config?.fallbacks ?? []));
  useEffect(() => {
    setProvider(config?.provider ?? null);
    setModel(config?.model ?? '');
    setFallbacks(refText(config?.fallbacks ?? []));
  }, [config]);
  const save = useAction(async () => {
    const parsed = fallbacks
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((s) => {
        const at = s.indexOf('/');
        if (at < 1) throw new Error(`fallback "${s}" is not provider/model`);
        return { provider: s.slice(0, at), model: s.slice(at + 1) };
      });
    await api.put(`/api/v1/agents/${role}`, { config: { provider, model, fallbacks: parsed } });
    onSaved();
  });
  const models = providers.find((p) => p.name === provider)?.models.map((m) => m.id) ?? [];
  return (
    <Paper withBorder p="xs" data-role={role}>
      <Group align="end" wrap="wrap">
        <Text fw={600} w={120}>
          {role}
        </Text>
        <Select label="Provider" data={providers.map((p) => p.name)} value={provider} onChange={setProvider} disabled={!admin} w={170} />
        <Autocomplete label="Model" data={models} value={model} onChange={setModel} disabled={!admin} w={220} />
        <TextInput label="Fallbacks" placeholder="provider/model, provider/model" value={fallbacks} onChange={(e) => setFallbacks(e.currentTarget.value)} disabled={!admin} flex={1} miw={220} />
        {admin && (
          <Button variant="default" onClick={() => void save.run()} loading={save.busy} disabled={!provider || !model}>
            Save
          </Button>
        )}
      </Group>
      <ErrorAlert error={save.error} />
    </Paper>
  );
}
