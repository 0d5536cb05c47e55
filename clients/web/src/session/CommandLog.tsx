import { Badge, Button, Code, Group, Paper, ScrollArea, Stack, Text, TextInput } from '@mantine/core';
import { useState, type FormEvent } from 'react';
import { live } from '../api/live';
import { ErrorAlert } from '../components/common';
import type { CommandEntry, SessionModel } from './model';

function ExitBadge({ c }: { c: CommandEntry }) {
  if (c.exitCode === undefined) return <Badge color="yellow" variant="light">running</Badge>;
  if (c.timedOut) return <Badge color="orange">timed out</Badge>;
  return (
    <Badge color={c.exitCode === 0 ? 'teal' : 'red'} variant="light" data-testid="exit-code">
      exit {c.exitCode}
    </Badge>
  );
}

/**
 * Every command of the session (from the CLI, REST, agents, or the bar below) with its exit code,
 * duration and output, rebuilt from the session's events: the same after a reload or a reconnect.
 */
export function CommandLog({ sessionId, model, enabled }: { sessionId: string; model: SessionModel; enabled: boolean }) {
  const [line, setLine] = useState('');
  const [error, setError] = useState<string>();
  const [running, setRunning] = useState(0);
  const run = async (e: FormEvent) => {
    e.preventDefault();
    if (!line.trim()) return;
    const command = line;
    setLine('');
    setError(undefined);
    setRunning((n) => n + 1);
    try {
      await live().request('/exec', [command], { sessionId }).done;
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setRunning((n) => n - 1);
    }
  };
  const interrupt = () => live().request('/interrupt', [], { sessionId }).done.catch((err: Error) => setError(err.message));
  const commands = model.commandList();
  return (
    <Stack gap="xs">
      <form onSubmit={run}>
        <Group gap="xs" wrap="nowrap">
          <TextInput
            flex={1}
            ff="monospace"
            placeholder={enabled ? 'run a command (its output and exit code join the log)' : 'the session has ended'}
            aria-label="command to run"
            value={line}
            onChange={(e) => setLine(e.currentTarget.value)}
            disabled={!enabled}
          />
          <Button type="submit" disabled={!enabled}>
            Run
          </Button>
          <Button variant="default" onClick={interrupt} disabled={!enabled || running === 0}>
            Interrupt
          </Button>
        </Group>
      </form>
      <ErrorAlert error={error} title="The command failed" />
      <ScrollArea.Autosize mah={480} type="auto">
        <Stack gap={6} data-testid="command-log" aria-label="command log">
          {commands.length === 0 && (
            <Text c="dimmed" size="sm">
              No commands yet.
            </Text>
          )}
          {commands.map((c) => (
            <Paper key={c.commandId} withBorder p="xs" data-command-id={c.commandId} data-testid="command-entry">
              <Group justify="space-between" wrap="nowrap" gap="xs">
                <Code style={{ overflowWrap: 'anywhere' }}>$ {c.command}</Code>
                <Group gap={6} wrap="nowrap">
                  {c.user && (
                    <Text size="xs" c="dimmed">
                      {c.user}
                    </Text>
                  )}
                  {c.durationMs !== undefined && (
                    <Text size="xs" c="dimmed">
                      {c.durationMs < 1000 ? `${Math.round(c.durationMs)} ms` : `${(c.durationMs / 1000).toFixed(1)} s`}
                    </Text>
                  )}
                  <ExitBadge c={c} />
                </Group>
              </Group>
              {c.chunks.length > 0 && (
                <Code block mt={6} data-testid="command-output" style={{ maxHeight: 240, overflow: 'auto' }}>
                  {c.chunks.map((ch, i) => (
                    <span key={i} style={ch.stream === 'stderr' ? { color: 'var(--mantine-color-red-6)' } : undefined}>
                      {ch.text}
                    </span>
                  ))}
                </Code>
              )}
              {c.cut && (
                <Text size="xs" c="dimmed">
                  output cut here ({c.bytes.toLocaleString()} bytes in all)
                </Text>
              )}
            </Paper>
          ))}
        </Stack>
      </ScrollArea.Autosize>
    </Stack>
  );
}
