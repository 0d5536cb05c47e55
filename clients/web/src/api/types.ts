// The shapes of the public API this page reads (API.md; the zod schemas in libs/contracts are the
// source of truth: SessionV1, ProjectV1, TaskV1, ProviderInfoV1, UsageReportV1, LatencyReportV1, FileReadReplyV1).

export type SessionStatus = 'creating' | 'ready' | 'busy' | 'idle' | 'closing' | 'closed' | 'failed';

export interface Session {
  id: string;
  owner: string;
  status: SessionStatus;
  failureReason?: string;
  closeReason?: string;
  projectId?: string;
  source: { kind: string; path?: string; url?: string; ref?: string };
  sandbox: { memoryMb?: number; pids?: number; cpuSeconds?: number; diskMb?: number; network?: unknown };
  driver?: string;
  networkInForce?: unknown;
  limitsInForce?: Record<string, string>;
  forkedFrom?: { sessionId: string; snapshotId?: string };
  lastSeq: number;
  createdAt: string;
  closedAt?: string;
  lastActivityAt: string;
}

export interface Project {
  id: string;
  name: string;
  owner?: string;
  source: { kind: string; path?: string; url?: string };
  ciSocket?: string | null;
  socketPort?: number | null;
  /** What its files ask for (API.md "Project discovery"): where its sessions run, and what the host lacks. */
  discovery?: { tier: string; languages?: string[]; driver?: 'bubblewrap' | 'docker'; testCommand?: string; missing?: string[] };
}

/** One entry of a session's event log, as `status`/`stream` messages and GET .../events carry it. */
export interface SessionEvent {
  seq: number;
  kind: string;
  data: Record<string, unknown>;
  at?: string;
}

export interface Snapshot {
  snapshotId: string;
  label?: string;
  createdAt: string;
  files: number;
  bytes: number;
}

export interface FileEntry {
  name: string;
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'other';
  size: number;
  mtime: string;
}

export type FileRead =
  | { type: 'file'; path: string; content: string; encoding: 'utf8' | 'base64'; size: number; binary: boolean }
  | { type: 'dir'; path: string; entries: FileEntry[] };

export const TASK_STATUSES = ['todo', 'in_progress', 'blocked', 'review', 'done', 'cancelled'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export interface Task {
  id: string;
  title: string;
  description?: string;
  status: TaskStatus;
  owner?: string;
  projectId?: string;
  notes: Array<{ at: string; author?: string; text: string }>;
  version: number;
  updatedAt: string;
}

export const ROLES = ['planning', 'coding', 'review', 'testing', 'documentation'] as const;
export type Role = (typeof ROLES)[number];

export interface ModelRef {
  provider: string;
  model: string;
}
export interface RoleConfig extends ModelRef {
  fallbacks: ModelRef[];
}

export interface ProviderInfo {
  name: string;
  kind: string;
  baseURL?: string;
  enabled: boolean;
  hasKey: boolean;
  keyHint?: string;
  circuit: 'closed' | 'open' | 'half-open';
  models: Array<{ id: string; inputUsdPerMTok?: number; outputUsdPerMTok?: number }>;
  scope: 'project' | 'global';
}

export const USAGE_DIMENSIONS = ['provider', 'model', 'role', 'user', 'session', 'project'] as const;
export type UsageDimension = (typeof USAGE_DIMENSIONS)[number];

export interface UsageRow {
  period?: string;
  calls: number;
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
  costUsd: number;
  provider?: string | null;
  model?: string | null;
  role?: string | null;
  session?: string | null;
  user?: string | null;
  project?: string | null;
}

export interface UsageReport {
  from: string;
  to: string;
  rows: UsageRow[];
  totals: Omit<UsageRow, 'period'>;
  truncated: boolean;
  unpricedCalls: number;
}

/** Nearest-rank percentiles in ms; null when nothing was measured. */
export interface LatencyStats {
  count: number;
  p50Ms: number | null;
  p95Ms: number | null;
  maxMs: number | null;
}

export interface LlmLatencyRow extends LatencyStats {
  firstToken: LatencyStats;
  provider?: string | null;
  model?: string | null;
  role?: string | null;
}

/** GET /api/v1/analytics/latency. */
export interface LatencyReport {
  from: string;
  to: string;
  groupBy: ('provider' | 'model' | 'role')[];
  llm: LlmLatencyRow[];
  llmTotal: LlmLatencyRow;
  untimedCalls: number;
  commands: LatencyStats;
}

export interface Principal {
  userId: string;
  name?: string;
  role?: string;
  via?: string;
}
