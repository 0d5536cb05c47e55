import { Button, Group, Modal, NumberInput, SegmentedControl, Select, SimpleGrid, Stack, TagsInput, Text, TextInput } from '@mantine/core';
import { useState } from 'react';
import { api } from '../api/http';
import type { Project, Session } from '../api/types';
import { ErrorAlert } from '../components/common';
import { useAction } from '../hooks';

type Source = 'project' | 'folder' | 'git' | 'empty';
type Network = 'none' | 'allow' | 'open';

/** POST /api/v1/sessions: a project or a source, the sandbox's limits and network policy. */
export function NewSessionModal({ opened, onClose, projects, onCreated }: { opened: boolean; onClose: () => void; projects: Project[]; onCreated: (s: Session) => void }) {
  const [source, setSource] = useState<Source>(projects.length ? 'project' : 'folder');
  const [projectId, setProjectId] = useState<string | null>(projects[0]?.id ?? null);
  const [path, setPath] = useState('');
  const [git, setGit] = useState('');
  const [memoryMb, setMemoryMb] = useState<number | string>('');
  const [pids, setPids] = useState<number | string>('');
  const [cpuSeconds, setCpuSeconds] = useState<number | string>('');
  const [diskMb, setDiskMb] = useState<number | string>('');
  const [network, setNetwork] = useState<Network>('none');
  const [allow, setAllow] = useState<string[]>([]);
  const create = useAction(async () => {
    const sandbox: Record<string, unknown> = {};
    for (const [k, v] of Object.entries({ memoryMb, pids, cpuSeconds, diskMb })) if (typeof v === 'number') sandbox[k] = v;
    if (network === 'open') sandbox.network = 'open';
    if (network === 'allow') sandbox.network = { allow };
    const body: Record<string, unknown> = { sandbox };
    if (source === 'project') body.projectId = projectId;
    else if (source === 'folder') body.source = { path };
    else if (source === 'git') body.source = { git };
    else body.source = { kind: 'empty' };
    return api.post<Session>('/api/v1/sessions', body);
  });
  const submit = async () => {
    const s = await create.run();
    if (s) onCreated(s);
  };
  return (
    <Modal opened={opened} onClose={onClose} title="New session" size="lg">
      <Stack>
        <SegmentedControl
          aria-label="where the code comes from"
          value={source}
          onChange={(v) => setSource(v as Source)}
          data={[
            { value: 'project', label: 'Project' },
            { value: 'folder', label: 'Folder' },
            { value: 'git', label: 'Git URL' },
            { value: 'empty', label: 'Empty' },
          ]}
        />
        {source === 'project' && (
          <Select label="Project" data={projects.map((p) => ({ value: p.id, label: p.name }))} value={projectId} onChange={setProjectId} placeholder={projects.length ? 'choose a project' : 'no projects yet'} searchable />
        )}
        {source === 'folder' && <TextInput label="Folder on the server" placeholder="/home/me/myapp" value={path} onChange={(e) => setPath(e.currentTarget.value)} description="copied into the session's workspace (copy-on-write)" />}
        {source === 'git' && <TextInput label="Git URL" placeholder="https://example.com/repo.git" value={git} onChange={(e) => setGit(e.currentTarget.value)} />}
        <Text fw={600} size="sm">
          Limits (empty: the project's or the platform's defaults)
        </Text>
        <SimpleGrid cols={{ base: 2, sm: 4 }}>
          <NumberInput label="Memory (MiB)" min={16} value={memoryMb} onChange={setMemoryMb} />
          <NumberInput label="Processes" min={8} value={pids} onChange={setPids} />
          <NumberInput label="CPU (s)" min={1} value={cpuSeconds} onChange={setCpuSeconds} />
          <NumberInput label="Disk (MiB)" min={1} value={diskMb} onChange={setDiskMb} />
        </SimpleGrid>
        <div>
          <Text fw={600} size="sm" mb={4}>
            Network
          </Text>
          <SegmentedControl
            aria-label="network policy"
            value={network}
            onChange={(v) => setNetwork(v as Network)}
            data={[
              { value: 'none', label: 'None' },
              { value: 'allow', label: 'Allowlist' },
              { value: 'open', label: 'Open' },
            ]}
          />
        </div>
        {network === 'allow' && <TagsInput label="Allowed hosts" description="exact names, *.wildcards, optional :port; Enter after each" placeholder="pypi.org" value={allow} onChange={setAllow} />}
        <ErrorAlert error={create.error} title="The session was not created" />
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose}>
            Cancel
          </Button>
          <Button onClick={submit} loading={create.busy}>
            Create
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
