import { Badge, Button, Code, Group, Paper, SegmentedControl, Stack, Text, Textarea } from '@mantine/core';
import { useState } from 'react';
import { api } from '../api/http';
import { ErrorAlert } from '../components/common';
import { useAction } from '../hooks';
import type { AgentRunView, SessionModel } from './model';

const CHOICES = [
  { value: 'planning', label: '/plan' },
  { value: 'coding', label: '/code' },
  { value: 'review', label: '/review' },
  { value: 'testing', label: '/test' },
  { value: 'documentation', label: '/doc' },
  { value: 'all', label: 'all five' },
];

/** Talk to the agents; each run's text, steps, tool calls and outcome arrive as session events. */
export function Agents({ sessionId, model, enabled }: { sessionId: string; model: SessionModel; enabled: boolean }) {
  const [role, setRole] = useState('coding');
  const [prompt, setPrompt] = useState('');
  const send = useAction(async () => {
    // Seed 003's `/command prompt` is accepted too: a leading /plan etc. picks the role.
    const m = /^\/(plan|code|review|test|doc)\s+([\s\S]+)$/.exec(prompt.trim());
    const byCommand: Record<string, string> = { plan: 'planning', code: 'coding', review: 'review', test: 'testing', doc: 'documentation' };
    const chosen = m ? byCommand[m[1]!]! : role;
    const text = m ? m[2]! : prompt.trim();
    await api.post(`/api/v1/sessions/${sessionId}/agent`, { prompt: text, ...(chosen === 'all' ? {} : { roles: [chosen] }) });
    setPrompt('');
  });
  const stop = useAction((runId: string) => api.post(`/api/v1/agent-runs/${runId}/interrupt`, {}));
  const runs = [...model.runs.values()];
  return (
    <Stack>
      <Stack gap={6}>
        {runs.length === 0 && (
          <Text c="dimmed" size="sm">
            No agent runs in this session yet.
          </Text>
        )}
        {runs.map((r) => (
          <Run key={r.runId} run={r} onStop={() => void stop.run(r.runId)} />
        ))}
      </Stack>
      <ErrorAlert error={send.error ?? stop.error} title="The agent did not start" />
      <Paper withBorder p="sm">
        <Stack gap="xs">
          <SegmentedControl aria-label="agent role" data={CHOICES} value={role} onChange={setRole} size="xs" />
          <Textarea
            aria-label="message to the agents"
            placeholder="what to do (or /plan, /code, /review, /test, /doc followed by it); Ctrl+Enter sends"
            autosize
            minRows={2}
            value={prompt}
            onChange={(e) => setPrompt(e.currentTarget.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter' && (e.ctrlKey || e.metaKey) && prompt.trim()) void send.run();
            }}
            disabled={!enabled}
          />
          <Group justify="flex-end">
            <Button onClick={() => void send.run()} loading={send.busy} disabled={!enabled || !prompt.trim()}>
              Send
            </Button>
          </Group>
        </Stack>
      </Paper>
    </Stack>
  );
}

function Run({ run, onStop }: { run: AgentRunView; onStop: () => void }) {
  const color = run.status === 'running' ? 'yellow' : run.status === 'completed' ? 'teal' : 'red';
  return (
    <Paper withBorder p="sm" data-testid="agent-run" data-run-id={run.runId} data-status={run.status}>
      <Group justify="space-between" mb={4}>
        <Text fw={600} size="sm">
          {run.roles.join(' → ') || 'agent'}: {run.prompt}
        </Text>
        <Group gap="xs">
          <Badge color={color} variant="light">
            {run.status}
          </Badge>
          {run.status === 'running' && (
            <Button size="compact-xs" variant="default" onClick={onStop}>
              Stop
            </Button>
          )}
        </Group>
      </Group>
      <Stack gap={4}>
        {run.items.map((i, n) =>
          i.kind === 'text' ? (
            <Text key={n} size="sm" style={{ whiteSpace: 'pre-wrap' }}>
              {i.text}
            </Text>
          ) : (
            <div key={n} data-testid="agent-step">
              {i.toolCalls.map((t, k) => (
                <Code key={k} block c={t.error ? 'red' : undefined}>
                  [{i.role}] {t.tool} {JSON.stringify(t.input ?? {}).slice(0, 300)}
                  {t.error ? ` ✗ ${t.error}` : ''}
                </Code>
              ))}
              <Text size="xs" c="dimmed">
                {i.role} step {i.index}: {i.provider}/{i.model}, {i.inputTokens} in, {i.outputTokens} out, ${i.costUsd.toFixed(4)}
              </Text>
            </div>
          ),
        )}
      </Stack>
      {run.status !== 'running' && (
        <Text size="xs" c={run.error ? 'red' : 'dimmed'} mt={4}>
          {run.error ? `${run.error} · ` : ''}
          {run.inputTokens ?? 0} in, {run.outputTokens ?? 0} out, ${(run.costUsd ?? 0).toFixed(4)}
        </Text>
      )}
    </Paper>
  );
}
