import { BarChart } from '@mantine/charts';
import { Group, Paper, SegmentedControl, Select, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { useState } from 'react';
import { api } from '../api/http';
import { USAGE_DIMENSIONS, type UsageDimension, type UsageReport, type UsageRow } from '../api/types';
import { ErrorAlert } from '../components/common';
import { useApi } from '../hooks';
import { ResponseTimes } from './ResponseTimes';

const COLORS = ['teal.6', 'blue.6', 'grape.6', 'orange.6', 'pink.6', 'lime.6', 'cyan.6', 'yellow.6', 'red.6', 'indigo.6'];
type Metric = 'costUsd' | 'totalTokens';

/** Tokens and cost over time, by provider, model, role, user, session or project (services/analytics). */
export function UsagePage() {
  const [by, setBy] = useState<UsageDimension>('model');
  const [days, setDays] = useState('30');
  const [metric, setMetric] = useState<Metric>('costUsd');
  const from = new Date(Date.now() - Number(days) * 86_400_000).toISOString();
  const series = useApi(() => api.get<UsageReport>('/api/v1/analytics/usage', { groupBy: by, interval: 'day', from }), [by, days], 10_000);
  const totals = useApi(() => api.get<UsageReport>('/api/v1/analytics/usage', { groupBy: by, from }), [by, days], 10_000);
  const key = (r: UsageRow) => String(r[by] ?? '(none)');
  // The 10 costliest groups get a series each; the rest are summed as "other".
  const top = (totals.data?.rows ?? []).slice(0, 10).map(key);
  const byDay = new Map<string, Record<string, number | string>>();
  for (const r of series.data?.rows ?? []) {
    const day = r.period ?? '';
    const row = byDay.get(day) ?? { day };
    // Series keys are s0, s1...: a group name such as gpt-4.1 would be read as a path by the chart.
    const k = top.includes(key(r)) ? `s${top.indexOf(key(r))}` : 'other';
    row[k] = Number(row[k] ?? 0) + r[metric];
    byDay.set(day, row);
  }
  const data = [...byDay.values()].sort((a, b) => String(a.day).localeCompare(String(b.day)));
  const chartSeries = [...top.map((label, i) => ({ name: `s${i}`, label })), ...(data.some((d) => d.other !== undefined) ? [{ name: 'other', label: 'other' }] : [])];
  const t = totals.data?.totals;
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Usage</Title>
        <Group>
          <Select aria-label="group by" data={USAGE_DIMENSIONS.map((d) => ({ value: d, label: `by ${d}` }))} value={by} onChange={(v) => v && setBy(v as UsageDimension)} allowDeselect={false} w={150} />
          <SegmentedControl aria-label="range" value={days} onChange={setDays} data={[{ value: '1', label: '24 h' }, { value: '7', label: '7 days' }, { value: '30', label: '30 days' }, { value: '90', label: '90 days' }]} />
          <SegmentedControl aria-label="metric" value={metric} onChange={(v) => setMetric(v as Metric)} data={[{ value: 'costUsd', label: 'Cost' }, { value: 'totalTokens', label: 'Tokens' }]} />
        </Group>
      </Group>
      <ErrorAlert error={series.error ?? totals.error} title="Could not read usage" />
      <SimpleGrid cols={{ base: 2, sm: 4 }}>
        <Stat label="Cost" value={`$${(t?.costUsd ?? 0).toFixed(4)}`} />
        <Stat label="Input tokens" value={(t?.inputTokens ?? 0).toLocaleString()} />
        <Stat label="Output tokens" value={(t?.outputTokens ?? 0).toLocaleString()} />
        <Stat label="LLM calls" value={(t?.calls ?? 0).toLocaleString()} />
      </SimpleGrid>
      <Paper withBorder p="md" data-testid="usage-chart">
        <Text fw={600} mb="sm">
          {metric === 'costUsd' ? 'Cost (USD)' : 'Tokens'} per day, by {by}
        </Text>
        {data.length ? (
          <BarChart h={300} data={data} dataKey="day" type="stacked" series={chartSeries.map((x, i) => ({ ...x, color: COLORS[i % COLORS.length]! }))} withLegend valueFormatter={(v) => (metric === 'costUsd' ? `$${v.toFixed(4)}` : v.toLocaleString())} />
        ) : (
          <Text c="dimmed">No usage in this range yet: it appears once agents or project chat call a model.</Text>
        )}
        {(totals.data?.unpricedCalls ?? 0) > 0 && (
          <Text size="xs" c="dimmed" mt="xs">
            {totals.data!.unpricedCalls} calls were to models without a price (counted as $0).
          </Text>
        )}
      </Paper>
      <Table striped aria-label="usage by group">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>{by}</Table.Th>
            <Table.Th>Calls</Table.Th>
            <Table.Th>Input tokens</Table.Th>
            <Table.Th>Output tokens</Table.Th>
            <Table.Th>Cost (USD)</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {(totals.data?.rows ?? []).map((r) => (
            <Table.Tr key={key(r)}>
              <Table.Td ff={by === 'session' ? 'monospace' : undefined}>{key(r)}</Table.Td>
              <Table.Td>{r.calls}</Table.Td>
              <Table.Td>{r.inputTokens.toLocaleString()}</Table.Td>
              <Table.Td>{r.outputTokens.toLocaleString()}</Table.Td>
              <Table.Td>{r.costUsd.toFixed(4)}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      <ResponseTimes from={from} />
    </Stack>
  );
}

function Stat({ label, value }: { label: string; value: string }) {
  return (
    <Paper withBorder p="sm">
      <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
        {label}
      </Text>
      <Text size="xl" fw={700}>
        {value}
      </Text>
    </Paper>
  );
}
