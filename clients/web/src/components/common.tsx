import { Alert, Badge } from '@mantine/core';
import type { SessionStatus } from '../api/types';

const STATUS_COLORS: Record<string, string> = { creating: 'blue', ready: 'teal', idle: 'teal', busy: 'yellow', closing: 'gray', closed: 'gray', failed: 'red' };

export function StatusBadge({ status }: { status: SessionStatus | string }) {
  return (
    <Badge color={STATUS_COLORS[status] ?? 'gray'} variant="light" data-testid="session-status" data-status={status}>
      {status}
    </Badge>
  );
}

/** An API error with its reason, as the gateway gave it. */
export function ErrorAlert({ error, title = 'The request failed' }: { error?: string; title?: string }) {
  if (!error) return null;
  return (
    <Alert color="red" title={title} role="alert" my="xs">
      {error}
    </Alert>
  );
}

export function limitsText(s: { sandbox?: { memoryMb?: number; pids?: number; cpuSeconds?: number; diskMb?: number }; limitsInForce?: Record<string, string> }): string {
  const b = s.sandbox ?? {};
  const asked = [b.memoryMb && `${b.memoryMb} MiB`, b.pids && `${b.pids} pids`, b.cpuSeconds && `${b.cpuSeconds} s CPU`, b.diskMb && `${b.diskMb} MiB disk`].filter(Boolean);
  return asked.length ? asked.join(', ') : 'defaults';
}

export function networkText(n: unknown): string {
  if (n === undefined || n === null) return 'none';
  if (typeof n === 'string') return n;
  const o = n as { mode?: unknown; allow?: unknown };
  const allow = Array.isArray(o.allow) ? ` ${(o.allow as string[]).join(', ')}` : '';
  // networkInForce (what the shell enforces) carries a mode; the asked policy may be {allow: [...]}.
  if (typeof o.mode === 'string') return `${o.mode}${allow}`;
  if (allow) return `allow${allow}`;
  return JSON.stringify(n);
}

export function ago(iso?: string): string {
  if (!iso) return '';
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (s < 60) return `${Math.floor(s)} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return new Date(iso).toLocaleDateString();
}
