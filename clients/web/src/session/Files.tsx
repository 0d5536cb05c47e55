import { Anchor, Breadcrumbs, Button, Grid, Group, NavLink, Paper, ScrollArea, Stack, Text, Textarea } from '@mantine/core';
import { useEffect, useState } from 'react';
import { api } from '../api/http';
import type { FileRead } from '../api/types';
import { ErrorAlert } from '../components/common';
import { useAction, useApi } from '../hooks';

const filesUrl = (sessionId: string) => `/api/v1/sessions/${encodeURIComponent(sessionId)}/files`;

/** The workspace: browse folders, open a file, edit and save it (GET/PUT /sessions/:id/files). */
export function Files({ sessionId, enabled }: { sessionId: string; enabled: boolean }) {
  const [dir, setDir] = useState('.');
  const [open, setOpen] = useState<string>();
  const listing = useApi(() => api.get<FileRead>(filesUrl(sessionId), { path: dir }), [sessionId, dir]);
  const entries = listing.data?.type === 'dir' ? [...listing.data.entries].sort((a, b) => (a.type === 'dir' ? 0 : 1) - (b.type === 'dir' ? 0 : 1) || a.name.localeCompare(b.name)) : [];
  const crumbs = dir === '.' ? [] : dir.split('/');
  return (
    <Grid>
      <Grid.Col span={{ base: 12, md: 4 }}>
        <Paper withBorder p="xs">
          <Breadcrumbs mb="xs" separator="/">
            <Anchor component="button" size="sm" onClick={() => setDir('.')}>
              workspace
            </Anchor>
            {crumbs.map((c, i) => (
              <Anchor key={i} component="button" size="sm" onClick={() => setDir(crumbs.slice(0, i + 1).join('/'))}>
                {c}
              </Anchor>
            ))}
          </Breadcrumbs>
          <ErrorAlert error={listing.error} title="Could not list the folder" />
          <ScrollArea.Autosize mah={520}>
            <nav aria-label="files">
              {entries.map((e) => (
                <NavLink
                  key={e.path}
                  label={e.type === 'dir' ? `${e.name}/` : e.name}
                  description={e.type === 'file' ? `${e.size.toLocaleString()} bytes` : undefined}
                  active={open === e.path}
                  onClick={() => (e.type === 'dir' ? setDir(e.path) : setOpen(e.path))}
                  data-path={e.path}
                />
              ))}
              {listing.data && entries.length === 0 && (
                <Text c="dimmed" size="sm">
                  empty
                </Text>
              )}
            </nav>
          </ScrollArea.Autosize>
        </Paper>
      </Grid.Col>
      <Grid.Col span={{ base: 12, md: 8 }}>{open ? <Editor key={open} sessionId={sessionId} path={open} enabled={enabled} /> : <Text c="dimmed">Choose a file.</Text>}</Grid.Col>
    </Grid>
  );
}

function Editor({ sessionId, path, enabled }: { sessionId: string; path: string; enabled: boolean }) {
  const file = useApi(() => api.get<FileRead>(filesUrl(sessionId), { path }), [sessionId, path]);
  const [text, setText] = useState<string>();
  const [saved, setSaved] = useState<string>();
  useEffect(() => {
    if (file.data?.type === 'file' && !file.data.binary) setText(file.data.content);
  }, [file.data]);
  const save = useAction(async () => {
    const r = await api.put<{ path: string; size: number }>(filesUrl(sessionId), { content: text ?? '' }, { path });
    setSaved(`Saved ${r.path} (${r.size.toLocaleString()} bytes).`);
    await file.reload();
  });
  const original = file.data?.type === 'file' ? file.data.content : undefined;
  const dirty = text !== undefined && text !== original;
  return (
    <Stack gap="xs">
      <Group justify="space-between">
        <Text ff="monospace" fw={600} data-testid="open-file">
          {path}
          {dirty ? ' •' : ''}
        </Text>
        <Group gap="xs">
          <Button variant="default" size="xs" onClick={() => (setText(original), setSaved(undefined))} disabled={!dirty}>
            Revert
          </Button>
          <Button size="xs" onClick={() => void save.run()} loading={save.busy} disabled={!dirty || !enabled}>
            Save
          </Button>
        </Group>
      </Group>
      <ErrorAlert error={file.error ?? save.error} />
      {saved && !dirty && (
        <Text size="sm" c="teal" role="status">
          {saved}
        </Text>
      )}
      {file.data?.type === 'file' && file.data.binary ? (
        <Text c="dimmed">A binary file of {file.data.size.toLocaleString()} bytes: not shown.</Text>
      ) : (
        <Textarea
          aria-label={`contents of ${path}`}
          value={text ?? ''}
          onChange={(e) => (setText(e.currentTarget.value), setSaved(undefined))}
          autosize
          minRows={16}
          maxRows={32}
          spellCheck={false}
          styles={{ input: { fontFamily: 'var(--mantine-font-family-monospace)', fontSize: 13 } }}
          readOnly={!enabled}
          onKeyDown={(e) => {
            if ((e.ctrlKey || e.metaKey) && e.key === 's') {
              e.preventDefault();
              if (dirty && enabled) void save.run();
            }
          }}
        />
      )}
    </Stack>
  );
}
