import { Group, Paper, SegmentedControl, Table, Text } from '@mantine/core';
import { useState } from 'react';
import { api } from '../api/http';
import type { LatencyReport, LatencyStats } from '../api/types';
import { ErrorAlert } from '../components/common';
import { useApi } from '../hooks';
import { formatMs } from './format-ms';

type By = 'model' | 'role';

/** p50/p95/max of LLM calls per provider and model (or role) and of shell commands (GET /api/v1/analytics/latency). */
export function ResponseTimes({ from }: { from: string }) {
  const [by, setBy] = useState<By>('model');
  const report = useApi(() => api.get<LatencyReport>('/api/v1/analytics/latency', { groupBy: by === 'model' ? 'provider,model' : 'role', from }), [by, from.slice(0, 13)], 10_000);
  const r = report.data;
  const cells = (s: LatencyStats) => (
    <>
      <Table.Td>{s.count}</Table.Td>
      <Table.Td>{formatMs(s.p50Ms)}</Table.Td>
      <Table.Td>{formatMs(s.p95Ms)}</Table.Td>
      <Table.Td>{formatMs(s.maxMs)}</Table.Td>
    </>
  );
  const firstToken = (s: LatencyStats) => <Table.Td>{s.count ? `${formatMs(s.p50Ms)} / ${formatMs(s.p95Ms)}` : '–'}</Table.Td>;
  return (
    <Paper withBorder p="md" data-testid="response-times">
      <Group justify="space-between" mb="sm">
        <Text fw={600}>Response times</Text>
        <SegmentedControl size="xs" aria-label="response times by" value={by} onChange={(v) => setBy(v as By)} data={[{ value: 'model', label: 'by model' }, { value: 'role', label: 'by role' }]} />
      </Group>
      <ErrorAlert error={report.error} title="Could not read response times" />
      <Table striped aria-label="response times">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>{by === 'model' ? 'provider / model' : 'role'}</Table.Th>
            <Table.Th>Timed</Table.Th>
            <Table.Th>p50</Table.Th>
            <Table.Th>p95</Table.Th>
            <Table.Th>max</Table.Th>
            <Table.Th>First token p50 / p95</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {(r?.llm ?? []).map((row) => {
            const name = by === 'model' ? `${row.provider ?? '(none)'} / ${row.model ?? '(none)'}` : (row.role ?? '(none)');
            return (
              <Table.Tr key={name} data-testid="latency-row">
                <Table.Td>{name}</Table.Td>
                {cells(row)}
                {firstToken(row.firstToken)}
              </Table.Tr>
            );
          })}
          {r && r.llm.length === 0 && (
            <Table.Tr>
              <Table.Td colSpan={6}>
                <Text c="dimmed" size="sm">
                  No timed LLM calls in this range.
                </Text>
              </Table.Td>
            </Table.Tr>
          )}
          <Table.Tr data-testid="latency-commands">
            <Table.Td fw={600}>shell commands</Table.Td>
            {cells(r?.commands ?? { count: 0, p50Ms: null, p95Ms: null, maxMs: null })}
            <Table.Td />
          </Table.Tr>
        </Table.Tbody>
      </Table>
      {(r?.untimedCalls ?? 0) > 0 && (
        <Text size="xs" c="dimmed" mt="xs">
          {r!.untimedCalls} LLM calls carried no duration (recorded before response times were measured).
        </Text>
      )}
      {r && Date.parse(r.from) > Date.parse(from) + 60_000 && (
        <Text size="xs" c="dimmed" mt="xs">
          From {new Date(r.from).toLocaleString()}: older calls are kept as daily sums only, without their durations.
        </Text>
      )}
    </Paper>
  );
}
