import { Anchor, Button, Checkbox, Group, Menu, Table, Text, Title, Tooltip } from '@mantine/core';
import { useState } from 'react';
import { api } from '../api/http';
import type { Principal, Project, Session, Snapshot } from '../api/types';
import { ago, ErrorAlert, limitsText, networkText, StatusBadge } from '../components/common';
import { useAction, useApi } from '../hooks';
import { go, href } from '../router';
import { NewSessionModal } from './NewSessionModal';

/** How often the list asks again, so statuses change without a reload. */
const REFRESH_MS = 2_000;

export function SessionsPage({ principal }: { principal: Principal }) {
  const [showEnded, setShowEnded] = useState(false);
  const [creating, setCreating] = useState(false);
  const [notice, setNotice] = useState<string>();
  const sessions = useApi(() => api.get<{ sessions: Session[] }>('/api/v1/sessions', { includeEnded: String(showEnded), limit: 200 }).then((r) => r.sessions), [showEnded], REFRESH_MS);
  const projects = useApi(() => api.get<{ projects: Project[] }>('/api/v1/projects').then((r) => r.projects), [], 30_000);
  const projectName = (id?: string) => projects.data?.find((p) => p.id === id)?.name ?? id ?? '';
  const act = useAction(async (what: 'close' | 'fork' | 'snapshot', s: Session) => {
    if (what === 'close') {
      await api.delete(`/api/v1/sessions/${s.id}`);
      setNotice(`Session ${s.id} closed.`);
    } else if (what === 'fork') {
      const f = await api.post<Session>(`/api/v1/sessions/${s.id}/fork`, {});
      setNotice(`Forked ${s.id} into ${f.id}.`);
    } else {
      const snap = await api.post<Snapshot>(`/api/v1/sessions/${s.id}/snapshots`, {});
      setNotice(`Snapshot ${snap.snapshotId} of ${s.id}: ${snap.files} files.`);
    }
    await sessions.reload();
  });
  const live = (s: Session) => !['closed', 'closing', 'failed'].includes(s.status);

  return (
    <>
      <Group justify="space-between" mb="md">
        <Title order={2}>Sessions</Title>
        <Group>
          <Checkbox label="show ended" checked={showEnded} onChange={(e) => setShowEnded(e.currentTarget.checked)} />
          <Button onClick={() => setCreating(true)}>New session</Button>
        </Group>
      </Group>
      <ErrorAlert error={sessions.error} title="Could not list sessions" />
      <ErrorAlert error={act.error} />
      {notice && (
        <Text c="teal" size="sm" role="status" mb="xs">
          {notice}
        </Text>
      )}
      <Table.ScrollContainer minWidth={900}>
        <Table striped highlightOnHover verticalSpacing="xs" aria-label="sessions">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Session</Table.Th>
              <Table.Th>Status</Table.Th>
              <Table.Th>Owner</Table.Th>
              <Table.Th>Project / source</Table.Th>
              <Table.Th>Driver</Table.Th>
              <Table.Th>Limits</Table.Th>
              <Table.Th>Network</Table.Th>
              <Table.Th>Active</Table.Th>
              <Table.Th />
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {(sessions.data ?? []).map((s) => (
              <Table.Tr key={s.id} data-session-id={s.id}>
                <Table.Td>
                  <Anchor href={href('sessions', s.id)} ff="monospace" size="sm">
                    {s.id}
                  </Anchor>
                  {s.forkedFrom && (
                    <Text size="xs" c="dimmed">
                      fork of {s.forkedFrom.sessionId}
                    </Text>
                  )}
                </Table.Td>
                <Table.Td>
                  <Tooltip label={s.failureReason ?? s.closeReason ?? s.status} disabled={!s.failureReason && !s.closeReason}>
                    <span>
                      <StatusBadge status={s.status} />
                    </span>
                  </Tooltip>
                </Table.Td>
                <Table.Td>{s.owner}</Table.Td>
                <Table.Td>{s.projectId ? projectName(s.projectId) : <Text size="sm" ff="monospace">{s.source.path ?? s.source.url ?? s.source.kind}</Text>}</Table.Td>
                <Table.Td>{s.driver ?? 'bubblewrap'}</Table.Td>
                <Table.Td>
                  <Tooltip label={Object.entries(s.limitsInForce ?? {}).map(([k, v]) => `${k}: ${v}`).join(' · ') || 'no limits reported in force'}>
                    <Text size="sm">{limitsText(s)}</Text>
                  </Tooltip>
                </Table.Td>
                <Table.Td>{networkText(s.networkInForce ?? s.sandbox.network)}</Table.Td>
                <Table.Td>
                  <Text size="sm">{ago(s.lastActivityAt)}</Text>
                </Table.Td>
                <Table.Td>
                  <Menu position="bottom-end" withinPortal>
                    <Menu.Target>
                      <Button size="compact-sm" variant="default" aria-label={`actions for ${s.id}`}>
                        Actions
                      </Button>
                    </Menu.Target>
                    <Menu.Dropdown>
                      <Menu.Item onClick={() => go('sessions', s.id)}>Open</Menu.Item>
                      <Menu.Item disabled={!live(s)} onClick={() => act.run('snapshot', s)}>
                        Snapshot
                      </Menu.Item>
                      <Menu.Item disabled={!live(s)} onClick={() => act.run('fork', s)}>
                        Fork
                      </Menu.Item>
                      <Menu.Item color="red" disabled={!live(s)} onClick={() => act.run('close', s)}>
                        Close
                      </Menu.Item>
                    </Menu.Dropdown>
                  </Menu>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      {sessions.data?.length === 0 && (
        <Text c="dimmed" mt="md">
          No {showEnded ? '' : 'open '}sessions{principal.role === 'member' ? ' of yours' : ''} yet.
        </Text>
      )}
      {creating && (
        <NewSessionModal
          opened
          onClose={() => setCreating(false)}
          projects={projects.data ?? []}
          onCreated={(s) => {
            setCreating(false);
            go('sessions', s.id);
          }}
        />
      )}
    </>
  );
}
