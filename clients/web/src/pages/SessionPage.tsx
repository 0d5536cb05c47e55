import { Anchor, Button, Group, Stack, Table, Tabs, Text, Title } from '@mantine/core';
import { useEffect } from 'react';
import { api } from '../api/http';
import type { Session, Snapshot } from '../api/types';
import { ErrorAlert, limitsText, networkText, StatusBadge } from '../components/common';
import { useAction, useApi } from '../hooks';
import { go, href } from '../router';
import { Agents } from '../session/Agents';
import { CommandLog } from '../session/CommandLog';
import { Diff } from '../session/Diff';
import { Files } from '../session/Files';
import { Terminal } from '../session/Terminal';
import { useSessionModel } from '../session/useSessionModel';

const RUNNABLE = ['ready', 'busy', 'idle'];

/** One session: its terminal and command log, files, agents and snapshots, live. */
export function SessionPage({ sessionId, tab }: { sessionId: string; tab: string }) {
  const model = useSessionModel(sessionId);
  const session = useApi(() => api.get<Session>(`/api/v1/sessions/${encodeURIComponent(sessionId)}`), [sessionId]);
  const snapshots = useApi(() => api.get<{ snapshots: Snapshot[] }>(`/api/v1/sessions/${encodeURIComponent(sessionId)}/snapshots`).then((r) => r.snapshots), [sessionId]);
  // The status follows the session's own events; the record is read again when it changes.
  const status = model.status ?? session.data?.status;
  useEffect(() => {
    if (model.status) void session.reload();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [model.status]);
  const enabled = status !== undefined && RUNNABLE.includes(status);
  const act = useAction(async (what: 'close' | 'fork' | 'snapshot', snapshotId?: string) => {
    if (what === 'close') await api.delete(`/api/v1/sessions/${sessionId}`);
    else if (what === 'fork') go('sessions', (await api.post<Session>(`/api/v1/sessions/${sessionId}/fork`, snapshotId ? { snapshotId } : {})).id);
    else await api.post(`/api/v1/sessions/${sessionId}/snapshots`, {});
    await Promise.all([session.reload(), snapshots.reload()]);
  });
  const s = session.data;
  return (
    // data-last-seq: the newest event this page has applied (tests wait for it to reach the session's).
    <Stack gap="sm" data-last-seq={model.lastSeq}>
      <Group justify="space-between" wrap="wrap">
        <Group gap="sm">
          <Anchor href={href('sessions')} size="sm">
            Sessions
          </Anchor>
          <Title order={3} ff="monospace">
            {sessionId}
          </Title>
          {status && <StatusBadge status={status} />}
        </Group>
        <Group gap="xs">
          <Button size="xs" variant="default" onClick={() => void act.run('snapshot')} disabled={!enabled} loading={act.busy}>
            Snapshot
          </Button>
          <Button size="xs" variant="default" onClick={() => void act.run('fork')} disabled={!enabled}>
            Fork
          </Button>
          <Button size="xs" color="red" variant="light" onClick={() => void act.run('close')} disabled={!enabled}>
            Close session
          </Button>
        </Group>
      </Group>
      {s && (
        <Text size="sm" c="dimmed">
          {s.owner} · {s.projectId ?? s.source.path ?? s.source.kind} · {s.driver ?? 'bubblewrap'} · limits: {limitsText(s)} · network: {networkText(s.networkInForce ?? s.sandbox.network)}
          {s.forkedFrom ? ` · fork of ${s.forkedFrom.sessionId}` : ''}
          {model.statusReason || s.failureReason || s.closeReason ? ` · ${model.statusReason ?? s.failureReason ?? s.closeReason}` : ''}
        </Text>
      )}
      <ErrorAlert error={session.error} title="Could not read the session" />
      <ErrorAlert error={act.error} />
      <Tabs value={tab} onChange={(t) => go('sessions', sessionId, t ?? 'terminal')} keepMounted={false}>
        <Tabs.List>
          <Tabs.Tab value="terminal">Terminal</Tabs.Tab>
          <Tabs.Tab value="files">Files</Tabs.Tab>
          <Tabs.Tab value="diff">Diff</Tabs.Tab>
          <Tabs.Tab value="agents">Agents</Tabs.Tab>
          <Tabs.Tab value="snapshots">Snapshots</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="terminal" pt="sm">
          <Stack gap="sm">
            <Terminal sessionId={sessionId} model={model} enabled={enabled} />
            <Title order={5}>Command log</Title>
            <CommandLog sessionId={sessionId} model={model} enabled={enabled} />
          </Stack>
        </Tabs.Panel>
        <Tabs.Panel value="files" pt="sm">
          <Files sessionId={sessionId} enabled={enabled} />
        </Tabs.Panel>
        <Tabs.Panel value="diff" pt="sm">
          <Diff sessionId={sessionId} snapshots={snapshots.data ?? []} />
        </Tabs.Panel>
        <Tabs.Panel value="agents" pt="sm">
          <Agents sessionId={sessionId} model={model} enabled={enabled} />
        </Tabs.Panel>
        <Tabs.Panel value="snapshots" pt="sm">
          <ErrorAlert error={snapshots.error} />
          <Table aria-label="snapshots">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Snapshot</Table.Th>
                <Table.Th>Label</Table.Th>
                <Table.Th>Files</Table.Th>
                <Table.Th>Bytes</Table.Th>
                <Table.Th>Taken</Table.Th>
                <Table.Th />
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {(snapshots.data ?? []).map((sn) => (
                <Table.Tr key={sn.snapshotId}>
                  <Table.Td ff="monospace">{sn.snapshotId}</Table.Td>
                  <Table.Td>{sn.label ?? ''}</Table.Td>
                  <Table.Td>{sn.files}</Table.Td>
                  <Table.Td>{sn.bytes.toLocaleString()}</Table.Td>
                  <Table.Td>{new Date(sn.createdAt).toLocaleString()}</Table.Td>
                  <Table.Td>
                    <Button size="compact-xs" variant="default" onClick={() => void act.run('fork', sn.snapshotId)}>
                      Fork from here
                    </Button>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
          {snapshots.data?.length === 0 && <Text c="dimmed">No snapshots yet.</Text>}
        </Tabs.Panel>
      </Tabs>
    </Stack>
  );
}
