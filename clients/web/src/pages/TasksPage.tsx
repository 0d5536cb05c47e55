import { Badge, Button, Group, Paper, ScrollArea, Select, SimpleGrid, Stack, Text, TextInput, Title } from '@mantine/core';
import { useState, type FormEvent } from 'react';
import { api } from '../api/http';
import { TASK_STATUSES, type Project, type Task, type TaskStatus } from '../api/types';
import { ErrorAlert } from '../components/common';
import { useAction, useApi } from '../hooks';

const LABELS: Record<TaskStatus, string> = { todo: 'To do', in_progress: 'In progress', blocked: 'Blocked', review: 'Review', done: 'Done', cancelled: 'Cancelled' };

/** Tasks by status; the orchestrator keeps them in sync with each project's docs/TASKS.md. */
export function TasksPage() {
  const tasks = useApi(() => api.get<{ tasks: Task[] }>('/api/v1/tasks').then((r) => r.tasks), [], 3_000);
  const projects = useApi(() => api.get<{ projects: Project[] }>('/api/v1/projects').then((r) => r.projects), []);
  const [title, setTitle] = useState('');
  const [projectId, setProjectId] = useState<string | null>(null);
  const add = useAction(async () => {
    await api.post('/api/v1/tasks', { title, ...(projectId ? { projectId } : {}) });
    setTitle('');
    await tasks.reload();
  });
  const move = useAction(async (t: Task, status: TaskStatus) => {
    await api.patch(`/api/v1/tasks/${t.id}`, { status, expectedVersion: t.version });
    await tasks.reload();
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (title.trim()) void add.run();
  };
  const projectName = (id?: string) => projects.data?.find((p) => p.id === id)?.name;
  return (
    <Stack>
      <Title order={2}>Tasks</Title>
      <form onSubmit={submit}>
        <Group align="end">
          <TextInput label="New task" placeholder="what needs doing" value={title} onChange={(e) => setTitle(e.currentTarget.value)} flex={1} miw={200} />
          <Select label="Project" data={(projects.data ?? []).map((p) => ({ value: p.id, label: p.name }))} value={projectId} onChange={setProjectId} clearable placeholder="none" w={200} />
          <Button type="submit" loading={add.busy}>
            Add
          </Button>
        </Group>
      </form>
      <ErrorAlert error={tasks.error ?? add.error ?? move.error} />
      <ScrollArea type="auto">
        <SimpleGrid cols={{ base: 1, sm: 3, lg: 6 }} spacing="sm" aria-label="task board">
          {TASK_STATUSES.map((status) => {
            const column = (tasks.data ?? []).filter((t) => t.status === status);
            return (
              <Paper key={status} withBorder p="xs" bg="var(--mantine-color-default-hover)" data-testid={`column-${status}`} component="section" aria-label={LABELS[status]}>
                <Group justify="space-between" mb="xs">
                  <Text fw={600}>{LABELS[status]}</Text>
                  <Badge variant="light" color="gray">
                    {column.length}
                  </Badge>
                </Group>
                <Stack gap={6}>
                  {column.map((t) => (
                    <Paper key={t.id} withBorder p="xs" data-task-id={t.id}>
                      <Text size="xs" c="dimmed" ff="monospace">
                        {t.id}
                        {projectName(t.projectId) ? ` · ${projectName(t.projectId)}` : ''}
                      </Text>
                      <Text size="sm" fw={500}>
                        {t.title}
                      </Text>
                      {t.owner && (
                        <Text size="xs" c="dimmed">
                          {t.owner}
                        </Text>
                      )}
                      {t.notes.length > 0 && (
                        <Text size="xs" c="dimmed" lineClamp={2}>
                          {t.notes[t.notes.length - 1]!.text}
                        </Text>
                      )}
                      <Select
                        size="xs"
                        mt={4}
                        aria-label={`status of ${t.id}`}
                        data={TASK_STATUSES.map((s) => ({ value: s, label: LABELS[s] }))}
                        value={t.status}
                        onChange={(v) => v && v !== t.status && void move.run(t, v as TaskStatus)}
                        allowDeselect={false}
                      />
                    </Paper>
                  ))}
                </Stack>
              </Paper>
            );
          })}
        </SimpleGrid>
      </ScrollArea>
    </Stack>
  );
}
