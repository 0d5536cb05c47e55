import { Accordion, Badge, Button, Group, Select, Stack, Text } from '@mantine/core';
import { useMemo, useState } from 'react';
import { api } from '../api/http';
import type { Snapshot } from '../api/types';
import { ErrorAlert } from '../components/common';
import { useApi } from '../hooks';
import { lineKind, splitDiff, type FileChange, type SessionDiff } from './diff';

const CHANGE_COLOR: Record<FileChange, string> = { added: 'teal', changed: 'yellow', removed: 'red' };
const LINE_STYLE: Record<ReturnType<typeof lineKind>, React.CSSProperties> = {
  add: { background: 'var(--mantine-color-green-light)', color: 'var(--mantine-color-green-light-color)' },
  del: { background: 'var(--mantine-color-red-light)', color: 'var(--mantine-color-red-light-color)' },
  hunk: { color: 'var(--mantine-color-blue-light-color)' },
  meta: { color: 'var(--mantine-color-dimmed)' },
  context: {},
};
/** Files opened at first: past that, a file's diff renders when the user opens it. */
const OPEN_AT_FIRST = 8;

/** What changed in the workspace since the session started, or since one of its snapshots (GET /sessions/:id/diff). */
export function Diff({ sessionId, snapshots }: { sessionId: string; snapshots: Snapshot[] }) {
  const [from, setFrom] = useState('start');
  const diff = useApi(() => api.get<SessionDiff>(`/api/v1/sessions/${encodeURIComponent(sessionId)}/diff`, { from: from === 'start' ? undefined : from }), [sessionId, from]);
  const files = useMemo(() => (diff.data ? splitDiff(diff.data) : []), [diff.data]);
  const [open, setOpen] = useState<string[] | undefined>();
  const opened = open ?? files.slice(0, OPEN_AT_FIRST).map((f) => f.path);
  const d = diff.data;
  return (
    <Stack gap="sm">
      <Group justify="space-between" wrap="wrap">
        <Group gap="xs">
          <Select
            aria-label="diff from"
            size="xs"
            w={260}
            value={from}
            onChange={(v) => (setFrom(v ?? 'start'), setOpen(undefined))}
            data={[{ value: 'start', label: 'since the session started' }, ...snapshots.map((s) => ({ value: s.snapshotId, label: `since ${s.label ?? s.snapshotId} (${new Date(s.createdAt).toLocaleTimeString()})` }))]}
            allowDeselect={false}
          />
          <Button size="xs" variant="default" onClick={() => void diff.reload()} loading={diff.loading && !d}>
            Refresh
          </Button>
        </Group>
        {d && (
          <Group gap="xs" data-testid="diff-summary">
            <Badge color="teal" variant="light">
              {d.added.length} added
            </Badge>
            <Badge color="yellow" variant="light">
              {d.changed.length} changed
            </Badge>
            <Badge color="red" variant="light">
              {d.removed.length} removed
            </Badge>
          </Group>
        )}
      </Group>
      <ErrorAlert error={diff.error} title="Could not compute the diff" />
      {d?.truncated && (
        <Text size="sm" c="yellow" role="status">
          The diff is larger than the server sends (4 MiB): the last files are listed without their text.
        </Text>
      )}
      {d && files.length === 0 && <Text c="dimmed">No changes {from === 'start' ? 'since the session started' : 'since that snapshot'}.</Text>}
      <Accordion multiple value={opened} onChange={setOpen} variant="separated" chevronPosition="left">
        {files.map((f) => (
          <Accordion.Item key={f.path} value={f.path} data-testid="diff-file" data-path={f.path} data-change={f.change}>
            <Accordion.Control>
              <Group gap="xs" wrap="nowrap">
                <Badge size="sm" color={CHANGE_COLOR[f.change]} variant="light" w={76}>
                  {f.change}
                </Badge>
                <Text ff="monospace" size="sm" style={{ overflowWrap: 'anywhere' }}>
                  {f.path}
                </Text>
                {(f.additions > 0 || f.deletions > 0) && (
                  <Text size="xs" c="dimmed" ff="monospace">
                    +{f.additions} −{f.deletions}
                  </Text>
                )}
              </Group>
            </Accordion.Control>
            <Accordion.Panel>{opened.includes(f.path) && <Patch text={f.text} />}</Accordion.Panel>
          </Accordion.Item>
        ))}
      </Accordion>
    </Stack>
  );
}

function Patch({ text }: { text: string }) {
  if (!text) return <Text c="dimmed" size="sm">No text (the diff was cut before this file).</Text>;
  const lines = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
  return (
    <pre data-testid="diff-text" style={{ margin: 0, overflowX: 'auto', fontSize: 12, lineHeight: 1.45, fontFamily: 'var(--mantine-font-family-monospace)' }}>
      {lines.map((line, i) => (
        <div key={i} style={{ ...LINE_STYLE[lineKind(line)], paddingInline: 6, whiteSpace: 'pre' }}>
          {line || ' '}
        </div>
      ))}
    </pre>
  );
}
