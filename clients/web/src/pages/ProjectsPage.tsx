import { Button, Grid, Group, Paper, ScrollArea, Select, Stack, Table, Text, TextInput, Textarea, Title } from '@mantine/core';
import { useState } from 'react';
import { api } from '../api/http';
import type { Project } from '../api/types';
import { ErrorAlert } from '../components/common';
import { useAction, useApi } from '../hooks';

interface ChatLine {
  who: 'you' | 'project';
  text: string;
}

/** Projects (with their CI socket) and seed 004's project chat (POST /api/projects/chat). */
export function ProjectsPage() {
  const projects = useApi(() => api.get<{ projects: Project[] }>('/api/v1/projects').then((r) => r.projects), [], 10_000);
  const [name, setName] = useState('');
  const [path, setPath] = useState('');
  const add = useAction(async () => {
    await api.post('/api/v1/projects', { name, source: { path } });
    setName('');
    setPath('');
    await projects.reload();
  });
  const [chatWith, setChatWith] = useState<string | null>(null);
  const [message, setMessage] = useState('');
  const [lines, setLines] = useState<Record<string, ChatLine[]>>({});
  const send = useAction(async () => {
    const project = chatWith!;
    const text = message;
    setMessage('');
    setLines((l) => ({ ...l, [project]: [...(l[project] ?? []), { who: 'you', text }] }));
    const r = await api.post<{ response: string }>('/api/projects/chat', { project_name: project, message: text });
    setLines((l) => ({ ...l, [project]: [...(l[project] ?? []), { who: 'project', text: r.response }] }));
  });
  return (
    <Stack>
      <Title order={2}>Projects & chat</Title>
      <ErrorAlert error={projects.error ?? add.error} />
      <Grid>
        <Grid.Col span={{ base: 12, lg: 7 }}>
          <Table.ScrollContainer minWidth={500}>
            <Table aria-label="projects">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Name</Table.Th>
                  <Table.Th>Source</Table.Th>
                  <Table.Th>Kind</Table.Th>
                  <Table.Th>Runs in</Table.Th>
                  <Table.Th>CI socket</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {(projects.data ?? []).map((p) => (
                  <Table.Tr key={p.id}>
                    <Table.Td>{p.name}</Table.Td>
                    <Table.Td ff="monospace">{p.source.path ?? p.source.url ?? p.source.kind}</Table.Td>
                    <Table.Td>{p.discovery ? `${p.discovery.tier}${p.discovery.languages?.length ? ` (${p.discovery.languages.join(', ')})` : ''}` : ''}</Table.Td>
                    <Table.Td title={p.discovery?.missing?.length ? `missing on the host: ${p.discovery.missing.join(', ')}` : undefined}>
                      {p.discovery?.driver === 'docker' ? 'Docker' : p.discovery ? 'jail' : ''}
                      {p.discovery?.missing?.length ? ` (missing ${p.discovery.missing.join(', ')})` : ''}
                    </Table.Td>
                    <Table.Td ff="monospace">{p.ciSocket ?? 'not open'}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
          <Paper withBorder p="sm" mt="sm" component="form" onSubmit={(e) => (e.preventDefault(), void add.run())} aria-label="add a project">
            <Group align="end">
              <TextInput label="Name" value={name} onChange={(e) => setName(e.currentTarget.value)} required w={160} />
              <TextInput label="Folder on the server" value={path} onChange={(e) => setPath(e.currentTarget.value)} required flex={1} miw={200} />
              <Button type="submit" loading={add.busy}>
                Add project
              </Button>
            </Group>
          </Paper>
        </Grid.Col>
        <Grid.Col span={{ base: 12, lg: 5 }}>
          <Paper withBorder p="sm">
            <Stack gap="xs">
              <Select label="Chat with project" data={(projects.data ?? []).map((p) => p.name)} value={chatWith} onChange={setChatWith} placeholder="choose a project" />
              <ScrollArea.Autosize mah={360}>
                <Stack gap={6} aria-label="chat" data-testid="project-chat">
                  {(chatWith ? (lines[chatWith] ?? []) : []).map((l, i) => (
                    <Paper key={i} p="xs" bg={l.who === 'you' ? 'var(--mantine-color-default-hover)' : undefined} withBorder={l.who === 'project'}>
                      <Text size="xs" c="dimmed">
                        {l.who === 'you' ? 'you' : chatWith}
                      </Text>
                      <Text size="sm" style={{ whiteSpace: 'pre-wrap' }}>
                        {l.text}
                      </Text>
                    </Paper>
                  ))}
                </Stack>
              </ScrollArea.Autosize>
              <ErrorAlert error={send.error} title="No answer" />
              <Textarea aria-label="message to the project" autosize minRows={2} value={message} onChange={(e) => setMessage(e.currentTarget.value)} disabled={!chatWith} placeholder="the model sees [Project: name] before it" />
              <Group justify="flex-end">
                <Button onClick={() => void send.run()} loading={send.busy} disabled={!chatWith || !message.trim()}>
                  Send
                </Button>
              </Group>
            </Stack>
          </Paper>
        </Grid.Col>
      </Grid>
    </Stack>
  );
}
